"""Events run by the event dispatcher on real Postgres: once per message, acked after the
commit, requeued or dead-lettered on failure, handled at once by a handler that chooses so, and
in batches by one that takes them so."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared import inbox
from shared.context import BatchContext, Context, chooses_commit, handles_batches
from shared.envelope import Envelope
from shared.errors import PermanentError
from shared.event_dispatch import EventDispatcher
from shared.messages.events import BadgeCreated, SystemDeleted
from tests.integration.shared.dispatching import Delivery, Deps, ack_frames, created, delivery_of

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


@handles_batches
async def remember_all(events: list[BadgeCreated], ctx: BatchContext[Deps]) -> None:
    ctx.deps.calls.append(" ".join(event.system for event in events))
    if any(event.system == "poison" for event in events):
        raise PermanentError("cannot ever work")
    if any(event.system == "flaky" for event in events) and len(events) == 1:
        raise ConnectionError("database went away")
    # notes.text is unique: a duplicate handed to the handler would fail the batch.
    await ctx.conn.executemany(
        "INSERT INTO notes (text) VALUES ($1)", [(event.system,) for event in events]
    )
    for event, each in zip(events, ctx.each, strict=True):
        each.emit(SystemDeleted(system=event.system), system_id=each.system_id or 0)
    ctx.after_commit.append(lambda: ctx.deps.calls.append("committed"))


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


class TestEventsInBatches:
    @pytest.fixture
    def deps(self) -> Deps:
        return Deps()

    @pytest.fixture
    def events(self, pool: asyncpg.Pool, deps: Deps) -> EventDispatcher[Deps]:
        return EventDispatcher(pool, deps, {BadgeCreated: [remember_all]})

    @staticmethod
    async def deliver(events: EventDispatcher[Deps], *messages: Delivery) -> None:
        """Deliver the messages in one event-loop tick, as a consumer's burst arrives."""
        await asyncio.gather(*(events(message) for message in messages))  # type: ignore[arg-type]

    async def test_deliveries_of_one_tick_commit_together_and_are_all_acked(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        messages = [delivery_of(created(name))[1] for name in ("a", "b", "c")]
        await self.deliver(events, *messages)
        assert [message.outcome for message in messages] == ["ack"] * 3
        assert deps.calls == ["a b c", "committed"]
        assert await pool.fetchval("SELECT count(*) FROM notes") == 3
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 3
        # Each event's emits are caused by it.
        bodies = await pool.fetch("SELECT body FROM outbox")
        assert len(bodies) == 3

    async def test_a_batch_of_one_is_the_same_path(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        envelope, message = delivery_of(created("a"))
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "ack"
        assert deps.calls == ["a", "committed"]
        row = await pool.fetchrow("SELECT body FROM outbox")
        assert Envelope.from_bytes(row["body"]).causation_id == str(envelope.message_id)
        assert await events.handle(envelope) is False

    async def test_duplicates_are_acked_and_never_reach_the_handler(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        _, handled = delivery_of(created("a"))
        await events(handled)  # type: ignore[arg-type]
        again = Delivery(body=handled.body, routing_key=handled.routing_key, redelivered=True)
        _, fresh = delivery_of(created("b"))
        twice = Delivery(body=fresh.body, routing_key=fresh.routing_key)
        await self.deliver(events, again, fresh, twice)
        assert [m.outcome for m in (again, fresh, twice)] == ["ack"] * 3
        assert deps.calls == ["a", "committed", "b", "committed"]
        assert await pool.fetchval("SELECT count(*) FROM notes") == 2
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 2

    async def test_a_failing_batch_is_handled_again_one_by_one(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        """Only the poison message is dead-lettered, only the flaky one requeued; the others
        commit, each alone, and the failed batch left nothing behind."""
        names = ("a", "poison", "b", "flaky")
        messages = [delivery_of(created(name))[1] for name in names]
        await self.deliver(events, *messages)
        outcomes = dict(zip(names, (m.outcome for m in messages), strict=True))
        assert outcomes == {"a": "ack", "poison": "dead-letter", "b": "ack", "flaky": "requeue"}
        assert deps.calls[0] == "a poison b flaky"
        assert sorted(deps.calls[1:]) == sorted(
            ["a", "poison", "b", "flaky", "committed", "committed"]
        )
        notes = await pool.fetch("SELECT text FROM notes ORDER BY text")
        assert [row["text"] for row in notes] == ["a", "b"]
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 2
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 2

    async def test_a_malformed_event_is_dead_lettered_alone(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        bad = Envelope(type="badge.created", correlation_id="c", data={"nope": 1})
        _, good = delivery_of(created("a"))
        broken = Delivery(body=bad.to_bytes(), routing_key=bad.type)
        await self.deliver(events, good, broken)
        assert (good.outcome, broken.outcome) == ("ack", "dead-letter")
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1

    async def test_deliveries_arriving_during_a_batch_make_the_next_batches(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        messages = [delivery_of(created(f"n{i}"))[1] for i in range(150)]
        await self.deliver(events, *messages)
        assert {m.outcome for m in messages} == {"ack"}
        sizes = [len(call.split()) for call in deps.calls if call != "committed"]
        assert sum(sizes) == 150
        assert max(sizes) <= 64
        assert await pool.fetchval("SELECT count(*) FROM notes") == 150

    async def test_a_batch_is_acked_with_one_frame(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        messages = [delivery_of(created(name))[1] for name in ("a", "b", "c")]
        ack_frames.clear()
        await self.deliver(events, *messages)
        assert [message.outcome for message in messages] == ["ack"] * 3
        assert ack_frames == [(messages[-1].delivery_tag, True)]

    async def test_a_delivery_still_open_below_a_batch_keeps_its_acks_one_by_one(
        self, pool: asyncpg.Pool, deps: Deps
    ) -> None:
        """A `multiple` ack would settle the slow delivery before it is handled."""
        release = asyncio.Event()

        async def slow(event: SystemDeleted, ctx: Context[Deps]) -> None:
            await release.wait()

        events = EventDispatcher(pool, deps, {BadgeCreated: [remember_all], SystemDeleted: [slow]})
        _, first = delivery_of(SystemDeleted(system="slow"))
        messages = [delivery_of(created(name))[1] for name in ("a", "b")]
        ack_frames.clear()
        slow_one = asyncio.ensure_future(events(first))  # type: ignore[arg-type]
        await self.deliver(events, *messages)
        assert [message.outcome for message in messages] == ["ack", "ack"]
        assert first.outcome == ""
        assert sorted(ack_frames) == [(m.delivery_tag, False) for m in messages]
        release.set()
        await slow_one
        assert first.outcome == "ack"

    def test_a_batch_handler_is_its_events_only_one(self, pool: asyncpg.Pool) -> None:
        with pytest.raises(RuntimeError, match="is the only one"):
            EventDispatcher(pool, Deps(), {BadgeCreated: [remember, remember_all]})

    def test_its_queue_is_bound_to_its_batched_events_too(
        self, events: EventDispatcher[Deps]
    ) -> None:
        assert events.event_types == {"badge.created"}
        assert events.batches
