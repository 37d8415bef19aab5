"""The topology and the bus on a real RabbitMQ: confirms, routing, dead-lettering."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import pytest

from shared import topology
from shared.bus import Bus, Consumer, OutgoingEvent
from shared.deadletters import inspect, redrive
from tests.support.infra import Isolation

pytestmark = pytest.mark.integration


async def next_message(
    queue: aio_pika.abc.AbstractQueue, timeout_s: float = 5.0
) -> aio_pika.abc.AbstractIncomingMessage:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (message := await queue.get(no_ack=False, fail=False)) is None:
        assert asyncio.get_running_loop().time() < deadline, f"nothing arrived on {queue.name}"
        await asyncio.sleep(0.02)
    return message


async def test_events_are_persistent_and_routed_by_type(bus: Bus) -> None:
    routing_key = f"probe.{uuid.uuid4().hex[:8]}"
    channel = await bus.connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(topology.EVENTS_EXCHANGE, routing_key)
    await bus.publish_events([OutgoingEvent("m-1", routing_key, b'{"n": 1}')])
    message = await next_message(queue)
    assert message.body == b'{"n": 1}'
    assert message.message_id == "m-1"
    assert message.type == routing_key
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    await message.ack()
    await channel.close()


async def test_subscriber_queues_are_quorum_with_a_delivery_limit(own_vhost: Isolation) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    try:
        channel = await bus.connection.channel()
        for event_queue in topology.EVENT_QUEUES:
            # Redeclaring with the same arguments succeeds; any other argument is refused.
            await channel.declare_queue(
                event_queue.name, durable=True, arguments=event_queue.arguments
            )
            with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
                await channel.declare_queue(event_queue.name, durable=True, arguments={})
            channel = await bus.connection.channel()
    finally:
        await bus.close()


async def test_rejected_and_poison_messages_reach_the_dead_letter_queue(
    own_vhost: Isolation,
) -> None:
    bus = await Bus.connect(own_vhost.amqp_url, client_name="tests")
    try:
        await bus.publish_events([OutgoingEvent("rejected", "system.deleted", b"{}")])
        await bus.publish_events([OutgoingEvent("poison", "system.deleted", b"{}")])
        channel = await bus.connection.channel()
        queue = await channel.declare_queue(
            topology.ISSUER_EVENTS.name, durable=True, arguments=topology.ISSUER_EVENTS.arguments
        )
        first = await next_message(queue)
        assert first.message_id == "rejected"
        await first.reject(requeue=False)
        # The poison message keeps failing: requeued until the delivery limit dead-letters it.
        for _ in range(topology.DELIVERY_LIMIT + 1):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            assert message.message_id == "poison"
            await message.nack(requeue=True)
        counts = await inspect(own_vhost.amqp_url)
        assert counts[topology.ISSUER_EVENTS.dead_letter_queue] == 2
        assert counts[topology.WEBHOOKS_EVENTS.dead_letter_queue] == 0
        await channel.close()
        # Redrive puts both back on the subscriber's queue, and empties the dead letters.
        assert await redrive(own_vhost.amqp_url, topology.ISSUER_EVENTS.name) == 2
        assert (await inspect(own_vhost.amqp_url))[topology.ISSUER_EVENTS.dead_letter_queue] == 0
        channel = await bus.connection.channel()
        queue = await channel.declare_queue(
            topology.ISSUER_EVENTS.name, durable=True, arguments=topology.ISSUER_EVENTS.arguments
        )
        redriven = {(await next_message(queue)).message_id for _ in range(2)}
        assert redriven == {"rejected", "poison"}
    finally:
        await bus.close()


async def test_consumer_stop_waits_for_messages_in_flight(bus: Bus) -> None:
    channel = await bus.connection.channel()
    name = f"probe.{uuid.uuid4().hex[:8]}"
    await channel.declare_queue(name, exclusive=False, auto_delete=True)
    started, release, finished = asyncio.Event(), asyncio.Event(), []

    async def slow(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        started.set()
        await release.wait()
        await message.ack()
        finished.append(message.body)

    consumer = await bus.consume_private(f"{name}.private", slow, no_ack=False)
    await bus.publish_direct(aio_pika.Message(b"work"), consumer.queue.name)
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(consumer.stop(timeout_s=5))
    await asyncio.sleep(0.05)
    assert not stopping.done()
    release.set()
    await stopping
    assert finished == [b"work"]
    await channel.close()


async def test_a_consumer_knows_whether_the_broker_delivers_to_it(bus: Bus) -> None:
    """What a process's readiness probe asks of each of its consumers (shared/probes.py)."""

    async def ignore(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()

    channel = await bus.connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    consumer = Consumer(queue, ignore)
    assert not await consumer.is_consuming()
    await consumer.start()
    assert await consumer.is_consuming()
    await consumer.stop(timeout_s=1)
    assert not await consumer.is_consuming()
    await consumer.start()
    await channel.close()
    assert not await consumer.is_consuming()
