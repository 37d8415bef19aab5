"""What a handler gets besides its message, and how it commits.

A handler is a plain `async def handler(message, ctx)`. A command's handler runs in one
transaction that the dispatcher opens before it and commits after it, with the command's events
(outbox) and reply (inbox); an event's handlers likewise, after the event's inbox row.

A handler marked `@handles_batches` takes a list of its messages instead of one, with a
`BatchContext` (`async def handler(messages, ctx)`): the messages of its type that arrive
together are handled at once (`shared.request_dispatch`, `shared.event_dispatch`), and
`ctx.each[i]` is the `Context` of `messages[i]` (its envelope, its system, its `emit`). A command
batch handler answers a list with one outcome per command: its result, or the `AppError` it
answers with (that command then wrote nothing, and emitted nothing).

A handler marked `@chooses_commit` picks its commit mode itself, up front, before it writes: a
command batch handler `await ctx.begin()` for the one transaction, or `ctx.commit_at_once(...)`
to commit the batch's whole effect in one statement without a transaction (fewer round trips
to Postgres); an event batch handler (`@handles_batches` too) `ctx.handle_at_once(...)`, one
statement for the whole batch, its inbox rows included. Either way the same SQL and the same
events serve, and nothing runs twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
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
    """Mark a handler that picks its own commit mode (`BatchContext.begin` or
    `commit_at_once` for commands, `BatchContext.handle_at_once` for events, whose handler also
    `@handles_batches`) before it writes; the dispatcher then opens no transaction for it."""
    handler.plaudit_chooses_commit = True  # type: ignore[attr-defined]
    return handler


def does_choose_commit(handler: Callable[..., Any]) -> bool:
    return bool(getattr(handler, "plaudit_chooses_commit", False))


def handles_batches(handler: H) -> H:
    """Mark a handler that takes `(messages: list[Message], ctx: BatchContext)`: the messages
    of its type that arrive together are handled at once (an event's, in one transaction; it is
    then its event's only handler)."""
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
    another service) to the outbox. `committed` holds the outbox rows of a message committed at
    once (`BatchContext.commit_at_once`, `BatchContext.handle_at_once`)."""

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

    def emit(self, event: Message, *, system_id: int) -> None:
        self.events.append(
            Envelope.wrap(
                event,
                correlation_id=self.envelope.correlation_id,
                causation_id=str(self.envelope.message_id),
                system_id=system_id,
            )
        )


@dataclass
class BatchContext(Generic[DepsT]):
    """What a `@handles_batches` handler gets: the batch's connection (in its transaction,
    unless the handler chooses its commit mode), the service's dependencies, and one `Context`
    per message, in the messages' order, on that same connection (for each message's envelope,
    system and `emit`)."""

    conn: Connection
    deps: DepsT
    each: list[Context[DepsT]]
    # Called once the batch's transaction has committed.
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    in_transaction: bool = False
    committed_at_once: bool = False
    # What each event of a batch handled at once came to (`handle_at_once`).
    handled: list[inbox.Handled] | None = None
    # Set by the dispatcher for a handler that chooses its commit mode: opens the transaction.
    _begin: Callable[[], Awaitable[None]] | None = None

    async def begin(self) -> None:
        """Commit in the batch's transaction (opened now, committed by the dispatcher after
        the handler, with the outbox and inbox rows). A no-op where it is open already."""
        if self.committed_at_once:
            raise CommitModeError("this batch has committed at once already")
        if self._begin is not None and not self.in_transaction:
            await self._begin()
            self.in_transaction = True
            for context in self.each:
                context.in_transaction = True

    async def commit_at_once(
        self,
        change: str,
        *args: Any,
        keys: Sequence[uuid.UUID | None],
        replies: Sequence[Any],
    ) -> list[bool]:
        """Commit a batch of commands in one statement: `change` (a data-modifying statement,
        its parameters `$1`...`$n` given as `args`, whose RETURNING clause gives, `AS key`, the
        key of each command it wrote) and, for each command whose key it returned, that
        command's events emitted so far and its reply `replies[i]` (both computed beforehand).
        `keys[i]` is command i's key (None: it takes no part, its answer is an error found
        before). For each command, whether it was written; one that was not has no events any
        more, and the handler answers why. In a transaction already open (a keyed request's),
        the same statement runs in it. Raises `inbox.AlreadyHandled`, with nothing written, when
        a request is in the inbox already."""
        if self.in_transaction and self._begin is None:
            raise CommitModeError("commit_at_once is for handlers marked @chooses_commit")
        if self.committed_at_once:
            raise CommitModeError("this batch has committed at once already")
        taking = {i: key for i, key in enumerate(keys) if key is not None}
        written = await inbox.requests_at_once(
            self.conn,
            [
                inbox.Answered(
                    self.each[i].envelope,
                    self.each[i].system_id,
                    ok_reply(replies[i]),
                    self.each[i].events,
                )
                for i in taking
            ],
            list(taking.values()),
            change,
            args,
        )
        self.committed_at_once = True
        outcomes = dict(zip(taking, written, strict=True))
        done = [False] * len(keys)
        for i, context in enumerate(self.each):
            rows = outcomes.get(i)
            if rows is None:
                context.events.clear()
            else:
                context.committed = rows
                done[i] = True
        return done

    async def handle_at_once(
        self,
        change: str,
        *args: Any,
        keys: Sequence[uuid.UUID | None],
        wanted: str = "true",
    ) -> list[inbox.Handled]:
        """Handle a batch of events in one statement, without a transaction: the inbox rows of
        those that are new and wanted, and `change` (a data-modifying statement, its parameters
        `$1`...`$n` given as `args`) acting only for those (`WHERE ... IN (SELECT key FROM
        <inbox.FRESH>)`), whose RETURNING clause gives, `AS key`, the key of the event each row
        is for. `keys[i]` is event i's key (None: it takes no part; it is unwanted). Where
        `wanted` (a condition on `<inbox.EVENT>`, the batch's rows) is false, nothing at all is
        written for an event. For each event, what it came to (`inbox.Handled`): fresh (with
        how many rows `change` returned for it), a duplicate (a redelivery: nothing done, and
        the dispatcher acks it) or unwanted (`inbox.events_at_once`). Events caused by events
        handled so are not supported: the statement writes no outbox rows."""
        if self.in_transaction or self._begin is not None:
            raise CommitModeError("handle_at_once is for event handlers marked @chooses_commit")
        if self.handled is not None:
            raise CommitModeError("this batch has been handled at once already")
        if any(context.events for context in self.each):
            raise CommitModeError("an event handled at once emits nothing")
        envelopes = [context.envelope for context in self.each]
        self.handled = await inbox.events_at_once(
            self.conn, envelopes, keys, change, args, wanted=wanted
        )
        self.committed_at_once = True
        for context in self.each:
            context.committed = []
        return self.handled


Handler = Callable[[Any, Context[DepsT]], Awaitable[Any]]
BatchHandler = Callable[[list[Any], BatchContext[DepsT]], Awaitable[Any]]
# What handles a message type: a plain handler, or a `@handles_batches` one (an event type's
# subscribers are plain handlers, or one `@handles_batches` handler).
MessageHandler = Handler[DepsT] | BatchHandler[DepsT]
