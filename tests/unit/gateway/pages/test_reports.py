"""The award pages' verification reports: kept, shared by concurrent readers, refreshed in the
background once old, and never kept while the credential is not signed."""

from __future__ import annotations

import asyncio
from typing import Any

from services.gateway.pages.reports import Reports


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    """Counts verifications; each answers the next report of `answers` (None: not signed)."""

    def __init__(self, *answers: dict[str, Any] | None) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()

    async def verify(self) -> dict[str, Any] | None:
        self.calls += 1
        await self.release.wait()
        return self.answers[min(self.calls, len(self.answers)) - 1]


def reports(clock: Clock, max_entries: int = 10) -> Reports:
    return Reports(ttl_s=30, stale_s=120, max_entries=max_entries, clock=clock)


async def test_a_report_is_kept_for_its_ttl() -> None:
    clock, issuer = Clock(), Issuer({"n": 1}, {"n": 2})
    kept = reports(clock)
    assert await kept.get("a", issuer.verify) == {"n": 1}
    clock.now = 29
    assert await kept.get("a", issuer.verify) == {"n": 1}
    assert issuer.calls == 1


async def test_concurrent_misses_share_one_verification() -> None:
    clock, issuer = Clock(), Issuer({"n": 1})
    issuer.release.clear()
    kept = reports(clock)
    waiting = [asyncio.ensure_future(kept.get("a", issuer.verify)) for _ in range(5)]
    await asyncio.sleep(0)
    issuer.release.set()
    assert await asyncio.gather(*waiting) == [{"n": 1}] * 5
    assert issuer.calls == 1


async def test_an_old_report_is_answered_while_a_fresh_one_is_made() -> None:
    clock, issuer = Clock(), Issuer({"n": 1}, {"n": 2})
    kept = reports(clock)
    await kept.get("a", issuer.verify)
    clock.now = 31
    assert await kept.get("a", issuer.verify) == {"n": 1}  # at once, the old one
    await asyncio.sleep(0)
    assert await kept.get("a", issuer.verify) == {"n": 2}
    assert issuer.calls == 2


async def test_a_report_too_old_is_waited_for() -> None:
    clock, issuer = Clock(), Issuer({"n": 1}, {"n": 2})
    kept = reports(clock)
    await kept.get("a", issuer.verify)
    clock.now = 121
    assert await kept.get("a", issuer.verify) == {"n": 2}


async def test_no_report_is_not_kept() -> None:
    clock, issuer = Clock(), Issuer(None, {"n": 1})
    kept = reports(clock)
    assert await kept.get("a", issuer.verify) is None
    assert await kept.get("a", issuer.verify) == {"n": 1}
    assert len(kept) == 1


async def test_the_least_recently_read_go_first() -> None:
    clock, issuer = Clock(), Issuer({"n": 1})
    kept = reports(clock, max_entries=2)
    for slug in ("a", "b", "a", "c"):
        await kept.get(slug, issuer.verify)
    assert issuer.calls == 3
    await kept.get("a", issuer.verify)
    assert issuer.calls == 3  # still kept: read after b
    await kept.get("b", issuer.verify)
    assert issuer.calls == 4


async def test_a_failed_refresh_keeps_the_old_report_and_is_tried_again() -> None:
    clock, kept = Clock(), None
    calls = 0

    async def verify() -> dict[str, Any] | None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the broker went away")
        return {"n": calls}

    kept = reports(clock)
    await kept.get("a", verify)
    clock.now = 31
    assert await kept.get("a", verify) == {"n": 1}
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await kept.get("a", verify) == {"n": 1}  # the failed refresh changed nothing...
    await asyncio.sleep(0)
    assert await kept.get("a", verify) == {"n": 3}  # ...and the next reader started another
