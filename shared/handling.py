"""Running handlers inside a service: one transaction per message, events through the outbox.

A service registers plain `async def` handlers in explicit dicts (`REQUEST_HANDLERS`,
`EVENT_HANDLERS` at the bottom of its `handlers.py`); a handler takes the message model first and
a `Context` second. The dispatchers here do the rest:

- a query runs on a pooled connection and its result is the reply;
- a command runs in a transaction that also writes its events to the outbox and its reply to the
  inbox, keyed by the request's `message_id`; a redelivered request gets that stored reply
  instead of running twice. A request under an `Idempotency-Key` carries a `message_id` derived
  from the key, so a client's retry is such a redelivery: it runs under its key's lock, and its
  first answer (a client error included) is stored with its effect and replayed;
- an event runs its subscribers in a transaction that first records its `message_id` in the
  inbox; a redelivery finds it there and is skipped. The message is acked after the commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
import pydantic
import structlog
from aio_pika.abc import AbstractIncomingMessage

from shared.db import Connection
from shared.envelope import Envelope
from shared.errors import (
    AppError,
    InternalError,
    KeyInUse,
    KeyMismatch,
    PermanentError,
    RetryableError,
)
from shared.messages import MESSAGE_TYPES
from shared.messages.base import Command, Message
from shared.messages.common import Ping
from shared.outbox import (
    OutboxRelay,
    OutboxRows,
    as_columns,
    outgoing,
    with_ids,
    write_events,
)
from shared.rpc import error_reply, ok_reply, replayed_reply

log = structlog.get_logger()

DepsT = TypeVar("DepsT")
# Retryable failures wait this long (at most) before the message goes back to the queue, so a
# database outage does not turn into a hot redelivery loop.
MAX_REQUEUE_DELAY_S = 5.0
# Events a service only records wait this long for others to share their insert and ack: at a
# few hundred events/s that makes batches of several instead of one or two, and nothing waits on
# these events but the inbox. (5 ms measured -0.04 ms of CPU per event; 20 ms, with a relay
# linger of 20 ms, -12 % of the whole system's CPU per award at 300 awards/s, of which the
# relay's share was 5 %; 50 ms no better.)
RECORD_LINGER_S = 0.02


@dataclass
class Context(Generic[DepsT]):
    """What a handler gets besides its message: a connection (in the transaction, for commands
    and events), the service's dependencies, and `emit` to add an event (or a command for
    another service) to the outbox."""

    conn: Connection
    deps: DepsT
    envelope: Envelope
    system_id: int | None = None
    events: list[Envelope] = field(default_factory=list)
    # Called once the transaction has committed (e.g. to wake a scheduler for new due rows).
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def emit(self, event: Message, *, system_id: int) -> None:
        self.events.append(
            Envelope.wrap(
                event,
                correlation_id=self.envelope.correlation_id,
                causation_id=str(self.envelope.message_id),
                system_id=system_id,
            )
        )


async def forget_system_messages(ctx: Context[Any]) -> None:
    """Purge the inbox rows of a deleted system (`ctx.system_id`), except the current message's
    own row: that one is what makes a redelivery of the deletion a no-op."""
    await ctx.conn.execute(
        "DELETE FROM inbox WHERE system_id = $1 AND message_id <> $2",
        ctx.system_id,
        ctx.envelope.message_id,
    )


@dataclass(frozen=True)
class Sensitive:
    """A reply holding a secret shown once: the caller gets `data`; the stored copy a redelivery
    would replay is `stored`, without the secret."""

    data: Any
    stored: Any


Handler = Callable[[Any, Context[DepsT]], Awaitable[Any]]


@dataclass(frozen=True)
class Recorded:
    """A command committed by its own single statement (`commit_at_once`): the reply, and the
    outbox rows that statement wrote."""

    reply: bytes
    outbox: OutboxRows


# A command handler that may commit in one statement, without a transaction: its `Recorded`, or
# None to have the command's ordinary handler run in a transaction instead.
AtOnceHandler = Callable[[Any, Context[DepsT]], Awaitable[Recorded | None]]
# An event handler that records the event in the inbox and makes its whole change in one
# statement, without a transaction (`handle_event_at_once`): whether the event was new.
AtOnceEventHandler = Callable[[Any, Context[DepsT]], Awaitable[bool]]


def _models(handlers: Mapping[Any, Any]) -> dict[str, type[Message]]:
    for model in handlers:
        if MESSAGE_TYPES.get(model.TYPE) is not model:
            raise RuntimeError(f"{model.__name__} is not a registered message model")
    return {model.TYPE: model for model in handlers}


class RequestDispatcher(Generic[DepsT]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        deps: DepsT,
        handlers: Mapping[type[Message], Handler[DepsT]],
        relay: OutboxRelay | None = None,
        at_once: Mapping[type[Message], AtOnceHandler[DepsT]] | None = None,
    ) -> None:
        self._pool = pool
        self._deps = deps
        self._handlers = {model.TYPE: handler for model, handler in handlers.items()}
        self._models: dict[str, type[Message]] = {**_models(handlers), Ping.TYPE: Ping}
        self._relay = relay
        self._at_once = {model.TYPE: handler for model, handler in (at_once or {}).items()}
        if not self._at_once.keys() <= self._handlers.keys():
            raise RuntimeError("every command committed at once needs its ordinary handler too")

    async def __call__(self, envelope: Envelope, message: AbstractIncomingMessage) -> bytes:
        """Answer one request; never raises (every failure becomes an error reply)."""
        model = self._models.get(envelope.type)
        try:
            if model is None:
                raise InternalError(f"No handler for {envelope.type}")
            request = model.from_data(envelope.data)
            if isinstance(request, Ping):
                return ok_reply({"database": await self._pool.fetchval("SELECT true")})
            if issubclass(model, Command):
                return await self._command(request, envelope, redelivered=bool(message.redelivered))
            async with self._pool.acquire() as conn:
                context = Context(conn, self._deps, envelope)
                return ok_reply(await self._handlers[envelope.type](request, context))
        except AppError as error:
            return error_reply(error)
        except pydantic.ValidationError:
            log.exception("request.invalid_message")
            return error_reply(InternalError("The request message did not match its contract"))
        except Exception:
            # Never send exception text (SQL, driver messages) back towards a client.
            log.exception("request.failed")
            return error_reply(InternalError())

    async def _command(self, request: Message, envelope: Envelope, *, redelivered: bool) -> bytes:
        keyed = envelope.request_hash is not None
        async with self._pool.acquire() as conn:
            # Only a redelivery can have been handled before: skip the look-up otherwise. A
            # keyed request looks under its key's lock, in its transaction.
            if redelivered and not keyed and (stored := await _stored_reply(conn, envelope)):
                log.info("request.replayed")
                return stored
            at_once = self._at_once.get(envelope.type)
            if at_once is not None and not redelivered and not keyed:
                context = Context(conn, self._deps, envelope)
                recorded = await at_once(request, context)
                if recorded is not None:
                    if recorded.outbox and self._relay is not None:
                        self._relay.relay_soon(recorded.outbox)
                    log.info(
                        "request.committed",
                        system_id=context.system_id,
                        events=len(recorded.outbox),
                        at_once=True,
                    )
                    return recorded.reply
            context = Context(conn, self._deps, envelope)
            try:
                reply, outbox_rows = await self._run_command(conn, context, request)
            except _AlreadyHandled:
                # The same request ran concurrently elsewhere and committed first.
                return await _stored_reply(conn, envelope) or error_reply(InternalError())
            except _Answered as answered:
                log.info("request.replayed")
                return answered.reply
        if context.events and self._relay is not None:
            self._relay.relay_soon(outbox_rows)
        for callback in context.after_commit:
            callback()
        log.info("request.committed", system_id=context.system_id, events=len(context.events))
        return reply

    async def _run_command(
        self, conn: Connection, context: Context[DepsT], request: Message
    ) -> tuple[bytes, OutboxRows]:
        """Run a command in a transaction with its outbox and inbox rows. A keyed request
        (`Envelope.request_hash`) first takes its key's lock and looks for an earlier answer;
        its handler runs in a savepoint, so a client error is kept and replayed like a success
        (the first answer is the answer)."""
        envelope = context.envelope
        keyed = envelope.request_hash is not None
        async with conn.transaction():
            if keyed and (stored := await _claim_key(conn, envelope)) is not None:
                raise _Answered(stored)
            try:
                async with conn.transaction() if keyed else nullcontext():
                    result = await self._handlers[envelope.type](request, context)
            except AppError as error:
                if not (keyed and _kept(error)):
                    raise
                context.events.clear()
                context.after_commit.clear()
                reply = kept = error_reply(error)
            else:
                sent, stored_data = (
                    (result.data, result.stored) if isinstance(result, Sensitive) else (result,) * 2
                )
                reply = ok_reply(sent)
                kept = reply if stored_data is sent else ok_reply(stored_data)
            recorded, outbox_rows = await record_request(
                conn, envelope, context.system_id, kept, context.events
            )
            if not recorded:
                raise _AlreadyHandled
        return reply, outbox_rows


def _kept(error: AppError) -> bool:
    """Whether a keyed request's error is its answer for good: a client error is; a 429 or a
    server error is worth retrying, so the key stays free."""
    return 400 <= error.status < 500 and error.status != 429


async def _claim_key(conn: Connection, envelope: Envelope) -> bytes | None:
    """In a keyed request's transaction: take its key's lock (409 while another run of it holds
    it), then its earlier answer, if any (read after the lock, so a run that just committed is
    seen)."""
    lock = int.from_bytes(envelope.message_id.bytes[:8], "big", signed=True)
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock):
        raise KeyInUse("A request with this Idempotency-Key is still in progress; retry shortly")
    return await _stored_reply(conn, envelope)


async def record_request(
    conn: Connection,
    envelope: Envelope,
    system_id: int | None,
    reply: bytes,
    events: list[Envelope],
) -> tuple[bool, OutboxRows]:
    """Write a command's events to the outbox and its reply to the inbox, in one round trip:
    whether the inbox took the request (False: handled before, the caller rolls back), and the
    events' outbox rows."""
    outgoing_events = outgoing(events)
    row = await conn.fetchrow(
        "WITH events AS ("
        " INSERT INTO outbox (message_id, routing_key, body)"
        " SELECT * FROM unnest($6::uuid[], $7::text[], $8::bytea[]) RETURNING id, message_id),"
        " request AS ("
        " INSERT INTO inbox (message_id, type, system_id, reply, request_hash)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING RETURNING true)"
        " SELECT EXISTS (SELECT FROM request),"
        " ARRAY(SELECT id FROM events), ARRAY(SELECT message_id FROM events)",
        envelope.message_id,
        envelope.type,
        system_id,
        reply,
        envelope.request_hash,
        *as_columns(outgoing_events),
    )
    assert row is not None
    return bool(row[0]), with_ids(outgoing_events, row[1], row[2])


