"""The gateway's cache of systems: a slug's immutable id, for the routes other services answer.

The issuer and the webhooks service key everything by the system's id, yet a path names its
slug. A slug is looked up in the badges service (`ResolveSystem`) at most once per `ttl_s`, and
concurrent misses of one slug share that one look-up. A slug no system has is remembered as
unknown for `unknown_ttl_s` only: a system may be created under it at any moment, through
another gateway, and no gateway hears of creations.

A slug's id changes only when its system is deleted and the slug taken again, so `forget` drops
an entry at once: on `system.deleted`, which every gateway process receives, and on this
process's own creates and deletes. A look-up still in flight when its slug is forgotten answers
its waiters but is not remembered, and later callers start a new one. `clear` drops everything
(after a reconnection, when broadcasts may have been missed). The TTL is only the bound on a
broadcast lost some other way.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class System:
    """What the routes of other services need of a system."""

    id: int
    slug: str


LookUp = Callable[[str], Awaitable[System | None]]


class SystemCache:
    def __init__(
        self,
        look_up: LookUp,
        *,
        ttl_s: float,
        unknown_ttl_s: float,
        max_size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._look_up = look_up
        self._ttl_s = ttl_s
        self._unknown_ttl_s = unknown_ttl_s
        self._max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, System | None]] = OrderedDict()
        self._in_flight: dict[str, asyncio.Task[System | None]] = {}
        # Every look-up task until it ends, forgotten ones included (the loop keeps only weak
        # references to tasks).
        self._tasks: set[asyncio.Task[System | None]] = set()

    async def get(self, slug: str) -> System | None:
        """The system under `slug`, or None when there is none."""
        entry = self._entries.get(slug)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        task = self._in_flight.get(slug)
        if task is None:
            # A task of its own, so a caller cancelled (a client gone) never cancels the
            # look-up the others wait on.
            task = asyncio.ensure_future(self._resolve(slug))
            self._in_flight[slug] = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(task)

    async def _resolve(self, slug: str) -> System | None:
        task = asyncio.current_task()
        try:
            found = await self._look_up(slug)
        finally:
            current = self._in_flight.get(slug) is task
            if current:
                del self._in_flight[slug]
        if current:
            self._store(slug, found)
        log.info("system.looked_up", system_id=found.id if found else None, kept=current)
        return found

    def _store(self, slug: str, found: System | None) -> None:
        ttl_s = self._ttl_s if found is not None else self._unknown_ttl_s
        self._entries[slug] = (self._clock() + ttl_s, found)
        self._entries.move_to_end(slug)
        while len(self._entries) > self._max_size:
            self._entries.popitem(last=False)

    def forget(self, slug: str) -> None:
        self._entries.pop(slug, None)
        self._in_flight.pop(slug, None)

    def clear(self) -> None:
        self._entries.clear()
        self._in_flight.clear()
