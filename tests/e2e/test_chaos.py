"""Chaos (issue 14, item 3): two of every service under a steady load of awards, each starting an
Open Campus credential, an Open Badges 3.0 credential and webhooks to a verifying receiver,
while one replica of each service is SIGKILLed in turn (and started again, as a supervisor
would), the broker drops every connection, and so does Postgres. Then every award answered 201
exists exactly once, every credential was issued exactly once, every event reached the receiver
at least once under one `webhook-id`, and nothing is left pending anywhere: outboxes,
credentials, deliveries, queues.

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

import aio_pika
import aiohttp
import pytest

from shared import topology
from tests.e2e.test_webhooks_api import register, verified
from tests.support.client import Client
from tests.support.events import eventually
from tests.support.factories import make_badge, make_system, unique
from tests.support.keyed_awards import KeyedAwards, each_awarded_once, each_issued_once
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


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


async def chaos(stack: Stack, awards: KeyedAwards) -> list[str]:
    """SIGKILL one replica of each service in turn, each at its share of the awards answered,
    start it again, then drop the broker's connections (restart the broker, in the long run),
    then every Postgres connection; what was done, in order."""
    done = []
    # Each fault at its share of the awards: the kills, the broker, then Postgres.
    faults = len(VICTIMS) + 2
    for share, name in enumerate(VICTIMS, start=1):
        await awards.reached(share * AWARDS // (faults + 1))
        stack.kill(name)
        stack.start(name, wait=False)
        done.append(f"killed {name}")
    await awards.reached((faults - 1) * AWARDS // (faults + 1))
    if LONG:
        await asyncio.to_thread(rabbitmqctl, "stop_app")
        await asyncio.to_thread(rabbitmqctl, "start_app")
        done.append("restarted the broker")
    else:
        await stack.drop_broker_connections("chaos")
        done.append("dropped the broker's connections")
    await awards.reached(faults * AWARDS // (faults + 1))
    await stack.drop_database_connections()
    done.append("dropped every Postgres connection")
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
    awards = KeyedAwards(client, badge, concurrency=CONCURRENCY, deadline_s=CLIENT_DEADLINE_S)

    chaos_done = asyncio.create_task(chaos(stack, awards))
    await awards.make(recipients)
    done = await chaos_done
    stack.wait_ready()

    # Every client got its award, made once; its Open Campus credential issued once.
    assert awards.retried > 0, f"no request needed a retry: nothing was tested ({done})"
    rows = await each_awarded_once(stack, awards, recipients)
    await each_issued_once(stack, rows, timeout_s=SETTLE_S)

    # Its signed Open Badges 3.0 credential, once (by the award's slug).
    async def all_signed() -> bool:
        return await count(stack, "SELECT count(*) FROM issuer.open_badges") == AWARDS

    await eventually(all_signed, "every award's Open Badges 3.0 credential", timeout_s=SETTLE_S)
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
