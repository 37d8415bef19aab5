"""Dead-letter queues for operators: count them, and move messages back to their queue."""

from __future__ import annotations

import aio_pika

from shared import topology
from shared.bus import declare_topology


async def inspect(url: str) -> dict[str, int]:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await declare_topology(channel)
        counts = {}
        for name in topology.dead_letter_queues():
            queue = await channel.declare_queue(name, passive=True)
            counts[name] = queue.declaration_result.message_count or 0
        return counts


async def redrive(url: str, queue: str) -> int:
    """Move every message of `<queue>.dlq` back to `<queue>`; each is confirmed before its
    dead-lettered copy is acked, so nothing is lost if this stops half-way."""
    known = {q.name: q for q in topology.EVENT_QUEUES}
    if queue not in known:
        raise SystemExit(f"plaudit: no dead-letter queue for {queue!r}; one of: {', '.join(known)}")
    connection = await aio_pika.connect(url)
    moved = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        dlq = await channel.declare_queue(known[queue].dead_letter_queue, passive=True)
        while (message := await dlq.get(no_ack=False, fail=False)) is not None:
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    message_id=message.message_id,
                    type=message.type,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=queue,
                mandatory=True,
            )
            await message.ack()
            moved += 1
    return moved
