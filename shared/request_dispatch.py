"""Answering requests: a query on a pooled connection, a command in one transaction with its
events (outbox) and its reply (inbox), keyed by the request's `message_id`.

- A redelivered request (the service died after committing, before acking) finds its inbox row
  and gets the stored reply again instead of running twice.
- A request under an `Idempotency-Key` carries a `message_id` derived from the key and the hash
  of its HTTP request (`Envelope.request_hash`), so a client's retry is such a redelivery. It runs
  in a transaction that first takes a lock on its id (409 while another run holds it), then
  looks for an earlier answer (replayed; a 422 for another request hash). Its handler runs in a
  savepoint, so that a client error is stored and replayed like a success.
- A command whose handler is marked `@handles_batches` is answered together with the others of
  its type that arrive with it (group commit, `shared.batching`): those of one event-loop tick
  (an `rpc.batch` message brings several), and those that arrive while `BATCHES_IN_FLIGHT`
  batches of the type are being handled, up to `MAX_BATCH`. The batch is one transaction (or
  one statement, `BatchContext.commit_at_once`) with every command's events and stored reply;
  each command keeps its own outcome, so a 409 for one is its answer alone. Should anything
  else fail, nothing of the batch is kept and each of its commands is answered again alone, as
  a batch of one; a keyed request is always alone. A plain command handler is a batch of one on
  the same path.
- A handler marked `@chooses_commit` opens the transaction itself, or commits at once
  (`shared.context`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, cast

import asyncpg
import pydantic
import structlog
from aio_pika.abc import AbstractIncomingMessage
from asyncpg.transaction import Transaction

from shared import db, inbox
from shared.batching import Batches, spawn
from shared.context import (
    NO_CONNECTION,
    BatchContext,
    BatchHandler,
    Context,
    DepsT,
    Handler,
    MessageHandler,
    Sensitive,
    does_borrow_connections,
    does_choose_commit,
    does_handle_batches,
)
from shared.db import Connection
from shared.envelope import Envelope
from shared.errors import AppError, InternalError, KeyInUse, KeyMismatch, ServiceUnavailable
from shared.messages import MESSAGE_TYPES
from shared.messages.base import Command, Message
from shared.messages.common import Ping
from shared.outbox import OutboxRelay, OutboxRows
from shared.rpc import error_reply, ok_reply, replayed_reply

log = structlog.get_logger()


def registered(handlers: Mapping[type[Message], Any]) -> dict[str, type[Message]]:
    """The models of a handler registry by wire type; each must be a registered message model."""
    for model in handlers:
        if MESSAGE_TYPES.get(model.TYPE) is not model:
            raise RuntimeError(f"{model.__name__} is not a registered message model")
    return {model.TYPE: model for model in handlers}


# A batch's size bound: its statements' arrays and its transaction stay small.
MAX_BATCH = 64
# Batches of one command type handled at once, each on a connection of its own: while one
# waits on Postgres the next gathers.
BATCHES_IN_FLIGHT = 2


@dataclass
class _Pending:
    """A command on its way to its answer."""

    envelope: Envelope
    request: Message
    redelivered: bool
    answer: asyncio.Future[bytes] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class RequestDispatcher(Generic[DepsT]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        deps: DepsT,
        handlers: Mapping[type[Message], MessageHandler[DepsT]],
        relay: OutboxRelay | None = None,
    ) -> None:
        self._pool = pool
        self._deps = deps
        self._handlers = {model.TYPE: handler for model, handler in handlers.items()}
        self._models: dict[str, type[Message]] = {**registered(handlers), Ping.TYPE: Ping}
        self._relay = relay
        # The commands whose handler chooses its commit mode (no transaction opened for it).
        self._choosing = {t for t, handler in self._handlers.items() if does_choose_commit(handler)}
        self._batched = {t for t, handler in self._handlers.items() if does_handle_batches(handler)}
        self._batches = Batches[str, _Pending](
            self._run_batch, max_batch=MAX_BATCH, in_flight=BATCHES_IN_FLIGHT
        )

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
                pending = _Pending(envelope, request, bool(message.redelivered))
                if envelope.type in self._batched and envelope.request_hash is None:
                    self._batches.add(envelope.type, pending)
                    return await pending.answer
                (reply,) = await self._commands([pending])
                return reply
            handler = cast(Handler[DepsT], self._handlers[envelope.type])
            if does_borrow_connections(handler):
                context = Context(
                    NO_CONNECTION,
                    self._deps,
                    envelope,
                    system_id=envelope.system_id,
                    pool=self._pool,
                )
                return ok_reply(await handler(request, context))

            async def query() -> bytes:
                async with self._pool.acquire() as conn:
                    context = Context(conn, self._deps, envelope, system_id=envelope.system_id)
                    return ok_reply(await handler(request, context))

            return await db.reconnecting(query)
        except AppError as error:
            return error_reply(error)
        except pydantic.ValidationError:
            log.exception("request.invalid_message")
            return error_reply(InternalError("The request message did not match its contract"))
        except Exception as error:
            if db.unavailable(error):
                log.warning("request.database_unavailable", error=type(error).__name__)
                return error_reply(ServiceUnavailable("The database is unavailable; retry shortly"))
            # Never send exception text (SQL, driver messages) back towards a client.
            log.exception("request.failed")
            return error_reply(InternalError())

    async def _run_batch(self, command_type: str, batch: list[_Pending]) -> None:
        """Answer a batch of commands; should it fail, answer each again alone."""
        try:
            replies = await self._commands(batch)
        except Exception as error:
            if len(batch) == 1:
                batch[0].answer.set_exception(error)
                return
            log.warning("request.batch_failed", type=command_type, size=len(batch), exc_info=True)
            for pending in batch:
                spawn(self._alone(pending))
        else:
            for pending, reply in zip(batch, replies, strict=True):
                pending.answer.set_result(reply)

    async def _alone(self, pending: _Pending) -> None:
        """A command of a failed batch, answered again as a batch of its own."""
        try:
            (reply,) = await self._commands([pending])
        except Exception as error:
            pending.answer.set_exception(error)
        else:
            pending.answer.set_result(reply)

    async def _commands(self, batch: list[_Pending]) -> list[bytes]:
        """Run commands of one type (a keyed one always alone) and commit them together; their
        replies. Raises what fails them all (an `AppError` only for a batch of one). Should
        Postgres drop the connection, they run again on another, as redeliveries: a commit that
        landed before the drop is found in the inbox and its replies are sent again."""

        def again() -> None:
            for pending in batch:
                pending.redelivered = True

        return await db.reconnecting(lambda: self._commit(batch), again=again)

    async def _commit(self, batch: list[_Pending]) -> list[bytes]:
        keyed = batch[0].envelope.request_hash is not None
        replies: dict[int, bytes] = {}
        async with self._pool.acquire() as conn:
            # Only a redelivery can have been handled before: skip the look-up otherwise. A
            # keyed request looks under its key's lock, in its transaction.
            for i, pending in enumerate(batch):
                if (
                    pending.redelivered
                    and not keyed
                    and (found := await inbox.stored(conn, pending.envelope))
                ):
                    log.info("request.replayed", message_id=str(pending.envelope.message_id))
                    replies[i] = replayed_reply(found[0])
            running = [i for i in range(len(batch)) if i not in replies]
            contexts = [
                Context(conn, self._deps, batch[i].envelope, system_id=batch[i].envelope.system_id)
                for i in running
            ]
            if contexts:
                context = BatchContext(conn, self._deps, contexts)
                try:
                    answers, outbox_rows = await self._run(
                        conn, context, [batch[i].request for i in running]
                    )
                except inbox.AlreadyHandled:
                    # The same request ran concurrently elsewhere and committed first.
                    if len(batch) > 1:
                        raise
                    return [
                        await _answer_of(conn, batch[0].envelope) or error_reply(InternalError())
                    ]
                except _Answered as answered:
                    log.info("request.replayed")
                    return [answered.reply]
                replies.update(zip(running, answers, strict=True))
        if contexts:
            self._committed(context, outbox_rows)
        return [replies[i] for i in range(len(batch))]

    def _committed(self, batch: BatchContext[DepsT], outbox_rows: OutboxRows) -> None:
        if outbox_rows and self._relay is not None:
            self._relay.relay_soon(outbox_rows)
        for context in batch.each:
            for callback in context.after_commit:
                callback()
            with structlog.contextvars.bound_contextvars(
                correlation_id=context.envelope.correlation_id,
                message_id=str(context.envelope.message_id),
                type=context.envelope.type,
            ):
                log.info(
                    "request.committed",
                    system_id=context.system_id,
                    events=len(context.events),
                    at_once=batch.committed_at_once,
                    batch=len(batch.each),
                )

    async def _run(
        self, conn: Connection, batch: BatchContext[DepsT], requests: list[Message]
    ) -> tuple[list[bytes], OutboxRows]:
        """Run commands and commit them: in one transaction with their outbox and inbox rows,
        unless their handler chose to commit at once."""
        envelope = batch.each[0].envelope
        keyed = envelope.request_hash is not None
        transaction = _Transaction(conn, batch)
        if envelope.type in self._choosing:
            batch._begin = transaction.begin
        if keyed or envelope.type not in self._choosing:
            await transaction.begin()
        try:
            if keyed:
                if not await inbox.lock_key(conn, envelope):
                    raise KeyInUse(
                        "A request with this Idempotency-Key is still in progress; retry shortly"
                    )
                if (answer := await _answer_of(conn, envelope)) is not None:
                    raise _Answered(answer)
            replies, outbox_rows = await self._handle(conn, batch, requests, keyed=keyed)
        except BaseException:
            await transaction.end(commit=False)
            raise
        await transaction.end(commit=True)
        return replies, outbox_rows

    async def _handle(
        self, conn: Connection, batch: BatchContext[DepsT], requests: list[Message], *, keyed: bool
    ) -> tuple[list[bytes], OutboxRows]:
        """Run the handler and record each command's reply and events (unless it committed at
        once). A keyed request's handler runs in a savepoint: its client error is its answer,
        stored."""
        try:
            if keyed:
                async with conn.transaction():
                    outcomes = await self._outcomes(batch, requests)
            else:
                outcomes = await self._outcomes(batch, requests)
        except AppError as error:
            if not (keyed and _kept(error)):
                raise
            outcomes = [error]
        replies: list[bytes] = []
        recording: list[inbox.Answered] = []
        outbox_rows: OutboxRows = []
        for context, outcome in zip(batch.each, outcomes, strict=True):
            if isinstance(outcome, AppError):
                context.events.clear()
                context.after_commit.clear()
                reply = error_reply(outcome)
                replies.append(reply)
                if keyed and _kept(outcome):
                    recording.append(inbox.Answered(context.envelope, context.system_id, reply, []))
                continue
            sent, stored_data = (
                (outcome.data, outcome.stored) if isinstance(outcome, Sensitive) else (outcome,) * 2
            )
            reply = ok_reply(sent)
            replies.append(reply)
            if context.committed is not None:
                outbox_rows.extend(context.committed)
                continue
            kept = reply if stored_data is sent else ok_reply(stored_data)
            recording.append(
                inbox.Answered(context.envelope, context.system_id, kept, context.events)
            )
        if recording:
            # In the transaction; or, for a handler that chose neither mode (it wrote nothing),
            # the events and the replies alone, in one statement.
            recorded, rows = await inbox.record_requests(conn, recording)
            if not recorded:
                raise inbox.AlreadyHandled
            outbox_rows.extend(rows)
        return replies, outbox_rows

    async def _outcomes(self, batch: BatchContext[DepsT], requests: list[Message]) -> list[Any]:
        """Each command's outcome: its result, or the `AppError` that answers it (raised for a
        command alone)."""
        handler = self._handlers[batch.each[0].envelope.type]
        if does_handle_batches(handler):
            outcomes = await cast(BatchHandler[DepsT], handler)(requests, batch)
            if len(outcomes) != len(requests):
                raise RuntimeError(f"{batch.each[0].envelope.type}: one outcome per command")
            if len(outcomes) == 1 and isinstance(outcomes[0], AppError):
                # Alone, an error is raised as a plain handler's: what the handler began (its
                # savepoint, its transaction) is rolled back, whatever state it is in.
                raise outcomes[0]
            return list(outcomes)
        (request,) = requests
        return [await cast(Handler[DepsT], handler)(request, batch.each[0])]


class _Transaction:
    """A batch's transaction: opened before its handler, or when a handler that chooses its
    commit asks for it (`BatchContext.begin`); committed or rolled back once it is done."""

    def __init__(self, conn: Connection, batch: BatchContext[Any]) -> None:
        self._conn = conn
        self._batch = batch
        self._open: Transaction | None = None

    async def begin(self) -> None:
        if self._open is None:
            self._open = self._conn.transaction()
            await self._open.start()
            self._batch.in_transaction = True
            for context in self._batch.each:
                context.in_transaction = True

    async def end(self, *, commit: bool) -> None:
        if self._open is not None:
            await (self._open.commit() if commit else self._open.rollback())


def _kept(error: AppError) -> bool:
    """Whether a keyed request's error is its answer for good: a client error is; a 429 or a
    server error is worth retrying, so the key stays free."""
    return 400 <= error.status < 500 and error.status != 429


async def _answer_of(conn: Connection, envelope: Envelope) -> bytes | None:
    """The reply stored by an earlier run of this request, marked as replayed; for a keyed
    request whose key was used with another request body, the mismatch error instead."""
    found = await inbox.stored(conn, envelope)
    if found is None:
        return None
    reply, request_hash = found
    if envelope.request_hash is not None and request_hash != envelope.request_hash:
        return error_reply(KeyMismatch("This Idempotency-Key was used with another request body"))
    return replayed_reply(reply)


class _Answered(Exception):
    """A keyed request answered before its handler ran (a replay, or the key's mismatch)."""

    def __init__(self, reply: bytes) -> None:
        super().__init__("answered")
        self.reply = reply
