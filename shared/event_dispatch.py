"""Handling events (and the commands another service sends through its outbox): each delivery
runs its subscribers in one transaction that first records its `message_id` in the inbox, so a
redelivery finds it there and is skipped; the message is acked after the commit.

A service's queue is bound to exactly the event types it has handlers for (`shared.topology`),
so every delivery has one. A transient failure requeues the message after a pause; one that can
never succeed (a `PermanentError`, a message breaking its contract, or the queue's delivery
limit) is dead-lettered. A handler marked `@chooses_commit` handles its event in one statement
instead (`Context.handle_at_once`), and is then the event's only handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Generic

import asyncpg
import pydantic
import structlog
from aio_pika.abc import AbstractIncomingMessage

from shared import inbox
from shared.context import Context, DepsT, Handler, does_choose_commit
from shared.envelope import Envelope
from shared.errors import PermanentError, RetryableError
from shared.messages.base import Message
from shared.outbox import OutboxRelay, write_events
from shared.request_dispatch import registered

log = structlog.get_logger()

# Retryable failures wait this long (at most) before the message goes back to the queue, so a
# database outage does not turn into a hot redelivery loop.
MAX_REQUEUE_DELAY_S = 5.0


class EventDispatcher(Generic[DepsT]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        deps: DepsT,
        handlers: Mapping[type[Message], Sequence[Handler[DepsT]]],
        relay: OutboxRelay | None = None,
    ) -> None:
        self._pool = pool
        self._deps = deps
        self._handlers = {model.TYPE: list(subscribers) for model, subscribers in handlers.items()}
        for event_type, subscribers in self._handlers.items():
            if len(subscribers) > 1 and any(map(does_choose_commit, subscribers)):
                raise RuntimeError(f"{event_type}: a handler that commits itself is the only one")
        self._models = registered(handlers)
        self._relay = relay

    @property
    def event_types(self) -> frozenset[str]:
        """What this service acts on: what its queue is bound to."""
        return frozenset(self._handlers)

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        """Handle one delivery: ack after commit, requeue on a transient failure, dead-letter a
        message that can never succeed."""
        try:
            envelope = Envelope.from_bytes(message.body)
        except ValueError:
            log.error("event.malformed", routing_key=message.routing_key)
            await message.reject(requeue=False)
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
                delay = error.delay_s if isinstance(error, RetryableError) else 1.0
                log.warning("event.retrying", error=type(error).__name__, delay_s=delay)
                await asyncio.sleep(min(delay, MAX_REQUEUE_DELAY_S))
                await message.nack(requeue=True)
            else:
                await message.ack()

    async def handle(self, envelope: Envelope) -> bool:
        """Run the subscribers of one event; False when it had been handled before."""
        model = self._models.get(envelope.type)
        if model is None:
            # Not bound here: only a stale binding of an earlier version can bring it.
            raise PermanentError(f"{envelope.type} has no handler in this service")
        event = model.from_data(envelope.data)
        subscribers = self._handlers[envelope.type]
        async with self._pool.acquire() as conn:
            context = Context(conn, self._deps, envelope, system_id=envelope.system_id)
            if does_choose_commit(subscribers[0]):
                try:
                    await subscribers[0](event, context)
                except inbox.AlreadyHandled:
                    fresh, outbox_rows = False, []
                else:
                    if context.committed is None:
                        raise RuntimeError(f"{envelope.type}: its handler did not commit")
                    fresh, outbox_rows = True, context.committed
            else:
                async with conn.transaction():
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
