"""The issuer's verification reports of awards' credentials, kept for the award pages.

A report costs the issuer a proof verification (JSON-LD canonicalisation, a signature, the
status list's): far more than the page around it. What in it can change soon (a revocation, an
expiry) the page takes from the badges service first (`verdict.of_award`), so a report may be
kept longer than the page: `ttl_s`, then, while it is under `stale_s` old, answered once more
while a fresh one is made in the background (no reader waits on a verification made before).
Concurrent misses of one award share one verification. Only reports are kept: an award whose
credential is not signed yet is asked again.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger()

Report = dict[str, Any]
Verify = Callable[[], Awaitable[Report | None]]


@dataclass(frozen=True, slots=True)
class _Entry:
    made: float
    report: Report


class Reports:
    def __init__(
        self,
        *,
        ttl_s: float,
        stale_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._stale_s = stale_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._in_flight: dict[str, asyncio.Task[Report | None]] = {}

    async def get(self, slug: str, verify: Verify) -> Report | None:
        entry = self._entries.get(slug)
        if entry is not None:
            age = self._clock() - entry.made
            if age < self._stale_s:
                self._entries.move_to_end(slug)
                if age >= self._ttl_s and slug not in self._in_flight:
                    self._start(slug, verify)
                return entry.report
        task = self._in_flight.get(slug) or self._start(slug, verify)
        return await asyncio.shield(task)

    def _start(self, slug: str, verify: Verify) -> asyncio.Task[Report | None]:
        task = asyncio.ensure_future(self._verify(slug, verify))
        self._in_flight[slug] = task
        task.add_done_callback(_retrieved)
        return task

    async def _verify(self, slug: str, verify: Verify) -> Report | None:
        try:
            report = await verify()
        finally:
            self._in_flight.pop(slug, None)
        if report is not None:
            self._entries[slug] = _Entry(self._clock(), report)
            self._entries.move_to_end(slug)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return report

    def __len__(self) -> int:
        return len(self._entries)


def _retrieved(task: asyncio.Task[Report | None]) -> None:
    """A refresh nobody awaits may fail (the gateway stopping): its page showed the old report,
    and the next reader asks again."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("reports.refresh_failed", error=repr(task.exception()))
