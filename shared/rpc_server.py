"""The owner's side of request/reply (`shared.rpc`): consume `<service>.requests`, answer each
request, then ack its message; replies to one callback queue ready in the same tick share one
message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
import structlog
from aio_pika.abc import AbstractIncomingMessage

from shared import topology
from shared.bus import Bus, Consumer, Properties
from shared.coalescing import Coalescer
from shared.envelope import Envelope
from shared.errors import InternalError
from shared.rpc import BATCH, BATCH_TYPE, DEADLINE_HEADER, JSON, error_reply, now_ms

log = structlog.get_logger()

RequestHandler = Callable[[Envelope, AbstractIncomingMessage], Awaitable[bytes]]
# A reply on its way: (correlation id, reply body).
_Reply = tuple[str, bytes]


class RpcServer:
    def __init__(self, bus: Bus, service: str, handle: RequestHandler, *, prefetch: int) -> None:
        self._bus = bus
        self._service = service
        self._handle = handle
        self._prefetch = prefetch
        self._consumer: Consumer | None = None
        self._replies = Coalescer[_Reply](self._publish)

    async def start(self) -> None:
        self._consumer = await self._bus.consume(
            topology.request_queue(self._service), self._on_request, prefetch=self._prefetch
        )

    async def is_consuming(self) -> bool:
        return self._consumer is not None and await self._consumer.is_consuming()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def _on_request(self, message: AbstractIncomingMessage) -> None:
        deadline = (message.headers or {}).get(DEADLINE_HEADER)
        if isinstance(deadline, int) and deadline < now_ms():
            log.info("request.expired", type=message.type)
            await message.ack()
            return
        if message.type == BATCH_TYPE:
            await self._on_batch(message)
        else:
            await self._answer(message, message.body, message.correlation_id)
        await message.ack()

    async def _on_batch(self, message: AbstractIncomingMessage) -> None:
        try:
            requests = BATCH.validate_json(message.body)
        except ValueError:
            # Without its envelopes nobody can be answered: the callers' deadlines will pass.
            log.error("request.malformed", type=message.type)
            return
        now = now_ms()
        answers = []
        for deadline, envelope in requests:
            if deadline < now:
                log.info("request.expired", type=envelope.type)
                continue
            answers.append(self._answer(message, envelope, str(envelope.message_id)))
        await asyncio.gather(*answers)

    async def _answer(
        self,
        message: AbstractIncomingMessage,
        request: bytes | Envelope,
        correlation_id: str | None,
    ) -> None:
        """Handle one request and send its reply (with whatever else is ready this tick)."""
        envelope: Envelope | None = None
        if isinstance(request, Envelope):
            envelope = request
        else:
            try:
                envelope = Envelope.from_bytes(request)
            except ValueError:
                log.error("request.malformed", type=message.type)
        if envelope is not None:
            with structlog.contextvars.bound_contextvars(
                correlation_id=envelope.correlation_id,
                message_id=str(envelope.message_id),
                type=envelope.type,
            ):
                reply = await self._handle(envelope, message)
        else:
            reply = error_reply(InternalError("Malformed request message"))
        if message.reply_to:
            await self._replies.add(message.reply_to, (correlation_id or "", reply))

    async def _publish(self, reply_to: str, batch: list[_Reply]) -> None:
        if len(batch) == 1:
            ((correlation_id, body),) = batch
            properties = Properties(correlation_id=correlation_id, content_type=JSON)
        else:
            body = orjson.dumps([(key, orjson.Fragment(reply)) for key, reply in batch])
            properties = Properties(message_type=BATCH_TYPE, content_type=JSON)
        await self._bus.send_direct(reply_to, body, properties)
