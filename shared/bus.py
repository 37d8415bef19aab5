"""The message bus, written directly on aio-pika.

One robust connection per process, with two kinds of channel:
- the events channel has publisher confirms and raises on returns: every event publish is
  persistent and mandatory and waits for its confirm (the outbox relay pipelines a batch);
- request/reply traffic goes without confirms (DESIGN.md, Messaging): the reply is the
  acknowledgement, and a lost request surfaces as a deadline miss.
Each consumer gets a channel of its own, so its prefetch bounds only its own work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import cast

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from pamqp.commands import Basic

from shared import topology

log = structlog.get_logger()

Properties = Basic.Properties
MessageCallback = Callable[[AbstractIncomingMessage], Awaitable[None]]

# A broker that has not confirmed a publish within this time is treated as failed; the outbox
# keeps the rows and the relay tries again.
CONFIRM_TIMEOUT_S = 10.0
PERSISTENT = 2  # AMQP delivery mode: written to disk (quorum queues keep every message so)


@dataclass(frozen=True)
class OutgoingEvent:
    message_id: str
    routing_key: str
    body: bytes


class Consumer:
    """A running consumer: counts the messages in flight so a stop can let them finish."""

    def __init__(self, queue: AbstractQueue, callback: MessageCallback) -> None:
        self.queue = queue
        self._callback = callback
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tag: str | None = None

    async def start(self, *, no_ack: bool = False, exclusive: bool = False) -> None:
        self._tag = await self.queue.consume(self._run, no_ack=no_ack, exclusive=exclusive)

    async def _run(self, message: AbstractIncomingMessage) -> None:
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._callback(message)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def is_consuming(self) -> bool:
        """Whether the broker delivers to this consumer now: its channel is open and holds its
        tag (after a reconnect, the robust channel consumes again under the same tag)."""
        if self._tag is None or self.queue.channel.is_closed:
            return False
        # The concrete channel: its abstract base does not declare `consumers`.
        channel = cast(aiormq.Channel, await self.queue.channel.get_underlay_channel())
        return self._tag in channel.consumers

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking messages, then wait for the ones in flight to be handled and acked."""
        if self._tag is not None:
            try:
                await self.queue.cancel(self._tag)
            except Exception:  # the channel may already be gone; nothing more can arrive then
                log.warning("consumer.cancel_failed", queue=self.queue.name)
            self._tag = None
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            log.warning("consumer.stop_timed_out", queue=self.queue.name, in_flight=self._in_flight)


