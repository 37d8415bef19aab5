"""Events run by the event dispatcher on real Postgres: once per message, acked after the
commit, requeued or dead-lettered on failure, handled at once by a handler that chooses so, and
in batches by one that takes them so."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared import inbox
from shared.context import (
    BatchContext,
    CommitModeError,
    Context,
    chooses_commit,
    handles_batches,
)
from shared.envelope import Envelope
from shared.errors import PermanentError, RetryableError
from shared.event_dispatch import EventDispatcher
from shared.messages.events import BadgeCreated, SystemDeleted
from tests.integration.shared.dispatching import (
    Delivery,
    Deps,
    ack_frames,
    created,
    delivery_of,
    drop_connection,
)

pytestmark = pytest.mark.integration


async def remember(event: BadgeCreated, ctx: Context[Deps]) -> None:
    ctx.deps.calls.append(event.system)
    if event.system == "flaky" and ctx.deps.calls.count("flaky") == 1:
        raise RetryableError("not yet")
    if event.system == "poison":
        raise PermanentError("cannot ever work")
    await ctx.conn.execute("INSERT INTO notes (text) VALUES ($1)", event.system)
    if event.system == "dropped" and ctx.deps.calls.count("dropped") == 1:
        await drop_connection(ctx.conn)


async def forget(event: SystemDeleted, ctx: Context[Deps]) -> None:
    ctx.emit(SystemDeleted(system=event.system), system_id=ctx.system_id or 0)


# Notes each event of a batch that is new and wanted, its key (its message id) beside it, in one
# statement. An event named "ignored..." takes no part (its key is None); one named
# "unwanted..." is not wanted by the statement's condition.
NOTE_AT_ONCE = (
    "INSERT INTO notes (text, key)"
    f" SELECT n.text, n.key FROM {inbox.FRESH} JOIN unnest($1::uuid[], $2::text[]) AS n(key, text)"
    " USING (key) ON CONFLICT DO NOTHING RETURNING key"
)
NOT_UNWANTED = (
    f"{inbox.EVENT}.key NOT IN (SELECT n.key FROM unnest($1::uuid[], $2::text[]) AS n(key, text)"
    " WHERE n.text LIKE 'unwanted%')"
)


@handles_batches
@chooses_commit
async def note_at_once(events: list[BadgeCreated], ctx: BatchContext[Deps]) -> None:
    names = [event.system for event in events]
    ctx.deps.calls.append(" ".join(names))
    if "poison" in names:
        raise PermanentError("cannot ever work")
    if "flaky" in names and ctx.deps.calls.count("flaky") == 1:
        raise RetryableError("not yet")
    ids = [each.envelope.message_id for each in ctx.each]
    handled = await ctx.handle_at_once(
        NOTE_AT_ONCE,
        ids,
        names,
        keys=[
            None if name.startswith("ignored") else key
            for name, key in zip(names, ids, strict=True)
        ],
        wanted=NOT_UNWANTED,
    )
    came_to = " ".join(f"{name}:{h.state}:{h.rows}" for name, h in zip(names, handled, strict=True))
    ctx.after_commit.append(lambda: ctx.deps.calls.append(came_to))


@handles_batches
async def remember_all(events: list[BadgeCreated], ctx: BatchContext[Deps]) -> None:
    ctx.deps.calls.append(" ".join(event.system for event in events))
    if any(event.system == "poison" for event in events):
        raise PermanentError("cannot ever work")
    if any(event.system == "flaky" for event in events) and len(events) == 1:
        raise RetryableError("not yet")
    # notes.text is unique: a duplicate handed to the handler would fail the batch.
    await ctx.conn.executemany(
        "INSERT INTO notes (text) VALUES ($1)", [(event.system,) for event in events]
    )
    if "dropped" in ctx.deps.calls[0].split() and len(ctx.deps.calls) == 1:
        await drop_connection(ctx.conn)
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

    async def test_a_dropped_connection_is_ridden_out_not_requeued(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        _, message = delivery_of(created("dropped"))
        await events(message)  # type: ignore[arg-type]
        assert message.outcome == "ack"
        assert await pool.fetchval("SELECT text FROM notes") == "dropped"
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 1

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


async def deliver(events: EventDispatcher[Deps], *messages: Delivery) -> None:
    """Deliver the messages in one event-loop tick, as a consumer's burst arrives."""
    await asyncio.gather(*(events(message) for message in messages))  # type: ignore[arg-type]


