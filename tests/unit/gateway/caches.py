"""What the tests of the gateway's caches share: a clock they set, and a wait for look-ups."""

from __future__ import annotations

import asyncio
from collections.abc import Sized


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def until_asked(calls: Sized, count: int) -> None:
    """Let the look-up tasks run until the service was asked `count` times (`calls` records
    each request)."""
    for _ in range(100):
        if len(calls) >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"the service was asked {len(calls)} times, not {count}")
