from __future__ import annotations

import asyncio

import pytest

from services.gateway.auth import Credentials
from services.gateway.consumers import ConsumerCache
from services.gateway.ratelimit import RateLimiter
from tests.unit.gateway.caches import Clock


class TestRateLimiter:
    def test_burst_then_refill(self) -> None:
        clock = Clock()
        limiter = RateLimiter(rate_per_s=2, burst=3, clock=clock)
        assert [limiter.take("k") for _ in range(3)] == [None, None, None]
        assert limiter.take("k") == 1
        clock.now += 0.5
        assert limiter.take("k") is None
        assert limiter.take("k") == 1

    def test_keys_are_independent(self) -> None:
        limiter = RateLimiter(rate_per_s=1, burst=1, clock=Clock())
        assert limiter.take("a") is None
        assert limiter.take("a") == 1
        assert limiter.take("b") is None

    def test_retry_after_grows_with_a_slow_rate(self) -> None:
        limiter = RateLimiter(rate_per_s=0.1, burst=1, clock=Clock())
        limiter.take("k")
        assert limiter.take("k") == 10

    def test_keeps_only_the_most_recently_used_buckets(self) -> None:
        limiter = RateLimiter(rate_per_s=0.1, burst=1, clock=Clock(), max_keys=2)
        for key in ("a", "b", "c"):
            assert limiter.take(key) is None
        assert limiter.take("c") == 10
        assert limiter.take("b") == 10
        # "a", least recently used, was dropped: a full bucket again.
        assert limiter.take("a") is None
        assert limiter.take("c") is None  # dropped in turn when "a" came back


class FakeBadges:
    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()

    async def fetch(self, api_key: str) -> Credentials | None:
        self.calls += 1
        await self.release.wait()
        return Credentials("secret", "chicago") if api_key == "known" else None


class TestConsumerCache:
    async def test_caches_known_and_unknown_keys_for_the_ttl(self) -> None:
        clock, badges = Clock(), FakeBadges()
        cache = ConsumerCache(badges.fetch, ttl_s=5, max_size=10, clock=clock)
        assert await cache.get("known") == Credentials("secret", "chicago")
        assert await cache.get("unknown") is None
        assert await cache.get("known") is not None
        assert await cache.get("unknown") is None
        assert badges.calls == 2
        clock.now += 5.1
        await cache.get("known")
        assert badges.calls == 3

    async def test_concurrent_lookups_share_one_request(self) -> None:
        badges = FakeBadges()
        badges.release.clear()
        cache = ConsumerCache(badges.fetch, ttl_s=5, max_size=10, clock=Clock())
        waiting = [asyncio.create_task(cache.get("known")) for _ in range(5)]
        await asyncio.sleep(0)
        badges.release.set()
        assert len({id(result) for result in await asyncio.gather(*waiting)}) == 1
        assert badges.calls == 1

    async def test_forget_drops_the_key(self) -> None:
        badges = FakeBadges()
        cache = ConsumerCache(badges.fetch, ttl_s=5, max_size=10, clock=Clock())
        await cache.get("known")
        cache.forget("known")
        await cache.get("known")
        assert badges.calls == 2

    async def test_forget_wins_over_a_lookup_in_flight(self) -> None:
        badges = FakeBadges()
        badges.release.clear()
        cache = ConsumerCache(badges.fetch, ttl_s=5, max_size=10, clock=Clock())
        in_flight = asyncio.create_task(cache.get("known"))
        await asyncio.sleep(0)
        cache.forget("known")
        badges.release.set()
        await in_flight
        await cache.get("known")
        assert badges.calls == 2

    async def test_forget_system(self) -> None:
        badges = FakeBadges()
        cache = ConsumerCache(badges.fetch, ttl_s=5, max_size=10, clock=Clock())
        await cache.get("known")
        cache.forget_system("chicago")
        await cache.get("known")
        assert badges.calls == 2

    async def test_clear_drops_every_key_and_wins_over_a_lookup_in_flight(self) -> None:
        badges = FakeBadges()
        cache = ConsumerCache(badges.fetch, ttl_s=5, max_size=10, clock=Clock())
        await cache.get("known")
        badges.release.clear()
        in_flight = asyncio.create_task(cache.get("other"))
        await asyncio.sleep(0)
        cache.clear()
        badges.release.set()
        await in_flight
        await cache.get("known")
        await cache.get("other")
        assert badges.calls == 4

    async def test_size_is_bounded(self) -> None:
        badges = FakeBadges()
        cache = ConsumerCache(badges.fetch, ttl_s=5, max_size=2, clock=Clock())
        for key in ("a", "b", "c"):
            await cache.get(key)
        await cache.get("a")
        assert badges.calls == 4

    async def test_errors_reach_every_waiter(self) -> None:
        async def failing(api_key: str) -> Credentials | None:
            raise RuntimeError("badges down")

        cache = ConsumerCache(failing, ttl_s=5, max_size=2, clock=Clock())
        with pytest.raises(RuntimeError, match="badges down"):
            await cache.get("k")