async def commit_at_once(ctx: Context[Any], change: str, *args: Any, reply: Any) -> Recorded | None:
    """Commit a command in one statement, without a transaction: `change` (a data-modifying
    statement with a RETURNING clause, its parameters `$1`...`$n` given as `args`), the events
    emitted on `ctx` so far (into the outbox) and the request with `reply` (into the inbox), the
    last two only if `change` returned a row. Everything they hold is computed beforehand.

    None, with nothing written, when `change` returned no row or the statement broke a unique
    constraint (the request's own inbox row included: the same request running elsewhere): the
    dispatcher then runs the command's ordinary handler in a transaction, which finds out why
    and answers as it always has."""
    events = outgoing(ctx.events)
    n = len(args)
    statement = (
        f"WITH change AS ({change}),"
        " events AS ("
        " INSERT INTO outbox (message_id, routing_key, body)"
        f" SELECT * FROM unnest(${n + 1}::uuid[], ${n + 2}::text[], ${n + 3}::bytea[])"
        " WHERE EXISTS (SELECT FROM change) RETURNING id, message_id),"
        " request AS ("
        " INSERT INTO inbox (message_id, type, system_id, reply)"
        f" SELECT ${n + 4}::uuid, ${n + 5}::text, ${n + 6}::bigint, ${n + 7}::bytea"
        " WHERE EXISTS (SELECT FROM change))"
        " SELECT EXISTS (SELECT FROM change),"
        " ARRAY(SELECT id FROM events), ARRAY(SELECT message_id FROM events)"
    )
    envelope, answer = ctx.envelope, ok_reply(reply)
    try:
        row = await ctx.conn.fetchrow(
            statement,
            *args,
            *as_columns(events),
            envelope.message_id,
            envelope.type,
            ctx.system_id,
            answer,
        )
    except asyncpg.UniqueViolationError:
        return None
    if row is None or not row[0]:
        return None
    return Recorded(answer, with_ids(events, row[1], row[2]))