class Bus:
    def __init__(
        self,
        connection: AbstractRobustConnection,
        events_channel: AbstractChannel,
        direct_channel: AbstractChannel,
    ) -> None:
        self.connection = connection
        self._events_channel = events_channel
        self.direct_channel = direct_channel

    @classmethod
    async def connect(cls, url: str, *, client_name: str) -> Bus:
        connection = await aio_pika.connect_robust(
            url, client_properties={"connection_name": client_name}
        )
        try:
            events_channel = await connection.channel(
                publisher_confirms=True, on_return_raises=True
            )
            direct_channel = await connection.channel(publisher_confirms=False)
            await declare_topology(events_channel)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, events_channel, direct_channel)

    @property
    def is_connected(self) -> bool:
        return not self.connection.is_closed and self.connection.connected.is_set()

    async def close(self) -> None:
        await self.connection.close()

    async def publish_events(self, events: Sequence[OutgoingEvent]) -> None:
        """Publish persistent, mandatory events and wait until the broker confirmed all of them.
        Straight on the channel, without aio-pika's message objects: each publish's frames are
        queued for the socket at once (in order), and only its confirm is waited for; a nack
        raises `DeliveryError`, a return `PublishError` (aiormq's, which aio-pika's are)."""
        if self._events_channel.is_closed:
            raise aiormq.exceptions.ChannelInvalidStateError("the events channel is closed")
        channel = cast(aiormq.Channel, await self._events_channel.get_underlay_channel())
        await asyncio.gather(
            *(
                channel.basic_publish(
                    event.body,
                    exchange=topology.EVENTS_EXCHANGE,
                    routing_key=event.routing_key,
                    properties=Properties(
                        message_id=event.message_id,
                        message_type=event.routing_key,
                        content_type="application/json",
                        delivery_mode=PERSISTENT,
                    ),
                    mandatory=True,
                    timeout=CONFIRM_TIMEOUT_S,
                    wait=False,
                )
                for event in events
            )
        )

    async def publish_direct(self, message: aio_pika.Message, queue: str) -> None:
        """Send to one queue through the default exchange, without a confirm."""
        await self.send_direct(queue, message.body, message.properties)

    async def send_direct(self, queue: str, body: bytes, properties: Properties) -> None:
        """`publish_direct` without aio-pika's message object, returning once the frames are
        queued for the socket instead of once they are written: nothing is confirmed on this
        channel anyway, and frames leave the connection in the order they were queued (a reply
        always goes out before the ack that follows it). About half the CPU of a publish."""
        if self.direct_channel.is_closed:
            raise aiormq.exceptions.ChannelInvalidStateError("the request channel is closed")
        # The concrete channel: its abstract base does not declare `wait`.
        channel = cast(aiormq.Channel, await self.direct_channel.get_underlay_channel())
        await channel.basic_publish(
            body, exchange="", routing_key=queue, properties=properties, wait=False
        )

    async def consumers(self, queue_name: str) -> int:
        """How many consumers `queue_name` has now (each process of a service consumes its
        queues once: its replicas), by a passive declare on a channel of its own."""
        channel = await self.connection.channel(publisher_confirms=False)
        try:
            queue = await channel.declare_queue(queue_name, passive=True)
            return queue.declaration_result.consumer_count or 0
        finally:
            await channel.close()

    async def consume(
        self,
        queue_name: str,
        callback: MessageCallback,
        *,
        prefetch: int,
    ) -> Consumer:
        """Consume a queue declared by the topology, on a channel of its own."""
        channel = await self.connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.declare_queue(
            queue_name, durable=True, arguments=topology.durable_queues()[queue_name]
        )
        consumer = Consumer(queue, callback)
        await consumer.start()
        return consumer

    async def consume_private(
        self,
        name: str,
        callback: MessageCallback,
        *,
        bindings: Sequence[str] = (),
        no_ack: bool = True,
    ) -> Consumer:
        """An exclusive queue of this process (reply queue, broadcasts), gone when it stops."""
        queue = await self.direct_channel.declare_queue(name, exclusive=True, auto_delete=True)
        for routing_key in bindings:
            await queue.bind(topology.EVENTS_EXCHANGE, routing_key)
        consumer = Consumer(queue, callback)
        await consumer.start(no_ack=no_ack, exclusive=True)
        return consumer


async def declare_topology(channel: AbstractChannel) -> AbstractExchange:
    """Declare every exchange, queue and binding; idempotent, so every process does it."""
    unroutable = await channel.declare_exchange(
        topology.UNROUTABLE_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
    )
    unroutable_queue = await channel.declare_queue(
        topology.UNROUTABLE_QUEUE, durable=True, arguments=topology.QUORUM
    )
    await unroutable_queue.bind(unroutable)
    events = await channel.declare_exchange(
        topology.EVENTS_EXCHANGE,
        aio_pika.ExchangeType.TOPIC,
        durable=True,
        arguments={"alternate-exchange": topology.UNROUTABLE_EXCHANGE},
    )
    dead_letter = await channel.declare_exchange(
        topology.DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
    )
    for event_queue in topology.EVENT_QUEUES:
        dlq = await channel.declare_queue(
            event_queue.dead_letter_queue, durable=True, arguments=topology.QUORUM
        )
        await dlq.bind(dead_letter, event_queue.dead_letter_queue)
        queue = await channel.declare_queue(
            event_queue.name, durable=True, arguments=event_queue.arguments
        )
        for routing_key in event_queue.bindings:
            await queue.bind(events, routing_key)
        for routing_key in event_queue.obsolete:
            await queue.unbind(events, routing_key)
    for service in topology.SERVICES:
        await channel.declare_queue(topology.request_queue(service), durable=True)
    return events
