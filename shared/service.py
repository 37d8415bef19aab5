"""The life of a back-end service process (badges, issuer, webhooks), in one place.

`run(spec, settings)` migrates the service's schema, opens the pool and the bus, starts the outbox
relay, the request server and the event consumer, then waits for SIGTERM or SIGINT. Stopping runs
in reverse: stop taking messages, let those in flight finish (acks included), flush the outbox,
close the bus, close the pool.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol

import asyncpg
import structlog

from shared import db
from shared.bus import Bus, Consumer
from shared.config import Settings
from shared.entrypoint import wait_until_reachable
from shared.handling import (
    AtOnceEventHandler,
    AtOnceHandler,
    DepsT,
    EventDispatcher,
    Handler,
    RequestDispatcher,
)
from shared.messages.base import Message
from shared.outbox import OutboxRelay
from shared.rpc import RpcServer

log = structlog.get_logger()

# In flight at once per process: a little more than the pool, so a connection freed is reused
# at once, without a backlog that only adds latency.
REQUEST_PREFETCH = 32
EVENT_PREFETCH = 32
# Inbox rows only need to outlive any redelivery; a week is far beyond that. The answer to a
# request under an Idempotency-Key is replayed for 24 hours (DESIGN.md), then the key is free.
INBOX_RETENTION = "7 days"
KEYED_RETENTION = "24 hours"
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
    make_deps: Callable[[Settings, asyncpg.Pool, Bus], DepsT]
    request_handlers: Mapping[type[Message], Handler[DepsT]]
    event_handlers: Mapping[type[Message], Sequence[Handler[DepsT]]]
    event_queue: str | None
    # SQL run every hour to drop what has outlived its use (the inbox is always pruned).
    housekeeping: tuple[str, ...] = ()
    workers: Callable[[DepsT], Sequence[Worker]] = lambda deps: ()
    # Commands that may commit in one statement (`shared.handling.commit_at_once`).
    at_once_handlers: Mapping[type[Message], AtOnceHandler[DepsT]] = field(default_factory=dict)
    # Events handled in one statement (`shared.handling.handle_event_at_once`).
    at_once_event_handlers: Mapping[type[Message], AtOnceEventHandler[DepsT]] = field(
        default_factory=dict
    )


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
            deps = spec.make_deps(settings, pool, bus)
            relay = OutboxRelay(pool, bus)
            runtime = Runtime(
                pool,
                bus,
                deps,
                relay,
                RequestDispatcher(pool, deps, spec.request_handlers, relay, spec.at_once_handlers),
                EventDispatcher(
                    pool, deps, spec.event_handlers, relay, spec.at_once_event_handlers
                ),
            )
            relay.start()
            server = RpcServer(bus, spec.name, runtime.requests, prefetch=REQUEST_PREFETCH)
            await server.start()
            consumer: Consumer | None = None
            if spec.event_queue is not None:
                consumer = await bus.consume(
                    spec.event_queue, runtime.events, prefetch=EVENT_PREFETCH
                )
            workers = spec.workers(deps)
            for worker in workers:
                await worker.start(relay)
            janitor = asyncio.create_task(_housekeeping(pool, spec.housekeeping))
            log.info("service.started", queue=spec.event_queue)
            try:
                yield runtime
            finally:
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
    log.info("service.stopped")


async def _housekeeping(pool: asyncpg.Pool, statements: tuple[str, ...]) -> None:
    prune_inbox = (
        f"DELETE FROM inbox WHERE handled_at < now() - interval '{INBOX_RETENTION}'"
        f" OR (request_hash IS NOT NULL AND handled_at < now() - interval '{KEYED_RETENTION}')"
    )
    while True:
        for statement in (prune_inbox, *statements):
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