async def handle_event_at_once(ctx: Context[Any], change: str, *args: Any) -> tuple[bool, int]:
    """Handle an event in one statement, without a transaction: record it in the inbox and make
    `change` (a data-modifying statement with a RETURNING clause, its parameters `$1`...`$n`
    given as `args`). `change` must act only when the event is new: it can tell by the relation
    `fresh`, which has a row then and none for a redelivery (`WHERE EXISTS (SELECT FROM fresh)`).
    Whether the event was new, and how many rows `change` returned."""
    n = len(args)
    envelope = ctx.envelope
    row = await ctx.conn.fetchrow(
        "WITH fresh AS ("
        " INSERT INTO inbox (message_id, type, system_id)"
        f" VALUES (${n + 1}::uuid, ${n + 2}::text, ${n + 3}::bigint)"
        " ON CONFLICT DO NOTHING RETURNING true),"
        f" change AS ({change})"
        " SELECT EXISTS (SELECT FROM fresh), (SELECT count(*) FROM change)",
        *args,
        envelope.message_id,
        envelope.type,
        envelope.system_id,
    )
    assert row is not None
    return bool(row[0]), int(row[1])


class _AlreadyHandled(Exception):
    pass


class _Answered(Exception):
    """A keyed request answered before its handler ran (a replay, or the key's mismatch)."""

    def __init__(self, reply: bytes) -> None:
        super().__init__("answered")
        self.reply = reply


