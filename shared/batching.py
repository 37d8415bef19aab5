"""Gathering work that arrives together into batches, for the dispatchers of requests and events.

Items are queued under a key (a message type). Those queued in one event-loop tick go together,
and so do those that arrive while `in_flight` batches of their key are being run: a batch
starts as soon as a slot is free, with everything queued by then, up to `max_batch` items. The
runner settles each item itself (it resolves whatever its caller waits on); a batch's slot is
free once its runner returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

import structlog

log = structlog.get_logger()

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# Tasks in flight, referenced so that none is garbage-collected before it finishes.
_running: set[asyncio.Task[Any]] = set()


def spawn(work: Coroutine[Any, Any, Any]) -> None:
    """Run `work` as a task of its own, kept referenced until it is done."""
    task = asyncio.ensure_future(work)
    _running.add(task)
    task.add_done_callback(_running.discard)


class Batches(Generic[K, T]):
    def __init__(
        self,
        run: Callable[[K, list[T]], Awaitable[None]],
        *,
        max_batch: int,
        in_flight: int,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._in_flight_max = in_flight
        self._queued: dict[K, list[T]] = {}
        self._in_flight: dict[K, int] = {}

    def add(self, key: K, item: T) -> None:
        """Queue an item for the next batch of its key."""
        queued = self._queued.setdefault(key, [])
        queued.append(item)
        if len(queued) == 1:
            # Runs after everything ready in this tick: the tick's items join one batch.
            asyncio.get_running_loop().call_soon(self._start, key)

    def _start(self, key: K) -> None:
        queued = self._queued.get(key)
        while queued and self._in_flight.get(key, 0) < self._in_flight_max:
            batch = queued[: self._max_batch]
            del queued[: self._max_batch]
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            spawn(self._running(key, batch))

    async def _running(self, key: K, batch: list[T]) -> None:
        try:
            await self._run(key, batch)
        except Exception:
            # A runner settles its items whatever happens; what escapes it is a bug, said here.
            log.exception("batch.runner_failed", key=str(key), size=len(batch))
        finally:
            self._in_flight[key] -= 1
            self._start(key)
