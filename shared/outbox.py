"""Transactional outbox: events are rows until the broker has confirmed them.

Writers insert rows in the transaction of the change (`write_events`, or the dispatcher's one
statement for a command) and, once it has committed, hand the rows to their process's relay
(`relay_soon`). The relay publishes what it was handed, pipelined, waits for every confirm, and
only then deletes those rows, in one statement: no claim, no transaction, since no other relay
takes a row that young. Rows nobody handed over (their process crashed or stopped between the
commit and the confirm, or its relay fell behind) are found by the poll: it claims rows older
than `STALE_AFTER_S` (`FOR UPDATE SKIP LOCKED`, so relays of several processes never publish the
same rows at once), publishes them, deletes them and commits. A crash in between leaves the rows
to publish again, and a relay that falls behind by more than `STALE_AFTER_S` may see its rows
published by a poll too: delivery is at least once, and consumers dedupe on `message_id`. Order
across a batch is not guaranteed.
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
# The poll looks for rows nobody relayed this often; rows of this process are relayed at once.
IDLE_POLL_S = 1.0
RETRY_DELAY_S = 1.0
# Rows older than this are fair game for any relay's poll: their writer's relay should have
# deleted them long before.
STALE_AFTER_S = 5.0
# Rows handed over are published at once; those handed over while a batch waits for its confirms
# go together in the next one. (Waiting 20 ms for company saved another 5 % of the whole
# system's CPU per award at 300 awards/s, but delays every event that much: tests that tap the
# events exchange right after a request, such as test_an_update_announces_the_new_verdict, then
# see the event of the request before.)
LINGER_S = 0.0


# The outbox rows of some events: (row id, what to publish).
OutboxRows = list[tuple[int, OutgoingEvent]]


def outgoing(envelopes: Sequence[Envelope]) -> list[OutgoingEvent]:
    return [OutgoingEvent(str(e.message_id), e.type, e.to_bytes()) for e in envelopes]


def as_columns(events: Sequence[OutgoingEvent]) -> tuple[list[str], list[str], list[bytes]]:
    """The arguments of an `unnest($1::uuid[], $2::text[], $3::bytea[])` insert into outbox."""
    return (
        [event.message_id for event in events],
        [event.routing_key for event in events],
        [event.body for event in events],
    )


async def write_events(conn: Connection, envelopes: Sequence[Envelope]) -> OutboxRows:
    """Insert the events' rows in the caller's transaction; the rows, for `relay_soon`."""
    if not envelopes:
        return []
    events = outgoing(envelopes)
    rows = await conn.fetch(
        "INSERT INTO outbox (message_id, routing_key, body)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[]) RETURNING id, message_id",
        *as_columns(events),
    )
    return with_ids(events, [row[0] for row in rows], [row[1] for row in rows])


def with_ids(
    events: Sequence[OutgoingEvent], ids: Sequence[int], message_ids: Sequence[Any]
) -> OutboxRows:
    """Pair inserted rows with their events (RETURNING promises no order)."""
    row_ids = {str(message_id): row_id for row_id, message_id in zip(ids, message_ids, strict=True)}
    return [(row_ids[event.message_id], event) for event in events]


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, bus: Bus, *, batch_size: int = BATCH_SIZE) -> None:
        self._pool = pool
        self._bus = bus
        self._batch_size = batch_size
        self._wakeup = asyncio.Event()
        self._poll_now = False
        self._handed: list[tuple[int, OutgoingEvent]] = []
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def relay_soon(self, rows: OutboxRows) -> None:
        """Relay rows whose transaction has committed."""
        self._handed.extend(rows)
        self._wakeup.set()

    @property
    def backlog(self) -> int:
        """Rows handed over and not published yet: a writer of many events (an import) waits
        while it is large, so it never outruns the relay (memory, and rows the poll would
        publish a second time once they are older than STALE_AFTER_S)."""
        return len(self._handed)

    def wake(self) -> None:
        """Poll now, for rows written without `relay_soon` (by another process, say)."""
        self._poll_now = True
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
        loop = asyncio.get_running_loop()
        next_poll = loop.time()
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), max(0.0, next_poll - loop.time()))
            self._wakeup.clear()
            try:
                if self._handed and not self._stopping:
                    await asyncio.sleep(LINGER_S)
                    while self._handed:
                        await self.relay_handed()
                if self._poll_now or loop.time() >= next_poll:
                    poll_all, self._poll_now = self._poll_now, False
                    older_than_s = 0.0 if poll_all else STALE_AFTER_S
                    while (
                        await self.relay_once(older_than_s=older_than_s) == self._batch_size
                        and not self._stopping
                    ):
                        pass
                    next_poll = loop.time() + IDLE_POLL_S
            except Exception:
                log.exception("outbox.relay_failed")
                await asyncio.sleep(RETRY_DELAY_S)
        # Relay what this process committed before it was asked to stop.
        with contextlib.suppress(Exception):
            while self._handed:
                await self.relay_handed()
        with contextlib.suppress(Exception):
            await self.relay_once()

    async def relay_handed(self) -> int:
        """Publish one batch of the rows handed over, then delete them; how many it held. Rows
        whose publish failed stay in the table for the poll."""
        batch, self._handed = self._handed[: self._batch_size], self._handed[self._batch_size :]
        try:
            await self._bus.publish_events([event for _, event in batch])
        except Exception:
            log.warning("outbox.publish_failed", count=len(batch))
            raise
        await self._pool.execute(
            "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [row_id for row_id, _ in batch]
        )
        log.debug("outbox.relayed", count=len(batch))
        return len(batch)

    async def relay_once(self, *, older_than_s: float = 0.0) -> int:
        """Claim, publish and delete one batch of rows at least `older_than_s` old; return how
        many rows it held."""
        async with self._pool.acquire() as conn, conn.transaction():
            if older_than_s > 0:
                rows: list[Any] = await conn.fetch(
                    "SELECT id, message_id, routing_key, body FROM outbox"
                    " WHERE created_at < now() - make_interval(secs => $2)"
                    " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                    self._batch_size,
                    older_than_s,
                )
            else:
                rows = await conn.fetch(
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
