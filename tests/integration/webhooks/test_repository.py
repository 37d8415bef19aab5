"""The webhooks service's statements on real Postgres: the rules its handlers' unit tests take
from an in-memory repository (tests/unit/webhooks/fakes.py) hold here. The fan-out and the purge
run as the service runs them: through the event dispatcher, with the real Deps."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.webhooks import domain, handlers
from services.webhooks.app import SPEC
from services.webhooks.deps import Deps, make_deps
from services.webhooks.repository import Attempt, Repository
from shared.config import Settings
from shared.envelope import Envelope
from shared.event_dispatch import EventDispatcher
from shared.messages.events import BadgeCreated, SystemDeleted
from shared.messages.instances import BadgeAwarded
from tests.integration.shared.dispatching import Delivery

pytestmark = pytest.mark.integration

SYSTEM_ID = 7
OTHER_SYSTEM_ID = 8


@pytest.fixture
def deps(settings: Settings, webhooks_pool: asyncpg.Pool) -> Deps:
    return make_deps(settings, webhooks_pool)


@pytest.fixture
def events(webhooks_pool: asyncpg.Pool, deps: Deps) -> EventDispatcher[Deps]:
    return EventDispatcher(webhooks_pool, deps, handlers.EVENT_HANDLERS)


async def add_endpoint(pool: asyncpg.Pool, system_id: int = SYSTEM_ID, **fields: Any) -> uuid.UUID:
    async with pool.acquire() as conn:
        row = await Repository(conn).insert_endpoint(
            system_id=system_id,
            system="chicago",
            fields={
                "url": "https://hooks.example.org/plaudit",
                "events": ["*"],
                "format": "standard",
                **fields,
            },
            secret_ciphertext="ciphertext",
        )
    endpoint_id: uuid.UUID = row["id"]
    return endpoint_id


async def add_delivery(
    pool: asyncpg.Pool,
    endpoint_id: uuid.UUID,
    status: str = "pending",
    age: timedelta = timedelta(),
) -> uuid.UUID:
    async with pool.acquire() as conn:
        [delivery_id] = await Repository(conn).insert_deliveries(
            SYSTEM_ID, uuid.uuid4(), "badge.awarded", [(endpoint_id, b"{}")]
        )
        await conn.execute(
            "UPDATE deliveries SET status = $2, created_at = now() - $3::interval WHERE id = $1",
            delivery_id,
            status,
            age,
        )
    return delivery_id


async def deliveries_of(pool: asyncpg.Pool, event_id: uuid.UUID) -> dict[uuid.UUID, bytes]:
    rows = await pool.fetch(
        "SELECT endpoint_id, payload FROM deliveries WHERE event_id = $1", event_id
    )
    return {row["endpoint_id"]: row["payload"] for row in rows}


def badge_awarded(system_id: int = SYSTEM_ID) -> Envelope:
    event = BadgeAwarded(
        system="chicago",
        uid="a1",
        badge={"slug": "reader"},
        email="ada@example.org",
        assertion_url="https://badges.example.org/public/assertions/a1",
        open_badge_credential_url="https://badges.example.org/public/credentials/a1",
        issued_on=1714564800,
        salt="5a17",
    )
    return Envelope.wrap(event, correlation_id="c", system_id=system_id)


def delivery(envelope: Envelope, *, redelivered: bool = False) -> Delivery:
    return Delivery(body=envelope.to_bytes(), routing_key=envelope.type, redelivered=redelivered)


class TestFanOut:
    async def test_one_delivery_per_enabled_endpoint_of_the_system_taking_the_event(
        self, webhooks_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        every = await add_endpoint(webhooks_pool)
        awarded = await add_endpoint(webhooks_pool, events=["badge.awarded"])
        badgekit = await add_endpoint(webhooks_pool, format="badgekit")
        await add_endpoint(webhooks_pool, events=["badge.revoked"])
        disabled = await add_endpoint(webhooks_pool)
        async with webhooks_pool.acquire() as conn:
            await Repository(conn).disable(disabled, "tests")
        await add_endpoint(webhooks_pool, system_id=OTHER_SYSTEM_ID)
        envelope = badge_awarded()

        assert await events.handle(envelope)

        found = await deliveries_of(webhooks_pool, envelope.message_id)
        standard = domain.standard_payload(envelope.type, envelope.occurred_at, envelope.data)
        assert found == {
            every: standard,
            awarded: standard,
            badgekit: domain.badgekit_payload(envelope.type, envelope.data),
        }

    async def test_an_endpoint_in_badgekits_format_gets_no_event_badgekit_never_sent(
        self, webhooks_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        standard = await add_endpoint(webhooks_pool)
        await add_endpoint(webhooks_pool, format="badgekit")
        event = BadgeCreated(system="chicago", badge={"slug": "reader"})
        envelope = Envelope.wrap(event, correlation_id="c", system_id=SYSTEM_ID)

        assert await events.handle(envelope)

        assert list(await deliveries_of(webhooks_pool, envelope.message_id)) == [standard]

    async def test_an_event_no_endpoint_takes_writes_nothing_at_all(
        self, webhooks_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        await add_endpoint(webhooks_pool, events=["badge.revoked"])
        await add_endpoint(webhooks_pool, system_id=OTHER_SYSTEM_ID)
        envelope = badge_awarded()

        assert await events.handle(envelope)

        assert await deliveries_of(webhooks_pool, envelope.message_id) == {}
        inbox_rows = await webhooks_pool.fetchval(
            "SELECT count(*) FROM inbox WHERE message_id = $1", envelope.message_id
        )
        assert inbox_rows == 0

    async def test_a_redelivered_event_records_nothing_more(
        self, webhooks_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        first = await add_endpoint(webhooks_pool)
        envelope = badge_awarded()
        assert await events.handle(envelope)
        await add_endpoint(webhooks_pool)  # an endpoint added since never gets the old event

        assert not await events.handle(envelope)

        assert list(await deliveries_of(webhooks_pool, envelope.message_id)) == [first]

    async def test_a_burst_yields_one_delivery_per_event_and_endpoint_and_none_without_one(
        self, webhooks_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        """Deliveries of one tick, in batches (more than one batch holds), some delivered
        twice: every message is acked, and each of our events has one delivery per endpoint,
        in its format, while another system's events leave nothing at all."""
        every = await add_endpoint(webhooks_pool)
        badgekit = await add_endpoint(webhooks_pool, events=["badge.awarded"], format="badgekit")
        ours = [badge_awarded() for _ in range(100)]
        theirs = [badge_awarded(OTHER_SYSTEM_ID) for _ in range(100)]
        messages = [
            delivery(envelope) for pair in zip(ours, theirs, strict=True) for envelope in pair
        ]
        messages += [delivery(envelope, redelivered=True) for envelope in ours[::10] + theirs[::10]]

        await asyncio.gather(*(events(message) for message in messages))  # type: ignore[arg-type]

        assert {message.outcome for message in messages} == {"ack"}
        rows = await webhooks_pool.fetch(
            "SELECT event_id, endpoint_id, system_id, payload FROM deliveries"
        )
        assert sorted((row["event_id"], row["endpoint_id"]) for row in rows) == sorted(
            (envelope.message_id, endpoint) for envelope in ours for endpoint in (every, badgekit)
        )
        assert {row["system_id"] for row in rows} == {SYSTEM_ID}
        by_id = {envelope.message_id: envelope for envelope in ours}
        for row in rows:
            envelope = by_id[row["event_id"]]
            assert row["payload"] == (
                domain.standard_payload(envelope.type, envelope.occurred_at, envelope.data)
                if row["endpoint_id"] == every
                else domain.badgekit_payload(envelope.type, envelope.data)
            )
        recorded = await webhooks_pool.fetch("SELECT message_id, system_id FROM inbox")
        assert {row["message_id"] for row in recorded} == set(by_id)


