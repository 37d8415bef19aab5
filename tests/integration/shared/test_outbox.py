"""The transactional outbox on real Postgres and RabbitMQ."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import asyncpg
import pytest

from shared import topology
from shared.bus import Bus
from shared.config import Settings
from shared.envelope import Envelope
from shared.messages.events import SystemDeleted
from shared.outbox import STALE_AFTER_S, OutboxRelay, write_events

pytestmark = pytest.mark.integration


def event(n: int) -> Envelope:
    return Envelope.wrap(
        SystemDeleted(system=f"s{n}"),
        correlation_id="c",
        system_id=n,
    )


async def bound_queue(bus: Bus) -> aio_pika.abc.AbstractQueue:
    channel = await bus.connection.channel()
    queue = await channel.declare_queue(f"probe.{uuid.uuid4().hex[:8]}", exclusive=True)
    await queue.bind(topology.EVENTS_EXCHANGE, "system.deleted")
    return queue


async def drain(queue: aio_pika.abc.AbstractQueue, expected: int) -> list[str]:
    ids: list[str] = []
    deadline = asyncio.get_running_loop().time() + 10
    while len(ids) < expected:
        assert asyncio.get_running_loop().time() < deadline, f"only {len(ids)} of {expected}"
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.02)
        else:
            ids.append(message.message_id or "")
    return ids


async def test_rows_commit_or_roll_back_with_the_change(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        async with conn.transaction():
            await write_events(conn, [event(1), event(2)])
        transaction = conn.transaction()
        await transaction.start()
        await write_events(conn, [event(3)])
        await transaction.rollback()
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 2


async def test_relay_publishes_then_deletes(pool: asyncpg.Pool, bus: Bus) -> None:
    queue = await bound_queue(bus)
    envelopes = [event(n) for n in range(7)]
    async with pool.acquire() as conn:
        await write_events(conn, envelopes)
    relay = OutboxRelay(pool, bus, batch_size=3)
    assert [await relay.relay_once() for _ in range(4)] == [3, 3, 1, 0]
    assert sorted(await drain(queue, 7)) == sorted(str(e.message_id) for e in envelopes)
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_rows_stay_when_the_broker_is_gone(pool: asyncpg.Pool, settings: Settings) -> None:
    async with pool.acquire() as conn:
        await write_events(conn, [event(1)])
    broken = await Bus.connect(settings.amqp_url, client_name="tests")
    await broken.close()
    with pytest.raises(Exception):  # noqa: B017, PT011 - any failure to publish will do
        await OutboxRelay(pool, broken).relay_once()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_running_relay_wakes_on_demand_and_flushes_on_stop(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    queue = await bound_queue(bus)
    relay = OutboxRelay(pool, bus)
    relay.start()
    async with pool.acquire() as conn:
        await write_events(conn, [event(1)])
    relay.wake()
    assert len(await drain(queue, 1)) == 1
    async with pool.acquire() as conn:
        await write_events(conn, [event(2)])
    await relay.stop()
    assert len(await drain(queue, 1)) == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_two_relays_never_publish_a_row_twice(pool: asyncpg.Pool, bus: Bus) -> None:
    queue = await bound_queue(bus)
    envelopes = [event(n) for n in range(200)]
    async with pool.acquire() as conn:
        await write_events(conn, envelopes)
    first, second = OutboxRelay(pool, bus, batch_size=20), OutboxRelay(pool, bus, batch_size=20)

    async def run(relay: OutboxRelay) -> int:
        total = 0
        while moved := await relay.relay_once():
            total += moved
        return total

    assert sum(await asyncio.gather(run(first), run(second))) == 200
    ids = await drain(queue, 200)
    assert len(ids) == len(set(ids)) == 200


async def test_rows_handed_over_are_published_and_deleted_without_a_claim(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    queue = await bound_queue(bus)
    relay = OutboxRelay(pool, bus)
    relay.start()
    envelopes = [event(n) for n in range(3)]
    async with pool.acquire() as conn, conn.transaction():
        rows = await write_events(conn, envelopes)
    assert [event.message_id for _, event in rows] == [str(e.message_id) for e in envelopes]
    relay.relay_soon(rows)
    assert sorted(await drain(queue, 3)) == sorted(str(e.message_id) for e in envelopes)
    await relay.stop()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_the_poll_leaves_young_rows_to_the_relay_they_were_handed_to(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    async with pool.acquire() as conn:
        await write_events(conn, [event(1)])
        await write_events(conn, [event(2)])
        await conn.execute(
            "UPDATE outbox SET created_at = now() - interval '1 minute'"
            " WHERE id = (SELECT min(id) FROM outbox)"
        )
    relay = OutboxRelay(pool, bus)
    assert await relay.relay_once(older_than_s=STALE_AFTER_S) == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_handed_rows_stay_for_the_poll_when_the_broker_is_gone(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    async with pool.acquire() as conn:
        rows = await write_events(conn, [event(1)])
    broken = await Bus.connect(settings.amqp_url, client_name="tests")
    await broken.close()
    relay = OutboxRelay(pool, broken)
    relay.relay_soon(rows)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any failure to publish will do
        await relay.relay_handed()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
