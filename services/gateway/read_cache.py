"""The gateway's cache of the hot reads: what it answered for a badge, a badge list and a public
assertion, so that reading one again costs no request to the badges service.

An entry is a whole HTTP answer (status, headers, body), rendered once from the badges service's
reply and sent again byte for byte, under the exact request (its query message, every field
included, and the view that rendered it). Each entry belongs to one system. Concurrent misses of
one key share one look-up; only successful answers are kept (a 404 or a failure never is).

Exact, not merely fresh: `forget_system` drops every entry of a system at once, and a look-up in
flight at that moment answers its waiters but is not kept (it may have read what the change
replaced), nor joined by later callers. The gateway that forwards a write under a system drops
it before answering, so a client reads its own writes; the others drop it on the event the
change emits (`topology.GATEWAY_BROADCASTS`), and `clear` drops everything after a reconnection,
when broadcasts may have been missed. The TTL only bounds a change whose event was lost.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

import structlog
from aiohttp import web

log = structlog.get_logger()

# An entry's headers and bookkeeping, beside its body, counted against `max_bytes`.
ENTRY_OVERHEAD = 512


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer as sent: rebuilt into a new response for every request it serves."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def of(cls, response: web.Response) -> Reply:
        body = response.body
        assert isinstance(body, bytes), "only responses rendered to bytes are cached"
        return cls(response.status, tuple(response.headers.items()), body)

    def response(self) -> web.Response:
        return web.Response(status=self.status, headers=self.headers, body=self.body)

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD


@dataclass(frozen=True, slots=True)
class Found:
    """A look-up's result: the answer, and the system it belongs to; one not to `keep` answers
    its waiters only (a page that says its credential is on its way)."""

    system: str
    reply: Reply
    keep: bool = True


LookUp = Callable[[], Awaitable[Found]]


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    found: Found


class ReadCache:
    def __init__(
        self,
        *,
        ttl_s: float,
        max_entries: int,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._by_system: dict[str, set[Hashable]] = {}
        self._bytes = 0
        self._in_flight: dict[Hashable, asyncio.Task[Found]] = {}
        # Every look-up task until it ends, forgotten ones included (the loop keeps only weak
        # references to tasks).
        self._tasks: set[asyncio.Task[Found]] = set()
        # Drops counted: a look-up is kept only if its system was not dropped since it started.
        # `_dropped` holds each system's last drop while look-ups are running, `_cleared` the
        # last `clear`.
        self._drops = 0
        self._dropped: dict[str, int] = {}
        self._cleared = 0

    async def get(self, key: Hashable, look_up: LookUp) -> web.Response:
        """The answer under `key`: kept, or looked up (once for all concurrent callers)."""
        entry = self._entries.get(key)
        if entry is not None and entry.expires > self._clock():
            self._entries.move_to_end(key)
            return entry.found.reply.response()
        task = self._in_flight.get(key)
        if task is None:
            # A task of its own, so a caller cancelled (a client gone) never cancels the
            # look-up the others wait on.
            task = asyncio.ensure_future(self._look_up(key, look_up, self._drops))
            self._in_flight[key] = task
            self._tasks.add(task)
            task.add_done_callback(self._done)
        found = await asyncio.shield(task)
        return found.reply.response()

    async def _look_up(self, key: Hashable, look_up: LookUp, started: int) -> Found:
        task = asyncio.current_task()
        try:
            found = await look_up()
        finally:
            if self._in_flight.get(key) is task:
                del self._in_flight[key]
        kept = (
            found.keep
            and self._cleared <= started
            and self._dropped.get(found.system, 0) <= started
        )
        if kept:
            self._store(key, found)
        log.info("read_cache.looked_up", kept=kept)
        return found

    def _done(self, task: asyncio.Task[Found]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._dropped.clear()  # no look-up left that started before any of them

    def _store(self, key: Hashable, found: Found) -> None:
        self._discard(key)
        if found.reply.size > self._max_bytes:
            return
        self._entries[key] = _Entry(self._clock() + self._ttl_s, found)
        self._by_system.setdefault(found.system, set()).add(key)
        self._bytes += found.reply.size
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            self._discard(next(iter(self._entries)))

    def _discard(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._bytes -= entry.found.reply.size
        keys = self._by_system[entry.found.system]
        keys.discard(key)
        if not keys:
            del self._by_system[entry.found.system]

    def forget_system(self, system: str) -> None:
        """Drop every answer about `system`, and every look-up in flight (whose system is not
        known before its answer)."""
        self._drops += 1
        if self._tasks:
            self._dropped[system] = self._drops
        for key in self._by_system.pop(system, set()):
            entry = self._entries.pop(key)
            self._bytes -= entry.found.reply.size
        self._in_flight.clear()

    def clear(self) -> None:
        self._drops += 1
        self._cleared = self._drops
        self._entries.clear()
        self._by_system.clear()
        self._bytes = 0
        self._in_flight.clear()

    def __len__(self) -> int:
        return len(self._entries)
