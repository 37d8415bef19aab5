"""The gateway's read cache (services/gateway/read_cache.py): answers kept for the TTL within
bounds, one look-up for concurrent misses, and nothing of a system served after it is dropped,
a look-up in flight included."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from services.gateway.read_cache import ENTRY_OVERHEAD, Found, LookUp, ReadCache, Reply
from tests.unit.gateway.caches import Clock, until_asked


class FakeBadges:
    """The badges service's answers, by key: `version` counts changes, so an answer tells
    which state it read; `release` holds answers back."""

    def __init__(self) -> None:
        self.version = 0
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.release.set()

    def look_up(self, key: str, system: str = "demo", size: int = 10) -> LookUp:
        async def answer() -> Found:
            self.calls.append(key)
            read = self.version  # what the database held when the query ran
            await self.release.wait()
            body = f"{key}@{read}".encode().ljust(size, b" ")
            headers = (("Content-Type", "application/json"),)
            return Found(system, Reply(200, headers, body))

        return answer


def cache_of(
    clock: Clock | None = None, max_entries: int = 10, max_bytes: int = 1_000_000
) -> ReadCache:
    return ReadCache(ttl_s=5, max_entries=max_entries, max_bytes=max_bytes, clock=clock or Clock())


async def read(cache: ReadCache, badges: FakeBadges, key: str, system: str = "demo") -> str:
    response = await cache.get(key, badges.look_up(key, system))
    assert isinstance(response.body, bytes)
    return response.body.decode().strip()


class TestReply:
    def test_a_response_comes_back_byte_for_byte(self) -> None:
        sent = web.Response(
            body=b'{"a": 1}',
            status=410,
            headers={"Cache-Control": "public, max-age=60"},
            content_type="application/json",
        )
        again = Reply.of(sent).response()
        assert (again.status, again.body) == (410, b'{"a": 1}')
        assert list(again.headers.items()) == list(sent.headers.items())


class TestHitsAndMisses:
    async def test_a_miss_asks_badges_and_the_next_get_is_a_hit(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        assert await read(cache, badges, "list") == "list@0"
        badges.version = 1  # a change the cache was not told of: the TTL bounds it
        assert await read(cache, badges, "list") == "list@0"
        assert badges.calls == ["list"]

    async def test_every_hit_is_a_response_of_its_own(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        first = await cache.get("list", badges.look_up("list"))
        second = await cache.get("list", badges.look_up("list"))
        assert first is not second
        assert first.body == second.body

    async def test_keys_are_cached_apart(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        assert await read(cache, badges, "list") == "list@0"
        assert await read(cache, badges, "badge") == "badge@0"
        await read(cache, badges, "list")
        assert badges.calls == ["list", "badge"]

    async def test_concurrent_misses_share_one_look_up(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        badges.release.clear()
        waiting = [asyncio.create_task(read(cache, badges, "list")) for _ in range(5)]
        await until_asked(badges.calls, 1)
        badges.release.set()
        assert await asyncio.gather(*waiting) == ["list@0"] * 5
        assert badges.calls == ["list"]

    async def test_a_cancelled_caller_leaves_the_others_their_answer(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        badges.release.clear()
        first = asyncio.create_task(read(cache, badges, "list"))
        second = asyncio.create_task(read(cache, badges, "list"))
        await until_asked(badges.calls, 1)
        first.cancel()
        badges.release.set()
        assert await second == "list@0"
        with pytest.raises(asyncio.CancelledError):
            await first
        assert badges.calls == ["list"]

    async def test_a_failure_reaches_every_waiter_and_is_not_kept(self) -> None:
        calls = 0

        async def down() -> Found:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0)
            raise LookupError("not found")

        cache = cache_of()
        results = await asyncio.gather(
            cache.get("gone", down), cache.get("gone", down), return_exceptions=True
        )
        assert [str(result) for result in results] == ["not found"] * 2
        with pytest.raises(LookupError):
            await cache.get("gone", down)
        assert calls == 2
        assert len(cache) == 0


class TestBounds:
    async def test_an_answer_is_kept_for_the_ttl(self) -> None:
        clock, badges = Clock(), FakeBadges()
        cache = cache_of(clock)
        await read(cache, badges, "list")
        badges.version = 1
        clock.now += 4.9
        assert await read(cache, badges, "list") == "list@0"
        clock.now += 0.2
        assert await read(cache, badges, "list") == "list@1"
        assert badges.calls == ["list", "list"]

    async def test_the_least_recently_used_entry_goes_first(self) -> None:
        badges, cache = FakeBadges(), cache_of(max_entries=2)
        for key in ("a", "b"):
            await read(cache, badges, key)
        await read(cache, badges, "a")  # a hit: "b" is now the least recently used
        await read(cache, badges, "c")
        assert len(cache) == 2
        badges.calls.clear()
        for key in ("a", "b", "c"):
            await read(cache, badges, key)
        assert badges.calls == ["b", "c"]  # "b" was dropped; its return dropped "c"

    async def test_bytes_are_bounded_too(self) -> None:
        entry = 100 + ENTRY_OVERHEAD
        badges, cache = FakeBadges(), cache_of(max_bytes=2 * entry)
        for key in ("a", "b", "c"):
            await cache.get(key, badges.look_up(key, size=100))
        assert len(cache) == 2
        # An answer larger than the whole budget is served, never kept.
        await cache.get("huge", badges.look_up("huge", size=2 * entry))
        await cache.get("huge", badges.look_up("huge", size=2 * entry))
        assert badges.calls.count("huge") == 2
        assert len(cache) == 2


class TestDrops:
    async def test_a_system_is_dropped_and_no_other(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        await read(cache, badges, "list", system="demo")
        await read(cache, badges, "other", system="other")
        badges.version = 1
        cache.forget_system("demo")
        assert await read(cache, badges, "list") == "list@1"
        assert await read(cache, badges, "other", system="other") == "other@0"

    async def test_a_look_up_in_flight_when_its_system_drops_is_not_kept(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        badges.release.clear()
        early = asyncio.create_task(read(cache, badges, "list"))
        await until_asked(badges.calls, 1)  # it read version 0 ...
        badges.version = 1
        cache.forget_system("demo")  # ... which this change replaced
        # A caller after the drop does not join the stale look-up: it asks again.
        late = asyncio.create_task(read(cache, badges, "list"))
        await until_asked(badges.calls, 2)
        badges.release.set()
        assert await early == "list@0"  # its own waiters get what it read
        assert await late == "list@1"
        assert await read(cache, badges, "list") == "list@1"
        assert badges.calls == ["list", "list"]

    async def test_a_look_up_whose_system_is_known_only_from_its_answer_is_dropped_too(
        self,
    ) -> None:
        # A public assertion names its system only in its answer.
        badges, cache = FakeBadges(), cache_of()
        badges.release.clear()
        early = asyncio.create_task(read(cache, badges, "assertion", system="demo"))
        await until_asked(badges.calls, 1)
        cache.forget_system("demo")
        badges.release.set()
        await early
        assert len(cache) == 0

    async def test_a_look_up_in_flight_for_another_system_is_kept(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        badges.release.clear()
        early = asyncio.create_task(read(cache, badges, "other", system="other"))
        await until_asked(badges.calls, 1)
        cache.forget_system("demo")
        badges.release.set()
        await early
        assert await read(cache, badges, "other", system="other") == "other@0"
        assert badges.calls == ["other"]

    async def test_clear_drops_everything_and_every_look_up_in_flight(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        await read(cache, badges, "list", system="demo")
        badges.release.clear()
        early = asyncio.create_task(read(cache, badges, "other", system="other"))
        await until_asked(badges.calls, 2)
        cache.clear()
        badges.release.set()
        await early
        assert len(cache) == 0

    async def test_a_drop_with_nothing_in_flight_leaves_later_look_ups_kept(self) -> None:
        badges, cache = FakeBadges(), cache_of()
        cache.forget_system("demo")
        await read(cache, badges, "list")
        await read(cache, badges, "list")
        assert badges.calls == ["list"]


class TestNotKept:
    async def test_an_answer_not_to_keep_answers_its_waiters_only(self) -> None:
        cache, calls = cache_of(), []

        async def pending() -> Found:
            calls.append(1)
            await asyncio.sleep(0)
            return Found("demo", Reply(200, (), b"on its way"), keep=False)

        answers = await asyncio.gather(*(cache.get("page", pending) for _ in range(3)))
        assert [answer.body for answer in answers] == [b"on its way"] * 3
        assert len(calls) == 1  # one look-up for the concurrent readers
        await cache.get("page", pending)
        assert len(calls) == 2  # but nothing kept for the next one
        assert len(cache) == 0
