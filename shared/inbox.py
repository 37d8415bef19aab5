"""The inbox: one row per message a service has handled, written with its effect, so that a
redelivery is recognised and never handled twice. Every statement that touches it is here.

A request keeps its reply (what a redelivery, or a client's retry under its Idempotency-Key, is
answered again) and, for a keyed request, the hash of the HTTP request. An event's row only marks
it handled. Rows are pruned after `RETENTION` (keyed ones after `KEYED_RETENTION`, when the key
may be used again); a deleted system's rows are purged with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from shared.db import Connection
from shared.envelope import Envelope
from shared.outbox import OutboxRows, as_columns, outgoing, with_ids

# Rows only need to outlive any redelivery; a week is far beyond that. The answer to a request
# under an Idempotency-Key is replayed for 24 hours (DESIGN.md), then the key is free.
RETENTION = "7 days"
KEYED_RETENTION = "24 hours"

PRUNE = (
    f"DELETE FROM inbox WHERE handled_at < now() - interval '{RETENTION}'"
    f" OR (request_hash IS NOT NULL AND handled_at < now() - interval '{KEYED_RETENTION}')"
)

# The inbox's primary key: what a second run of a handled message breaks.
PRIMARY_KEY = "inbox_pkey"


class AlreadyHandled(Exception):
    """The message was handled already (by a concurrent run that committed first)."""


# In an event's statement (`event_at_once`), the relation that has a row when the event is new
# and none for a redelivery: its change acts only `WHERE EXISTS (SELECT FROM <FRESH>)`.
FRESH = "fresh"


async def stored(conn: Connection, envelope: Envelope) -> tuple[bytes, str | None] | None:
    """The reply stored by an earlier run of this request, and that run's request hash."""
    row = await conn.fetchrow(
        "SELECT reply, request_hash FROM inbox WHERE message_id = $1", envelope.message_id
    )
    if row is None or row["reply"] is None:
        return None
    return row["reply"], row["request_hash"]


async def lock_key(conn: Connection, envelope: Envelope) -> bool:
    """In a keyed request's transaction: take its key's lock; False while another run of the
    same request holds it."""
    lock = int.from_bytes(envelope.message_id.bytes[:8], "big", signed=True)
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock))


async def record_request(
    conn: Connection,
    envelope: Envelope,
    system_id: int | None,
    reply: bytes,
    events: list[Envelope],
) -> tuple[bool, OutboxRows]:
    """Write a command's events to the outbox and its reply to the inbox, in one round trip:
    whether the inbox took the request (False: handled before, the caller rolls back), and the
    events' outbox rows."""
    outgoing_events = outgoing(events)
    row = await conn.fetchrow(
        "WITH events AS ("
        " INSERT INTO outbox (message_id, routing_key, body)"
        " SELECT * FROM unnest($6::uuid[], $7::text[], $8::bytea[]) RETURNING id, message_id),"
        " request AS ("
        " INSERT INTO inbox (message_id, type, system_id, reply, request_hash)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING RETURNING true)"
        " SELECT EXISTS (SELECT FROM request),"
        " ARRAY(SELECT id FROM events), ARRAY(SELECT message_id FROM events)",
        envelope.message_id,
        envelope.type,
        system_id,
        reply,
        envelope.request_hash,
        *as_columns(outgoing_events),
    )
    assert row is not None
    return bool(row[0]), with_ids(outgoing_events, row[1], row[2])


