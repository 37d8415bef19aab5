"""The life of a back-end service process (badges, issuer, webhooks), in one place.

`serve(spec, settings)` starts answering health probes where HEALTH_PORT is set
(`shared.probes`), migrates the service's schema, opens the pool and the bus, starts the outbox
relay, the request server and the event consumer, then waits for SIGTERM or SIGINT. Stopping runs
in reverse: report unready, stop taking messages, let those in flight finish (acks included),
flush the outbox, close the bus, close the pool, stop answering probes.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol

import asyncpg
import structlog

from shared import db, inbox, probes, topology
from shared.bus import Bus, Consumer
from shared.config import Settings
from shared.context import DepsT, MessageHandler
from shared.entrypoint import wait_until_reachable
from shared.event_dispatch import EventDispatcher
from shared.messages.base import Message
from shared.outbox import OutboxRelay
from shared.request_dispatch import RequestDispatcher
from shared.rpc_server import RpcServer

log = structlog.get_logger()

# In flight at once per process: a little more than the pool, so a connection freed is reused
# at once, without a backlog that only adds latency.
REQUEST_PREFETCH = 32
EVENT_PREFETCH = 32
# A queue whose events are handled in batches: enough for the batches in flight and the next
# ones to gather (`shared.event_dispatch`).
BATCH_EVENT_PREFETCH = 128
JANITOR_INTERVAL_S = 3600.0


class Worker(Protocol):
    """Background work of a service beyond consuming messages (a scheduler of due rows)."""

    async def start(self, relay: OutboxRelay) -> None: ...

    async def stop(self) -> None:
        """Take no new work; let the work in hand finish."""


@dataclass(frozen=True)
class ServiceSpec(Generic[DepsT]):
    name: str
    migrations: Path
    make_deps: Callable[[Settings, asyncpg.Pool], DepsT]
    request_handlers: Mapping[type[Message], MessageHandler[DepsT]]
    event_handlers: Mapping[type[Message], Sequence[MessageHandler[DepsT]]]
    event_queue: str | None
    # SQL run every hour to drop what has outlived its use (the inbox is always pruned), given
    # the settings (a retention may be configured).
    housekeeping: Callable[[Settings], tuple[str, ...]] = lambda settings: ()
    # Its background work, given its dependencies and its pool.
    workers: Callable[[DepsT, asyncpg.Pool], Sequence[Worker]] = lambda deps, pool: ()


@dataclass
class Runtime(Generic[DepsT]):
    pool: asyncpg.Pool
    bus: Bus
    deps: DepsT
    relay: OutboxRelay
    requests: RequestDispatcher[DepsT]
    events: EventDispatcher[DepsT]


@asynccontextmanager
async def running(spec: ServiceSpec[DepsT], settings: Settings) -> AsyncIterator[Runtime[DepsT]]:
    # The health probes answer first (liveness through the waits below) and stop last.
    async with (
        probes.serving(settings.health_host, settings.health_port) as health,
        _running(spec, settings, health) as runtime,
    ):
        yield runtime
    log.info("service.stopped")


@asynccontextmanager
async def _running(
    spec: ServiceSpec[DepsT], settings: Settings, health: probes.Health
) -> AsyncIterator[Runtime[DepsT]]:
    dsn, amqp_url = settings.database_url, settings.amqp_url
    await wait_until_reachable(
        "Postgres", dsn, lambda: db.migrate(dsn, spec.name, [spec.migrations])
    )
    pool = await db.create_pool(dsn, spec.name)
    try:
        bus = await wait_until_reachable(
            "RabbitMQ", amqp_url, lambda: Bus.connect(amqp_url, client_name=spec.name)
        )
        try:
            deps = spec.make_deps(settings, pool)
            relay = OutboxRelay(pool, bus)
            runtime = Runtime(
                pool,
                bus,
                deps,
                relay,
                RequestDispatcher(pool, deps, spec.request_handlers, relay),
                EventDispatcher(pool, deps, spec.event_handlers, relay),
            )
            if spec.event_queue is not None:
                _check_bindings(spec.event_queue, runtime.events.event_types)
            relay.start()
            server = RpcServer(bus, spec.name, runtime.requests, prefetch=REQUEST_PREFETCH)
            await server.start()
            consumer: Consumer | None = None
            if spec.event_queue is not None:
                prefetch = BATCH_EVENT_PREFETCH if runtime.events.batches else EVENT_PREFETCH
                consumer = await bus.consume(spec.event_queue, runtime.events, prefetch=prefetch)
            workers = spec.workers(deps, pool)
            for worker in workers:
                await worker.start(relay)
            janitor = asyncio.create_task(_housekeeping(pool, spec.housekeeping(settings)))
            health.running(bus, pool, [server] if consumer is None else [server, consumer])
            log.info("service.started", queue=spec.event_queue)
            try:
                yield runtime
            finally:
                health.stopping()  # unready before anything stops
                log.info("service.stopping")
                janitor.cancel()
                await server.stop()
                if consumer is not None:
                    await consumer.stop()
                for worker in workers:
                    await worker.stop()
                await relay.stop()
        finally:
            await bus.close()
    finally:
        await pool.close()


def _check_bindings(queue: str, handled: frozenset[str]) -> None:
    """A service's queue is bound to exactly what it has handlers for: an event bound but not
    handled would be dead-lettered, one handled but not bound never arrives."""
    (bound,) = (q.bindings for q in topology.EVENT_QUEUES if q.name == queue)
    if set(bound) != handled:
        raise RuntimeError(
            f"{queue} is bound to {sorted(bound)} but its handlers take {sorted(handled)}"
        )


async def _housekeeping(pool: asyncpg.Pool, statements: tuple[str, ...]) -> None:
    while True:
        for statement in (inbox.PRUNE, *statements):
            try:
                await pool.execute(statement)
            except Exception:
                log.exception("housekeeping.failed")
        await asyncio.sleep(JANITOR_INTERVAL_S)


async def serve(spec: ServiceSpec[Any], settings: Settings) -> None:
    """Run until SIGTERM or SIGINT. The handlers are in place before anything starts, so a
    signal during start-up still ends in a clean stop, never in the default kill."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running(spec, settings):
            await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
