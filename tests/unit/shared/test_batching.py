"""Gathering work into batches (shared/batching.py): a tick's items go together, items arriving
while the batches in flight run make the next ones, batches stay within their bound, and keys
never mix."""

from __future__ import annotations

import asyncio

from shared.batching import Batches


class Recorder:
    """A runner that records its batches and holds each until released."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def run(self, key: str, items: list[int]) -> None:
        self.batches.append((key, items))
        self.started.set()
        await self.release.wait()


async def settle() -> None:
    """Let every ready callback and task run."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_items_of_one_tick_make_one_batch_per_key() -> None:
    recorder = Recorder()
    recorder.release.set()
    batches = Batches[str, int](recorder.run, max_batch=10, in_flight=1)
    for item in range(3):
        batches.add("award", item)
    batches.add("revoke", 9)
    await settle()
    assert sorted(recorder.batches) == [("award", [0, 1, 2]), ("revoke", [9])]


async def test_items_arriving_while_the_slots_are_taken_make_the_next_batches() -> None:
    recorder = Recorder()
    batches = Batches[str, int](recorder.run, max_batch=3, in_flight=2)
    batches.add("award", 0)
    await settle()
    batches.add("award", 1)
    await settle()
    # Both slots are taken: these wait, then go together, within the bound.
    for item in range(2, 7):
        batches.add("award", item)
    await settle()
    assert recorder.batches == [("award", [0]), ("award", [1])]
    recorder.release.set()
    await settle()
    assert recorder.batches[2:] == [("award", [2, 3, 4]), ("award", [5, 6])]


async def test_a_failing_runner_frees_its_slot() -> None:
    ran: list[list[int]] = []

    async def fail(key: str, items: list[int]) -> None:
        ran.append(items)
        raise RuntimeError("boom")

    batches = Batches[str, int](fail, max_batch=2, in_flight=1)
    batches.add("award", 0)
    await settle()
    batches.add("award", 1)
    await settle()
    assert ran == [[0], [1]]