async def request_at_once(
    conn: Connection,
    envelope: Envelope,
    system_id: int | None,
    reply: bytes,
    events: list[Envelope],
    change: str,
    args: tuple[Any, ...],
) -> OutboxRows | None:
    """A command in one statement: `change` (a data-modifying statement with a RETURNING
    clause, its parameters `$1`...`$n` given as `args`) and, only if it returned a row, the
    events' outbox rows and the request's inbox row with `reply`. The outbox rows; None, with
    nothing written, when it returned no row. Raises
    `AlreadyHandled`, with nothing written, when the request is in the inbox already."""
    outgoing_events = outgoing(events)
    n = len(args)
    statement = (
        f"WITH change AS ({change}),"
        " events AS ("
        " INSERT INTO outbox (message_id, routing_key, body)"
        f" SELECT * FROM unnest(${n + 1}::uuid[], ${n + 2}::text[], ${n + 3}::bytea[])"
        " WHERE EXISTS (SELECT FROM change) RETURNING id, message_id),"
        " request AS ("
        " INSERT INTO inbox (message_id, type, system_id, reply, request_hash)"
        f" SELECT ${n + 4}::uuid, ${n + 5}::text, ${n + 6}::bigint, ${n + 7}::bytea,"
        f" ${n + 8}::text WHERE EXISTS (SELECT FROM change))"
        " SELECT EXISTS (SELECT FROM change),"
        " ARRAY(SELECT id FROM events), ARRAY(SELECT message_id FROM events)"
    )
    try:
        row = await conn.fetchrow(
            statement,
            *args,
            *as_columns(outgoing_events),
            envelope.message_id,
            envelope.type,
            system_id,
            reply,
            envelope.request_hash,
        )
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == PRIMARY_KEY:
            raise AlreadyHandled from None
        raise
    assert row is not None
    if not row[0]:
        return None
    return with_ids(outgoing_events, row[1], row[2])


async def record_event(conn: Connection, envelope: Envelope) -> bool:
    """Mark an event handled, in the caller's transaction; False when it had been before."""
    return bool(
        await conn.fetchval(
            "INSERT INTO inbox (message_id, type, system_id) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING true",
            envelope.message_id,
            envelope.type,
            envelope.system_id,
        )
    )


async def record_events(conn: Connection, envelopes: Sequence[Envelope]) -> list[bool]:
    """Mark a batch of events handled in one statement, in the caller's transaction: for each,
    whether it was new (False: handled before, or earlier in the same batch)."""
    rows = await conn.fetch(
        "INSERT INTO inbox (message_id, type, system_id)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])"
        " ON CONFLICT DO NOTHING RETURNING message_id",
        [envelope.message_id for envelope in envelopes],
        [envelope.type for envelope in envelopes],
        [envelope.system_id for envelope in envelopes],
    )
    new = {str(row[0]) for row in rows}
    fresh = []
    for envelope in envelopes:
        key = str(envelope.message_id)
        fresh.append(key in new)
        new.discard(key)
    return fresh


async def event_at_once(
    conn: Connection,
    envelope: Envelope,
    change: str,
    args: tuple[Any, ...],
    *,
    wanted: str = "true",
) -> int | None:
    """An event in one statement: mark it handled and make `change` (a data-modifying statement
    with a RETURNING clause, its parameters `$1`...`$n` given as `args`), which acts only when
    the event is new (`WHERE EXISTS (SELECT FROM <FRESH>)`). How many rows `change` returned;
    None for a redelivery.

    `wanted` (a condition on the same parameters) says whether the event is anything to this
    subscriber: when it is false, nothing at all is written, not even the inbox row, and the
    answer is 0. (A redelivery of such an event is then judged again, and acts if the condition
    has become true meanwhile: for an event nobody wanted, that is what a subscriber added later
    would expect.)"""
    n = len(args)
    row = await conn.fetchrow(
        f"WITH {FRESH} AS ("
        " INSERT INTO inbox (message_id, type, system_id)"
        f" SELECT ${n + 1}::uuid, ${n + 2}::text, ${n + 3}::bigint WHERE {wanted}"
        " ON CONFLICT DO NOTHING RETURNING true),"
        f" change AS ({change})"
        f" SELECT EXISTS (SELECT FROM {FRESH}), (SELECT count(*) FROM change), {wanted}",
        *args,
        envelope.message_id,
        envelope.type,
        envelope.system_id,
    )
    assert row is not None
    fresh, count, is_wanted = row
    if not is_wanted:
        return 0
    return int(count) if fresh else None


async def forget_system(conn: Connection, system_id: int, keep: Envelope) -> None:
    """Purge the rows of a deleted system, except `keep`'s (the deletion's own message): that
    one is what makes a redelivery of the deletion a no-op."""
    await conn.execute(
        "DELETE FROM inbox WHERE system_id = $1 AND message_id <> $2", system_id, keep.message_id
    )
