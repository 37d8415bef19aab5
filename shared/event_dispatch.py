"""Handling events (and the commands another service sends through its outbox): each delivery
runs its subscribers in one transaction that first records its `message_id` in the inbox, so a
redelivery finds it there and is skipped; the message is acked after the commit.

A service's queue is bound to exactly the event types it has handlers for (`shared.topology`),
so every delivery has one. A transient failure requeues the message after a pause; one that can
never succeed (a `PermanentError`, a message breaking its contract, or the queue's delivery
limit) is dead-lettered. Postgres dropping the connection is no failure of the event: it is
handled again on a new connection, for up to about five minutes (`DATABASE_WAITS_S`), before
it is requeued.

A handler marked `@handles_batches` (its event's only handler) takes the deliveries of its event
type that arrive together: those of one event-loop tick, and those that arrive while
`BATCHES_IN_FLIGHT` batches of the type are being handled, up to `MAX_BATCH` in a batch. A batch
is one transaction: the inbox rows of all its events in one statement (only the fresh ones go
to the handler; a duplicate is acked), the handler once (`BatchContext`, with one `Context` per
event), the outbox rows, one commit; then every message is acked, with one `basic.ack`
(`multiple`) where no other delivery below the batch's highest is still open on its channel.
Should anything of it fail, nothing of it is kept, and each of its messages is handled again
alone, as a batch of one, so a poison message is dead-lettered (or requeued) by itself and never
takes the others with it. A batch of one is the same path.

A batch handler also marked `@chooses_commit` gets no transaction and writes no inbox row of
the dispatcher's: it handles its whole batch in one statement (`BatchContext.handle_at_once`),
which records the inbox rows of the events that are new and wanted, and changes what it changes
for those only; a redelivery does nothing and is acked, an event the handler does not want
writes nothing at all. The rest is the same: a failed batch is handled again one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Generic, cast

import asyncpg
import pydantic
import structlog
from aio_pika.abc import AbstractIncomingMessage

from shared import db, inbox
from shared.batching import Batches, spawn
from shared.context import (
    BatchContext,
    BatchHandler,
    Context,
    DepsT,
    Handler,
    MessageHandler,
    does_choose_commit,
    does_handle_batches,
)
from shared.db import Connection
from shared.envelope import Envelope
from shared.errors import PermanentError, RetryableError
from shared.messages.base import Message
from shared.outbox import OutboxRelay, write_events
from shared.request_dispatch import registered

log = structlog.get_logger()

# Retryable failures wait this long (at most) before the message goes back to the queue, so a
# database outage does not turn into a hot redelivery loop.
MAX_REQUEUE_DELAY_S = 5.0

# How long a delivery waits for Postgres to come back, handled again on a new connection after
# each pause, before it goes back to its queue: each return counts against the queue's delivery
# limit (then the dead-letter queue), so a failover or a restart is ridden out without it.
DATABASE_WAITS_S = (0.05, 0.25, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 30.0, 60.0, 60.0, 60.0)
# A batch's size bound: its statements' arrays and its transaction stay small (tens of ms).
MAX_BATCH = 64
# Batches of one event type handled at once, each on a connection of its own: while one waits
# on Postgres the other signs, and deliveries gather for the next.
BATCHES_IN_FLIGHT = 2


@dataclass
class _Waiting:
    """A delivery of a batched event type, and what its consumer waits on until it is settled."""

    envelope: Envelope
    message: AbstractIncomingMessage
    settled: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def done(self) -> None:
        if not self.settled.done():
            self.settled.set_result(None)


class EventDispatcher(Generic[DepsT]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        deps: DepsT,
        handlers: Mapping[type[Message], Sequence[MessageHandler[DepsT]]],
        relay: OutboxRelay | None = None,
    ) -> None:
        self._pool = pool
        self._deps = deps
        self._handlers: dict[str, list[Handler[DepsT]]] = {}
        self._batched: dict[str, BatchHandler[DepsT]] = {}
        for model, subscribers in handlers.items():
            alone = [h for h in subscribers if does_choose_commit(h) or does_handle_batches(h)]
            if len(subscribers) > 1 and alone:
                raise RuntimeError(f"{model.TYPE}: a handler that commits itself is the only one")
            if alone and not does_handle_batches(alone[0]):
                raise RuntimeError(f"{model.TYPE}: an event handler that commits itself batches")
            if alone:
                self._batched[model.TYPE] = cast(BatchHandler[DepsT], alone[0])
            else:
                self._handlers[model.TYPE] = [cast(Handler[DepsT], h) for h in subscribers]
        self._models = registered(handlers)
        self._relay = relay
        self._batches = Batches[str, _Waiting](
            self._run_batch, max_batch=MAX_BATCH, in_flight=BATCHES_IN_FLIGHT
        )
        # The delivery tags not yet settled, by consumer (one a channel).
        self._open: dict[str | None, set[int | None]] = {}

    @property
    def event_types(self) -> frozenset[str]:
        """What this service acts on: what its queue is bound to."""
        return frozenset(self._handlers) | frozenset(self._batched)

    @property
    def batches(self) -> bool:
        """Whether some event type is handled in batches (its queue wants a larger prefetch)."""
        return bool(self._batched)

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        """Handle one delivery: ack after commit, requeue on a transient failure, dead-letter a
        message that can never succeed."""
        # Open until settled. Deliveries start here in the order of their tags (aiormq makes
        # their tasks in that order), so when a batch is settled every lower tag of its
        # channel that is not in it is in this set (`_ack`).
        tags = self._open.setdefault(message.consumer_tag, set())
        tags.add(message.delivery_tag)
        try:
            await self._settle(message)
        finally:
            tags.discard(message.delivery_tag)

    async def _settle(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.from_bytes(message.body)
        except ValueError:
            log.error("event.malformed", routing_key=message.routing_key)
            await message.reject(requeue=False)
            return
        if envelope.type in self._batched:
            await self._join(_Waiting(envelope, message))
            return
        with _bound(envelope):
            try:
                await self.handle(envelope)
            except Exception as error:
                await _fail(message, error)
            else:
                await message.ack()

    async def handle(self, envelope: Envelope) -> bool:
        """Run the subscribers of one event; False when it had been handled before."""
        if envelope.type in self._batched:
            (fresh,) = await self.handle_batch([envelope])
            return fresh
        return await db.reconnecting(lambda: self._handle(envelope), delays=DATABASE_WAITS_S)

    async def _handle(self, envelope: Envelope) -> bool:
        model = self._models.get(envelope.type)
        if model is None:
            # Not bound here: only a stale binding of an earlier version can bring it.
            raise PermanentError(f"{envelope.type} has no handler in this service")
        event = model.from_data(envelope.data)
        subscribers = self._handlers[envelope.type]
        async with self._pool.acquire() as conn, conn.transaction():
            context = Context(conn, self._deps, envelope, system_id=envelope.system_id)
            context.in_transaction = True
            fresh = await inbox.record_event(conn, envelope)
            if fresh:
                for handler in subscribers:
                    await handler(event, context)
            outbox_rows = await write_events(conn, context.events) if fresh else []
        if not fresh:
            log.info("event.duplicate_skipped")
            return False
        if outbox_rows and self._relay is not None:
            self._relay.relay_soon(outbox_rows)
        for callback in context.after_commit:
            callback()
        log.info("event.handled", system_id=envelope.system_id)
        return True

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> list[bool]:
        """Run the batch handler of events of one type in one transaction; for each event,
        whether it was fresh (False: handled before, or earlier in the batch). Should Postgres
        drop the connection, the batch runs again on another (the inbox knows whether the drop
        came after the commit)."""
        return await db.reconnecting(lambda: self._handle_batch(envelopes), delays=DATABASE_WAITS_S)

    async def _handle_batch(self, envelopes: Sequence[Envelope]) -> list[bool]:
        (event_type,) = {envelope.type for envelope in envelopes}
        handler = self._batched[event_type]
        model = self._models[event_type]
        events = [model.from_data(envelope.data) for envelope in envelopes]
        async with self._pool.acquire() as conn:
            if does_choose_commit(handler):
                batch, fresh = await _at_once(handler, events, conn, self._deps, envelopes)
                contexts, outbox_rows = batch.each, []
            else:
                async with conn.transaction():
                    fresh = await inbox.record_events(conn, envelopes)
                    contexts = [
                        Context(conn, self._deps, envelope, system_id=envelope.system_id)
                        for envelope, new in zip(envelopes, fresh, strict=True)
                        if new
                    ]
                    for context in contexts:
                        context.in_transaction = True
                    batch = BatchContext(conn, self._deps, contexts, in_transaction=True)
                    if contexts:
                        await handler(
                            [e for e, new in zip(events, fresh, strict=True) if new], batch
                        )
                    outbox_rows = await write_events(conn, [e for c in contexts for e in c.events])
        if outbox_rows and self._relay is not None:
            self._relay.relay_soon(outbox_rows)
        for context in contexts:
            for callback in context.after_commit:
                callback()
        for callback in batch.after_commit:
            callback()
        for envelope, new in zip(envelopes, fresh, strict=True):
            # One line an event, with its ids, as for an event handled alone (passed, not bound:
            # cheaper), and its batch's size.
            log.info(
                "event.handled" if new else "event.duplicate_skipped",
                correlation_id=envelope.correlation_id,
                message_id=str(envelope.message_id),
                type=event_type,
                system_id=envelope.system_id,
                batch=len(envelopes),
                at_once=batch.committed_at_once,
            )
        return fresh

    async def _join(self, waiting: _Waiting) -> None:
        """Queue a delivery for the next batch of its type; return once it is settled."""
        self._batches.add(waiting.envelope.type, waiting)
        await waiting.settled

    async def _run_batch(self, event_type: str, batch: list[_Waiting]) -> None:
        try:
            await self.handle_batch([waiting.envelope for waiting in batch])
        except Exception as error:
            if len(batch) == 1:
                spawn(self._settle_failed(batch[0], error))
            else:
                log.warning("event.batch_failed", type=event_type, size=len(batch), exc_info=True)
                for waiting in batch:
                    spawn(self._alone(waiting))
        else:
            failed = await self._ack([waiting.message for waiting in batch])
            if failed:
                # The channel went away: those messages come again, and the inbox skips them.
                log.warning("event.ack_failed", type=event_type, count=failed)
            for waiting in batch:
                waiting.done()

    async def _ack(self, messages: list[AbstractIncomingMessage]) -> int:
        """Ack a batch's messages; how many acks failed. One `basic.ack` with `multiple` up to
        the batch's highest delivery tag where no other delivery below it is open on the
        channel (a delivery of another batch, or one being handled alone); one each
        otherwise."""
        top = max(messages, key=lambda message: message.delivery_tag or 0)
        mine = {message.delivery_tag for message in messages}
        open_tags = self._open.get(top.consumer_tag, set())
        alone_below = any(
            tag not in mine
            for tag in open_tags
            if tag is not None and tag < (top.delivery_tag or 0)
        )
        one_channel = all(message.consumer_tag == top.consumer_tag for message in messages)
        if len(messages) > 1 and one_channel and not alone_below:
            try:
                await top.ack(multiple=True)
            except Exception:
                return len(messages)
            return 0
        acks = await asyncio.gather(
            *(message.ack() for message in messages), return_exceptions=True
        )
        return sum(isinstance(ack, BaseException) for ack in acks)

    async def _alone(self, waiting: _Waiting) -> None:
        """A message of a failed batch, handled again as a batch of its own."""
        with _bound(waiting.envelope):
            try:
                await self.handle_batch([waiting.envelope])
            except Exception as error:
                await self._settle_failed(waiting, error)
            else:
                await waiting.message.ack()
            finally:
                waiting.done()

    async def _settle_failed(self, waiting: _Waiting, error: Exception) -> None:
        with _bound(waiting.envelope):
            try:
                await _fail(waiting.message, error)
            finally:
                waiting.done()


async def _at_once(
    handler: BatchHandler[DepsT],
    events: list[Message],
    conn: Connection,
    deps: DepsT,
    envelopes: Sequence[Envelope],
) -> tuple[BatchContext[DepsT], list[bool]]:
    """Run a batch handler that handles its events at once (`BatchContext.handle_at_once`, no
    transaction: its one statement records the inbox rows); the batch, and for each event
    whether it was fresh or unwanted (False: a redelivery, acked without running again)."""
    contexts = [
        Context(conn, deps, envelope, system_id=envelope.system_id) for envelope in envelopes
    ]
    batch = BatchContext(conn, deps, contexts)
    await handler(events, batch)
    if batch.handled is None:
        raise RuntimeError(f"{envelopes[0].type}: its handler did not commit")
    return batch, [handled.state != "duplicate" for handled in batch.handled]


def _bound(envelope: Envelope) -> AbstractContextManager[None]:
    return structlog.contextvars.bound_contextvars(
        correlation_id=envelope.correlation_id,
        message_id=str(envelope.message_id),
        type=envelope.type,
    )


async def _fail(message: AbstractIncomingMessage, error: Exception) -> None:
    """Settle a message whose handling failed: dead-letter what can never succeed, requeue the
    rest after a pause."""
    if isinstance(error, PermanentError | pydantic.ValidationError):
        log.error("event.dead_lettered", exc_info=error)
        await message.reject(requeue=False)
        return
    delay = error.delay_s if isinstance(error, RetryableError) else 1.0
    log.warning("event.retrying", error=type(error).__name__, delay_s=delay)
    await asyncio.sleep(min(delay, MAX_REQUEUE_DELAY_S))
    await message.nack(requeue=True)
