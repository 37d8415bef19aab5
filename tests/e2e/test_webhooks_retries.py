"""Delivery under failing receivers, on a stack of this module's own whose retries come within a
test's patience (WEBHOOK_RETRY_SCHEDULE of ten 100 ms steps): every event arrives at least once
under one webhook-id, a hanging endpoint holds only its own slots (also on the host and port of
a healthy one), 410 disables, redirects fail and are not followed, Retry-After is honoured,
every attempt is logged, deliveries are replayed and recovered, and a rotated secret signs
beside the new one for the overlap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from services.webhooks.config import (
    ENDPOINT_WINDOW_START,
    ENDPOINT_WINDOW_WIDEST,
    RESPONSE_KEPT_CHARS,
)
from tests.e2e.test_webhooks_api import (
    DEADLINE_S,
    award,
    deliveries,
    register,
    settled,
    verified,
    webhook,
)
from tests.support.client import Client
from tests.support.events import eventually
from tests.support.factories import make_badge, make_system
from tests.support.infra import Isolation, Servers
from tests.support.receivers import (
    Received,
    Receivers,
    always,
    failing,
    gone,
    hanging,
    receiving,
    redirect,
    sequence,
    throttled,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

SCHEDULE = ["100ms"] * 10
ATTEMPTS = 1 + len(SCHEDULE)
TIMEOUT_S = 10.0
OVERLAP_S = 4.0
FAST = {
    "WEBHOOK_RETRY_SCHEDULE": ",".join(SCHEDULE),
    "WEBHOOK_TIMEOUT_S": str(TIMEOUT_S),
    "WEBHOOK_SECRET_OVERLAP": f"{OVERLAP_S}s",
}
# A healthy endpoint's events arrive this soon after their award, whatever another endpoint does
# (a hanging one would hold them for WEBHOOK_TIMEOUT_S at least).
HEALTHY_LATENCY_S = 2.0


@pytest.fixture(scope="module")
def fast(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    isolation = Isolation(servers).create()
    running = Stack(isolation, tmp_path_factory.mktemp("webhooks-fast"), sandbox=False, **FAST)
    try:
        running.start()
        yield running
    finally:
        running.close()
        isolation.drop()


@pytest.fixture
def client(fast: Stack, http: aiohttp.ClientSession) -> Client:
    return Client(http, fast.base_url, fast.settings.master_secret_value)


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    async with receiving() as made:
        yield made


def uid_of(request: Received) -> str:
    uid: str = request.json()["data"]["uid"]
    return uid


async def test_a_flaky_receiver_gets_every_event_under_one_webhook_id(
    client: Client, receivers: Receivers
) -> None:
    receiver = await receivers.new(failing(0.3, seed=30))
    system = await make_system(client)
    badge = await make_badge(client, system)
    hook = await register(client, system, receiver.url, events=["badge.awarded"])
    uids = {(await award(client, badge))["slug"] for _ in range(20)}

    await receiver.wait(
        lambda seen: {uid_of(r) for r in seen if r.status == 200} >= uids,
        "every award answered 200 once",
        DEADLINE_S,
    )
    assert any(r.status == 500 for r in receiver.requests)
    by_uid: dict[str, list[Received]] = {}
    for request in receiver.requests:
        by_uid.setdefault(uid_of(request), []).append(request)
        verified(request, hook["secret"])
    assert set(by_uid) == uids
    for uid, attempts in by_uid.items():
        assert len({r.webhook_id for r in attempts}) == 1, uid
        assert len({r.body for r in attempts}) == 1, uid  # the same bytes every time
    retried = [uid for uid, attempts in by_uid.items() if len(attempts) > 1]
    assert retried
    logged = await settled(client, system, hook["id"], len(uids), "succeeded")
    for delivery in logged:
        sent = receiver.by_webhook_id()[delivery["id"]]
        assert [a["statusCode"] for a in delivery["attempts"]] == [r.status for r in sent]


# --- a hanging endpoint ---------------------------------------------------------------------------


async def claimed_of(stack: Stack, webhook_id: str) -> int:
    """Attempts the dispatcher has claimed for an endpoint (counted when claimed)."""
    conn = await asyncpg.connect(stack.isolation.database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT coalesce(sum(attempts), 0) FROM webhooks.deliveries WHERE endpoint_id = $1",
            webhook_id,
        )
        return count
    finally:
        await conn.close()


@pytest.mark.parametrize("same_host", [False, True], ids=["own-hosts", "same-host-and-port"])
async def test_a_hanging_endpoint_does_not_slow_a_healthy_one(
    client: Client, fast: Stack, receivers: Receivers, same_host: bool
) -> None:
    if same_host:
        server = await receivers.server()
        slow = server.receiver("/slow", hanging(60))
        healthy = server.receiver("/healthy")
    else:
        slow = await receivers.new(hanging(60))
        healthy = await receivers.new()
    system = await make_system(client)
    badge = await make_badge(client, system)
    slow_hook = await register(client, system, slow.url, events=["badge.awarded"])
    await register(client, system, healthy.url, events=["badge.awarded"])

    awarded_at: dict[str, float] = {}
    limit = asyncio.Semaphore(6)

    async def one() -> None:
        async with limit:
            instance = await award(client, badge)
            awarded_at[instance["slug"]] = time.monotonic()

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(24)))
    received = await healthy.wait(
        lambda seen: {uid_of(r) for r in seen} >= set(awarded_at), "every award", DEADLINE_S
    )
    first: dict[str, float] = {}
    for request in received:
        first.setdefault(uid_of(request), request.at)
    latencies = sorted(first[uid] - awarded_at[uid] for uid in awarded_at)
    assert latencies[-1] < HEALTHY_LATENCY_S, latencies

    # Meanwhile the hanging endpoint holds its own few slots, and the rest of its deliveries wait.
    stuck = await deliveries(client, system, slow_hook["id"], "?status=pending")
    assert len(stuck) == len(awarded_at)
    if time.monotonic() - started > TIMEOUT_S - 2:
        return  # a machine this slow let attempts time out: what is in flight is unknown
    assert 1 <= len(slow.requests) <= ENDPOINT_WINDOW_START
    assert await claimed_of(fast, slow_hook["id"]) <= ENDPOINT_WINDOW_START

    # Deleted while its requests are out: the answers that come back are dropped, quietly.
    assert (await client.delete(f"{system}/webhooks/{slow_hook['id']}")).status == 200
    receivers.release()

    async def dropped() -> bool:
        return any(
            line.get("event") == "webhook.attempt_dropped"
            and line.get("endpoint_id") == slow_hook["id"]
            for line in fast.log_events("webhooks")
        )

    await eventually(dropped, "the answers of a deleted endpoint to be dropped", DEADLINE_S)
    assert not [line for line in fast.log_events("webhooks") if line.get("level") == "error"]


async def test_an_endpoint_that_answers_gets_more_deliveries_at_once_than_a_new_one(
    client: Client, fast: Stack, receivers: Receivers
) -> None:
    """Each answer widens the endpoint's window: a receiver taking 0.3 s an answer soon has
    more requests open at once than the few a new (or hanging) endpoint gets."""
    answer_s = 0.3
    receiver = await receivers.new(hanging(answer_s))
    system = await make_system(client)
    badge = await make_badge(client, system)
    await register(client, system, receiver.url, events=["badge.awarded"])
    count = 60
    limit = asyncio.Semaphore(8)

    async def one() -> None:
        async with limit:
            await award(client, badge)

    await asyncio.gather(*(one() for _ in range(count)))
    received = await receiver.wait_count(count)
    arrivals = sorted(request.at for request in received)
    # Requests open when each arrived: those that came less than one answer's time before it.
    most_at_once = max(
        sum(1 for earlier in arrivals if at - answer_s < earlier <= at) for at in arrivals
    )
    assert ENDPOINT_WINDOW_START < most_at_once <= ENDPOINT_WINDOW_WIDEST


async def test_a_cookie_an_endpoint_sets_never_rides_along_with_a_later_delivery(
    client: Client, fast: Stack, receivers: Receivers
) -> None:
    receiver = await receivers.new(always(headers={"Set-Cookie": "session=s3cret; Path=/"}))
    # By name, not address: a cookie jar keeps cookies of host names only.
    url = receiver.url.replace("127.0.0.1", "localhost")
    system = await make_system(client)
    badge = await make_badge(client, system)
    await register(client, system, url, events=["badge.awarded"])
    for sent in range(1, 4):
        await award(client, badge)
        # One at a time, so each later request goes out after the cookie was offered.
        await receiver.wait_count(sent)
    assert all("cookie" not in request.headers for request in receiver.requests)


# --- outcomes -------------------------------------------------------------------------------------


async def test_410_disables_the_endpoint_until_it_is_enabled_again(
    client: Client, receivers: Receivers
) -> None:
    leaving, clock = await receivers.new(gone()), await receivers.new()
    system = await make_system(client)
    badge = await make_badge(client, system)
    hook = await register(client, system, leaving.url, events=["badge.awarded"])
    await register(client, system, clock.url, events=["badge.awarded"])
    first = await award(client, badge)
    [delivery] = await settled(client, system, hook["id"], 1, "failed")
    assert [a["statusCode"] for a in delivery["attempts"]] == [410]  # no retry
    disabled = await webhook(client, system, hook["id"])
    assert disabled["enabled"] is False
    assert "410" in disabled["disabledReason"]
    assert disabled["disabledAt"]

    second = await award(client, badge)
    await clock.wait(lambda seen: second["slug"] in {uid_of(r) for r in seen}, "second award")
    assert len(leaving.requests) == 1
    assert len(await deliveries(client, system, hook["id"])) == 1

    leaving.answer(always())
    enabled = await client.put(f"{system}/webhooks/{hook['id']}", json={"enabled": True})
    assert enabled.body["webhook"]["enabled"] is True
    assert "disabledReason" not in enabled.body["webhook"]
    third = await award(client, badge)
    await leaving.wait(lambda seen: third["slug"] in {uid_of(r) for r in seen}, "third award")
    assert first["slug"] not in {uid_of(r) for r in leaving.ok()}


@pytest.mark.parametrize("status", [302, 307])
async def test_a_redirect_is_a_failure_and_is_not_followed(
    client: Client, receivers: Receivers, status: int
) -> None:
    target = await receivers.new()
    mover = await receivers.new(redirect(target.url, status))
    system = await make_system(client)
    hook = await register(client, system, mover.url)
    await client.post(f"{system}/webhooks/{hook['id']}/test")
    [delivery] = await settled(client, system, hook["id"], 1, "failed")
    assert [a["statusCode"] for a in delivery["attempts"]] == [status] * ATTEMPTS
    assert len(mover.requests) == ATTEMPTS
    assert target.requests == []


@pytest.mark.parametrize("status", [500, 503, 404, 429])
async def test_any_answer_but_2xx_is_retried(
    client: Client, receivers: Receivers, status: int
) -> None:
    receiver = await receivers.new(sequence(status, status))
    system = await make_system(client)
    hook = await register(client, system, receiver.url)
    await client.post(f"{system}/webhooks/{hook['id']}/test")
    [delivery] = await settled(client, system, hook["id"], 1, "succeeded")
    assert [a["statusCode"] for a in delivery["attempts"]] == [status, status, 200]


async def test_retry_after_is_honoured(client: Client, receivers: Receivers) -> None:
    throttled_r = await receivers.new(throttled("2"))
    failing_r = await receivers.new(sequence(500))  # the schedule alone: 100 ms
    system = await make_system(client)
    for receiver in (throttled_r, failing_r):
        hook = await register(client, system, receiver.url)
        await client.post(f"{system}/webhooks/{hook['id']}/test")
    first, then = await throttled_r.wait_count(2, DEADLINE_S)
    assert (first.status, then.status) == (429, 200)
    assert then.at - first.at >= 2.0
    fast_first, fast_then = await failing_r.wait_count(2, DEADLINE_S)
    assert fast_then.at - fast_first.at < 1.9
    assert first.webhook_id == then.webhook_id


# --- the delivery log, replay and recovery -----------------------------------------------------


async def test_every_attempt_is_logged_with_its_response_truncated(
    client: Client, receivers: Receivers
) -> None:
    receiver = await receivers.new(always(500, body="x" * (RESPONSE_KEPT_CHARS * 3)))
    system = await make_system(client)
    hook = await register(client, system, receiver.url)
    await client.post(f"{system}/webhooks/{hook['id']}/test")
    [delivery] = await settled(client, system, hook["id"], 1, "failed")
    attempts = delivery["attempts"]
    assert len(attempts) == ATTEMPTS == len(receiver.requests)
    assert delivery["id"] == receiver.requests[0].webhook_id
    assert delivery["eventType"] == "webhook.test"
    times = [datetime.fromisoformat(a["at"]) for a in attempts]
    assert times == sorted(times)
    for attempt in attempts:
        assert attempt["statusCode"] == 500
        assert isinstance(attempt["durationMs"], int)
        assert attempt["durationMs"] >= 0
        assert attempt["response"] == "x" * RESPONSE_KEPT_CHARS
        assert attempt["error"] is None


async def test_a_connection_failure_is_logged_without_a_status(client: Client) -> None:
    system = await make_system(client)
    hook = await register(client, system, "http://127.0.0.1:9/nobody-listens")
    await client.post(f"{system}/webhooks/{hook['id']}/test")
    [delivery] = await settled(client, system, hook["id"], 1, "failed")
    assert len(delivery["attempts"]) == ATTEMPTS
    for attempt in delivery["attempts"]:
        assert attempt["statusCode"] is None
        assert attempt["error"].startswith("connection error")
        assert "127.0.0.1" not in attempt["error"]


async def test_filter_page_and_replay_deliveries(client: Client, receivers: Receivers) -> None:
    receiver = await receivers.new(always(500))
    system = await make_system(client)
    hook = await register(client, system, receiver.url)
    path = f"{system}/webhooks/{hook['id']}"
    [failed_id] = (await client.post(f"{path}/test")).body["deliveries"]
    await settled(client, system, hook["id"], 1, "failed")
    receiver.answer(always())
    [ok_id] = (await client.post(f"{path}/test")).body["deliveries"]
    await settled(client, system, hook["id"], 1, "succeeded")

    assert [d["id"] for d in await deliveries(client, system, hook["id"])] == [ok_id, failed_id]
    assert [d["id"] for d in await deliveries(client, system, hook["id"], "?status=failed")] == [
        failed_id
    ]
    succeeded = await deliveries(client, system, hook["id"], "?status=succeeded")
    assert [d["id"] for d in succeeded] == [ok_id]
    assert await deliveries(client, system, hook["id"], "?status=pending") == []
    paged = await client.get(f"{path}/deliveries?page=2&count=1")
    assert paged.body["pageData"] == {"page": 2, "count": 1, "total": 2}
    assert [d["id"] for d in paged.body["deliveries"]] == [failed_id]

    # Replaying the failed one: the same webhook-id, now answered.
    retried = await client.post(f"{path}/deliveries/{failed_id}/retry")
    assert retried.status == 202
    assert retried.body == {"status": "accepted", "deliveries": [failed_id]}
    await receiver.wait(
        lambda seen: any(r.webhook_id == failed_id and r.status == 200 for r in seen),
        "the replayed delivery",
    )
    await settled(client, system, hook["id"], 2, "succeeded")
    [replayed] = [d for d in await deliveries(client, system, hook["id"]) if d["id"] == failed_id]
    assert [a["statusCode"] for a in replayed["attempts"]] == [500] * ATTEMPTS + [200]

    # A succeeded delivery can be replayed too (a receiver that lost it), under its own id.
    again = await client.post(f"{path}/deliveries/{ok_id}/retry")
    assert again.body == {"status": "accepted", "deliveries": [ok_id]}
    await receiver.wait(lambda seen: len(receiver.by_webhook_id()[ok_id]) == 2, "the replay")
    first, second = receiver.by_webhook_id()[ok_id]
    assert first.body == second.body


async def test_recover_replays_the_failed_deliveries_of_a_window(
    client: Client, receivers: Receivers
) -> None:
    receiver = await receivers.new(always(500))
    system = await make_system(client)
    hook = await register(client, system, receiver.url)
    path = f"{system}/webhooks/{hook['id']}"
    before = datetime.now(UTC) - timedelta(seconds=1)
    [early] = (await client.post(f"{path}/test")).body["deliveries"]
    await settled(client, system, hook["id"], 1, "failed")
    since = datetime.now(UTC)
    later = [(await client.post(f"{path}/test")).body["deliveries"][0] for _ in range(2)]
    await settled(client, system, hook["id"], 3, "failed")
    receiver.answer(always())

    answer = await client.post(f"{path}/recover", json={"since": since.isoformat()})
    assert answer.status == 202
    assert answer.body["status"] == "accepted"
    assert sorted(answer.body["deliveries"]) == sorted(later)
    await receiver.wait(
        lambda seen: {r.webhook_id for r in seen if r.status == 200} >= set(later),
        "the recovered deliveries",
    )
    await settled(client, system, hook["id"], 2, "succeeded")
    [kept] = await deliveries(client, system, hook["id"], "?status=failed")
    assert kept["id"] == early
    assert len(receiver.by_webhook_id()[early]) == ATTEMPTS  # not sent again

    # Nothing failed since then: nothing to recover. A window ending before: the early one.
    nothing = await client.post(f"{path}/recover", json={"since": since.isoformat()})
    assert nothing.body == {"status": "accepted", "deliveries": []}
    window = {"since": before.isoformat(), "until": since.isoformat()}
    answer = await client.post(f"{path}/recover", json=window)
    assert answer.body["deliveries"] == [early]
    await settled(client, system, hook["id"], 3, "succeeded")


# --- secret rotation ------------------------------------------------------------------------------


async def test_a_rotated_secret_signs_beside_the_old_one_for_the_overlap(
    client: Client, receivers: Receivers
) -> None:
    receiver = await receivers.new()
    system = await make_system(client)
    hook = await register(client, system, receiver.url)
    old = hook["secret"]
    path = f"{system}/webhooks/{hook['id']}"
    rotated = await client.post(f"{path}/rotate-secret")
    rotated_at = time.monotonic()
    assert rotated.status == 200, rotated.body
    assert rotated.body["status"] == "updated"
    assert set(rotated.body["webhook"]) == {"id", "secret"}
    new = rotated.body["webhook"]["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert "secret" not in await webhook(client, system, hook["id"])

    await client.post(f"{path}/test")
    [during] = await receiver.wait_count(1)
    assert time.monotonic() - rotated_at < OVERLAP_S, "the machine was too slow to test this"
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verified(during, old) == verified(during, new)

    await asyncio.sleep(max(0.0, rotated_at + OVERLAP_S + 0.5 - time.monotonic()))
    await client.post(f"{path}/test")
    _, after = await receiver.wait_count(2)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verified(after, new)
    with pytest.raises(WebhookVerificationError):
        verified(after, old)
