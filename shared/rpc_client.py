"""The caller's side of request/reply (`shared.rpc`): one callback queue per process, one
future per request in flight; requests to one service made in the same tick share one message."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import aio_pika
import orjson
from aio_pika.abc import AbstractIncomingMessage

from shared import topology
from shared.bus import Bus, Consumer, Properties
from shared.coalescing import Coalescer
from shared.envelope import Envelope
from shared.errors import KeyInUse, ServiceUnavailable
from shared.messages.base import Message
from shared.rpc import BATCH_TYPE, DEADLINE_HEADER, JSON, Answer, milliseconds, now_ms

_PROBE_PREFIX = "probe:"
# What publishing raises while the connection is down or a channel is being reopened.
_BROKER_FAILURES = (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError)


@dataclass(frozen=True)
class _Request:
    key: str
    body: bytes
    type: str
    deadline_ms: int
    timeout_s: float


class RpcClient:
    def __init__(self, bus: Bus, *, name: str) -> None:
        self._bus = bus
        self._queue_name = f"{name}.replies.{uuid.uuid4().hex[:12]}"
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._outgoing = Coalescer[_Request](self._publish)
        self._consumer: Consumer | None = None

    async def start(self) -> None:
        self._consumer = await self._bus.consume_private(self._queue_name, self._on_reply)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop(timeout_s=1)
        for future in self._pending.values():
            future.cancel()

    async def call(
        self,
        service: str,
        message: Message,
        *,
        correlation_id: str,
        timeout_s: float,
    ) -> Any:
        """Send a request and return the reply's `data`; an error reply raises its AppError."""
        answer = await self.request(
            service, message, correlation_id=correlation_id, timeout_s=timeout_s
        )
        return answer.unwrap()

    async def request(
        self,
        service: str,
        message: Message,
        *,
        correlation_id: str,
        timeout_s: float,
        system_id: int | None = None,
        message_id: uuid.UUID | None = None,
        request_hash: str | None = None,
    ) -> Answer:
        """Send a request and return its reply. A request about one system gives its
        `system_id`; one under an `Idempotency-Key` gives its `message_id` (derived from the
        key) and `request_hash` (see `Envelope`)."""
        envelope = Envelope.wrap(
            message,
            correlation_id=correlation_id,
            system_id=system_id,
            message_id=message_id,
            request_hash=request_hash,
        )
        key = str(envelope.message_id)
        if key in self._pending:
            # Only a retry under the same Idempotency-Key repeats an id, and its first try is
            # still waiting for its reply here.
            raise KeyInUse(
                "A request with this Idempotency-Key is still in progress; retry shortly"
            )
        request = _Request(
            key=key,
            body=envelope.to_bytes(),
            type=envelope.type,
            deadline_ms=now_ms() + int(timeout_s * 1000),
            timeout_s=timeout_s,
        )
        send = self._outgoing.add(service, request)
        try:
            reply = await self._round_trip(key, send, timeout_s)
        except TimeoutError:
            raise ServiceUnavailable(
                f"The {service} service did not answer in time; try again shortly"
            ) from None
        except _BROKER_FAILURES:
            # A publish refused by a closed or reopening channel included.
            raise ServiceUnavailable(
                "The message broker is unreachable; try again shortly"
            ) from None
        return Answer(reply)

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

    async def _round_trip(self, key: str, send: Awaitable[None], timeout_s: float) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            # The deadline covers the publish too: on a reconnecting channel it can hang.
            async with asyncio.timeout(timeout_s):
                await send
                return await future
        finally:
            self._pending.pop(key, None)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        if message.type == BATCH_TYPE:
            for key, reply in orjson.loads(message.body):
                self._resolve(key, reply)
        else:
            self._resolve(message.correlation_id or "", orjson.loads(message.body))

    def _resolve(self, key: str, reply: Any) -> None:
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(reply)

    async def _publish(self, service: str, batch: list[_Request]) -> None:
        if len(batch) == 1:
            (only,) = batch
            body = only.body
            properties = Properties(
                message_id=only.key,
                correlation_id=only.key,
                reply_to=self._queue_name,
                message_type=only.type,
                content_type=JSON,
                expiration=milliseconds(only.timeout_s),
                headers={DEADLINE_HEADER: only.deadline_ms},
            )
        else:
            body = orjson.dumps([(r.deadline_ms, orjson.Fragment(r.body)) for r in batch])
            properties = Properties(
                reply_to=self._queue_name,
                message_type=BATCH_TYPE,
                content_type=JSON,
                expiration=milliseconds(max(r.timeout_s for r in batch)),
                headers={DEADLINE_HEADER: max(r.deadline_ms for r in batch)},
            )
        await self._bus.send_direct(topology.request_queue(service), body, properties)
