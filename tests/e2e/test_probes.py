"""The back ends' per-process health probes (shared/probes.py) on real processes, each with a
HEALTH_PORT of its own: both answer while the process works, readiness follows this process's
broker connection and turns unready from the first moment of a stop, and liveness holds
whatever the broker does, from before the process reaches it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from shared import topology
from shared.probes import LIVENESS_PATH, READINESS_PATH
from tests.e2e.test_webhooks_api import register
from tests.support.client import Client
from tests.support.events import eventually
from tests.support.factories import make_badge, make_system
from tests.support.receivers import Receivers, hanging, receiving
from tests.support.stack import Stack, free_port

pytestmark = pytest.mark.e2e

READY = {"status": "ok", "broker": "ok", "database": "ok"}
DEADLINE_S = 60.0  # robust connections retry every 5 s: a loaded machine may need a few rounds


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


async def fetch(http: aiohttp.ClientSession, url: str) -> Answer | None:
    """The probe's answer, or None when nothing answers (as the kubelet's probe would fail)."""
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return Answer(response.status, await response.json())
    except (aiohttp.ClientError, TimeoutError):
        return None


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    async with receiving() as made:
        yield made


async def test_every_back_end_process_answers_for_itself(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack(health=True, PLAUDIT_SCALE="badges=2")
    stack.start()
    processes = [replica.name for replica in stack.replicas(*topology.SERVICES)]
    assert sorted(processes) == ["badges", "badges-2", "issuer", "webhooks"]
    assert len({stack.health_ports[name] for name in processes}) == len(processes)
    for name in processes:
        assert await fetch(http, stack.health_url(name) + LIVENESS_PATH) == Answer(
            200, {"status": "ok"}
        )
        assert await fetch(http, stack.health_url(name) + READINESS_PATH) == Answer(200, READY)
    # One replica gone: its probes fail (nothing answers), its sibling's do not.
    assert stack.stop("badges-2") == 0
    assert await fetch(http, stack.health_url("badges-2") + LIVENESS_PATH) is None
    assert await fetch(http, stack.health_url("badges") + READINESS_PATH) == Answer(200, READY)


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl on this machine")
async def test_readiness_follows_the_process_broker_connection(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack(health=True)
    stack.start()
    names = list(topology.SERVICES)
    for name in names:
        assert await fetch(http, stack.health_url(name) + READINESS_PATH) == Answer(200, READY)
    # What each process's probes said, in order, from before the connections drop.
    seen: dict[str, list[tuple[Answer | None, Answer | None]]] = {name: [] for name in names}

    def recovered(name: str) -> bool:
        """Unready for the broker (alive all the while, the database fine), then ready again."""
        readiness = [ready for ready, _ in seen[name]]
        dropped = Answer(503, {**READY, "status": "unavailable", "broker": "unavailable"})
        return dropped in readiness and readiness[-1] == Answer(200, READY)

    async def watch(name: str) -> None:
        while not recovered(name):
            ready = await fetch(http, stack.health_url(name) + READINESS_PATH)
            alive = await fetch(http, stack.health_url(name) + LIVENESS_PATH)
            seen[name].append((ready, alive))
            await asyncio.sleep(0.05)

    watchers = asyncio.gather(*(watch(name) for name in names))
    try:
        await stack.drop_broker_connections()
        with contextlib.suppress(TimeoutError):  # then the assertions below say what was seen
            await asyncio.wait_for(asyncio.shield(watchers), DEADLINE_S)
    finally:
        watchers.cancel()
        await asyncio.gather(watchers, return_exceptions=True)
    for name in names:
        assert recovered(name), f"{name}: {seen[name][-5:]}"
        assert all(alive == Answer(200, {"status": "ok"}) for _, alive in seen[name]), name
        assert stack.running(name)


async def test_readiness_fails_from_the_first_moment_of_a_stop(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession, receivers: Receivers
) -> None:
    """A webhooks process stopping waits for its delivery in flight (to an endpoint that does
    not answer, until WEBHOOK_TIMEOUT_S): meanwhile it is alive but unready."""
    stack = own_stack(health=True, WEBHOOK_TIMEOUT_S="5")
    stack.start()
    client = Client(http, stack.base_url, stack.settings.master_secret_value)
    endpoint = await receivers.new(hanging(30))
    system = await make_system(client)
    await register(client, system, endpoint.url, events=["badge.created"])
    await make_badge(client, system)
    await endpoint.wait_count(1)
    url = stack.health_url("webhooks")
    assert await fetch(http, url + READINESS_PATH) == Answer(200, READY)
    stack.signal("webhooks", signal.SIGTERM)

    async def unready_while_stopping() -> bool:
        answer = await fetch(http, url + READINESS_PATH)
        return answer == Answer(
            503, {"status": "unavailable", "broker": "stopping", "database": "stopping"}
        )

    await eventually(unready_while_stopping, "webhooks to report it is stopping", timeout_s=5)
    assert stack.running("webhooks"), "it stopped before its delivery in flight ended"
    assert await fetch(http, url + LIVENESS_PATH) == Answer(200, {"status": "ok"})
    assert stack.stop("webhooks") == 0
    assert await fetch(http, url + LIVENESS_PATH) is None


async def test_liveness_holds_from_before_the_broker_is_reached(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    """The listener starts before the waits for Postgres and RabbitMQ (up to 60 s each): no
    liveness probe restarts a process for them, and readiness says it is starting."""
    stack = own_stack(health=True)
    stack.env["AMQP_URL"] = f"amqp://guest:guest@127.0.0.1:{free_port()}/"  # nothing listens
    stack.start("badges", wait=False)
    try:
        url = stack.health_url("badges")

        async def waiting_for_the_broker() -> bool:
            return any(
                event.get("event") == "startup.waiting" and event.get("dependency") == "RabbitMQ"
                for event in stack.log_events("badges")
            )

        await eventually(waiting_for_the_broker, "badges to wait for RabbitMQ")
        assert await fetch(http, url + LIVENESS_PATH) == Answer(200, {"status": "ok"})
        assert await fetch(http, url + READINESS_PATH) == Answer(
            503, {"status": "unavailable", "broker": "starting", "database": "starting"}
        )
        assert stack.running("badges")
    finally:
        stack.kill("badges")  # it would wait out its 60 s for the broker
