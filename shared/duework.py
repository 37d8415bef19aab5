"""Work that waits as rows with a due time, taken up when due (DESIGN.md: "Work that waits is a
row with next_attempt_at in the owning schema; a scheduler in that service picks due rows").

`DueWork` runs the loop every such scheduler needs: claim due rows (the caller's `claim`, which
commits the claim before any work starts, so a crash leaves the rows to be claimed again), hand
each to `handle` as a task of its own, keep at most `concurrency` in flight, and look again when
woken (new rows), when a slot frees, when a retry falls due, or every `poll_interval_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

log = structlog.get_logger()

Row = dict[str, Any]
# Retries due within this long wake the loop exactly on time; later ones are found by the poll.
PRECISE_WAKE_S = 60.0


class DueWork:
    def __init__(
        self,
        name: str,
        claim: Callable[[int], Awaitable[list[Row]]],
        handle: Callable[[Row], Awaitable[None]],
        *,
        concurrency: int,
        poll_interval_s: float,
    ) -> None:
        self._name = name
        self._claim = claim
        self._handle = handle
        self._concurrency = concurrency
        self._poll_interval_s = poll_interval_s
        self._wakeup = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wakeup.set()

    def wake_in(self, delay_s: float) -> None:
        """Look again when a row falls due `delay_s` from now (sooner than the next poll)."""
        if delay_s < PRECISE_WAKE_S:
            asyncio.get_running_loop().call_later(delay_s, self.wake)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Claim nothing more; let the work in hand finish."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        if self._in_flight:
            await asyncio.wait(self._in_flight)

    async def _run(self) -> None:
        while not self._stopping:
            free = self._concurrency - len(self._in_flight)
            claimed = 0
            if free > 0:
                try:
                    rows = await self._claim(free)
                except Exception:
                    log.exception("duework.claim_failed", work=self._name)
                    rows = []
                claimed = len(rows)
                for row in rows:
                    task = asyncio.create_task(self._safely(row))
                    self._in_flight.add(task)
                    task.add_done_callback(self._done)
            if claimed and claimed == free:
                continue  # more may be due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)
            self._wakeup.clear()

    async def _safely(self, row: Row) -> None:
        try:
            await self._handle(row)
        except Exception:
            # The claim's lease makes the row due again: nothing is lost.
            log.exception("duework.handle_failed", work=self._name)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wakeup.set()  # a slot is free
