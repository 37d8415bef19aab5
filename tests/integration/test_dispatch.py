"""Handlers run by the dispatchers on real Postgres: one transaction, the inbox, the outbox."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
import pytest

from shared.envelope import Envelope
from shared.errors import Conflict, PermanentError
from shared.handling import (
    Context,
    EventDispatcher,
    Recorded,
    RequestDispatcher,
    Sensitive,
    commit_at_once,
    handle_event_at_once,
)
from shared.messages.common import Ping
from shared.messages.events import SystemCreated, SystemDeleted
from shared.messages.systems import CreateConsumer, ListSystems

pytestmark = pytest.mark.integration


@dataclass
class Deps:
    calls: list[str] = field(default_factory=list)


@dataclass
class Delivery:
    """What the dispatchers read of an AMQP delivery."""

    redelivered: bool = False
    outcome: str = ""
    channel: Any = None
    delivery_tag: int | None = None

    async def ack(self, multiple: bool = False) -> None:
        self.outcome = "ack multiple" if multiple else "ack"

    async def nack(self, requeue: bool = True) -> None:
        self.outcome = "requeue" if requeue else "nack"

    async def reject(self, requeue: bool = False) -> None:
        self.outcome = "requeue" if requeue else "dead-letter"


async def add_note(command: CreateConsumer, ctx: Context[Deps]) -> Any:
    ctx.deps.calls.append(command.system)
    if command.system == "taken":
        raise Conflict("note with that `text` already exists")
    if command.system == "crash":
        await ctx.conn.execute("INSERT INTO notes (text) VALUES ('half-written')")
        raise RuntimeError("password=hunter2 at db-host")
    await ctx.conn.execute("INSERT INTO notes (text) VALUES ($1)", command.system)
    ctx.system_id = 42
    ctx.emit(
        SystemCreated(system=command.system, name="n", url="https://n.example.org"), system_id=42
    )
    return Sensitive(
        data={"note": command.system, "secret": "s3cret"}, stored={"note": command.system}
    )


async def count_notes(query: ListSystems, ctx: Context[Deps]) -> Any:
    return {"count": await ctx.conn.fetchval("SELECT count(*) FROM notes")}


def request(message: Any) -> Envelope:
    return Envelope.wrap(message, correlation_id="c-1")


def reply(body: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = orjson.loads(body)
    return decoded


async def add_note_at_once(command: CreateConsumer, ctx: Context[Deps]) -> Recorded | None:
    ctx.deps.calls.append(f"at once {command.system}")
    ctx.system_id = 42
    ctx.emit(
        SystemCreated(system=command.system, name="n", url="https://n.example.org"), system_id=42
    )
    return await commit_at_once(
        ctx,
        "INSERT INTO notes (text) SELECT $1 WHERE $1 <> 'slow' ON CONFLICT DO NOTHING RETURNING id",
        command.system,
        reply={"note": command.system},
    )


@pytest.fixture
def at_once(pool: asyncpg.Pool) -> RequestDispatcher[Deps]:
    return RequestDispatcher(
        pool, Deps(), {CreateConsumer: add_note}, at_once={CreateConsumer: add_note_at_once}
    )


@pytest.fixture
def requests(pool: asyncpg.Pool) -> RequestDispatcher[Deps]:
    return RequestDispatcher(pool, Deps(), {CreateConsumer: add_note, ListSystems: count_notes})


def note(text: str) -> CreateConsumer:
    return CreateConsumer(system=text, consumer={})  # type: ignore[arg-type]


class TestRequests:
    async def test_command_commits_its_effect_events_and_reply(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("first"))
        answer = reply(await requests(envelope, Delivery()))  # type: ignore[arg-type]
        assert answer == {"ok": True, "data": {"note": "first", "secret": "s3cret"}}
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        row = await pool.fetchrow("SELECT routing_key, body FROM outbox")
        event = Envelope.from_bytes(row["body"])
        assert (row["routing_key"], event.type, event.system_id) == (
            "system.created",
            "system.created",
            42,
        )
        assert event.correlation_id == "c-1"
        assert event.causation_id == str(envelope.message_id)
        stored = await pool.fetchrow("SELECT type, system_id, reply FROM inbox")
        assert (stored["type"], stored["system_id"]) == ("badges.create_consumer", 42)
        # The stored reply, which a redelivery would replay, keeps no secret.
        assert reply(stored["reply"]) == {"ok": True, "data": {"note": "first"}}

    async def test_redelivered_request_gets_the_stored_reply_and_runs_once(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("once"))
        await requests(envelope, Delivery())  # type: ignore[arg-type]
        again = reply(await requests(envelope, Delivery(redelivered=True)))  # type: ignore[arg-type]
        assert again == {"ok": True, "data": {"note": "once"}, "replayed": True}
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1

    async def test_a_duplicate_that_slips_past_the_lookup_still_runs_once(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("twice"))
        await requests(envelope, Delivery())  # type: ignore[arg-type]
        # Not flagged as redelivered (a second consumer got it): the inbox insert catches it.
        await pool.execute("DELETE FROM notes")
        again = reply(await requests(envelope, Delivery()))  # type: ignore[arg-type]
        assert again["ok"] is True
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0

    async def test_business_error_rolls_back_and_answers_its_status(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        answer = reply(await requests(request(note("taken")), Delivery()))  # type: ignore[arg-type]
        assert answer["ok"] is False
        assert answer["error"]["status"] == 409
        assert answer["error"]["code"] == "ResourceConflict"
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0

    async def test_unexpected_error_leaks_nothing_and_writes_nothing(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        answer = reply(await requests(request(note("crash")), Delivery()))  # type: ignore[arg-type]
        assert answer["error"]["status"] == 500
        assert "hunter2" not in orjson.dumps(answer).decode()
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0

    async def test_query_and_ping(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        await requests(request(note("a")), Delivery())  # type: ignore[arg-type]
        counted = reply(await requests(request(ListSystems()), Delivery()))  # type: ignore[arg-type]
        assert counted == {"ok": True, "data": {"count": 1}}
        pong = reply(await requests(request(Ping()), Delivery()))  # type: ignore[arg-type]
        assert pong == {"ok": True, "data": {"database": True}}
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 1

    async def test_a_request_breaking_its_contract(self, requests: RequestDispatcher[Deps]) -> None:
        broken = Envelope(type="badges.create_consumer", correlation_id="c", data={"nope": 1})
        answer = reply(await requests(broken, Delivery()))  # type: ignore[arg-type]
        assert answer["error"]["status"] == 500


def keyed(message: Any, request_hash: str = "h1", message_id: uuid.UUID | None = None) -> Envelope:
    """A request sent under an Idempotency-Key: every retry has the same id."""
    return Envelope.wrap(
        message,
        correlation_id="c-1",
        message_id=message_id or uuid.UUID("00000000-0000-4000-8000-000000000001"),
        request_hash=request_hash,
    )


class TestKeyedRequests:
    async def test_a_retry_gets_the_first_answer_marked_replayed_and_runs_once(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        first = reply(await requests(keyed(note("once")), Delivery()))  # type: ignore[arg-type]
        again = reply(await requests(keyed(note("once")), Delivery()))  # type: ignore[arg-type]
        assert first == {"ok": True, "data": {"note": "once", "secret": "s3cret"}}
        assert again == {"ok": True, "data": {"note": "once"}, "replayed": True}
        assert requests._deps.calls == ["once"]
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
        assert await pool.fetchval("SELECT request_hash FROM inbox") == "h1"

    async def test_the_key_with_another_request_is_refused(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        await requests(keyed(note("one")), Delivery())  # type: ignore[arg-type]
        other = reply(await requests(keyed(note("two"), "h2"), Delivery()))  # type: ignore[arg-type]
        assert (other["error"]["status"], other["error"]["code"]) == (
            422,
            "IdempotencyKeyMismatch",
        )
        assert requests._deps.calls == ["one"]

    async def test_a_client_error_is_kept_as_the_answer(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        first = reply(await requests(keyed(note("taken")), Delivery()))  # type: ignore[arg-type]
        again = reply(await requests(keyed(note("taken")), Delivery()))  # type: ignore[arg-type]
        assert first["error"]["status"] == 409
        assert again == {**first, "replayed": True}
        assert requests._deps.calls == ["taken"]
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0

    async def test_a_server_error_leaves_the_key_free(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        crashed = reply(await requests(keyed(note("crash")), Delivery()))  # type: ignore[arg-type]
        assert crashed["error"]["status"] == 500
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0
        assert reply(await requests(keyed(note("crash")), Delivery()))["error"]["status"] == 500  # type: ignore[arg-type]
        assert requests._deps.calls == ["crash", "crash"]

    async def test_a_run_in_progress_makes_a_retry_wait_its_turn_with_409(
        self, requests: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = keyed(note("busy"))
        lock = int.from_bytes(envelope.message_id.bytes[:8], "big", signed=True)
        async with pool.acquire() as holder, holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", lock)
            busy = reply(await requests(envelope, Delivery()))  # type: ignore[arg-type]
        assert (busy["error"]["status"], busy["error"]["code"]) == (409, "IdempotencyKeyInUse")
        assert requests._deps.calls == []
        done = reply(await requests(envelope, Delivery()))  # type: ignore[arg-type]
        assert done["data"]["note"] == "busy"

    async def test_a_keyed_command_never_takes_the_at_once_path(
        self, at_once: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        answer = reply(await at_once(keyed(note("keyed")), Delivery()))  # type: ignore[arg-type]
        assert answer["data"]["note"] == "keyed"
        assert at_once._deps.calls == ["keyed"]


class TestCommandsCommittedAtOnce:
    async def test_effect_event_and_reply_commit_in_one_statement(
        self, at_once: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("quick"))
        answer = reply(await at_once(envelope, Delivery()))  # type: ignore[arg-type]
        assert answer == {"ok": True, "data": {"note": "quick"}}
        assert await pool.fetchval("SELECT text FROM notes") == "quick"
        event = Envelope.from_bytes(await pool.fetchval("SELECT body FROM outbox"))
        assert (event.type, event.causation_id) == ("system.created", str(envelope.message_id))
        stored = await pool.fetchrow("SELECT type, system_id, reply FROM inbox")
        assert (stored["type"], stored["system_id"]) == ("badges.create_consumer", 42)
        assert reply(stored["reply"]) == answer

    async def test_nothing_changed_runs_the_ordinary_handler_in_a_transaction(
        self, at_once: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        await at_once(request(note("slow")), Delivery())  # type: ignore[arg-type]
        await pool.execute("INSERT INTO notes (text) VALUES ('taken')")
        taken = reply(await at_once(request(note("taken")), Delivery()))  # type: ignore[arg-type]
        assert taken["error"]["status"] == 409
        assert at_once._deps.calls == ["at once slow", "slow", "at once taken", "taken"]
        # One note, one event, one inbox row: the at-once attempts wrote nothing.
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 1

    async def test_a_request_seen_before_runs_once(
        self, at_once: RequestDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope = request(note("once"))
        await at_once(envelope, Delivery())  # type: ignore[arg-type]
        await pool.execute("DELETE FROM notes")
        # Not flagged as redelivered: the inbox row makes the statement fail, nothing is written,
        # and the ordinary path answers the stored reply.
        again = reply(await at_once(envelope, Delivery()))  # type: ignore[arg-type]
        replayed = reply(await at_once(envelope, Delivery(redelivered=True)))  # type: ignore[arg-type]
        assert again == replayed == {"ok": True, "data": {"note": "once"}, "replayed": True}
        assert await pool.fetchval("SELECT count(*) FROM notes") == 0
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


async def remember(event: SystemCreated, ctx: Context[Deps]) -> None:
    ctx.deps.calls.append(event.system)
    if event.system == "flaky" and ctx.deps.calls.count("flaky") == 1:
        raise ConnectionError("database went away")
    if event.system == "poison":
        raise PermanentError("cannot ever work")
    await ctx.conn.execute("INSERT INTO notes (text) VALUES ($1)", event.system)


async def forget(event: SystemDeleted, ctx: Context[Deps]) -> None:
    ctx.emit(SystemDeleted(system=event.system), system_id=ctx.system_id or 0)


@pytest.fixture
def events(pool: asyncpg.Pool) -> EventDispatcher[Deps]:
    return EventDispatcher(pool, Deps(), {SystemCreated: [remember], SystemDeleted: [forget]})


def delivery_of(event: Any, **kwargs: Any) -> tuple[Envelope, Any]:
    envelope = Envelope.wrap(event, correlation_id="c", system_id=5)

    class Message(Delivery):
        body = envelope.to_bytes()
        routing_key = envelope.type

    return envelope, Message(**kwargs)


def created(system: str) -> SystemCreated:
    return SystemCreated(system=system, name="n", url="https://n.example.org")


class TestEvents:
    async def test_handled_once_and_acked(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        _, message = delivery_of(created("a"))
        await events(message)
        assert message.outcome == "ack"
        await events(message)
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        assert await pool.fetchval("SELECT system_id FROM inbox") == 5

    async def test_transient_failure_is_requeued_without_a_trace(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        _, message = delivery_of(created("flaky"))
        await events(message)
        assert message.outcome == "requeue"
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0
        await events(message)
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1

    async def test_permanent_failure_is_dead_lettered(self, events: EventDispatcher[Deps]) -> None:
        _, message = delivery_of(created("poison"))
        await events(message)
        assert message.outcome == "dead-letter"

    async def test_malformed_message_is_dead_lettered(self, events: EventDispatcher[Deps]) -> None:
        _, message = delivery_of(created("x"))
        message.body = b"not json"
        await events(message)
        assert message.outcome == "dead-letter"

    async def test_events_caused_by_an_event_go_through_the_outbox(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope, message = delivery_of(SystemDeleted(system="gone"))
        await events(message)
        row = await pool.fetchrow("SELECT body FROM outbox")
        assert Envelope.from_bytes(row["body"]).causation_id == str(envelope.message_id)

    async def test_unknown_event_types_are_acked(self, events: EventDispatcher[Deps]) -> None:
        envelope = Envelope(type="badge.awarded", correlation_id="c", data={"system": "s"})
        assert await events.handle(envelope) is True
        assert await events.handle(envelope) is False

    async def test_events_only_recorded_share_one_insert_and_one_ack(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        channel = object()
        awarded = [
            Envelope(type="badge.awarded", correlation_id="c", system_id=5, data={"n": n})
            for n in range(5)
        ]
        # The relay may publish an event twice: the second delivery is the duplicate.
        bodies = [envelope.to_bytes() for envelope in [*awarded, awarded[0]]]
        messages = [Delivery(channel=channel, delivery_tag=tag + 1) for tag in range(len(bodies))]
        for message, body in zip(messages, bodies, strict=True):
            message.body = body  # type: ignore[attr-defined]
        await asyncio.gather(*(events(message) for message in messages))  # type: ignore[arg-type]
        assert [m.outcome for m in messages] == [""] * 5 + ["ack multiple"]
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 5

    async def test_a_batch_never_acks_past_a_delivery_still_in_hand(
        self, pool: asyncpg.Pool
    ) -> None:
        channel = object()
        gate = asyncio.Event()

        async def slow(event: SystemCreated, ctx: Context[Deps]) -> None:
            await gate.wait()

        events = EventDispatcher(pool, Deps(), {SystemCreated: [slow]})
        _, held = delivery_of(created("held"))
        held.channel, held.delivery_tag = channel, 1
        later = [Delivery(channel=channel, delivery_tag=tag) for tag in (2, 3)]
        for n, message in enumerate(later):
            envelope = Envelope(type="badge.awarded", correlation_id="c", data={"n": n})
            message.body = envelope.to_bytes()  # type: ignore[attr-defined]
        handling = asyncio.create_task(events(held))
        await asyncio.gather(*(events(message) for message in later))  # type: ignore[arg-type]
        # Tag 1 is still being handled: a multiple ack of tag 3 would have acked it too.
        assert [m.outcome for m in later] == ["ack", "ack"]
        gate.set()
        await handling
        assert held.outcome == "ack"


async def note_at_once(event: SystemCreated, ctx: Context[Deps]) -> bool:
    if event.system == "poison":
        raise PermanentError("cannot ever work")
    fresh, written = await handle_event_at_once(
        ctx,
        "INSERT INTO notes (text) SELECT $1 WHERE EXISTS (SELECT FROM fresh) RETURNING 1",
        event.system,
    )
    ctx.after_commit.append(lambda: ctx.deps.calls.append(f"{event.system}: {written}"))
    return fresh


class TestEventsAtOnce:
    @pytest.fixture
    def deps(self) -> Deps:
        return Deps()

    @pytest.fixture
    def events(self, pool: asyncpg.Pool, deps: Deps) -> EventDispatcher[Deps]:
        return EventDispatcher(
            pool, deps, {SystemDeleted: [forget]}, at_once={SystemCreated: note_at_once}
        )

    async def test_recorded_and_changed_in_one_go_and_only_once(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        _, message = delivery_of(created("a"))
        await events(message)
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT system_id FROM inbox") == 5
        assert deps.calls == ["a: 1"]
        # A redelivery changes nothing and runs no callback.
        await events(message)
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 1
        assert deps.calls == ["a: 1"]

    async def test_a_failure_leaves_no_inbox_row(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        _, message = delivery_of(created("poison"))
        await events(message)
        assert message.outcome == "dead-letter"
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0

    async def test_other_events_keep_their_transaction(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        _, message = delivery_of(SystemDeleted(system="gone"))
        await events(message)
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1

    def test_an_event_handled_at_once_has_no_other_subscribers(self, pool: asyncpg.Pool) -> None:
        with pytest.raises(RuntimeError, match="no other subscribers"):
            EventDispatcher(
                pool, Deps(), {SystemCreated: [remember]}, at_once={SystemCreated: note_at_once}
            )
