"""The health listener of a back-end process, served for real on a free port, with fakes for
its broker connection, consumers and pool."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from shared import probes
from shared.probes import LIVENESS_PATH, READINESS_PATH, Health, serving
from tests.support.stack import free_port

HOST = "127.0.0.1"


@dataclass
class FakeBroker:
    is_connected: bool = True


@dataclass
class FakeConsumer:
    consuming: bool = True

    async def is_consuming(self) -> bool:
        return self.consuming


class FakeDatabase:
    def __init__(self) -> None:
        self.failure: Exception | None = None
        self.hangs = False
        self.queries: list[str] = []
        self.asked = asyncio.Event()

    async def fetchval(self, query: str, *args: object) -> object:
        self.queries.append(query)
        self.asked.set()
        if self.hangs:
            await asyncio.Event().wait()
        if self.failure is not None:
            raise self.failure
        return 1


def hanging_database(monkeypatch: pytest.MonkeyPatch) -> FakeDatabase:
    """A pool that never answers, given up on after 0.2 s."""
    monkeypatch.setattr(probes, "CHECK_TIMEOUT_S", 0.2)
    database = FakeDatabase()
    database.hangs = True
    return database


@dataclass
class Probed:
    health: Health
    url: str
    http: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.url + path) as response:
            return response.status, await response.json()


@pytest.fixture
async def probed() -> AsyncIterator[Probed]:
    port = free_port()
    async with serving(HOST, port) as health, aiohttp.ClientSession() as http:
        yield Probed(health, f"http://{HOST}:{port}", http)


def run(
    health: Health, broker: FakeBroker, database: FakeDatabase, *consumers: FakeConsumer
) -> None:
    health.running(broker, database, consumers or (FakeConsumer(),))


class TestLiveness:
    async def test_answers_in_every_phase_whatever_the_dependencies(self, probed: Probed) -> None:
        assert await probed.get(LIVENESS_PATH) == (200, {"status": "ok"})
        database = FakeDatabase()
        database.failure = OSError("connection refused")
        run(probed.health, FakeBroker(is_connected=False), database)
        assert await probed.get(LIVENESS_PATH) == (200, {"status": "ok"})
        probed.health.stopping()
        assert await probed.get(LIVENESS_PATH) == (200, {"status": "ok"})

    async def test_a_stuck_event_loop_answers_nothing(self, probed: Probed) -> None:
        """What makes it a liveness probe: the kubelet's request times out while the loop is
        blocked, and is answered once it runs again."""
        outcome: list[BaseException | int] = []

        def probe() -> None:
            try:
                with urllib.request.urlopen(probed.url + LIVENESS_PATH, timeout=0.3) as answer:
                    outcome.append(answer.status)
            except OSError as error:
                outcome.append(error)

        prober = threading.Thread(target=probe)
        prober.start()
        time.sleep(1.0)  # noqa: ASYNC251 - blocking the loop is what this test is about
        prober.join()
        (timed_out,) = outcome
        assert isinstance(timed_out, TimeoutError), timed_out
        assert await probed.get(LIVENESS_PATH) == (200, {"status": "ok"})


class TestReadiness:
    async def test_unavailable_while_starting(self, probed: Probed) -> None:
        assert await probed.get(READINESS_PATH) == (
            503,
            {"status": "unavailable", "broker": "starting", "database": "starting"},
        )

    async def test_ready_when_connected_consuming_and_the_pool_answers(
        self, probed: Probed
    ) -> None:
        database = FakeDatabase()
        run(probed.health, FakeBroker(), database, FakeConsumer(), FakeConsumer())
        assert await probed.get(READINESS_PATH) == (
            200,
            {"status": "ok", "broker": "ok", "database": "ok"},
        )
        assert database.queries == ["SELECT 1"]

    async def test_unavailable_without_the_broker_connection(self, probed: Probed) -> None:
        run(probed.health, FakeBroker(is_connected=False), FakeDatabase())
        assert await probed.get(READINESS_PATH) == (
            503,
            {"status": "unavailable", "broker": "unavailable", "database": "ok"},
        )

    async def test_unavailable_when_one_consumer_is_not_consuming(self, probed: Probed) -> None:
        run(probed.health, FakeBroker(), FakeDatabase(), FakeConsumer(), FakeConsumer(False))
        status, body = await probed.get(READINESS_PATH)
        assert (status, body["broker"], body["database"]) == (503, "unavailable", "ok")

    async def test_unavailable_when_the_pool_fails(self, probed: Probed) -> None:
        database = FakeDatabase()
        database.failure = OSError("connection refused")
        run(probed.health, FakeBroker(), database)
        assert await probed.get(READINESS_PATH) == (
            503,
            {"status": "unavailable", "broker": "ok", "database": "unavailable"},
        )

    async def test_a_pool_that_hangs_is_given_up_on(
        self, probed: Probed, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run(probed.health, FakeBroker(), hanging_database(monkeypatch))
        started = time.monotonic()
        status, body = await probed.get(READINESS_PATH)
        assert (status, body["database"]) == (503, "unavailable")
        assert 0.2 <= time.monotonic() - started < 1.0

    async def test_comes_back_when_the_broker_does(self, probed: Probed) -> None:
        broker = FakeBroker(is_connected=False)
        run(probed.health, broker, FakeDatabase())
        assert (await probed.get(READINESS_PATH))[0] == 503
        broker.is_connected = True
        assert (await probed.get(READINESS_PATH))[0] == 200

    async def test_unavailable_from_the_first_moment_of_a_stop(self, probed: Probed) -> None:
        run(probed.health, FakeBroker(), FakeDatabase())
        assert (await probed.get(READINESS_PATH))[0] == 200
        probed.health.stopping()
        assert await probed.get(READINESS_PATH) == (
            503,
            {"status": "unavailable", "broker": "stopping", "database": "stopping"},
        )

    async def test_a_stop_during_the_checks_wins(
        self, probed: Probed, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        database = hanging_database(monkeypatch)
        run(probed.health, FakeBroker(), database)
        asked = asyncio.create_task(probed.get(READINESS_PATH))
        await database.asked.wait()
        probed.health.stopping()
        status, body = await asked
        assert (status, body["status"], body["broker"]) == (503, "unavailable", "stopping")

    async def test_changes_are_logged_once_with_their_reason(self) -> None:
        health, broker = Health(), FakeBroker()
        health.running(broker, FakeDatabase(), [FakeConsumer()])
        with capture_logs() as logs:
            await health.readiness()
            await health.readiness()
            broker.is_connected = False
            await health.readiness()
            await health.readiness()
            broker.is_connected = True
            await health.readiness()
        assert [(line["event"], line.get("broker")) for line in logs] == [
            ("health.ready", None),
            ("health.unready", "disconnected"),
            ("health.ready", None),
        ]


class TestServing:
    async def test_serves_the_two_routes_only(self, probed: Probed) -> None:
        app = probes.create_app(Health())
        paths = {resource.canonical for resource in app.router.resources()}
        assert paths == {LIVENESS_PATH, READINESS_PATH}
        async with probed.http.get(probed.url + "/metrics") as response:
            assert response.status == 404
        async with probed.http.post(probed.url + LIVENESS_PATH) as response:
            assert response.status == 405

    async def test_without_a_port_the_phases_are_kept_unserved(self) -> None:
        async with serving(HOST, None) as health:
            assert health.phase is probes.Phase.STARTING
            health.stopping()

    async def test_stops_listening_on_leaving(self) -> None:
        port = free_port()
        async with serving(HOST, port):
            with socket.create_connection((HOST, port), timeout=1):
                pass
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, port), timeout=1).close()

    async def test_a_port_taken_ends_the_process_saying_why(self) -> None:
        port = free_port()
        async with serving(HOST, port):
            with pytest.raises(SystemExit) as exited:
                async with serving(HOST, port):
                    pytest.fail("two listeners on one port")
        message = str(exited.value.code)
        assert f"{HOST}:{port}" in message
        assert "HEALTH_PORT" in message
