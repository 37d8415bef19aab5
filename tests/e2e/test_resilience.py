"""The foundation's promises under process faults: restarts, SIGKILL mid-burst, clean SIGTERM,
one service down, the broker or Postgres dropping every connection."""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.e2e.test_systems_api import new_slug, system_body
from tests.support.client import Client
from tests.support.events import subscribe
from tests.support.factories import badge_body
from tests.support.stack import SERVICES, Stack, query, wait_for

pytestmark = pytest.mark.e2e


def client_for(stack: Stack, http: aiohttp.ClientSession) -> Client:
    return Client(http, stack.base_url, stack.settings.master_secret_value)


async def events_recorded(stack: Stack, event_type: str) -> int:
    """Events of this type the webhooks service has handled (for systems with an endpoint: it
    records nothing of an event no endpoint takes)."""
    rows = await query(
        stack, "SELECT count(*) AS n FROM webhooks.inbox WHERE type = $1", event_type
    )
    return int(rows[0]["n"])


async def badges_in_database(stack: Stack, system: str) -> set[str]:
    rows = await query(
        stack,
        "SELECT b.slug FROM badges.badges b JOIN badges.systems s ON s.id = b.system_id"
        f" WHERE s.slug = '{system}'",
    )
    return {row["slug"] for row in rows}


async def subscribed_system(stack: Stack, client: Client) -> str:
    """A new system with an endpoint taking every event, so the webhooks service records them."""
    system = new_slug()
    assert (await client.post("/systems", json=system_body(system))).status == 201
    await subscribe(client, f"/systems/{system}")
    return system


class Burst:
    """POSTs sent 16 at a time, each answer's status kept under its key; `a_fifth_answered`
    is set once a fifth of them have an answer (the moment a fault is injected)."""

    def __init__(self, client: Client, requests: list[tuple[str, str, dict[str, Any]]]) -> None:
        self.outcomes: dict[str, int] = {}
        self.a_fifth_answered = asyncio.Event()
        limit = asyncio.Semaphore(16)

        async def send(key: str, path: str, body: dict[str, Any]) -> None:
            async with limit:
                self.outcomes[key] = (await client.post(path, json=body)).status
                if len(self.outcomes) >= len(requests) // 5:
                    self.a_fifth_answered.set()

        self._tasks = [asyncio.create_task(send(*request)) for request in requests]

    async def halfway(self) -> None:
        await asyncio.wait_for(self.a_fifth_answered.wait(), 30)

    async def answered(self) -> set[str]:
        """Once every request has its answer: the keys answered 201. Anything else than a 201
        or a 503 (to retry) fails the test."""
        await asyncio.gather(*self._tasks)
        assert set(self.outcomes.values()) <= {201, 503}, self.outcomes
        return {key for key, status in self.outcomes.items() if status == 201}


