"""The inbox: one row per message a service has handled, written with its effect, so that a
redelivery is recognised and never handled twice. Every statement that touches it is here.

A request keeps its reply (what a redelivery, or a client's retry under its Idempotency-Key, is
answered again) and, for a keyed request, the hash of the HTTP request. An event's row only marks
it handled. Rows are pruned after `RETENTION` (keyed ones after `KEYED_RETENTION`, when the key
may be used again); a deleted system's rows are purged with it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

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


# In the statement of a batch of events (`events_at_once`): the relation of the batch's wanted
# events (its `wanted` condition is on it), and that of those among them that are new (not
# redeliveries): its change acts only `WHERE ... IN (SELECT key FROM <FRESH>)`.
EVENT = "event"
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


class Answered(NamedTuple):
    """A request with its answer, to record: its envelope, its system, the reply to keep, and
    the events (and commands for other services) it emits."""

    envelope: Envelope
    system_id: int | None
    reply: bytes
    events: list[Envelope]


def _inbox_columns(
    answered: Sequence[Answered],
) -> tuple[list[uuid.UUID], list[str], list[int | None], list[bytes], list[str | None]]:
    """The arguments of an `unnest($1::uuid[], $2::text[], $3::bigint[], $4::bytea[],
    $5::text[])` insert into inbox."""
    return (
        [a.envelope.message_id for a in answered],
        [a.envelope.type for a in answered],
        [a.system_id for a in answered],
        [a.reply for a in answered],
        [a.envelope.request_hash for a in answered],
    )


async def record_requests(
    conn: Connection, answered: Sequence[Answered]
) -> tuple[bool, OutboxRows]:
    """Write the events of commands to the outbox and their replies to the inbox, in one round
    trip: whether the inbox took every request (False: one was handled before, the caller rolls
    back), and the events' outbox rows."""
    outgoing_events = outgoing([event for a in answered for event in a.events])
    row = await conn.fetchrow(
        "WITH events AS ("
        " INSERT INTO outbox (message_id, routing_key, body)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[]) RETURNING id, message_id),"
        " request AS ("
        " INSERT INTO inbox (message_id, type, system_id, reply, request_hash)"
        " SELECT * FROM unnest($4::uuid[], $5::text[], $6::bigint[], $7::bytea[], $8::text[])"
        " ON CONFLICT DO NOTHING RETURNING true)"
        " SELECT (SELECT count(*) FROM request),"
        " ARRAY(SELECT id FROM events), ARRAY(SELECT message_id FROM events)",
        *as_columns(outgoing_events),
        *_inbox_columns(answered),
    )
    assert row is not None
    return row[0] == len(answered), with_ids(outgoing_events, row[1], row[2])


async def requests_at_once(
    conn: Connection,
    answered: Sequence[Answered],
    keys: Sequence[uuid.UUID],
    change: str,
    args: tuple[Any, ...],
) -> list[OutboxRows | None]:
    """Commands in one statement: `change` (a data-modifying statement, its parameters
    `$1`...`$n` given as `args`, whose RETURNING clause gives, `AS key`, the key of each command
    it wrote) and, for each command whose key (`keys[i]`) it returned, the command's events'
    outbox rows and its inbox row with its reply. For each command, its outbox rows; None, with
    nothing of it written, when `change` did not return its key. Raises `AlreadyHandled`, with
    nothing written, when a request is in the inbox already."""
    each = [outgoing(a.events) for a in answered]
    event_keys = [key for events, key in zip(each, keys, strict=True) for _ in events]
    outgoing_events = [event for events in each for event in events]
    n = len(args)
    statement = (
        f"WITH change AS ({change}),"
        " events AS ("
        " INSERT INTO outbox (message_id, routing_key, body)"
        " SELECT e.message_id, e.routing_key, e.body"
        f" FROM unnest(${n + 1}::uuid[], ${n + 2}::uuid[], ${n + 3}::text[], ${n + 4}::bytea[])"
        " AS e(key, message_id, routing_key, body)"
        " WHERE e.key IN (SELECT c.key FROM change c) RETURNING id, message_id),"
        " request AS ("
        " INSERT INTO inbox (message_id, type, system_id, reply, request_hash)"
        " SELECT r.message_id, r.type, r.system_id, r.reply, r.request_hash"
        f" FROM unnest(${n + 5}::uuid[], ${n + 6}::uuid[], ${n + 7}::text[], ${n + 8}::bigint[],"
        f" ${n + 9}::bytea[], ${n + 10}::text[])"
        " AS r(key, message_id, type, system_id, reply, request_hash)"
        " WHERE r.key IN (SELECT c.key FROM change c))"
        " SELECT ARRAY(SELECT key FROM change),"
        " ARRAY(SELECT id FROM events), ARRAY(SELECT message_id FROM events)"
    )
    try:
        row = await conn.fetchrow(
            statement,
            *args,
            event_keys,
            *as_columns(outgoing_events),
            list(keys),
            *_inbox_columns(answered),
        )
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == PRIMARY_KEY:
            raise AlreadyHandled from None
        raise
    assert row is not None
    written = set(row[0])
    rows = dict(zip(map(str, row[2]), row[1], strict=True))
    return [
        [(rows[event.message_id], event) for event in events] if key in written else None
        for events, key in zip(each, keys, strict=True)
    ]


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


