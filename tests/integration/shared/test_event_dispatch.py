"""Events run by the event dispatcher on real Postgres: once per message, acked after the
commit, requeued or dead-lettered on failure, and handled at once by a handler that chooses so."""

from __future__ import annotations

import asyncpg
import pytest

from shared import inbox
from shared.context import Context, chooses_commit
from shared.envelope import Envelope
from shared.errors import PermanentError
from shared.event_dispatch import EventDispatcher
from shared.messages.events import BadgeCreated, SystemDeleted
from tests.integration.shared.dispatching import Deps, created, delivery_of

pytestmark = pytest.mark.integration


async def remember(event: BadgeCreated, ctx: Context[Deps]) -> None:
    ctx.deps.calls.append(event.system)
    if event.system == "flaky" and ctx.deps.calls.count("flaky") == 1:
        raise ConnectionError("database went away")
    if event.system == "poison":
        raise PermanentError("cannot ever work")
    await ctx.conn.execute("INSERT INTO notes (text) VALUES ($1)", event.system)


async def forget(event: SystemDeleted, ctx: Context[Deps]) -> None:
    ctx.emit(SystemDeleted(system=event.system), system_id=ctx.system_id or 0)


@chooses_commit
async def note_at_once(event: BadgeCreated, ctx: Context[Deps]) -> None:
    if event.system == "poison":
        raise PermanentError("cannot ever work")
    written = await ctx.handle_at_once(
        f"INSERT INTO notes (text) SELECT $1 WHERE EXISTS (SELECT FROM {inbox.FRESH}) RETURNING 1",
        event.system,
    )
    ctx.after_commit.append(lambda: ctx.deps.calls.append(f"{event.system}: {written}"))


@pytest.fixture
def events(pool: asyncpg.Pool) -> EventDispatcher[Deps]:
    return EventDispatcher(pool, Deps(), {BadgeCreated: [remember], SystemDeleted: [forget]})


class TestEvents:
    async def test_handled_once_and_acked(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        _, message = delivery_of(created("a"))
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "ack"
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        assert await pool.fetchval("SELECT system_id FROM inbox") == 5

    async def test_a_transient_failure_is_requeued_without_a_trace(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        _, message = delivery_of(created("flaky"))
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "requeue"
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1

    async def test_a_permanent_failure_is_dead_lettered(
        self, events: EventDispatcher[Deps]
    ) -> None:
        _, message = delivery_of(created("poison"))
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "dead-letter"

    async def test_a_malformed_message_is_dead_lettered(
        self, events: EventDispatcher[Deps]
    ) -> None:
        _, message = delivery_of(created("x"))
        message.body = b"not json"
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "dead-letter"

    async def test_an_event_without_a_handler_is_dead_lettered(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        # Only a stale binding can bring one: the queue is bound to what has handlers.
        envelope = Envelope(type="badge.awarded", correlation_id="c", data={"system": "s"})
        _, message = delivery_of(created("x"))
        message.body = envelope.to_bytes()
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "dead-letter"
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0

    async def test_events_caused_by_an_event_go_through_the_outbox(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        envelope, message = delivery_of(SystemDeleted(system="gone"))
        await events(message)  # type: ignore[arg-type]
        row = await pool.fetchrow("SELECT body FROM outbox")
        assert Envelope.from_bytes(row["body"]).causation_id == str(envelope.message_id)

    def test_it_knows_what_its_queue_must_be_bound_to(self, events: EventDispatcher[Deps]) -> None:
        assert events.event_types == {"badge.created", "system.deleted"}


class TestEventsHandledAtOnce:
    @pytest.fixture
    def deps(self) -> Deps:
        return Deps()

    @pytest.fixture
    def events(self, pool: asyncpg.Pool, deps: Deps) -> EventDispatcher[Deps]:
        return EventDispatcher(pool, deps, {SystemDeleted: [forget], BadgeCreated: [note_at_once]})

    async def test_recorded_and_changed_in_one_go_and_only_once(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        _, message = delivery_of(created("a"))
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT system_id FROM inbox") == 5
        assert deps.calls == ["a: 1"]
        # A redelivery changes nothing and runs no callback.
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 1
        assert deps.calls == ["a: 1"]

    async def test_a_failure_leaves_no_inbox_row(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        _, message = delivery_of(created("poison"))
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "dead-letter"
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0

    async def test_other_events_keep_their_transaction(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        _, message = delivery_of(SystemDeleted(system="gone"))
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1

    def test_a_handler_that_commits_itself_is_its_events_only_one(self, pool: asyncpg.Pool) -> None:
        with pytest.raises(RuntimeError, match="is the only one"):
            EventDispatcher(pool, Deps(), {BadgeCreated: [remember, note_at_once]})