async def test_a_system_survives_a_restart_of_every_process(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack()
    stack.start()
    client = client_for(stack, http)
    slug = new_slug()
    created = await client.post("/systems", json=system_body(slug))
    assert created.status == 201
    for name in SERVICES:
        assert stack.stop(name) == 0, (
            f"{name} did not stop cleanly:\n{stack.log_text(name)[-2000:]}"
        )
    stack.start()
    again = await client.get(f"/systems/{slug}")
    assert again.status == 200
    assert again.body["system"] == created.body["system"]


async def test_sigkill_of_badges_during_a_burst_loses_and_duplicates_nothing(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack()
    stack.start()
    client = client_for(stack, http)
    system = await subscribed_system(stack, client)
    slugs = [new_slug() for _ in range(300)]
    burst = Burst(
        client, [(slug, f"/systems/{system}/badges", badge_body(slug=slug)) for slug in slugs]
    )
    await burst.halfway()
    # Killed with a fifth answered: requests are in the queue, in flight and mid-commit.
    stack.kill("badges")
    stack.start("badges", wait=False)
    acknowledged = await burst.answered()
    stack.wait_ready()

    assert len(acknowledged) >= 60
    stored = await badges_in_database(stack, system)
    # No acknowledged create is lost, and nothing appears that was never asked for.
    assert acknowledged <= stored
    assert stored <= set(slugs)
    # A create answered 503 may still have committed (after the gateway's deadline): then it
    # must be complete too. Every committed create's event reaches its subscriber, once.
    deadline = asyncio.get_running_loop().time() + 20
    while (seen := await events_recorded(stack, "badge.created")) != len(stored):
        assert asyncio.get_running_loop().time() < deadline, (
            f"webhooks saw {seen} badge.created events for {len(stored)}"
        )
        await asyncio.sleep(0.1)


async def test_sigterm_stops_every_process_cleanly(own_stack: Callable[..., Stack]) -> None:
    stack = own_stack()
    stack.start()
    for name in SERVICES:
        stack.signal(name, signal.SIGTERM)
    for name in SERVICES:
        assert stack.processes[name].wait(timeout=20) == 0
        assert "Traceback" not in stack.log_text(name)
    assert any(e.get("event") == "service.stopped" for e in stack.log_events("badges"))


async def test_one_service_down_fails_only_its_own_routes(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack()
    stack.start()
    client = client_for(stack, http)
    stack.stop("issuer")
    ready = await client.get("/readyz", sign=False)
    assert ready.status == 200
    assert ready.body["services"] == {"badges": "ok", "issuer": "unavailable", "webhooks": "ok"}
    assert ready.body["replicas"] == {"badges": 1, "issuer": 0, "webhooks": 1}
    assert (await client.post("/systems", json=system_body(new_slug()))).status == 201
    stack.stop("badges")
    answer = await client.get("/systems")
    assert answer.status == 503
    assert answer.body["code"] == "ServiceUnavailable"
    assert answer.headers["Retry-After"] == "1"
    stack.start("badges", "issuer", wait=False)
    wait_for(
        lambda: stack.readiness() and stack.readiness()["services"]["badges"] == "ok",
        timeout_s=20,
        what="badges to answer again",
    )
    assert (await client.get("/systems")).status == 200


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl on this machine")
async def test_every_process_reconnects_when_the_broker_drops_its_connections(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack()
    stack.start()
    client = client_for(stack, http)
    assert (await client.post("/systems", json=system_body(new_slug()))).status == 201
    await stack.drop_broker_connections()
    # Robust connections come back with their channels, queues and consumers.

    async def created() -> str | None:
        # A new slug each time: a create answered 503 while the reply path was still down may
        # have committed, and its slug would answer 409 ever after.
        system = new_slug()
        answer = await client.post("/systems", json=system_body(system))
        return system if answer.status == 201 else None

    # Robust connections retry every 5 s: on a loaded machine a few rounds may be needed.
    deadline = asyncio.get_running_loop().time() + 60
    while (system := await created()) is None:
        assert asyncio.get_running_loop().time() < deadline, (
            "no create succeeded after reconnecting"
        )
        await asyncio.sleep(0.2)
    await subscribe(client, f"/systems/{system}")  # so the webhooks service records the event
    badge = await client.post(f"/systems/{system}/badges", json=badge_body())
    assert badge.status == 201
    deadline = asyncio.get_running_loop().time() + 30
    while await events_recorded(stack, "badge.created") != 1:
        assert asyncio.get_running_loop().time() < deadline, "events stopped flowing"
        await asyncio.sleep(0.2)
    for name in SERVICES:
        assert stack.processes[name].poll() is None, f"{name} died instead of reconnecting"


async def test_a_burst_survives_postgres_dropping_every_connection(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack()
    stack.start()
    client = client_for(stack, http)
    system = await subscribed_system(stack, client)
    awarded = await client.post(f"/systems/{system}/badges", json=badge_body())
    assert awarded.status == 201
    badge = f"/systems/{system}/badges/{awarded.body['badge']['slug']}"
    # Badge creates (a transaction each) and awards (one statement each) at once.
    slugs = [new_slug() for _ in range(150)]
    emails = [f"{new_slug()}@example.org" for _ in range(150)]
    burst = Burst(
        client,
        [
            request
            for slug, email in zip(slugs, emails, strict=True)
            for request in (
                (slug, f"/systems/{system}/badges", badge_body(slug=slug)),
                (email, f"{badge}/instances", {"email": email}),
            )
        ],
    )
    await burst.halfway()
    # Every connection of every service, some of them mid-transaction, as a failover would.
    assert await stack.drop_database_connections() >= 3
    # Never a 500: what could not run in time is a 503 to retry, and nothing is half-written.
    acknowledged = await burst.answered()
    assert len(acknowledged) >= 60
    stored_badges = await badges_in_database(stack, system)
    assert (
        acknowledged & set(slugs) <= stored_badges <= set(slugs) | {awarded.body["badge"]["slug"]}
    )
    rows = await query(stack, "SELECT email FROM badges.instances")
    stored_awards = [row["email"] for row in rows]
    assert len(stored_awards) == len(set(stored_awards))
    assert acknowledged & set(emails) <= set(stored_awards) <= set(emails)
    # Every committed change's event reaches its subscriber, once.
    deadline = asyncio.get_running_loop().time() + 30
    while (
        await events_recorded(stack, "badge.created"),
        await events_recorded(stack, "badge.awarded"),
    ) != (len(stored_badges), len(stored_awards)):
        assert asyncio.get_running_loop().time() < deadline, "events lost after the drop"
        await asyncio.sleep(0.1)
    after = await client.post(f"{badge}/instances", json={"email": "after@example.org"})
    assert after.status == 201
    for name in SERVICES:
        assert stack.processes[name].poll() is None, f"{name} died instead of reconnecting"