class TestClaim:
    async def test_each_endpoint_gets_at_most_its_free_slots(
        self, webhooks_pool: asyncpg.Pool
    ) -> None:
        wide, narrow, unknown = [await add_endpoint(webhooks_pool) for _ in range(3)]
        for endpoint in (wide, narrow, unknown):
            for _ in range(6):
                await add_delivery(webhooks_pool, endpoint)
        async with webhooks_pool.acquire() as conn:
            rows = await Repository(conn).claim_due(100, {wide: 5, narrow: 0}, 2, 20.0)
        taken: dict[uuid.UUID, int] = {}
        for row in rows:
            taken[row["endpoint_id"]] = taken.get(row["endpoint_id"], 0) + 1
        assert taken == {wide: 5, unknown: 2}
        async with webhooks_pool.acquire() as conn:
            again = await Repository(conn).claim_due(100, {wide: 5, narrow: 0}, 2, 20.0)
        assert {row["id"] for row in again}.isdisjoint({row["id"] for row in rows})

    async def test_two_processes_claiming_at_once_never_take_one_delivery(
        self, webhooks_pool: asyncpg.Pool
    ) -> None:
        endpoints = [await add_endpoint(webhooks_pool) for _ in range(3)]
        added = {await add_delivery(webhooks_pool, e) for e in endpoints for _ in range(4)}
        # The second claims while the first's claim is not committed yet.
        async with (
            webhooks_pool.acquire() as first,
            webhooks_pool.acquire() as second,
            first.transaction(),
            second.transaction(),
        ):
            mine = await Repository(first).claim_due(100, {}, 4, 20.0)
            theirs = await Repository(second).claim_due(100, {}, 4, 20.0)
        async with webhooks_pool.acquire() as conn:
            rest = await Repository(conn).claim_due(100, {}, 4, 20.0)
        claims = [{row["id"] for row in rows} for rows in (mine, theirs, rest)]
        assert claims[0]
        assert sum(map(len, claims)) == len(set().union(*claims)), "a delivery claimed twice"
        assert set().union(*claims) == added

    async def test_claims_racing_commits_never_take_one_delivery_twice(
        self, webhooks_pool: asyncpg.Pool
    ) -> None:
        """Claimers that commit at once, as the dispatchers of several processes do: a claim whose
        snapshot saw a delivery due must not take it once another claim committed it (the
        lock's recheck sees it no longer due)."""
        endpoints = [await add_endpoint(webhooks_pool) for _ in range(4)]
        async with webhooks_pool.acquire() as conn:
            for endpoint in endpoints:
                await conn.execute(
                    "INSERT INTO deliveries (id, endpoint_id, system_id, event_id, event_type,"
                    " payload, next_attempt_at) SELECT gen_random_uuid(), $1, $2,"
                    " gen_random_uuid(), 'badge.awarded', '{}', now()"
                    " FROM generate_series(1, 500)",
                    endpoint,
                    SYSTEM_ID,
                )
        claimed: list[uuid.UUID] = []

        async def claimer() -> None:
            while True:
                async with webhooks_pool.acquire() as conn:
                    rows = await Repository(conn).claim_due(8, {}, 8, 20.0)
                if not rows:
                    return
                claimed.extend(row["id"] for row in rows)

        await asyncio.gather(*(claimer() for _ in range(8)))
        assert len(claimed) == len(set(claimed)), "a delivery claimed twice"
        assert len(claimed) == 2000


