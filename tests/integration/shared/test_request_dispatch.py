"""Commands and queries run by the request dispatcher on real Postgres: one transaction with
the outbox and the inbox, replays, keyed requests, and handlers that choose their commit."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from shared.context import Context, Sensitive, borrows_connections, chooses_commit
from shared.envelope import Envelope
from shared.errors import Conflict
from shared.messages.common import Ping
from shared.messages.systems import CreateConsumer, ListSystems
from shared.request_dispatch import RequestDispatcher
from tests.integration.shared.dispatching import Delivery, Deps, created, reply

pytestmark = pytest.mark.integration


async def add_note(command: CreateConsumer, ctx: Context[Deps]) -> Any:
    ctx.deps.calls.append(command.system)
    if command.system == "taken":
        raise Conflict("note with that `text` already exists")
    if command.system == "crash":
        await ctx.conn.execute("INSERT INTO notes (text) VALUES ('half-written')")
        raise RuntimeError("password=hunter2 at db-host")
    await ctx.conn.execute("INSERT INTO notes (text) VALUES ($1)", command.system)
    ctx.system_id = 42
    ctx.emit(created(command.system), system_id=42)
    return Sensitive(
        data={"note": command.system, "secret": "s3cret"}, stored={"note": command.system}
    )


@chooses_commit
async def add_note_choosing(command: CreateConsumer, ctx: Context[Deps]) -> Any:
    """At once, unless the note asks for a transaction; the same statement either way."""
    ctx.deps.calls.append(command.system)
    ctx.system_id = 42
    insert = "INSERT INTO notes (text) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id"
    ctx.emit(created(command.system), system_id=42)
    if command.system.startswith("in-transaction"):
        await ctx.begin()
        if await ctx.conn.fetchrow(insert, command.system) is None:
            raise Conflict("note with that `text` already exists")
        return {"note": command.system}
    if not await ctx.commit_at_once(insert, command.system, reply={"note": command.system}):
        raise Conflict("note with that `text` already exists")
    return {"note": command.system}


async def count_notes(query: ListSystems, ctx: Context[Deps]) -> Any:
    return {"count": await ctx.conn.fetchval("SELECT count(*) FROM notes")}


def request(message: Any) -> Envelope:
    return Envelope.wrap(message, correlation_id="c-1")


def keyed(message: Any, request_hash: str = "h1", message_id: uuid.UUID | None = None) -> Envelope:
    """A request sent under an Idempotency-Key: every retry has the same id."""
    return Envelope.wrap(
        message,
        correlation_id="c-1",
        message_id=message_id or uuid.UUID("00000000-0000-4000-8000-000000000001"),
        request_hash=request_hash,
    )


def note(text: str) -> CreateConsumer:
    return CreateConsumer(system=text, consumer={})  # type: ignore[arg-type]


@pytest.fixture
def requests(pool: asyncpg.Pool) -> RequestDispatcher[Deps]:
    return RequestDispatcher(pool, Deps(), {CreateConsumer: add_note, ListSystems: count_notes})


@pytest.fixture
def choosing(pool: asyncpg.Pool) -> RequestDispatcher[Deps]:
    return RequestDispatcher(pool, Deps(), {CreateConsumer: add_note_choosing})


async def answer(dispatcher: RequestDispatcher[Deps], envelope: Envelope, **kw: Any) -> Any:
    return reply(await dispatcher(envelope, Delivery(**kw)))  # type: ignore[arg-type]


class TestCommands:
    async def test_a_command_commits_its_effect_events_and_reply(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("first"))
        assert await answer(requests, envelope) == {
            "ok": True,
            "data": {"note": "first", "secret": "s3cret"},
        }
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        row = await pool.fetchrow("SELECT routing_key, body FROM outbox")
        event = Envelope.from_bytes(row["body"])
        assert (row["routing_key"], event.type, event.system_id) == (
            "badge.created",
            "badge.created",
            42,
        )
        assert event.correlation_id == "c-1"
        assert event.causation_id == str(envelope.message_id)
        stored = await pool.fetchrow("SELECT type, system_id, reply FROM inbox")
        assert (stored["type"], stored["system_id"]) == ("badges.create_consumer", 42)
        # The stored reply, which a redelivery would replay, keeps no secret.
        assert reply(stored["reply"]) == {"ok": True, "data": {"note": "first"}}

    async def test_a_redelivered_request_gets_the_stored_reply_and_runs_once(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("once"))
        await answer(requests, envelope)
        again = await answer(requests, envelope, redelivered=True)
        assert again == {"ok": True, "data": {"note": "once"}, "replayed": True}
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1

    async def test_a_duplicate_that_slips_past_the_lookup_still_runs_once(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("twice"))
        await answer(requests, envelope)
        # Not flagged as redelivered (a second consumer got it): the inbox insert catches it.
        await pool.execute("DELETE FROM notes")
        assert (await answer(requests, envelope))["ok"] is True
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0

    async def test_a_business_error_rolls_back_and_answers_its_status(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        answered = await answer(requests, request(note("taken")))
        assert answered["ok"] is False
        assert (answered["error"]["status"], answered["error"]["code"]) == (
            409,
            "ResourceConflict",
        )
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0

    async def test_an_unexpected_error_leaks_nothing_and_writes_nothing(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        answered = await answer(requests, request(note("crash")))
        assert answered["error"]["status"] == 500
        assert "hunter2" not in orjson.dumps(answered).decode()
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0

    async def test_queries_and_ping(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        await answer(requests, request(note("a")))
        assert await answer(requests, request(ListSystems())) == {
            "ok": True,
            "data": {"count": 1},
        }
        assert await answer(requests, request(Ping())) == {"ok": True, "data": {"database": True}}
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 1

    async def test_a_request_breaking_its_contract(self, requests: RequestDispatcher[Deps]) -> None:
        broken = Envelope(type="badges.create_consumer", correlation_id="c", data={"nope": 1})
        assert (await answer(requests, broken))["error"]["status"] == 500


class TestKeyedRequests:
    async def test_a_retry_gets_the_first_answer_marked_replayed_and_runs_once(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        first = await answer(requests, keyed(note("once")))
        again = await answer(requests, keyed(note("once")))
        assert first == {"ok": True, "data": {"note": "once", "secret": "s3cret"}}
        assert again == {"ok": True, "data": {"note": "once"}, "replayed": True}
        assert requests._deps.calls == ["once"]
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
        assert await pool.fetchval("SELECT request_hash FROM inbox") == "h1"

    async def test_the_key_with_another_request_is_refused(
        self, requests: RequestDispatcher[Deps]
    ) -> None:
        await answer(requests, keyed(note("one")))
        other = await answer(requests, keyed(note("two"), "h2"))
        assert (other["error"]["status"], other["error"]["code"]) == (
            422,
            "IdempotencyKeyMismatch",
        )
        assert requests._deps.calls == ["one"]

    async def test_a_client_error_is_kept_as_the_answer(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        first = await answer(requests, keyed(note("taken")))
        again = await answer(requests, keyed(note("taken")))
        assert first["error"]["status"] == 409
        assert again == {**first, "replayed": True}
        assert requests._deps.calls == ["taken"]
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0

    async def test_a_server_error_leaves_the_key_free(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        assert (await answer(requests, keyed(note("crash"))))["error"]["status"] == 500
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0
        assert (await answer(requests, keyed(note("crash"))))["error"]["status"] == 500
        assert requests._deps.calls == ["crash", "crash"]

    async def test_a_run_in_progress_makes_a_retry_answer_409(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = keyed(note("busy"))
        lock = int.from_bytes(envelope.message_id.bytes[:8], "big", signed=True)
        async with pool.acquire() as holder, holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", lock)
            busy = await answer(requests, envelope)
        assert (busy["error"]["status"], busy["error"]["code"]) == (409, "IdempotencyKeyInUse")
        assert requests._deps.calls == []
        assert (await answer(requests, envelope))["data"]["note"] == "busy"

    async def test_a_handler_committing_at_once_runs_its_statement_in_the_keyed_transaction(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        first = await answer(choosing, keyed(note("keyed")))
        again = await answer(choosing, keyed(note("keyed")))
        assert first == {"ok": True, "data": {"note": "keyed"}}
        assert again == {**first, "replayed": True}
        assert choosing._deps.calls == ["keyed"]
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


class TestHandlersChoosingTheirCommit:
    async def test_at_once_the_effect_events_and_reply_commit_in_one_statement(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("quick"))
        answered = await answer(choosing, envelope)
        assert answered == {"ok": True, "data": {"note": "quick"}}
        assert await pool.fetchval("SELECT text FROM notes") == "quick"
        event = Envelope.from_bytes(await pool.fetchval("SELECT body FROM outbox"))
        assert (event.type, event.causation_id) == ("badge.created", str(envelope.message_id))
        stored = await pool.fetchrow("SELECT type, system_id, reply FROM inbox")
        assert (stored["type"], stored["system_id"]) == ("badges.create_consumer", 42)
        assert reply(stored["reply"]) == answered

    async def test_a_statement_that_changed_nothing_writes_nothing(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        await pool.execute("INSERT INTO notes (text) VALUES ('taken')")
        taken = await answer(choosing, request(note("taken")))
        assert taken["error"]["status"] == 409
        # Neither the event nor the reply was written; the handler ran once.
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0
        assert choosing._deps.calls == ["taken"]

    async def test_in_a_transaction_the_same_events_and_reply_commit_with_it(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        answered = await answer(choosing, request(note("in-transaction")))
        assert answered == {"ok": True, "data": {"note": "in-transaction"}}
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
        assert reply(await pool.fetchval("SELECT reply FROM inbox")) == answered
        taken = await answer(choosing, request(note("in-transaction")))
        assert taken["error"]["status"] == 409
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1

    async def test_a_request_seen_before_runs_once(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("once"))
        await answer(choosing, envelope)
        await pool.execute("DELETE FROM notes")
        # Not flagged as redelivered: its inbox row makes the statement fail, nothing is
        # written, and the stored reply is the answer.
        again = await answer(choosing, envelope)
        replayed = await answer(choosing, envelope, redelivered=True)
        assert again == replayed == {"ok": True, "data": {"note": "once"}, "replayed": True}
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


class TestTheSystem:
    async def test_a_request_naming_its_system_records_it_with_the_reply(
        self, pool: asyncpg.Pool
    ) -> None:
        async def plain(command: CreateConsumer, ctx: Context[Deps]) -> Any:
            return {"system": ctx.system_id}

        dispatcher = RequestDispatcher(pool, Deps(), {CreateConsumer: plain})
        envelope = Envelope.wrap(note("n"), correlation_id="c", system_id=9)
        assert await answer(dispatcher, envelope) == {"ok": True, "data": {"system": 9}}
        # So that the system's deletion purges the row with the rest of its messages.
        assert await pool.fetchval("SELECT system_id FROM inbox") == 9


class TestHandlersBorrowingConnections:
    """A query that waits on other hosts holds no connection while it waits: with every
    connection of the pool taken by other work, it still runs, borrowing one for each read."""

    async def test_it_runs_while_the_pool_is_taken_and_reads_on_a_borrowed_connection(
        self, pool: asyncpg.Pool
    ) -> None:
        outside = asyncio.Event()

        @borrows_connections
        async def count_after_waiting(query: ListSystems, ctx: Context[Deps]) -> Any:
            with pytest.raises(RuntimeError, match="holds no connection"):
                await ctx.conn.fetchval("SELECT 1")
            await outside.wait()  # a slow host, say
            assert ctx.pool is not None
            async with ctx.pool.acquire() as conn:
                return {"count": await conn.fetchval("SELECT count(*) FROM notes")}

        requests = RequestDispatcher(pool, Deps(), {ListSystems: count_after_waiting})
        waiting = [asyncio.create_task(answer(requests, request(ListSystems()))) for _ in range(8)]
        # Twice the pool's size waits on the outside at once; the pool stays free for others.
        async with asyncio.timeout(5):
            assert await pool.fetchval("SELECT count(*) FROM notes") == 0
        outside.set()
        answers = await asyncio.gather(*waiting)
        assert answers == [{"ok": True, "data": {"count": 0}}] * 8
