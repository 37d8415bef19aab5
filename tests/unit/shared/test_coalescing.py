"""Messages to one destination made in the same tick go out as one; nothing waits for company."""

from __future__ import annotations

import asyncio

import pytest

from shared.coalescing import Coalescer


class Recorder:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.sent: list[tuple[str, list[str]]] = []
        self.fail = fail

    async def __call__(self, destination: str, batch: list[str]) -> None:
        self.sent.append((destination, batch))
        if self.fail is not None:
            raise self.fail


class TestCoalescer:
    async def test_items_of_one_tick_to_one_destination_share_a_send(self) -> None:
        send = Recorder()
        coalescer = Coalescer[str](send)
        sent = [coalescer.add("a", "1"), coalescer.add("b", "2"), coalescer.add("a", "3")]
        await asyncio.gather(*sent)
        assert sorted(send.sent) == [("a", ["1", "3"]), ("b", ["2"])]

    async def test_a_later_tick_sends_again_and_a_lone_item_does_not_wait(self) -> None:
        send = Recorder()
        coalescer = Coalescer[str](send)
        await coalescer.add("a", "1")
        await coalescer.add("a", "2")
        assert send.sent == [("a", ["1"]), ("a", ["2"])]

    async def test_a_failed_send_fails_every_item_of_its_batch(self) -> None:
        coalescer = Coalescer[str](Recorder(fail=ConnectionError("broker gone")))
        first, second = coalescer.add("a", "1"), coalescer.add("a", "2")
        for future in (first, second):
            with pytest.raises(ConnectionError, match="broker gone"):
                await future