class TestRequeue:
    @pytest.mark.parametrize("status", ["failed", "succeeded"])
    async def test_one_finished_delivery_is_due_again_its_schedule_restarted(
        self, webhooks_pool: asyncpg.Pool, status: str
    ) -> None:
        endpoint = await add_endpoint(webhooks_pool)
        delivery = await add_delivery(webhooks_pool, endpoint, status)
        await webhooks_pool.execute("UPDATE deliveries SET schedule_step = 3")

        async with webhooks_pool.acquire() as conn:
            assert await Repository(conn).requeue(endpoint, delivery_id=delivery) == [delivery]

        row = await webhooks_pool.fetchrow("SELECT * FROM deliveries WHERE id = $1", delivery)
        assert row is not None
        assert (row["status"], row["schedule_step"]) == ("pending", 0)
        assert row["next_attempt_at"] is not None

    async def test_a_pending_delivery_or_another_endpoints_is_not_requeued(
        self, webhooks_pool: asyncpg.Pool
    ) -> None:
        endpoint = await add_endpoint(webhooks_pool)
        pending = await add_delivery(webhooks_pool, endpoint)
        elsewhere = await add_delivery(webhooks_pool, await add_endpoint(webhooks_pool), "failed")

        async with webhooks_pool.acquire() as conn:
            repo = Repository(conn)
            assert await repo.requeue(endpoint, delivery_id=pending) == []
            assert await repo.requeue(endpoint, delivery_id=elsewhere) == []

    async def test_a_window_takes_every_failed_delivery_created_in_it_and_no_other(
        self, webhooks_pool: asyncpg.Pool
    ) -> None:
        endpoint = await add_endpoint(webhooks_pool)
        hour = timedelta(hours=1)
        inside = {
            await add_delivery(webhooks_pool, endpoint, "failed", age)
            for age in (hour, timedelta())
        }
        await add_delivery(webhooks_pool, endpoint, "failed", 3 * hour)  # before the window
        await add_delivery(webhooks_pool, endpoint, "succeeded", hour)
        now = await webhooks_pool.fetchval("SELECT now()")

        async with webhooks_pool.acquire() as conn:
            requeued = await Repository(conn).requeue(
                endpoint, since=now - 2 * hour, until=now + hour
            )

        assert set(requeued) == inside