async def _stored_reply(conn: Connection, envelope: Envelope) -> bytes | None:
    """The reply stored by an earlier run of this request, marked as replayed; for a keyed
    request whose key was used with another request body, the mismatch error instead."""
    row = await conn.fetchrow(
        "SELECT reply, request_hash FROM inbox WHERE message_id = $1", envelope.message_id
    )
    if row is None or row["reply"] is None:
        return None
    if envelope.request_hash is not None and row["request_hash"] != envelope.request_hash:
        return error_reply(KeyMismatch("This Idempotency-Key was used with another request body"))
    return replayed_reply(row["reply"])


class EventDispatcher(Generic[DepsT]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        deps: DepsT,
        handlers: Mapping[type[Message], Sequence[Handler[DepsT]]],
        relay: OutboxRelay | None = None,
        at_once: Mapping[type[Message], AtOnceEventHandler[DepsT]] | None = None,
    ) -> None:
        self._pool = pool
        self._deps = deps
        self._handlers = {model.TYPE: list(subscribers) for model, subscribers in handlers.items()}
        self._at_once = {model.TYPE: handler for model, handler in (at_once or {}).items()}
        if self._at_once.keys() & self._handlers.keys():
            raise RuntimeError("an event handled at once has no other subscribers")
        self._models = _models({**handlers, **(at_once or {})})
        self._relay = relay
        self._unsettled: dict[int, set[int]] = {}
        self._recorder = _InboxRecorder(pool, self._unsettled)

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        """Handle one delivery: ack after commit, requeue on a transient failure, dead-letter a
        message that can never succeed."""
        channel, tag = id(message.channel), _tag(message)
        unsettled = self._unsettled.setdefault(channel, set())
        unsettled.add(tag)
        try:
            await self._settle(message)
        finally:
            unsettled.discard(tag)
            if not unsettled:
                self._unsettled.pop(channel, None)

    async def _settle(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.from_bytes(message.body)
        except ValueError:
            log.error("event.malformed", routing_key=message.routing_key)
            await message.reject(requeue=False)
            return
        if envelope.type not in self._models:
            # Bound but not acted on (yet): recorded with others in one statement, then acked.
            await self._recorder.record(envelope, message)
            return
        with structlog.contextvars.bound_contextvars(
            correlation_id=envelope.correlation_id,
            message_id=str(envelope.message_id),
            type=envelope.type,
        ):
            try:
                await self.handle(envelope)
            except (PermanentError, pydantic.ValidationError):
                log.exception("event.dead_lettered")
                await message.reject(requeue=False)
            except Exception as error:
                await _requeue_later(error, [message])
            else:
                await message.ack()

    async def handle(self, envelope: Envelope) -> bool:
        """Run the subscribers of one event; False when it had been handled before."""
        model = self._models.get(envelope.type)
        if model is None:
            # Bound but not acted on (yet): recording it is the whole effect, no transaction.
            fresh = await record_events(self._pool, [envelope])
            log.info("event.handled", system_id=envelope.system_id, duplicate=not fresh)
            return bool(fresh)
        at_once = self._at_once.get(envelope.type)
        if at_once is not None:
            async with self._pool.acquire() as conn:
                context = Context(conn, self._deps, envelope, system_id=envelope.system_id)
                new = await at_once(model.from_data(envelope.data), context)
            if not new:
                log.info("event.duplicate_skipped")
                return False
            for callback in context.after_commit:
                callback()
            log.info("event.handled", system_id=envelope.system_id, at_once=True)
            return True
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                "INSERT INTO inbox (message_id, type, system_id) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING true",
                envelope.message_id,
                envelope.type,
                envelope.system_id,
            )
            if not fresh:
                log.info("event.duplicate_skipped")
                return False
            context = Context(conn, self._deps, envelope, system_id=envelope.system_id)
            event = model.from_data(envelope.data)
            for handler in self._handlers[envelope.type]:
                await handler(event, context)
            outbox_rows = await write_events(conn, context.events)
        if context.events and self._relay is not None:
            self._relay.relay_soon(outbox_rows)
        for callback in context.after_commit:
            callback()
        log.info("event.handled", system_id=envelope.system_id)
        return True


