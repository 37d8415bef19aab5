"""Request/reply over RabbitMQ, with deadlines.

The caller publishes an envelope to `<service>.requests` with `reply_to` (its own exclusive
callback queue), `correlation_id` = the envelope's `message_id`, an `expiration` equal to its
deadline and the deadline itself in the `x-deadline-ms` header. The owner answers
`{"ok": true, "data": ...}` or `{"ok": false, "error": {status, code, message, ...}}` to
`reply_to`, then acks. A request found past its deadline is dropped unexecuted: its caller has
already answered 503.

Coalescing: requests to one service made in the same event-loop tick travel as one message
(type `rpc.batch`, a JSON array of `[deadline_ms, envelope]`), and replies to one callback queue
that are ready in the same tick travel as one message (type `rpc.batch`, an array of
`[correlation_id, reply]`). A tick holding a single request or reply sends the plain form above.
Each request of a batch keeps its own `message_id` (what the owner dedupes on and stores its
reply under) and its own deadline; the owner runs them concurrently and acks the batch message
once every one of its replies is sent, so a crash redelivers the whole batch and each request in
it gets its stored reply or runs, as a lone request would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aio_pika
import orjson
import pydantic
import structlog
from aio_pika.abc import AbstractIncomingMessage

from shared import topology
from shared.bus import Bus, Consumer, Properties
from shared.envelope import Envelope
from shared.errors import AppError, InternalError, KeyInUse, ServiceUnavailable
from shared.messages.base import Message

log = structlog.get_logger()

DEADLINE_HEADER = "x-deadline-ms"
JSON = "application/json"
BATCH_TYPE = "rpc.batch"
# Set in a reply that is the stored reply of an earlier run of the same request.
REPLAYED = "replayed"
_PROBE_PREFIX = "probe:"
# What publishing raises while the connection is down or a channel is being reopened.
_BROKER_FAILURES = (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError)


def ok_reply(data: Any) -> bytes:
    return orjson.dumps({"ok": True, "data": data})


def replayed_reply(stored: bytes) -> bytes:
    """A stored reply sent again, marked as such."""
    return orjson.dumps({**orjson.loads(stored), REPLAYED: True})


def error_reply(error: AppError) -> bytes:
    return orjson.dumps({"ok": False, "error": error.to_wire()})


def now_ms() -> int:
    return int(time.time() * 1000)


def _milliseconds(seconds: float) -> str:
    """An AMQP `expiration`: milliseconds, as a string."""
    return str(int(seconds * 1000))


_BATCH = pydantic.TypeAdapter(list[tuple[int, Envelope]])


@dataclass(frozen=True)
class Answer:
    """A reply as the owner sent it: `{ok, data}` or `{ok: false, error}`, and `replayed` when
    it is the stored reply of an earlier run of the same request."""

    reply: dict[str, Any]

    @property
    def replayed(self) -> bool:
        return bool(self.reply.get(REPLAYED))

    def unwrap(self) -> Any:
        """The reply's `data`; an error reply raises its AppError."""
        if self.reply.get("ok"):
            return self.reply.get("data")
        raise AppError.from_wire(self.reply.get("error") or {})


@dataclass
class _Outgoing:
    """A request waiting for the end of the tick, and what its caller waits on."""

    key: str
    body: bytes
    type: str
    deadline_ms: int
    timeout_s: float
    sent: asyncio.Future[None]


_publishing: set[asyncio.Task[None]] = set()


def _background(publish: Coroutine[Any, Any, None]) -> None:
    """Run a publish on its own; its outcome reaches the waiters through their futures."""
    task = asyncio.ensure_future(publish)
    _publishing.add(task)
    task.add_done_callback(_publishing.discard)


