"""Transactional outbox: events are rows until the broker has confirmed them.

Writers insert rows in the transaction of the change (`write_events`). The relay claims a batch
(`FOR UPDATE SKIP LOCKED`, so relays of several processes never publish the same rows at once),
publishes it pipelined, waits for every confirm, and only then deletes the rows and commits. A
crash in between leaves the rows to publish again: delivery is at least once, and consumers
dedupe on `message_id`. Order across a batch is not guaranteed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog

from shared.bus import Bus, OutgoingEvent
from shared.db import Connection
from shared.envelope import Envelope

log = structlog.get_logger()

BATCH_SIZE = 500
# Rows committed by another process (or left by a crash) are found by this poll; rows of this
# process are relayed at once through `wake()`.
IDLE_POLL_S = 1.0
RETRY_DELAY_S = 1.0


async def write_events(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    if not envelopes:
        return
    await conn.executemany(
        "INSERT INTO outbox (message_id, routing_key, body) VALUES ($1, $2, $3)",
        [(envelope.message_id, envelope.type, envelope.to_bytes()) for envelope in envelopes],
    )


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, bus: Bus, *, batch_size: int = BATCH_SIZE) -> None:
        self._pool = pool
        self._bus = bus
        self._batch_size = batch_size
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Finish the batch in hand (its confirms included), then stop."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), IDLE_POLL_S)
            self._wakeup.clear()
            try:
                while await self.relay_once() == self._batch_size and not self._stopping:
                    pass
            except Exception:
                log.exception("outbox.relay_failed")
                await asyncio.sleep(RETRY_DELAY_S)
        # Relay what this process committed before it was asked to stop.
        with contextlib.suppress(Exception):
            await self.relay_once()

    async def relay_once(self) -> int:
        """Publish one batch; return how many rows it held."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows: list[Any] = await conn.fetch(
                "SELECT id, message_id, routing_key, body FROM outbox"
                " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch_size,
            )
            if not rows:
                return 0
            await self._bus.publish_events(
                [
                    OutgoingEvent(str(row["message_id"]), row["routing_key"], row["body"])
                    for row in rows
                ]
            )
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        log.debug("outbox.relayed", count=len(rows))
        return len(rows)
