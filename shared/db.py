"""Postgres: one asyncpg pool per process, bound to the service's own schema, and migrations.

Every service owns one schema and migrates it at start: the shared messaging tables (outbox,
inbox) first, then the service's own `migrations/*.sql`, each file once, in name order, in one
transaction under an advisory lock, so several processes starting together migrate it once.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import orjson
import structlog
from asyncpg.pool import PoolConnectionProxy

log = structlog.get_logger()

T = TypeVar("T")

if TYPE_CHECKING:
    # What handlers and repositories take: a pooled connection or a plain one.
    Connection = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"

# Two cores: a pool of 8 is the measured knee; 16 gains nothing (DESIGN.md, Performance notes).
POOL_SIZE = 8
# asyncpg recycles a connection after max_queries (50,000 by default), which shows up as latency
# spikes under load; a connection is cheap to keep.
MAX_QUERIES = 10_000_000

# What work meets when Postgres drops its connection (a failover, a restart, an operator's
# pg_terminate_backend), cannot take a new one yet, or cannot take any work for now: asyncpg's
# connection errors, the server's shutdown notices, a refused or reset socket, asyncpg's
# protocol left mid-operation by a drop (InternalClientError, MagicStack/asyncpg#1069), too many
# connections, a full disk, no memory. None of them says anything of the work itself.
_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.DiskFullError,
    asyncpg.exceptions.OutOfMemoryError,
    asyncpg.InternalClientError,
    ConnectionError,
)
# Pauses before such work runs again (on a new connection); after the last, it fails.
RECONNECT_DELAYS_S = (0.05, 0.25, 1.0)


def unavailable(error: BaseException | None) -> bool:
    """Whether `error` is Postgres unable to do the work for now, not the work failing: one of
    those, or asyncpg refusing to use a dropped connection while that one was handled (the
    rollback on leaving a transaction block, say)."""
    while isinstance(error, asyncpg.InterfaceError):
        error = error.__context__
    return isinstance(error, _UNAVAILABLE)


async def reconnecting(
    run: Callable[[], Awaitable[T]],
    *,
    again: Callable[[], None] | None = None,
    delays: Sequence[float] | None = None,
) -> T:
    """`run()`; run again while Postgres is `unavailable`, after each of `delays`
    (`RECONNECT_DELAYS_S` by default), then raise what the last attempt met. `again()` first,
    where the work must know it may have committed before a drop (a request then runs as a
    redelivery would; an event's inbox row tells by itself)."""
    for delay in RECONNECT_DELAYS_S if delays is None else delays:
        try:
            return await run()
        except Exception as error:
            if not unavailable(error):
                raise
            log.warning("db.reconnecting", error=type(error).__name__, delay_s=delay)
        if again is not None:
            again()
        await asyncio.sleep(delay)
    return await run()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for codec in ("json", "jsonb"):
        await conn.set_type_codec(
            codec,
            schema="pg_catalog",
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Released connections skip asyncpg's reset query (`RESET ALL; UNLISTEN *; ...`), one round
    trip per release: no code here leaves session state behind (no LISTEN, no session-level
    advisory lock, no plain SET). asyncpg still rolls back an open transaction."""


async def create_pool(
    dsn: str, schema: str, *, min_size: int = 2, max_size: int = POOL_SIZE
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=MAX_QUERIES,
        init=_init_connection,
        reset=_keep_session,
        server_settings={"search_path": schema, "application_name": f"plaudit-{schema}"},
    )
    assert pool is not None
    return pool


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"plaudit.migrate.{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def migration_files(directories: Sequence[Path]) -> list[tuple[str, Path]]:
    """(version, path) pairs: the shared tables first, then each directory in name order."""
    files: list[tuple[str, Path]] = []
    for directory in directories:
        for path in sorted(directory.glob("*.sql")):
            files.append((f"{directory.parent.name}/{path.stem}", path))
    return files


async def migrate(dsn: str, schema: str, directories: Sequence[Path]) -> list[str]:
    """Apply what is missing; return the versions applied now."""
    conn: Any = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(schema))
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(f'SET LOCAL search_path TO "{schema}"')
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")
            }
            for version, path in migration_files([SHARED_MIGRATIONS, *directories]):
                if version in done:
                    continue
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
                applied_now.append(version)
    finally:
        await conn.close()
    if applied_now:
        log.info("db.migrated", schema=schema, versions=applied_now)
    return applied_now