class TestDisable:
    async def test_its_pending_deliveries_fail_and_it_is_noted_once(
        self, webhooks_pool: asyncpg.Pool
    ) -> None:
        endpoint = await add_endpoint(webhooks_pool)
        pending = await add_delivery(webhooks_pool, endpoint)

        async with webhooks_pool.acquire() as conn:
            repo = Repository(conn)
            assert await repo.disable(endpoint, "disabled through the API")
            assert not await repo.disable(endpoint, "again")

        status = await webhooks_pool.fetchval(
            "SELECT status FROM deliveries WHERE id = $1", pending
        )
        assert status == "failed"
        noted = await webhooks_pool.fetch("SELECT type, detail FROM endpoint_events")
        assert [(row["type"], row["detail"]) for row in noted] == [
            ("endpoint.disabled", {"reason": "disabled through the API"})
        ]


class TestPurgeSystem:
    async def test_the_systems_rows_go_and_a_redelivered_deletion_is_skipped(
        self, webhooks_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        ours = await add_endpoint(webhooks_pool)
        await add_delivery(webhooks_pool, ours)
        theirs = await add_endpoint(webhooks_pool, system_id=OTHER_SYSTEM_ID)
        earlier = badge_awarded()
        assert await events.handle(earlier)
        deletion = Envelope.wrap(
            SystemDeleted(system="chicago"), correlation_id="c", system_id=SYSTEM_ID
        )

        assert await events.handle(deletion)

        assert [row["id"] for row in await webhooks_pool.fetch("SELECT id FROM endpoints")] == [
            theirs
        ]
        assert await webhooks_pool.fetchval("SELECT count(*) FROM deliveries") == 0
        kept = await webhooks_pool.fetch("SELECT message_id FROM inbox")
        assert [row["message_id"] for row in kept] == [deletion.message_id]
        assert not await events.handle(deletion)


class TestHousekeeping:
    async def test_settled_deliveries_past_the_retention_go_with_their_attempts(
        self, webhooks_pool: asyncpg.Pool, settings: Settings
    ) -> None:
        endpoint = await add_endpoint(webhooks_pool)
        old = {
            status: await add_delivery(webhooks_pool, endpoint, status)
            for status in ("succeeded", "failed", "pending")
        }
        recent = await add_delivery(webhooks_pool, endpoint, "failed")
        everyone = [*old.values(), recent]
        async with webhooks_pool.acquire() as conn:
            await Repository(conn).record_attempts(
                [Attempt(delivery, 500, 12, "no", None) for delivery in everyone]
            )
        await webhooks_pool.execute(
            "UPDATE deliveries SET updated_at = now() - $2::interval WHERE id = ANY($1::uuid[])",
            list(old.values()),
            settings.webhook_log_retention + timedelta(minutes=1),
        )
        # Just inside the retention: kept.
        await webhooks_pool.execute(
            "UPDATE deliveries SET updated_at = now() - $2::interval WHERE id = $1",
            recent,
            settings.webhook_log_retention - timedelta(minutes=1),
        )

        for statement in SPEC.housekeeping(settings):
            await webhooks_pool.execute(statement)

        kept = {row["id"] for row in await webhooks_pool.fetch("SELECT id FROM deliveries")}
        assert kept == {old["pending"], recent}
        attempted = await webhooks_pool.fetch("SELECT delivery_id FROM delivery_attempts")
        assert {row["delivery_id"] for row in attempted} == {old["pending"], recent}

    async def test_the_retention_is_configured(
        self, webhooks_pool: asyncpg.Pool, settings: Settings
    ) -> None:
        endpoint = await add_endpoint(webhooks_pool)
        delivery = await add_delivery(webhooks_pool, endpoint, "succeeded")
        await webhooks_pool.execute(
            "UPDATE deliveries SET updated_at = now() - interval '2 hours' WHERE id = $1", delivery
        )
        hour = settings.model_copy(update={"webhook_log_retention": timedelta(hours=1)})

        for statement in SPEC.housekeeping(settings):
            await webhooks_pool.execute(statement)
        assert await webhooks_pool.fetchval("SELECT count(*) FROM deliveries") == 1
        for statement in SPEC.housekeeping(hour):
            await webhooks_pool.execute(statement)
        assert await webhooks_pool.fetchval("SELECT count(*) FROM deliveries") == 0
