"""Messages to one destination made in the same event-loop tick go out as one.

The first item for a destination schedules a task; by the time it runs, everything else that
was ready in that tick has joined it, and the task sends them all with one call. Nothing waits
for company: a tick with one item sends that one. Each item's future is done once the batch is
handed to the connection (or fails with the batch's error).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Send = Callable[[str, list[T]], Awaitable[None]]

# Tasks in flight, referenced so that none is garbage-collected before it finishes.
_running: set[asyncio.Task[Any]] = set()


class Coalescer(Generic[T]):
    def __init__(self, send: Send[T]) -> None:
        self._send = send
        self._queued: dict[str, list[tuple[T, asyncio.Future[None]]]] = {}

    def add(self, destination: str, item: T) -> asyncio.Future[None]:
        """Queue `item` for the end of this tick; the future is done once it is sent."""
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queued = self._queued.get(destination)
        if queued is None:
            queued = self._queued[destination] = []
            # Its first step runs after everything ready in this tick: it takes them all.
            task = asyncio.ensure_future(self._flush(destination))
            _running.add(task)
            task.add_done_callback(_running.discard)
        queued.append((item, sent))
        return sent

    async def _flush(self, destination: str) -> None:
        batch = self._queued.pop(destination, [])
        error: BaseException | None = None
        try:
            await self._send(destination, [item for item, _ in batch])
        except BaseException as failure:
            error = failure
        for _, sent in batch:
            if sent.done():
                continue
            if error is None:
                sent.set_result(None)
            else:
                sent.set_exception(error)