class Handled(NamedTuple):
    """What one event of a batch handled at once (`events_at_once`) came to: `fresh` (recorded
    now, and `rows`: how many rows the change returned for it), `duplicate` (handled before, or
    earlier in the same batch: nothing done) or `unwanted` (nothing written, not even its inbox
    row)."""

    state: Literal["fresh", "duplicate", "unwanted"]
    rows: int = 0


DUPLICATE = Handled("duplicate")
UNWANTED = Handled("unwanted")


async def events_at_once(
    conn: Connection,
    envelopes: Sequence[Envelope],
    keys: Sequence[uuid.UUID | None],
    change: str,
    args: tuple[Any, ...],
    *,
    wanted: str = "true",
) -> list[Handled]:
    """A batch of events in one statement: the inbox rows of those that are new and wanted, and
    `change` (a data-modifying statement, its parameters `$1`...`$n` given as `args`), which
    must act only for the events of `<FRESH>` (`WHERE ... IN (SELECT key FROM <FRESH>)`) and
    give, `AS key`, the key of the event each row it returns is for. `keys[i]` is event i's key
    (None: it takes no part, as an unwanted one). `wanted`, a condition on `<EVENT>` (the
    batch's rows: `key`, `message_id`, `type`, `system_id`) and the same parameters, says
    whether an event is anything to this subscriber: where it is false, nothing at all is
    written for it. (A redelivery of such an event is then judged again, and acts if the
    condition has become true meanwhile: for an event nobody wanted, that is what a subscriber
    added later would expect.) For each event, what it came to."""
    # A message delivered twice in one batch takes part once: its second is a duplicate.
    first: dict[uuid.UUID, int] = {}
    for i, (envelope, key) in enumerate(zip(envelopes, keys, strict=True)):
        if key is not None:
            first.setdefault(envelope.message_id, i)
    taking = list(first.values())
    if not taking:
        return [UNWANTED] * len(envelopes)
    n = len(args)
    row = await conn.fetchrow(
        f"WITH {EVENT} AS ("
        " SELECT * FROM unnest("
        f"${n + 1}::uuid[], ${n + 2}::uuid[], ${n + 3}::text[], ${n + 4}::bigint[])"
        f" AS {EVENT}(key, message_id, type, system_id) WHERE {wanted}),"
        " recorded AS ("
        " INSERT INTO inbox (message_id, type, system_id)"
        f" SELECT message_id, type, system_id FROM {EVENT}"
        " ON CONFLICT DO NOTHING RETURNING message_id),"
        f" {FRESH} AS (SELECT * FROM {EVENT}"
        " WHERE message_id IN (SELECT message_id FROM recorded)),"
        f" change AS ({change})"
        f" SELECT ARRAY(SELECT key FROM {EVENT}), ARRAY(SELECT key FROM {FRESH}),"
        " ARRAY(SELECT key FROM change)",
        *args,
        [keys[i] for i in taking],
        [envelopes[i].message_id for i in taking],
        [envelopes[i].type for i in taking],
        [envelopes[i].system_id for i in taking],
    )
    assert row is not None
    is_wanted, fresh, rows = set(row[0]), set(row[1]), Counter(row[2])
    handled: list[Handled] = []
    for i, (envelope, key) in enumerate(zip(envelopes, keys, strict=True)):
        if key is None or key not in is_wanted:
            handled.append(UNWANTED)
        elif key in fresh and first[envelope.message_id] == i:
            handled.append(Handled("fresh", rows[key]))
        else:
            handled.append(DUPLICATE)
    return handled


async def forget_system(conn: Connection, system_id: int, keep: Envelope) -> None:
    """Purge the rows of a deleted system, except `keep`'s (the deletion's own message): that
    one is what makes a redelivery of the deletion a no-op."""
    await conn.execute(
        "DELETE FROM inbox WHERE system_id = $1 AND message_id <> $2", system_id, keep.message_id
    )
