"""The gateway's short-lived cache of API consumer credentials.

A key is looked up in the badges service at most once per `ttl_s` (unknown keys are cached as
unknown too), concurrent look-ups of one key share one request, and `consumer.deleted` /
`system.deleted` drop entries at once, including a look-up still in flight. `clear` drops
everything (after a reconnection, when those broadcasts may have been missed).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from services.gateway.auth import Credentials

Fetch = Callable[[str], Awaitable[Credentials | None]]


class ConsumerCache:
    def __init__(
        self,
        fetch: Fetch,
        *,
        ttl_s: float,
        max_size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl_s = ttl_s
        self._max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Credentials | None]] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[Credentials | None]] = {}
        self._generation = 0

    async def get(self, api_key: str) -> Credentials | None:
        entry = self._entries.get(api_key)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        pending = self._in_flight.get(api_key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Credentials | None] = asyncio.get_running_loop().create_future()
        self._in_flight[api_key] = future
        generation = self._generation
        try:
            credentials = await self._fetch(api_key)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody else must log it
            raise
        else:
            future.set_result(credentials)
            # A deletion seen while the look-up was in flight wins over its answer.
            if generation == self._generation:
                self._store(api_key, credentials)
            return credentials
        finally:
            if self._in_flight.get(api_key) is future:
                del self._in_flight[api_key]

    def _store(self, api_key: str, credentials: Credentials | None) -> None:
        self._entries[api_key] = (self._clock() + self._ttl_s, credentials)
        self._entries.move_to_end(api_key)
        while len(self._entries) > self._max_size:
            self._entries.popitem(last=False)

    def forget(self, api_key: str) -> None:
        self._generation += 1
        self._entries.pop(api_key, None)
        self._in_flight.pop(api_key, None)

    def forget_system(self, system: str) -> None:
        self._generation += 1
        for api_key in [k for k, (_, c) in self._entries.items() if c and c.system == system]:
            del self._entries[api_key]
        self._in_flight.clear()

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._in_flight.clear()