async def _requeue_later(error: Exception, messages: Sequence[AbstractIncomingMessage]) -> None:
    delay = error.delay_s if isinstance(error, RetryableError) else 1.0
    log.warning("event.retrying", error=type(error).__name__, delay_s=delay, count=len(messages))
    await asyncio.sleep(min(delay, MAX_REQUEUE_DELAY_S))
    for message in messages:
        await message.nack(requeue=True)


async def record_events(pool: asyncpg.Pool, envelopes: Sequence[Envelope]) -> set[uuid.UUID]:
    """Record events in the inbox, in one statement; the ids of those not recorded before."""
    rows = await pool.fetch(
        "INSERT INTO inbox (message_id, type, system_id)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])"
        " ON CONFLICT DO NOTHING RETURNING message_id",
        [envelope.message_id for envelope in envelopes],
        [envelope.type for envelope in envelopes],
        [envelope.system_id for envelope in envelopes],
    )
    return {row[0] for row in rows}


class _InboxRecorder:
    """Records the events a service receives but does not act on, many per statement.

    Deliveries queue up while one insert runs; the next insert takes them all, so batches grow
    with the load and a lone event waits for no timer. The messages of a batch are acked after
    the commit: with one `multiple` ack when no other delivery of their channel up to the
    batch's last tag is still unsettled, one by one otherwise."""

    def __init__(self, pool: asyncpg.Pool, unsettled: dict[int, set[int]]) -> None:
        self._pool = pool
        # Per channel, the delivery tags the dispatcher has not settled yet (its own record).
        self._unsettled = unsettled
        self._pending: list[tuple[Envelope, AbstractIncomingMessage, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def record(self, envelope: Envelope, message: AbstractIncomingMessage) -> None:
        """Return once the event is committed and its message acked (or requeued)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((envelope, message, done))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(RECORD_LINGER_S)
                batch, self._pending = self._pending, []
                try:
                    await self._record([(envelope, message) for envelope, message, _ in batch])
                except BaseException as error:
                    for _, _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                    raise
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._flushing = None

    async def _record(self, batch: list[tuple[Envelope, AbstractIncomingMessage]]) -> None:
        messages = [message for _, message in batch]
        try:
            fresh = await record_events(self._pool, [envelope for envelope, _ in batch])
        except Exception as error:
            await _requeue_later(error, messages)
            return
        for envelope, _ in batch:
            log.info(
                "event.handled",
                correlation_id=envelope.correlation_id,
                message_id=str(envelope.message_id),
                type=envelope.type,
                system_id=envelope.system_id,
                duplicate=envelope.message_id not in fresh,
            )
            # A second delivery of the same id in this batch is the duplicate.
            fresh.discard(envelope.message_id)
        await self._ack(messages)

    async def _ack(self, messages: list[AbstractIncomingMessage]) -> None:
        by_channel: dict[int, list[AbstractIncomingMessage]] = {}
        for message in messages:
            by_channel.setdefault(id(message.channel), []).append(message)
        for channel, acked in by_channel.items():
            acked.sort(key=_tag)
            top = _tag(acked[-1])
            others = self._unsettled.get(channel, set()).difference(map(_tag, acked))
            if len(acked) > 1 and all(tag > top for tag in others):
                await acked[-1].ack(multiple=True)
            else:
                for message in acked:
                    await message.ack()


def _tag(message: AbstractIncomingMessage) -> int:
    return message.delivery_tag or 0
