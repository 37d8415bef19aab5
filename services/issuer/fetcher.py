"""The issuer's outbound HTTP GET: documents of other issuers (DID documents, status lists,
credentials and Open Badges 2.0 assertions to verify), later the badge images it bakes.

Every URL here comes from someone else (a credential names its issuer's DID, its status list, its
badge class), so each request goes through the SSRF guard (`shared.guard`, unless
WEBHOOK_ALLOW_PRIVATE), follows no redirect (a redirect would not be checked again; the caller
sees its 3xx), stops reading past a size limit, and ends at a timeout. Answers are kept in a
small cache for a short time, bounded in entries and in bytes, and concurrent requests for the
same URL share one fetch: one submission naming a URL many times, or many verifications of one
issuer's credentials, cost one request a minute.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import structlog

from shared.guard import BlockedTarget, check_url, guarded_connector
from shared.outbox import OutboxRelay

log = structlog.get_logger()

USER_AGENT = "Plaudit-Verifier/1"
# A JSON document of a credential's world (a DID document, a credential, an assertion) is a few
# kilobytes; a status list of 131,072 entries is about 16 KiB compressed. A megabyte is plenty.
DEFAULT_MAX_BYTES = 1 << 20
DEFAULT_TIMEOUT_S = 5.0
# Connections in flight per issuer process, all hosts together.
MAX_CONNECTIONS = 16
CACHE_ENTRIES = 256
# What the cache may hold in all; one entry larger than a quarter of it is never kept.
CACHE_BYTES = 8 << 20
# A document is reused this long. A revocation by another issuer shows within it.
CACHE_TTL_S = 60.0
# Answers worth keeping: the document, or that there is none (a revoked OB 2.0 assertion: 410).
_CACHEABLE = frozenset({200, 404, 410})


@dataclass(frozen=True)
class Fetched:
    """An answer: its status, its media type (lowercase, without parameters) and its body."""

    status: int
    content_type: str
    body: bytes


class FetchFailed(Exception):
    """No answer: the URL is refused, the host unreachable, the answer too slow or too large.
    `reason` is safe to show to whoever submitted the URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class Fetcher:
    def __init__(
        self,
        *,
        allow_private: bool,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        cache_entries: int = CACHE_ENTRIES,
        cache_bytes: int = CACHE_BYTES,
        cache_ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allow_private = allow_private
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._cache = _Cache(cache_entries, cache_bytes, cache_ttl_s, clock)
        self._in_flight: dict[tuple[str, str, int], asyncio.Future[Fetched]] = {}
        self._session: aiohttp.ClientSession | None = None

    async def start(self, relay: OutboxRelay | None = None) -> None:
        """Nothing to start: the session is made on first use (it needs the running loop)."""

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self, url: str, *, accept: str = "application/json", max_bytes: int | None = None
    ) -> Fetched:
        """GET `url`: its answer, whatever its status (a redirect included, not followed), or
        `FetchFailed`. `max_bytes` overrides the limit (images are larger than documents)."""
        limit = max_bytes or self._max_bytes
        key = (url, accept, limit)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Fetched] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            fetched = await self._get(url, accept, limit)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        else:
            future.set_result(fetched)
            if fetched.status in _CACHEABLE:
                self._cache.put(key, fetched)
            return fetched
        finally:
            del self._in_flight[key]

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=guarded_connector(
                    allow_private=self._allow_private, limit=MAX_CONNECTIONS
                ),
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                headers={"User-Agent": USER_AGENT},
                # Cookies set by one issuer's host must never travel to another's.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def _get(self, url: str, accept: str, limit: int) -> Fetched:
        try:
            check_url(url, allow_private=self._allow_private)
        except BlockedTarget as blocked:
            raise FetchFailed(url, f"refused: {blocked.reason}") from None
        try:
            async with self._client().get(
                url, headers={"Accept": accept}, allow_redirects=False
            ) as response:
                declared = response.content_length
                if declared is not None and declared > limit:
                    raise FetchFailed(url, f"the answer is larger than {_size(limit)}")
                body = await _read_at_most(response, limit)
                if body is None:
                    raise FetchFailed(url, f"the answer is larger than {_size(limit)}")
                return Fetched(response.status, response.content_type.lower(), body)
        except TimeoutError:
            raise FetchFailed(url, f"no answer within {self._timeout_s:g} s") from None
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, BlockedTarget):
                raise FetchFailed(url, f"refused: {error.os_error.reason}") from None
            raise FetchFailed(url, "the host cannot be reached") from None
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError, ValueError) as error:
            log.info("fetch.failed", error=type(error).__name__)
            raise FetchFailed(url, "the request failed") from None


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body, or None once it grows past `limit` (a missing or false Content-Length)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _size(limit: int) -> str:
    if limit % (1 << 20) == 0:
        return f"{limit >> 20} MiB"
    if limit % (1 << 10) == 0:
        return f"{limit >> 10} KiB"
    return f"{limit} bytes"


class _Cache:
    """Answers by key for `ttl_s`, the least recently used dropped beyond `entries` or
    `max_bytes` of bodies."""

    def __init__(
        self, entries: int, max_bytes: int, ttl_s: float, clock: Callable[[], float]
    ) -> None:
        self._entries = entries
        self._max_bytes = max_bytes
        self._ttl_s = ttl_s
        self._clock = clock
        self._items: OrderedDict[tuple[str, str, int], tuple[float, Fetched]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[str, str, int]) -> Fetched | None:
        found = self._items.get(key)
        if found is None:
            return None
        stored_at, fetched = found
        if self._clock() - stored_at >= self._ttl_s:
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return fetched

    def put(self, key: tuple[str, str, int], fetched: Fetched) -> None:
        if len(fetched.body) > self._max_bytes // 4 or self._entries <= 0:
            return
        if key in self._items:
            self._drop(key)
        self._items[key] = (self._clock(), fetched)
        self._bytes += len(fetched.body)
        while len(self._items) > self._entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._items)))

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, key: tuple[str, str, int]) -> None:
        _, fetched = self._items.pop(key)
        self._bytes -= len(fetched.body)
