"""What a handler gets besides its message, and how it commits.

A handler is a plain `async def handler(message, ctx)`. A command's handler runs in one
transaction that the dispatcher opens before it and commits after it, with the command's events
(outbox) and reply (inbox); an event's handlers likewise, after the event's inbox row. A handler
marked `@chooses_commit` instead picks its commit mode itself, up front, before it writes:
`await ctx.begin()` for that same transaction, or `ctx.commit_at_once(...)` to commit its whole
effect in one statement without a transaction (fewer round trips to Postgres). Either way the
same SQL and the same events serve, and nothing runs twice.

An event handler marked `@handles_batches` takes a list of its events instead of one, with a
`BatchContext` (`async def handler(events, ctx)`): the deliveries that arrive together are
handled in one transaction (`shared.event_dispatch`), and `ctx.each[i]` is the `Context` of
`events[i]` (its envelope, its `emit`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg

from shared import inbox
from shared.db import Connection
from shared.envelope import Envelope
from shared.messages.base import Message
from shared.outbox import OutboxRows
from shared.rpc import ok_reply

DepsT = TypeVar("DepsT")
H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


def chooses_commit(handler: H) -> H:
    """Mark a handler that picks its own commit mode (`Context.begin` or `commit_at_once`)
    before it writes; the dispatcher then opens no transaction for it."""
    handler.plaudit_chooses_commit = True  # type: ignore[attr-defined]
    return handler


def does_choose_commit(handler: Callable[..., Any]) -> bool:
    return bool(getattr(handler, "plaudit_chooses_commit", False))


def handles_batches(handler: H) -> H:
    """Mark an event handler that takes `(events: list[Event], ctx: BatchContext)`: the
    deliveries of its event type that arrive together are handled in one transaction. It is
    then its event's only handler."""
    handler.plaudit_handles_batches = True  # type: ignore[attr-defined]
    return handler


def does_handle_batches(handler: Callable[..., Any]) -> bool:
    return bool(getattr(handler, "plaudit_handles_batches", False))


def borrows_connections(handler: H) -> H:
    """Mark a query handler that waits on something other than Postgres (the network): it holds
    no connection while it runs (`ctx.conn` is none), and borrows one from `ctx.pool` for each
    read instead, so slow outside answers never starve the service's pool."""
    handler.plaudit_borrows_connections = True  # type: ignore[attr-defined]
    return handler


def does_borrow_connections(handler: Callable[..., Any]) -> bool:
    return bool(getattr(handler, "plaudit_borrows_connections", False))


class _NoConnection:
    """`ctx.conn` of a handler that borrows its connections: any use is a bug, said plainly."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"this handler holds no connection (conn.{name}): use ctx.pool")


NO_CONNECTION: Any = _NoConnection()


@dataclass(frozen=True)
class Sensitive:
    """A reply holding a secret shown once: the caller gets `data`; the stored copy a redelivery
    would replay is `stored`, without the secret."""

    data: Any
    stored: Any


class CommitModeError(RuntimeError):
    """A handler chose its commit mode twice, or too late."""


@dataclass
class Context(Generic[DepsT]):
    """A handler's connection (in its transaction, unless it chooses its commit mode), the
    service's dependencies, the message's envelope, and `emit` to add an event (or a command for
    another service) to the outbox."""

    conn: Connection
    deps: DepsT
    envelope: Envelope
    system_id: int | None = None
    events: list[Envelope] = field(default_factory=list)
    # Called once the transaction has committed (e.g. to wake a scheduler for new due rows).
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # Set by the dispatcher: whether a transaction is open, and what committing at once wrote.
    in_transaction: bool = False
    committed: OutboxRows | None = None
    # The service's pool, for a handler that borrows its connections (`borrows_connections`).
    pool: asyncpg.Pool | None = None
    _begin: Callable[[], Awaitable[None]] | None = None

    def emit(self, event: Message, *, system_id: int) -> None:
        self.events.append(
            Envelope.wrap(
                event,
                correlation_id=self.envelope.correlation_id,
                causation_id=str(self.envelope.message_id),
                system_id=system_id,
            )
        )

    async def begin(self) -> None:
        """Commit in the message's transaction (opened now, committed by the dispatcher after
        the handler, with the outbox and inbox rows). A no-op where it is open already."""
        if self.committed is not None:
            raise CommitModeError("this message has committed at once already")
        if self._begin is not None and not self.in_transaction:
            await self._begin()

    async def commit_at_once(self, change: str, *args: Any, reply: Any) -> bool:
        """Commit a command in one statement: `change` (a data-modifying statement with a
        RETURNING clause, its parameters `$1`...`$n` given as `args`), with the events emitted
        so far and `reply` (both computed beforehand), these two only if `change` returned a
        row. Whether it did: when it returned no row, nothing was written, and the handler
        answers why. In a transaction already open (a keyed request's), the same
        statement runs in it."""
        if self.in_transaction and self._begin is None:
            raise CommitModeError("commit_at_once is for handlers marked @chooses_commit")
        if self.committed is not None:
            raise CommitModeError("this message has committed at once already")
        done = await inbox.request_at_once(
            self.conn,
            self.envelope,
            self.system_id,
            ok_reply(reply),
            self.events,
            change,
            args,
        )
        if done is None:
            self.events.clear()
            return False
        self.committed = done
        return True

    async def handle_at_once(self, change: str, *args: Any, wanted: str = "true") -> int:
        """Handle an event in one statement: mark it handled and make `change` (a data-modifying
        statement with a RETURNING clause, its parameters `$1`...`$n` given as `args`), which
        must act only `WHERE EXISTS (SELECT FROM <inbox.FRESH>)`. How many rows `change`
        returned. Raises `inbox.AlreadyHandled` for a redelivery (nothing done), which the
        dispatcher acks. Where `wanted` (a condition on the same parameters) is false, nothing
        is written, the inbox row included (`inbox.event_at_once`)."""
        if self.committed is not None or self.in_transaction:
            raise CommitModeError("handle_at_once is for handlers marked @chooses_commit")
        count = await inbox.event_at_once(self.conn, self.envelope, change, args, wanted=wanted)
        if count is None:
            raise inbox.AlreadyHandled
        self.committed = []
        return count


@dataclass
class BatchContext(Generic[DepsT]):
    """What a `@handles_batches` handler gets: the batch's connection (in its transaction), the
    service's dependencies, and one `Context` per event, in the events' order, on that same
    connection (for each event's envelope, system and `emit`)."""

    conn: Connection
    deps: DepsT
    each: list[Context[DepsT]]
    # Called once the batch's transaction has committed.
    after_commit: list[Callable[[], None]] = field(default_factory=list)


Handler = Callable[[Any, Context[DepsT]], Awaitable[Any]]
BatchHandler = Callable[[list[Any], BatchContext[DepsT]], Awaitable[Any]]
# What an event type's subscribers may be: plain handlers, or one `@handles_batches` handler.
EventHandler = Handler[DepsT] | BatchHandler[DepsT]