def again(message: Delivery) -> Delivery:
    """The same message delivered again."""
    return Delivery(body=message.body, routing_key=message.routing_key, redelivered=True)


async def fail_a_batch(
    events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps, *, committing: list[str]
) -> list[Delivery]:
    """Deliver a batch that fails (one of its events is poison, one flaky): only the poison
    message is dead-lettered, only the flaky one requeued; the others commit, each alone (what
    their commits add to the calls: `committing`), and the failed batch left nothing behind.
    The messages."""
    names = ("a", "poison", "b", "flaky")
    messages = [delivery_of(created(name))[1] for name in names]
    await deliver(events, *messages)
    outcomes = dict(zip(names, (m.outcome for m in messages), strict=True))
    assert outcomes == {"a": "ack", "poison": "dead-letter", "b": "ack", "flaky": "requeue"}
    assert deps.calls[0] == "a poison b flaky"
    assert sorted(deps.calls[1:]) == sorted([*names, *committing])
    notes = await pool.fetch("SELECT text FROM notes ORDER BY text")
    assert [row["text"] for row in notes] == ["a", "b"]
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 2
    return messages


class TestEventsHandledAtOnce:
    @pytest.fixture
    def deps(self) -> Deps:
        return Deps()

    @pytest.fixture
    def events(self, pool: asyncpg.Pool, deps: Deps) -> EventDispatcher[Deps]:
        return EventDispatcher(pool, deps, {SystemDeleted: [forget], BadgeCreated: [note_at_once]})

    async def test_only_the_wanted_new_events_of_a_batch_are_recorded_and_changed(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        _, handled = delivery_of(created("a"))
        await events(handled)  # type: ignore[arg-type]
        _, fresh = delivery_of(created("b"))
        others = [delivery_of(created(name))[1] for name in ("unwanted", "ignored")]
        batch = [again(handled), fresh, *others, again(fresh)]
        await deliver(events, *batch)
        assert [message.outcome for message in batch] == ["ack"] * 5
        assert deps.calls == [
            "a",
            "a:fresh:1",
            "a b unwanted ignored b",
            "a:duplicate:0 b:fresh:1 unwanted:unwanted:0 ignored:unwanted:0 b:duplicate:0",
        ]
        notes = await pool.fetch("SELECT text, key FROM notes ORDER BY text")
        assert [(row["text"], row["key"]) for row in notes] == [
            ("a", Envelope.from_bytes(handled.body).message_id),
            ("b", Envelope.from_bytes(fresh.body).message_id),
        ]
        recorded = await pool.fetch("SELECT message_id FROM inbox")
        assert {row[0] for row in recorded} == {
            Envelope.from_bytes(message.body).message_id for message in (handled, fresh)
        }
        # Nothing in a transaction, nothing in the outbox.
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0

    async def test_a_redelivery_of_each_does_nothing_more(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        names = ("a", "unwanted", "ignored")
        envelopes = [delivery_of(created(name))[0] for name in names]
        assert await events.handle_batch(envelopes) == [True, True, True]
        for envelope, name in zip(envelopes, names, strict=True):
            # A redelivered event is reported handled before; an unwanted one is judged again.
            assert await events.handle(envelope) is (name != "a")
        assert deps.calls[-2:] == ["ignored", "ignored:unwanted:0"]
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 1

    async def test_a_failing_batch_is_handled_again_one_by_one(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        messages = await fail_a_batch(events, pool, deps, committing=["a:fresh:1", "b:fresh:1"])
        # The requeued one, delivered again, commits.
        await events(again(messages[3]))  # type: ignore[arg-type]
        assert await pool.fetchval("SELECT count(*) FROM notes") == 3

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

    def test_an_event_handler_that_commits_itself_takes_batches(self, pool: asyncpg.Pool) -> None:
        with pytest.raises(RuntimeError, match="batches"):
            EventDispatcher(pool, Deps(), {BadgeCreated: [chooses_commit(remember)]})

    async def test_a_batch_in_a_transaction_cannot_handle_itself_at_once(
        self, pool: asyncpg.Pool
    ) -> None:
        @handles_batches
        async def at_once_in_a_transaction(
            events: list[BadgeCreated], ctx: BatchContext[Deps]
        ) -> None:
            await ctx.handle_at_once(NOTE_AT_ONCE, [], [], keys=[None] * len(events))

        dispatcher = EventDispatcher(pool, Deps(), {BadgeCreated: [at_once_in_a_transaction]})
        with pytest.raises(CommitModeError):
            await dispatcher.handle(delivery_of(created("a"))[0])


class TestEventsInBatches:
    @pytest.fixture
    def deps(self) -> Deps:
        return Deps()

    @pytest.fixture
    def events(self, pool: asyncpg.Pool, deps: Deps) -> EventDispatcher[Deps]:
        return EventDispatcher(pool, deps, {BadgeCreated: [remember_all]})

    async def test_deliveries_of_one_tick_commit_together_and_are_all_acked(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        messages = [delivery_of(created(name))[1] for name in ("a", "b", "c")]
        await deliver(events, *messages)
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
        _, fresh = delivery_of(created("b"))
        batch = [again(handled), fresh, again(fresh)]
        await deliver(events, *batch)
        assert [m.outcome for m in batch] == ["ack"] * 3
        assert deps.calls == ["a", "committed", "b", "committed"]
        assert await pool.fetchval("SELECT count(*) FROM notes") == 2
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 2

    async def test_a_failing_batch_is_handled_again_one_by_one(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        await fail_a_batch(events, pool, deps, committing=["committed", "committed"])
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 2

    async def test_a_batch_whose_connection_drops_runs_again_whole(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        messages = [delivery_of(created(name))[1] for name in ("a", "dropped", "c")]
        await deliver(events, *messages)
        assert [message.outcome for message in messages] == ["ack"] * 3
        # Once as the batch that lost its connection, once whole on another.
        assert deps.calls == ["a dropped c", "a dropped c", "committed"]
        assert await pool.fetchval("SELECT count(*) FROM notes") == 3

    async def test_a_malformed_event_is_dead_lettered_alone(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool
    ) -> None:
        bad = Envelope(type="badge.created", correlation_id="c", data={"nope": 1})
        _, good = delivery_of(created("a"))
        broken = Delivery(body=bad.to_bytes(), routing_key=bad.type)
        await deliver(events, good, broken)
        assert (good.outcome, broken.outcome) == ("ack", "dead-letter")
        assert await pool.fetchval("SELECT count(*) FROM notes") == 1

    async def test_deliveries_arriving_during_a_batch_make_the_next_batches(
        self, events: EventDispatcher[Deps], pool: asyncpg.Pool, deps: Deps
    ) -> None:
        messages = [delivery_of(created(f"n{i}"))[1] for i in range(150)]
        await deliver(events, *messages)
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
        await deliver(events, *messages)
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
        try:
            await deliver(events, *messages)
            assert [message.outcome for message in messages] == ["ack", "ack"]
            assert first.outcome == ""
            assert sorted(ack_frames) == [(m.delivery_tag, False) for m in messages]
        finally:
            # The slow handler holds a pooled connection: never leave it waiting.
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
