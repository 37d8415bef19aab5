"""Request/reply over RabbitMQ, with deadlines.

The caller publishes an envelope to `<service>.requests` with `reply_to` (its own exclusive
callback queue), `correlation_id` = the envelope's `message_id`, an `expiration` equal to its
deadline and the deadline itself in the `x-deadline-ms` header. The owner answers
`{"ok": true, "data": ...}` or `{"ok": false, "error": {status, code, message, ...}}` to
`reply_to`, then acks. A request found past its deadline is dropped unexecuted: its caller has
already answered 503.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import orjson
import structlog
from aio_pika.abc import AbstractIncomingMessage

from shared import topology
from shared.bus import Bus, Consumer
from shared.envelope import Envelope
from shared.errors import AppError, InternalError, ServiceUnavailable
from shared.messages.base import Message

log = structlog.get_logger()

DEADLINE_HEADER = "x-deadline-ms"
_PROBE_PREFIX = "probe:"
# What publishing raises while the connection is down or a channel is being reopened.
_BROKER_FAILURES = (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError)


def ok_reply(data: Any) -> bytes:
    return orjson.dumps({"ok": True, "data": data})


def error_reply(error: AppError) -> bytes:
    return orjson.dumps({"ok": False, "error": error.to_wire()})


def now_ms() -> int:
    return int(time.time() * 1000)


class RpcClient:
    """The caller's side: one callback queue per process, one future per request in flight."""

    def __init__(self, bus: Bus, *, name: str) -> None:
        self._bus = bus
        self._queue_name = f"{name}.replies.{uuid.uuid4().hex[:12]}"
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._consumer: Consumer | None = None

    async def start(self) -> None:
        self._consumer = await self._bus.consume_private(self._queue_name, self._on_reply)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop(timeout_s=1)
        for future in self._pending.values():
            future.cancel()

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is not None and not future.done():
            future.set_result(message.body)

    async def _round_trip(self, key: str, send: Awaitable[None], timeout_s: float) -> bytes:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            # The deadline covers the publish too: on a reconnecting channel it can hang.
            async with asyncio.timeout(timeout_s):
                await send
                return await future
        finally:
            self._pending.pop(key, None)

    async def call(
        self,
        service: str,
        message: Message,
        *,
        correlation_id: str,
        timeout_s: float,
    ) -> Any:
        """Send a request and return the reply's `data`; an error reply raises its AppError."""
        envelope = Envelope.wrap(message, correlation_id=correlation_id)
        key = str(envelope.message_id)
        request = aio_pika.Message(
            envelope.to_bytes(),
            message_id=key,
            correlation_id=key,
            reply_to=self._queue_name,
            type=envelope.type,
            content_type="application/json",
            expiration=timeout_s,
            headers={DEADLINE_HEADER: now_ms() + int(timeout_s * 1000)},
        )
        send = self._bus.publish_direct(request, topology.request_queue(service))
        try:
            body = await self._round_trip(key, send, timeout_s)
        except TimeoutError:
            raise ServiceUnavailable(
                f"The {service} service did not answer in time; try again shortly"
            ) from None
        except aio_pika.exceptions.AMQPError:
            raise ServiceUnavailable(
                "The message broker is unreachable; try again shortly"
            ) from None
        reply = orjson.loads(body)
        if reply.get("ok"):
            return reply.get("data")
        raise AppError.from_wire(reply.get("error") or {})

    async def probe(self, timeout_s: float = 2.0) -> bool:
        """True when a message sent to our own callback queue comes back: broker and reply path."""
        key = _PROBE_PREFIX + uuid.uuid4().hex
        send = self._bus.publish_direct(
            aio_pika.Message(b"{}", correlation_id=key, expiration=timeout_s), self._queue_name
        )
        try:
            await self._round_trip(key, send, timeout_s)
        except (TimeoutError, *_BROKER_FAILURES):
            return False
        return True


RequestHandler = Callable[[Envelope, AbstractIncomingMessage], Awaitable[bytes]]


class RpcServer:
    """The owner's side: consume `<service>.requests`, answer each, then ack it."""

    def __init__(self, bus: Bus, service: str, handle: RequestHandler, *, prefetch: int) -> None:
        self._bus = bus
        self._service = service
        self._handle = handle
        self._prefetch = prefetch
        self._consumer: Consumer | None = None

    async def start(self) -> None:
        self._consumer = await self._bus.consume(
            topology.request_queue(self._service), self._on_request, prefetch=self._prefetch
        )

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def _on_request(self, message: AbstractIncomingMessage) -> None:
        deadline = (message.headers or {}).get(DEADLINE_HEADER)
        if isinstance(deadline, int) and deadline < now_ms():
            log.info("request.expired", type=message.type)
            await message.ack()
            return
        try:
            envelope = Envelope.from_bytes(message.body)
        except ValueError:
            log.error("request.malformed", type=message.type)
            reply = error_reply(InternalError("Malformed request message"))
        else:
            with structlog.contextvars.bound_contextvars(
                correlation_id=envelope.correlation_id,
                message_id=str(envelope.message_id),
                type=envelope.type,
            ):
                reply = await self._handle(envelope, message)
        if message.reply_to:
            await self._bus.publish_direct(
                aio_pika.Message(
                    reply, correlation_id=message.correlation_id, content_type="application/json"
                ),
                message.reply_to,
            )
        await message.ack()
