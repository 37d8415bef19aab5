from __future__ import annotations

import asyncio

import pytest

from services.gateway.systems import System, SystemCache
from tests.unit.gateway.caches import Clock, until_asked

DEMO = System(id=7, slug="demo")


class FakeBadges:
    """The badges service's `ResolveSystem`, counted; `release` holds answers back."""

    def __init__(self) -> None:
        self.systems = {"demo": DEMO}
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.release.set()

    async def resolve(self, slug: str) -> System | None:
        self.calls.append(slug)
        await self.release.wait()
        return self.systems.get(slug)


def cache_of(badges: FakeBadges, clock: Clock | None = None, max_size: int = 10) -> SystemCache:
    return SystemCache(
        badges.resolve,
        ttl_s=60,
        unknown_ttl_s=1,
        max_size=max_size,
        clock=clock or Clock(),
    )


class TestHitsAndMisses:
    async def test_a_miss_asks_badges_and_the_next_get_is_a_hit(self) -> None:
        badges = FakeBadges()
        cache = cache_of(badges)
        assert await cache.get("demo") == DEMO
        assert await cache.get("demo") == DEMO
        assert badges.calls == ["demo"]

    async def test_slugs_are_cached_apart(self) -> None:
        badges = FakeBadges()
        badges.systems["other"] = System(id=8, slug="other")
        cache = cache_of(badges)
        assert (await cache.get("demo"), await cache.get("other")) == (
            DEMO,
            badges.systems["other"],
        )
        await cache.get("demo")
        await cache.get("other")
        assert badges.calls == ["demo", "other"]

    async def test_concurrent_misses_share_one_look_up(self) -> None:
        badges = FakeBadges()
        badges.release.clear()
        cache = cache_of(badges)
        waiting = [asyncio.create_task(cache.get("demo")) for _ in range(5)]
        await until_asked(badges.calls, 1)
        badges.release.set()
        assert await asyncio.gather(*waiting) == [DEMO] * 5
        assert badges.calls == ["demo"]

    async def test_a_cancelled_caller_leaves_the_others_their_answer(self) -> None:
        badges = FakeBadges()
        badges.release.clear()
        cache = cache_of(badges)
        first = asyncio.create_task(cache.get("demo"))
        second = asyncio.create_task(cache.get("demo"))
        await until_asked(badges.calls, 1)
        first.cancel()
        badges.release.set()
        assert await second == DEMO
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await cache.get("demo") == DEMO
        assert badges.calls == ["demo"]

    async def test_a_failed_look_up_reaches_every_waiter_and_is_not_kept(self) -> None:
        calls = 0

        async def down(slug: str) -> System | None:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0)
            raise RuntimeError("badges down")

        cache = SystemCache(down, ttl_s=60, unknown_ttl_s=1, max_size=10, clock=Clock())
        results = await asyncio.gather(cache.get("demo"), cache.get("demo"), return_exceptions=True)
        assert [str(result) for result in results] == ["badges down"] * 2
        with pytest.raises(RuntimeError, match="badges down"):
            await cache.get("demo")
        assert calls == 2


class TestTtl:
    async def test_a_known_slug_is_kept_for_the_ttl(self) -> None:
        clock, badges = Clock(), FakeBadges()
        cache = cache_of(badges, clock)
        await cache.get("demo")
        clock.now += 59.9
        await cache.get("demo")
        assert len(badges.calls) == 1
        clock.now += 0.2
        assert await cache.get("demo") == DEMO
        assert len(badges.calls) == 2

    async def test_an_unknown_slug_is_kept_as_unknown_briefly(self) -> None:
        clock, badges = Clock(), FakeBadges()
        cache = cache_of(badges, clock)
        assert await cache.get("nobody") is None
        assert await cache.get("nobody") is None
        assert badges.calls == ["nobody"]
        # Created meanwhile (through another gateway): seen once the short TTL has passed.
        badges.systems["nobody"] = System(id=9, slug="nobody")
        clock.now += 1.1
        assert await cache.get("nobody") == System(id=9, slug="nobody")
        assert badges.calls == ["nobody", "nobody"]


class TestForget:
    async def test_forget_drops_the_slug_at_once(self) -> None:
        badges = FakeBadges()
        cache = cache_of(badges)
        await cache.get("demo")
        # Deleted, and the slug taken again by a new system.
        badges.systems["demo"] = System(id=70, slug="demo")
        cache.forget("demo")
        assert await cache.get("demo") == System(id=70, slug="demo")
        assert len(badges.calls) == 2

    async def test_forget_keeps_other_slugs(self) -> None:
        badges = FakeBadges()
        badges.systems["other"] = System(id=8, slug="other")
        cache = cache_of(badges)
        await cache.get("demo")
        await cache.get("other")
        cache.forget("demo")
        await cache.get("other")
        assert badges.calls == ["demo", "other"]

    async def test_a_look_up_in_flight_when_forgotten_is_not_kept(self) -> None:
        badges = FakeBadges()
        badges.release.clear()
        cache = cache_of(badges)
        before = asyncio.create_task(cache.get("demo"))
        await until_asked(badges.calls, 1)
        cache.forget("demo")
        # A request after the deletion does not join the look-up made before it.
        badges.systems["demo"] = System(id=70, slug="demo")
        after = asyncio.create_task(cache.get("demo"))
        await until_asked(badges.calls, 2)
        badges.release.set()
        await before
        assert await after == System(id=70, slug="demo")
        assert await cache.get("demo") == System(id=70, slug="demo")
        assert len(badges.calls) == 2

    async def test_forget_drops_an_unknown_slug(self) -> None:
        badges = FakeBadges()
        cache = cache_of(badges)
        assert await cache.get("nobody") is None
        badges.systems["nobody"] = System(id=9, slug="nobody")
        cache.forget("nobody")  # created through this gateway
        assert await cache.get("nobody") == System(id=9, slug="nobody")

    async def test_clear_drops_everything(self) -> None:
        badges = FakeBadges()
        cache = cache_of(badges)
        await cache.get("demo")
        await cache.get("nobody")
        cache.clear()
        await cache.get("demo")
        await cache.get("nobody")
        assert len(badges.calls) == 4


class TestSize:
    async def test_the_oldest_entry_goes_beyond_the_size(self) -> None:
        badges = FakeBadges()
        for slug in ("a", "b", "c"):
            badges.systems[slug] = System(id=ord(slug), slug=slug)
        cache = cache_of(badges, max_size=2)
        for slug in ("a", "b", "c"):
            await cache.get(slug)
        await cache.get("b")
        await cache.get("c")
        assert len(badges.calls) == 3
        await cache.get("a")
        assert badges.calls == ["a", "b", "c", "a"]