def _settle(future: asyncio.Future[Any], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class RpcClient:
    """The caller's side: one callback queue per process, one future per request in flight;
    requests to one service made in the same tick share one message."""

    def __init__(self, bus: Bus, *, name: str) -> None:
        self._bus = bus
        self._queue_name = f"{name}.replies.{uuid.uuid4().hex[:12]}"
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._outgoing: dict[str, list[_Outgoing]] = {}
        self._consumer: Consumer | None = None

    async def start(self) -> None:
        self._consumer = await self._bus.consume_private(self._queue_name, self._on_reply)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop(timeout_s=1)
        for future in self._pending.values():
            future.cancel()

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

    def _send(self, service: str, envelope: Envelope, timeout_s: float) -> asyncio.Future[None]:
        """Queue a request for the end of this tick; the future is done once it is published."""
        loop = asyncio.get_running_loop()
        request = _Outgoing(
            key=str(envelope.message_id),
            body=envelope.to_bytes(),
            type=envelope.type,
            deadline_ms=now_ms() + int(timeout_s * 1000),
            timeout_s=timeout_s,
            sent=loop.create_future(),
        )
        queued = self._outgoing.get(service)
        if queued is None:
            queued = self._outgoing[service] = []
            # Its first step runs after everything ready in this tick: it takes them all.
            _background(self._publish(service))
        queued.append(request)
        return request.sent

    async def _publish(self, service: str) -> None:
        batch = self._outgoing.pop(service, [])
        if len(batch) == 1:
            (only,) = batch
            body = only.body
            properties = Properties(
                message_id=only.key,
                correlation_id=only.key,
                reply_to=self._queue_name,
                message_type=only.type,
                content_type=JSON,
                expiration=_milliseconds(only.timeout_s),
                headers={DEADLINE_HEADER: only.deadline_ms},
            )
        else:
            body = orjson.dumps([(r.deadline_ms, orjson.Fragment(r.body)) for r in batch])
            properties = Properties(
                reply_to=self._queue_name,
                message_type=BATCH_TYPE,
                content_type=JSON,
                expiration=_milliseconds(max(r.timeout_s for r in batch)),
                headers={DEADLINE_HEADER: max(r.deadline_ms for r in batch)},
            )
        error: BaseException | None = None
        try:
            await self._bus.send_direct(topology.request_queue(service), body, properties)
        except BaseException as failure:
            error = failure
        for request in batch:
            _settle(request.sent, error)

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
        send = self._send(service, envelope, timeout_s)
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


RequestHandler = Callable[[Envelope, AbstractIncomingMessage], Awaitable[bytes]]


class RpcServer:
    """The owner's side: consume `<service>.requests`, answer each request, then ack its
    message; replies to one callback queue ready in the same tick share one message."""

    def __init__(self, bus: Bus, service: str, handle: RequestHandler, *, prefetch: int) -> None:
        self._bus = bus
        self._service = service
        self._handle = handle
        self._prefetch = prefetch
        self._consumer: Consumer | None = None
        self._replies: dict[str, list[tuple[str, bytes, asyncio.Future[None]]]] = {}

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
        if message.type == BATCH_TYPE:
            await self._on_batch(message)
        else:
            await self._answer(message, message.body, message.correlation_id)
        await message.ack()

    async def _on_batch(self, message: AbstractIncomingMessage) -> None:
        try:
            requests = _BATCH.validate_json(message.body)
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
            await self._reply(message.reply_to, correlation_id or "", reply)

    def _reply(self, reply_to: str, correlation_id: str, reply: bytes) -> asyncio.Future[None]:
        """Queue a reply for the end of this tick; the future is done once it is published."""
        loop = asyncio.get_running_loop()
        sent: asyncio.Future[None] = loop.create_future()
        queued = self._replies.get(reply_to)
        if queued is None:
            queued = self._replies[reply_to] = []
            # Its first step runs after everything ready in this tick: it takes them all.
            _background(self._publish(reply_to))
        queued.append((correlation_id, reply, sent))
        return sent

    async def _publish(self, reply_to: str) -> None:
        batch = self._replies.pop(reply_to, [])
        if len(batch) == 1:
            correlation_id, body, _ = batch[0]
            properties = Properties(correlation_id=correlation_id, content_type=JSON)
        else:
            body = orjson.dumps([(key, orjson.Fragment(reply)) for key, reply, _ in batch])
            properties = Properties(message_type=BATCH_TYPE, content_type=JSON)
        error: BaseException | None = None
        try:
            await self._bus.send_direct(reply_to, body, properties)
        except BaseException as failure:
            error = failure
        for _, _, sent in batch:
            _settle(sent, error)
