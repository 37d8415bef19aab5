"""Answering requests: a query on a pooled connection, a command in one transaction with its
events (outbox) and its reply (inbox), keyed by the request's `message_id`.

- A redelivered request (the service died after committing, before acking) finds its inbox row
  and gets the stored reply again instead of running twice.
- A request under an `Idempotency-Key` carries a `message_id` derived from the key and the hash
  of its HTTP request (`Envelope.request_hash`), so a client's retry is such a redelivery. It runs
  in a transaction that first takes a lock on its id (409 while another run holds it), then
  looks for an earlier answer (replayed; a 422 for another request hash). Its handler runs in a
  savepoint, so that a client error is stored and replayed like a success.
- A handler marked `@chooses_commit` opens the transaction itself, or commits at once
  (`shared.context`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic

import asyncpg
import pydantic
import structlog
from aio_pika.abc import AbstractIncomingMessage
from asyncpg.transaction import Transaction

from shared import inbox
from shared.context import (
    NO_CONNECTION,
    Context,
    DepsT,
    Handler,
    Sensitive,
    does_borrow_connections,
    does_choose_commit,
)
from shared.db import Connection
from shared.envelope import Envelope
from shared.errors import AppError, InternalError, KeyInUse, KeyMismatch
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


class RequestDispatcher(Generic[DepsT]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        deps: DepsT,
        handlers: Mapping[type[Message], Handler[DepsT]],
        relay: OutboxRelay | None = None,
    ) -> None:
        self._pool = pool
        self._deps = deps
        self._handlers = {model.TYPE: handler for model, handler in handlers.items()}
        self._models: dict[str, type[Message]] = {**registered(handlers), Ping.TYPE: Ping}
        self._relay = relay
        # The commands whose handler chooses its commit mode (no transaction opened for it).
        self._choosing = {t for t, handler in self._handlers.items() if does_choose_commit(handler)}

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
            handler = self._handlers[envelope.type]
            if does_borrow_connections(handler):
                context = Context(
                    NO_CONNECTION,
                    self._deps,
                    envelope,
                    system_id=envelope.system_id,
                    pool=self._pool,
                )
                return ok_reply(await handler(request, context))
            async with self._pool.acquire() as conn:
                context = Context(conn, self._deps, envelope, system_id=envelope.system_id)
                return ok_reply(await handler(request, context))
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
            if redelivered and not keyed and (found := await inbox.stored(conn, envelope)):
                log.info("request.replayed")
                return replayed_reply(found[0])
            context = Context(conn, self._deps, envelope, system_id=envelope.system_id)
            try:
                reply, outbox_rows = await self._run(conn, context, request)
            except inbox.AlreadyHandled:
                # The same request ran concurrently elsewhere and committed first.
                return await _answer_of(conn, envelope) or error_reply(InternalError())
            except _Answered as answered:
                log.info("request.replayed")
                return answered.reply
        if outbox_rows and self._relay is not None:
            self._relay.relay_soon(outbox_rows)
        for callback in context.after_commit:
            callback()
        log.info(
            "request.committed",
            system_id=context.system_id,
            events=len(outbox_rows),
            at_once=context.committed is not None,
        )
        return reply

    async def _run(
        self, conn: Connection, context: Context[DepsT], request: Message
    ) -> tuple[bytes, OutboxRows]:
        """Run a command and commit it: in one transaction with its outbox and inbox rows,
        unless its handler chose to commit at once."""
        envelope = context.envelope
        keyed = envelope.request_hash is not None
        transaction = _Transaction(conn, context)
        if envelope.type in self._choosing:
            context._begin = transaction.begin
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
            reply, outbox_rows = await self._handle(conn, context, request, keyed=keyed)
        except BaseException:
            await transaction.end(commit=False)
            raise
        await transaction.end(commit=True)
        return reply, outbox_rows

    async def _handle(
        self, conn: Connection, context: Context[DepsT], request: Message, *, keyed: bool
    ) -> tuple[bytes, OutboxRows]:
        """Run the handler and record its reply and events (unless it committed at once). A
        keyed request's handler runs in a savepoint: its client error is its answer, stored."""
        handler = self._handlers[context.envelope.type]
        try:
            if keyed:
                async with conn.transaction():
                    result = await handler(request, context)
            else:
                result = await handler(request, context)
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
            if context.committed is not None:
                return reply, context.committed
        # In the transaction; or, for a handler that chose neither mode (it wrote nothing), the
        # events and the reply alone, in one statement.
        recorded, outbox_rows = await inbox.record_request(
            conn, context.envelope, context.system_id, kept, context.events
        )
        if not recorded:
            raise inbox.AlreadyHandled
        return reply, outbox_rows


class _Transaction:
    """A command's transaction: opened before its handler, or when a handler that chooses its
    commit asks for it (`Context.begin`); committed or rolled back once it is done."""

    def __init__(self, conn: Connection, context: Context[Any]) -> None:
        self._conn = conn
        self._context = context
        self._open: Transaction | None = None

    async def begin(self) -> None:
        if self._open is None:
            self._open = self._conn.transaction()
            await self._open.start()
            self._context.in_transaction = True

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
