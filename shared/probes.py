"""The health probes of one back-end process (badges, issuer, webhooks), for Kubernetes.

With `HEALTH_PORT` set, the process answers on `HEALTH_HOST:HEALTH_PORT`, without
authentication and without data:
- `GET /healthz`, liveness: 200 whenever the event loop answers. It never looks at RabbitMQ or
  Postgres: the process rides out their outages by itself, and a restart would not bring them
  back. A loop that is stuck (a blocking call, a busy loop) answers nothing, and the probe's own
  timeout fails it.
- `GET /readyz`, readiness of this process, not of its service: 200 when its broker connection is
  up with every consumer of its own consuming, and its pool answers `SELECT 1` within
  `CHECK_TIMEOUT_S`; 503 otherwise, while it starts, and from the first moment of a stop.
Readiness answers `{"status", "broker", "database"}`, liveness `{"status"}`: status words only.

The listener starts before the service waits for Postgres and RabbitMQ, so liveness holds through
those waits (readiness says `starting`), and stops after everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Protocol

import structlog
from aiohttp import web

from shared.listening import listen

log = structlog.get_logger()

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
# Each check of /readyz (the broker's, the database's) gives up after this long, and the two run
# together: a probe's timeout must be longer (deploy/k8s).
CHECK_TIMEOUT_S = 1.0
# A stop waits this long for a probe being answered; the kubelet's next one fails anyway.
SHUTDOWN_TIMEOUT_S = 2.0

OK = "ok"
UNAVAILABLE = "unavailable"


class Connection(Protocol):
    @property
    def is_connected(self) -> bool: ...


class Consuming(Protocol):
    async def is_consuming(self) -> bool: ...


class Database(Protocol):
    async def fetchval(self, query: str, *args: object) -> object: ...


class Phase(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"


class Health:
    """What this process's probes report. The service moves it from starting to running once
    its pool, broker connection and consumers are up, and to stopping first thing on a stop."""

    def __init__(self) -> None:
        self.phase = Phase.STARTING
        self._broker: Connection | None = None
        self._database: Database | None = None
        self._consumers: tuple[Consuming, ...] = ()
        self._reported: str | None = None

    def running(
        self, broker: Connection, database: Database, consumers: Sequence[Consuming]
    ) -> None:
        self._broker, self._database, self._consumers = broker, database, tuple(consumers)
        self.phase = Phase.RUNNING

    def stopping(self) -> None:
        self.phase = Phase.STOPPING

    async def readiness(self) -> dict[str, str]:
        if self.phase is Phase.RUNNING:
            broker, database = await asyncio.gather(
                _check(self._broker_works()), _check(self._database_answers())
            )
            if self.phase is Phase.RUNNING:  # a stop may have begun during the checks
                return self._report(broker, database)
        return {"status": UNAVAILABLE, "broker": self.phase.value, "database": self.phase.value}

    def _report(self, broker: str | None, database: str | None) -> dict[str, str]:
        status = OK if broker is None and database is None else UNAVAILABLE
        if status != self._reported:
            # On a change only: the probes ask every few seconds.
            if status == OK:
                log.info("health.ready")
            else:
                log.warning("health.unready", broker=broker, database=database)
            self._reported = status
        return {
            "status": status,
            "broker": OK if broker is None else UNAVAILABLE,
            "database": OK if database is None else UNAVAILABLE,
        }

    async def _broker_works(self) -> str | None:
        assert self._broker is not None
        if not self._broker.is_connected:
            return "disconnected"
        for consumer in self._consumers:
            if not await consumer.is_consuming():
                return "a consumer is not consuming"
        return None

    async def _database_answers(self) -> str | None:
        assert self._database is not None
        await self._database.fetchval("SELECT 1")
        return None


async def _check(check: Awaitable[str | None]) -> str | None:
    """None when the check passes within CHECK_TIMEOUT_S; otherwise what went wrong, for the log
    (never for the answer)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return await check
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S} s"
    except Exception as error:  # whatever the client libraries raise, it means "not working"
        return repr(error)


health_key = web.AppKey("health", Health)


async def liveness(request: web.Request) -> web.Response:
    return web.json_response({"status": OK})


async def readiness(request: web.Request) -> web.Response:
    report = await request.app[health_key].readiness()
    return web.json_response(report, status=200 if report["status"] == OK else 503)


def create_app(health: Health) -> web.Application:
    app = web.Application()
    app[health_key] = health
    app.router.add_get(LIVENESS_PATH, liveness)
    app.router.add_get(READINESS_PATH, readiness)
    return app


@asynccontextmanager
async def serving(host: str, port: int | None) -> AsyncIterator[Health]:
    """The process's Health, answered on host:port while inside (not served when port is None).
    A port already taken ends the process with a clear message: two processes must never share
    one, or a probe would speak for the wrong one."""
    health = Health()
    if port is None:
        yield health
        return
    runner = web.AppRunner(create_app(health), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        await listen(
            runner,
            host,
            port,
            what="the health probes",
            advice="every process needs a HEALTH_PORT of its own (leave it unset where several "
            "run on one machine)",
        )
        log.info("health.listening", host=host, port=port)
        yield health
    finally:
        await runner.cleanup()
