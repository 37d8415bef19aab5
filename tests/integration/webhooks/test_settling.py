"""Attempts recorded in batches on real Postgres: every attempt of a batch gets its row and its
delivery's new state in one transaction, each keeping its own outcome; a delivery deleted while
its request was out is dropped without failing the others; the endpoint's health follows its
answers in order; retries are scheduled."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import asyncpg
import pytest

from services.webhooks.repository import Repository
from services.webhooks.settling import Answer, Settler
from shared.config import Settings
from tests.integration.webhooks.test_repository import add_delivery, add_endpoint

pytestmark = pytest.mark.integration

OK = Answer(200, "ok", 12)
BROKEN = Answer(500, "oops", 7)
GONE = Answer(410, "", 3)
TIMED_OUT = Answer(None, None, 15000, error="timeout")


@pytest.fixture
def retries() -> list[float]:
    return []


@pytest.fixture
def settler(webhooks_pool: asyncpg.Pool, settings: Settings, retries: list[float]) -> Settler:
    return Settler(webhooks_pool, settings, random.Random(7), retries.append)


async def claimed(pool: asyncpg.Pool, delivery_id: uuid.UUID) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT d.*, e.url, e.format, e.enabled FROM deliveries d"
        " JOIN endpoints e ON e.id = d.endpoint_id WHERE d.id = $1",
        delivery_id,
    )
    assert row is not None
    return dict(row)


async def settle_together(
    settler: Settler, pool: asyncpg.Pool, answers: dict[uuid.UUID, Answer]
) -> list[bool]:
    rows = [await claimed(pool, delivery_id) for delivery_id in answers]
    return list(
        await asyncio.gather(
            *(settler.settle(settler.outcome(row, answers[row["id"]], final=False)) for row in rows)
        )
    )


async def test_a_batch_records_each_attempt_and_each_deliverys_own_state(
    webhooks_pool: asyncpg.Pool, settler: Settler, retries: list[float]
) -> None:
    endpoint = await add_endpoint(webhooks_pool)
    succeeding, failing = (
        await add_delivery(webhooks_pool, endpoint),
        await add_delivery(webhooks_pool, endpoint),
    )
    assert await settle_together(settler, webhooks_pool, {succeeding: OK, failing: BROKEN}) == [
        True,
        True,
    ]

    states = {
        row["id"]: row
        for row in await webhooks_pool.fetch(
            "SELECT id, status, schedule_step, next_attempt_at > now() AS later FROM deliveries"
        )
    }
    assert states[succeeding]["status"] == "succeeded"
    assert (states[failing]["status"], states[failing]["schedule_step"]) == ("pending", 1)
    assert states[failing]["later"]
    assert len(retries) == 1
    async with webhooks_pool.acquire() as conn:
        attempts = await Repository(conn).attempts_of([succeeding, failing])
    assert [(a["status_code"], a["response"]) for a in attempts[succeeding]] == [(200, "ok")]
    assert [(a["status_code"], a["duration_ms"]) for a in attempts[failing]] == [(500, 7)]


async def test_a_delivery_deleted_while_out_is_dropped_and_the_others_recorded(
    webhooks_pool: asyncpg.Pool, settler: Settler
) -> None:
    kept_endpoint, deleted_endpoint = (
        await add_endpoint(webhooks_pool),
        await add_endpoint(webhooks_pool),
    )
    kept = await add_delivery(webhooks_pool, kept_endpoint)
    deleted = await add_delivery(webhooks_pool, deleted_endpoint)
    rows = [await claimed(webhooks_pool, kept), await claimed(webhooks_pool, deleted)]
    await webhooks_pool.execute("DELETE FROM endpoints WHERE id = $1", deleted_endpoint)

    outcomes = await asyncio.gather(
        *(settler.settle(settler.outcome(row, OK, final=False)) for row in rows)
    )
    assert outcomes == [True, False]
    assert (
        await webhooks_pool.fetchval("SELECT status FROM deliveries WHERE id = $1", kept)
        == "succeeded"
    )
    assert await webhooks_pool.fetchval("SELECT count(*) FROM delivery_attempts") == 1


async def test_the_last_answer_of_a_batch_sets_the_endpoints_failing_streak(
    webhooks_pool: asyncpg.Pool, settler: Settler
) -> None:
    endpoint = await add_endpoint(webhooks_pool)
    first, second = (
        await add_delivery(webhooks_pool, endpoint),
        await add_delivery(webhooks_pool, endpoint),
    )
    await settle_together(settler, webhooks_pool, {first: OK, second: TIMED_OUT})
    assert await webhooks_pool.fetchval(
        "SELECT failing_since IS NOT NULL FROM endpoints WHERE id = $1", endpoint
    )
    third = await add_delivery(webhooks_pool, endpoint)
    await settle_together(settler, webhooks_pool, {third: OK})
    assert await webhooks_pool.fetchval(
        "SELECT failing_since IS NULL AND last_success_at IS NOT NULL FROM endpoints WHERE id = $1",
        endpoint,
    )


async def test_a_410_in_a_batch_disables_the_endpoint_and_fails_its_pending_deliveries(
    webhooks_pool: asyncpg.Pool, settler: Settler
) -> None:
    endpoint = await add_endpoint(webhooks_pool)
    answered, waiting = (
        await add_delivery(webhooks_pool, endpoint),
        await add_delivery(webhooks_pool, endpoint),
    )
    await settle_together(settler, webhooks_pool, {answered: GONE})
    row = await webhooks_pool.fetchrow(
        "SELECT enabled, disabled_reason FROM endpoints WHERE id = $1", endpoint
    )
    assert row is not None
    assert not row["enabled"]
    assert "410" in row["disabled_reason"]
    assert (
        await webhooks_pool.fetchval("SELECT status FROM deliveries WHERE id = $1", waiting)
        == "failed"
    )


async def test_a_final_failure_is_not_retried(
    webhooks_pool: asyncpg.Pool, settler: Settler, retries: list[float]
) -> None:
    endpoint = await add_endpoint(webhooks_pool)
    delivery_id = await add_delivery(webhooks_pool, endpoint)
    row = await claimed(webhooks_pool, delivery_id)
    blocked = Answer(None, None, 0, error="blocked: a private address")
    assert await settler.settle(settler.outcome(row, blocked, final=True))
    assert (
        await webhooks_pool.fetchval("SELECT status FROM deliveries WHERE id = $1", delivery_id)
        == "failed"
    )
    assert retries == []


async def test_an_attempt_on_a_delivery_failed_meanwhile_is_recorded_and_leaves_it_failed(
    webhooks_pool: asyncpg.Pool, settler: Settler
) -> None:
    endpoint = await add_endpoint(webhooks_pool)
    delivery_id = await add_delivery(webhooks_pool, endpoint)
    row = await claimed(webhooks_pool, delivery_id)
    async with webhooks_pool.acquire() as conn:
        await Repository(conn).disable(endpoint, "turned off by its owner")
    assert await settler.settle(settler.outcome(row, BROKEN, final=False))
    state = await webhooks_pool.fetchrow(
        "SELECT status, schedule_step FROM deliveries WHERE id = $1", delivery_id
    )
    assert state is not None
    assert (state["status"], state["schedule_step"]) == ("failed", 0)
    assert await webhooks_pool.fetchval("SELECT count(*) FROM delivery_attempts") == 1
