"""Chaos (issue 14, item 3): two of every service under a steady load of awards, each starting an
Open Campus credential, an Open Badges 3.0 credential and webhooks to a verifying receiver, while
one replica of each service is SIGKILLed in turn (and started again, as a supervisor would) and
the broker drops every connection. Then every award answered 201 exists exactly once, every
credential was issued exactly once, every event reached the receiver at least once under one
`webhook-id`, and nothing is left pending anywhere: outboxes, credentials, deliveries, queues.

The suite runs a short version. `make chaos` runs the long one (PLAUDIT_CHAOS=long): 10,000
awards, and the broker itself restarted mid-way (every vhost of the machine's RabbitMQ: run it
where nothing else uses that broker).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aio_pika
import aiohttp
import pytest

from shared import topology
from tests.e2e.test_webhooks_api import register, verified
from tests.support.client import Answer, Client
from tests.support.events import eventually
from tests.support.factories import make_badge, make_system, unique
from tests.support.receivers import Receivers, receiving
from tests.support.stack import Stack, query

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl"),
]

SCALE = "gateway=2,badges=2,issuer=2,webhooks=2"
LONG = os.environ.get("PLAUDIT_CHAOS") == "long"
AWARDS = 10_000 if LONG else 400
CONCURRENCY = 16
# What a client allows one award, retries included, and what the system is allowed afterwards
# to settle everything the awards started.
CLIENT_DEADLINE_S = 120.0
SETTLE_S = 600.0 if LONG else 120.0
# Replicas killed in turn (the second of each: the first keeps its bare name), then the broker.
VICTIMS = ("badges-2", "issuer-2", "webhooks-2", "gateway-2")


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    async with receiving() as made:
        yield made


@dataclass
class Load:
    """Awards made as a careful client makes them: each under its own Idempotency-Key, retried
    with that key after a transport error or a 5xx (or a 409 while its first try still runs)."""

    client: Client
    badge: str
    finals: dict[str, Answer] = field(default_factory=dict)
    retried: int = 0
    answered: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def award(self, email: str, limit: asyncio.Semaphore) -> None:
        body = {"email": email, "holderOcId": "ada.edu", "name": "Ada Reader"}
        headers = {"Idempotency-Key": unique("chaos")}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLIENT_DEADLINE_S
        async with limit:
            while True:
                try:
                    answer: Answer | None = await self.client.post(
                        f"{self.badge}/instances", json=body, headers=headers
                    )
                except aiohttp.ClientError:
                    answer = None  # its gateway died under it, or the broker is away
                if answer is not None and answer.status < 500 and answer.status != 409:
                    break
                self.retried += 1
                assert loop.time() < deadline, (email, answer and answer.body)
                await asyncio.sleep(0.1)  # a client's back-off before its retry
        self.finals[email] = answer
        async with self.answered:
            self.answered.notify_all()

    async def reached(self, count: int) -> None:
        async with self.answered:
            await self.answered.wait_for(lambda: len(self.finals) >= count)


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


async def chaos(stack: Stack, load: Load) -> list[str]:
    """SIGKILL one replica of each service in turn, each at its share of the awards answered,
    start it again, then drop the broker's connections (restart the broker, in the long run);
    what was done, in order."""
    done = []
    steps = len(VICTIMS) + 1
    for share, name in enumerate(VICTIMS, start=1):
        await load.reached(share * AWARDS // (steps + 1))
        stack.kill(name)
        stack.start(name, wait=False)
        done.append(f"killed {name}")
    await load.reached(steps * AWARDS // (steps + 1))
    if LONG:
        await asyncio.to_thread(rabbitmqctl, "stop_app")
        await asyncio.to_thread(rabbitmqctl, "start_app")
        done.append("restarted the broker")
    else:
        vhost = stack.isolation.name
        await asyncio.to_thread(rabbitmqctl, "close_all_connections", "-p", vhost, "chaos")
        done.append("dropped the broker's connections")
    return done


async def count(stack: Stack, sql: str) -> int:
    [row] = await query(stack, sql)
    return int(row[0])


async def queue_depths(stack: Stack) -> dict[str, int]:
    """Messages waiting in every durable queue of the stack's vhost (events, dead letters,
    unroutable)."""
    connection = await aio_pika.connect(stack.isolation.amqp_url)
    try:
        channel = await connection.channel()
        depths = {}
        for name in topology.durable_queues():
            queue = await channel.declare_queue(name, passive=True)
            depths[name] = queue.declaration_result.message_count or 0
        return depths
    finally:
        await connection.close()


async def test_two_of_every_service_survive_kills_and_a_broker_drop_exactly_once(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession, receivers: Receivers
) -> None:
    stack = own_stack(PLAUDIT_SCALE=SCALE)
    stack.start()
    assert stack.sandbox is not None
    assert stack.readiness() == {
        "status": "ready",
        "broker": "ok",
        "services": {"badges": "ok", "issuer": "ok", "webhooks": "ok"},
        "replicas": {"badges": 2, "issuer": 2, "webhooks": 2},
    }
    client = Client(http, stack.base_url, stack.settings.master_secret_value)
    system = await make_system(client)
    badge = await make_badge(client, system, credential={"kind": "OCA", "achievementType": "Badge"})
    receiver = await receivers.new()
    hook = await register(client, system, receiver.url, events=["badge.awarded"])
    recipients = [f"{unique('chaos')}-{n}@example.org" for n in range(AWARDS)]
    load = Load(client, badge)
    limit = asyncio.Semaphore(CONCURRENCY)

    chaos_done = asyncio.create_task(chaos(stack, load))
    await asyncio.gather(*(load.award(email, limit) for email in recipients))
    done = await chaos_done
    stack.wait_ready()

    # Every client got its award, once.
    assert {e: a.status for e, a in load.finals.items() if a.status != 201} == {}
    assert load.retried > 0, f"no request needed a retry: nothing was tested ({done})"
    rows = await query(
        stack,
        "SELECT i.email, i.slug, i.uid FROM badges.instances i"
        " JOIN badges.badges b ON b.id = i.badge_id WHERE b.slug = $1",
        badge.rsplit("/", 1)[1],
    )
    slugs: dict[str, list[str]] = {}
    for row in rows:
        slugs.setdefault(row["email"], []).append(row["slug"])
    assert {e: s for e, s in slugs.items() if len(s) > 1} == {}, "awards made twice"
    assert set(slugs) == set(recipients)
    assert {e: a.body["instance"]["slug"] for e, a in load.finals.items()} == {
        e: s[0] for e, s in slugs.items()
    }

    # Every credential issued once: the Open Campus one (by its issuerReferenceId) and the
    # signed Open Badges 3.0 one (by the award's slug).
    async def settled() -> bool:
        issued = await count(
            stack, "SELECT count(*) FROM issuer.credentials WHERE status = 'issued'"
        )
        signed = await count(stack, "SELECT count(*) FROM issuer.open_badges")
        return issued == AWARDS and signed == AWARDS

    await eventually(settled, "every award's two credentials", timeout_s=SETTLE_S)
    references = sorted(c["issuerReferenceId"] for c in stack.sandbox.credentials())
    assert references == sorted(f"plaudit:{row['uid']}" for row in rows), "issued twice or never"
    signed = await query(stack, "SELECT slug FROM issuer.open_badges")
    assert sorted(row["slug"] for row in signed) == sorted(row["slug"] for row in rows)

    # Every award's event reached the receiver, verified, under one webhook-id however often.
    awarded = {row["slug"] for row in rows}

    async def all_arrived() -> bool:
        return {r.json()["data"]["uid"] for r in receiver.ok()} >= awarded

    await eventually(all_arrived, "every badge.awarded at the receiver", timeout_s=SETTLE_S)
    ids_of: dict[str, set[str]] = {}
    for request in receiver.ok():
        body = verified(request, hook["secret"])
        ids_of.setdefault(body["data"]["uid"], set()).add(request.webhook_id)
    assert {uid: ids for uid, ids in ids_of.items() if len(ids) > 1} == {}
    assert set(ids_of) == awarded

    # Nothing left pending: outboxes, deliveries, credentials, queues.
    async def drained() -> bool:
        pending = [
            await count(stack, f"SELECT count(*) FROM {schema}.outbox")
            for schema in ("badges", "issuer", "webhooks")
        ]
        pending.append(
            await count(
                stack, "SELECT count(*) FROM webhooks.deliveries WHERE status <> 'succeeded'"
            )
        )
        pending.append(
            await count(stack, "SELECT count(*) FROM issuer.credentials WHERE status <> 'issued'")
        )
        return not any(pending) and not any((await queue_depths(stack)).values())

    await eventually(drained, "outboxes, deliveries and queues to drain", timeout_s=SETTLE_S)
