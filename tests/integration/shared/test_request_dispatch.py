"""Commands and queries run by the request dispatcher on real Postgres: one transaction with
the outbox and the inbox, replays, keyed requests, and handlers that choose their commit."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from shared import db
from shared.context import (
    BatchContext,
    Context,
    Sensitive,
    borrows_connections,
    chooses_commit,
    handles_batches,
)
from shared.envelope import Envelope
from shared.errors import Conflict
from shared.messages.common import Ping
from shared.messages.systems import CreateConsumer, ListSystems
from shared.request_dispatch import RequestDispatcher
from tests.integration.shared.dispatching import Delivery, Deps, created, drop_connection, reply

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


# The notes a batch writes at once, each returning the key of its command.
INSERT_NOTES = (
    "INSERT INTO notes (text) SELECT n.text FROM unnest($1::text[]) AS n(text)"
    " ON CONFLICT DO NOTHING"
    " RETURNING (SELECT n.key FROM unnest($1::text[], $2::uuid[]) AS n(text, key)"
    " WHERE n.text = notes.text) AS key"
)


@handles_batches
@chooses_commit
async def add_notes(commands: list[CreateConsumer], batch: BatchContext[Deps]) -> list[Any]:
    """At once, unless a note asks for a transaction (then all of them in it, each in a
    savepoint); the same notes either way. A note "crash" fails the whole batch."""
    texts = [command.system for command in commands]
    batch.deps.calls.append(f"batch of {len(texts)}: {', '.join(texts)}")
    if "crash" in texts:
        raise RuntimeError("password=hunter2 at db-host")
    for ctx, text in zip(batch.each, texts, strict=True):
        ctx.system_id = 42
        ctx.emit(created(text), system_id=42)
    if any(text.startswith("in-transaction") for text in texts):
        await batch.begin()
        outcomes: list[Any] = []
        for ctx, text in zip(batch.each, texts, strict=True):
            async with batch.conn.transaction():
                row = await batch.conn.fetchrow(
                    "INSERT INTO notes (text) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id", text
                )
            if row is None:
                ctx.events.clear()
                outcomes.append(Conflict("note with that `text` already exists"))
            else:
                outcomes.append({"note": text})
        return outcomes
    keys = [uuid.uuid4() for _ in texts]
    written = await batch.commit_at_once(
        INSERT_NOTES, texts, keys, keys=keys, replies=[{"note": text} for text in texts]
    )
    return [
        {"note": text} if done else Conflict("note with that `text` already exists")
        for text, done in zip(texts, written, strict=True)
    ]


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
    return RequestDispatcher(pool, Deps(), {CreateConsumer: add_notes})


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
        assert choosing._deps.calls == ["batch of 1: keyed"]
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
        assert choosing._deps.calls == ["batch of 1: taken"]

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


class TestCommandsInBatches:
    """Commands of a `@handles_batches` type that arrive together are answered together (group
    commit), each with its own outcome, events and stored reply."""

    async def test_commands_arriving_together_commit_at_once_each_with_its_own_answer(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        await pool.execute("INSERT INTO notes (text) VALUES ('taken')")
        envelopes = [request(note(text)) for text in ("a", "taken", "b", "c")]
        answers = await asyncio.gather(*(answer(choosing, e) for e in envelopes))
        assert choosing._deps.calls == ["batch of 4: a, taken, b, c"]
        assert [a.get("data") for a in answers] == [
            {"note": "a"},
            None,
            {"note": "b"},
            {"note": "c"},
        ]
        assert answers[1]["error"]["status"] == 409
        # One event and one stored reply per written command, none for the refused one.
        events = [
            Envelope.from_bytes(body)
            for body in await pool.fetchval("SELECT array_agg(body) FROM outbox")
        ]
        assert sorted(e.causation_id for e in events if e.causation_id) == sorted(
            str(envelopes[i].message_id) for i in (0, 2, 3)
        )
        stored = await pool.fetch("SELECT message_id, reply FROM inbox")
        assert {row["message_id"]: reply(row["reply"]) for row in stored} == {
            envelopes[i].message_id: answers[i] for i in (0, 2, 3)
        }

    async def test_in_a_transaction_one_refused_command_keeps_the_others(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        await pool.execute("INSERT INTO notes (text) VALUES ('in-transaction taken')")
        texts = ("in-transaction a", "in-transaction taken", "in-transaction b")
        answers = await asyncio.gather(*(answer(choosing, request(note(t))) for t in texts))
        assert len(choosing._deps.calls) == 1
        assert [a["ok"] for a in answers] == [True, False, True]
        assert answers[1]["error"]["status"] == 409
        assert await pool.fetchval("SELECT count(*) FROM notes") == 3
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 2
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 2

    async def test_a_failing_batch_keeps_nothing_and_each_command_is_answered_alone(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        texts = ("a", "crash", "b")
        answers = await asyncio.gather(*(answer(choosing, request(note(t))) for t in texts))
        assert choosing._deps.calls[0] == "batch of 3: a, crash, b"
        assert sorted(choosing._deps.calls[1:]) == [
            "batch of 1: a",
            "batch of 1: b",
            "batch of 1: crash",
        ]
        assert [a.get("data") for a in answers] == [{"note": "a"}, None, {"note": "b"}]
        assert answers[1]["error"]["status"] == 500
        assert "hunter2" not in orjson.dumps(answers).decode()
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 2

    async def test_a_redelivered_command_in_a_batch_gets_its_stored_reply(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        first = request(note("first"))
        await answer(choosing, first)
        answers = await asyncio.gather(
            answer(choosing, first, redelivered=True), answer(choosing, request(note("second")))
        )
        assert answers == [
            {"ok": True, "data": {"note": "first"}, "replayed": True},
            {"ok": True, "data": {"note": "second"}},
        ]
        assert choosing._deps.calls == ["batch of 1: first", "batch of 1: second"]
        assert await pool.fetchval("SELECT count(*) FROM notes") == 2

    async def test_a_keyed_command_is_answered_alone(
        self, choosing: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        keyed_one = keyed(note("keyed"))
        answers = await asyncio.gather(
            answer(choosing, keyed_one), answer(choosing, request(note("plain")))
        )
        assert [a["ok"] for a in answers] == [True, True]
        assert sorted(choosing._deps.calls) == ["batch of 1: keyed", "batch of 1: plain"]
        assert (
            await pool.fetchval(
                "SELECT request_hash FROM inbox WHERE message_id = $1", keyed_one.message_id
            )
            == "h1"
        )


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


async def note_then_drop(command: CreateConsumer, ctx: Context[Deps]) -> Any:
    """A note, whose connection Postgres drops before the commit the first `drops` times."""
    ctx.deps.calls.append(command.system)
    await ctx.conn.execute("INSERT INTO notes (text) VALUES ($1)", command.system)
    if ctx.deps.calls.count(command.system) <= int(command.system.split("-")[1]):
        await drop_connection(ctx.conn)
    return {"note": command.system}


async def count_then_drop(query: ListSystems, ctx: Context[Deps]) -> Any:
    ctx.deps.calls.append("count")
    if len(ctx.deps.calls) == 1:
        await drop_connection(ctx.conn)
    return {"count": await ctx.conn.fetchval("SELECT count(*) FROM notes")}


class TestPostgresDroppingTheConnection:
    @pytest.fixture(autouse=True)
    def short_pauses(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(db, "RECONNECT_DELAYS_S", (0.0, 0.0, 0.0))

    @pytest.fixture
    def dropping(self, pool: asyncpg.Pool) -> RequestDispatcher[Deps]:
        return RequestDispatcher(
            pool, Deps(), {CreateConsumer: note_then_drop, ListSystems: count_then_drop}
        )

    async def test_a_command_runs_again_on_a_new_connection_once(
        self, dropping: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        assert await answer(dropping, request(note("drops-1"))) == {
            "ok": True,
            "data": {"note": "drops-1"},
        }
        # The first run's transaction died with its connection: one note, one reply stored.
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 1

    async def test_a_query_is_answered_after_a_drop(
        self, dropping: RequestDispatcher[Deps]
    ) -> None:
        assert await answer(dropping, request(ListSystems())) == {
            "ok": True,
            "data": {"count": 0},
        }

    async def test_a_database_that_stays_away_is_a_503_to_retry(
        self, dropping: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        answered = await answer(dropping, request(note("drops-9")))
        assert answered["ok"] is False
        assert (answered["error"]["status"], answered["error"]["headers"]) == (
            503,
            {"Retry-After": "1"},
        )
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0
