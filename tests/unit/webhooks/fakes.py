"""Hand-written stand-ins for what the webhooks service's handlers are given: its repository,
kept in memory under the rules its SQL enforces (the SQL itself is tested on Postgres, in
tests/integration/webhooks), a BatchContext that records the fan-out's one statement instead
of running it, and the dispatcher, which handlers only wake."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.webhooks.deps import Deps
from services.webhooks.repository import CHANGEABLE
from shared import inbox
from shared.context import BatchContext
from shared.envelope import Envelope
from shared.messages.fields import Page

Row = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def endpoint_row(**fields: Any) -> Row:
    """An endpoint as the `endpoints` table holds it: enabled, taking every event."""
    return {
        "id": uuid.uuid4(),
        "system_id": 1,
        "system": "chicago",
        "url": "https://hooks.example.org/plaudit",
        "description": None,
        "events": ["*"],
        "format": "standard",
        "enabled": True,
        "disabled_reason": None,
        "disabled_at": None,
        "secret_ciphertext": "ciphertext",
        "previous_secret_ciphertext": None,
        "previous_secret_until": None,
        "failing_since": None,
        "last_success_at": None,
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }


def delivery_row(endpoint: Row, **fields: Any) -> Row:
    """A delivery as the `deliveries` table holds it: pending, of a `badge.awarded` event."""
    return {
        "id": uuid.uuid4(),
        "endpoint_id": endpoint["id"],
        "system_id": endpoint["system_id"],
        "event_id": uuid.uuid4(),
        "event_type": "badge.awarded",
        "payload": b"{}",
        "status": "pending",
        "attempts": 0,
        "schedule_step": 0,
        "next_attempt_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }


class FakeRepository:
    """The webhooks repository in memory: what handlers wrote is in `endpoint_rows`,
    `delivery_rows`, `endpoint_events` and `purged`."""

    def __init__(self) -> None:
        self.endpoint_rows: dict[uuid.UUID, Row] = {}
        self.delivery_rows: dict[uuid.UUID, Row] = {}
        self.attempts: dict[uuid.UUID, list[Row]] = {}
        # (endpoint_id, type, detail) as `endpoint_events` records them
        self.endpoint_events: list[tuple[uuid.UUID, str, Any]] = []
        # (system_id, message_id of the inbox row kept) of each purge
        self.purged: list[tuple[int, uuid.UUID]] = []

    def add_endpoint(self, **fields: Any) -> Row:
        row = endpoint_row(**fields)
        self.endpoint_rows[row["id"]] = row
        return row

    def add_delivery(self, endpoint: Row, **fields: Any) -> Row:
        row = delivery_row(endpoint, **fields)
        self.delivery_rows[row["id"]] = row
        return row

    async def insert_endpoint(
        self, *, system_id: int, system: str, fields: dict[str, Any], secret_ciphertext: str
    ) -> Row:
        row = self.add_endpoint(
            system_id=system_id,
            system=system,
            url=fields["url"],
            description=fields.get("description"),
            events=fields["events"],
            format=fields["format"],
            secret_ciphertext=secret_ciphertext,
        )
        return dict(row)

    async def endpoint(self, system_id: int, endpoint_id: uuid.UUID) -> Row | None:
        row = self.endpoint_rows.get(endpoint_id)
        return dict(row) if row is not None and row["system_id"] == system_id else None

    async def endpoints(self, system_id: int, page: Page | None) -> tuple[list[Row], int]:
        found = [dict(row) for row in self.endpoint_rows.values() if row["system_id"] == system_id]
        return _paged(found, page), len(found)

    async def update_endpoint(self, endpoint_id: uuid.UUID, changes: dict[str, Any]) -> None:
        self.endpoint_rows[endpoint_id].update(
            {column: value for column, value in changes.items() if column in CHANGEABLE}
        )

    async def enable(self, endpoint_id: uuid.UUID) -> None:
        self.endpoint_rows[endpoint_id].update(
            enabled=True, disabled_reason=None, disabled_at=None, failing_since=None
        )
        self.endpoint_events.append((endpoint_id, "endpoint.enabled", None))

    async def disable(self, endpoint_id: uuid.UUID, reason: str) -> bool:
        row = self.endpoint_rows[endpoint_id]
        if not row["enabled"]:
            return False
        row.update(enabled=False, disabled_reason=reason, disabled_at=NOW)
        for delivery in self.delivery_rows.values():
            if delivery["endpoint_id"] == endpoint_id and delivery["status"] == "pending":
                delivery.update(status="failed", next_attempt_at=None)
        self.endpoint_events.append((endpoint_id, "endpoint.disabled", {"reason": reason}))
        return True

    async def rotate_secret(
        self, endpoint_id: uuid.UUID, secret_ciphertext: str, overlap_s: float
    ) -> None:
        row = self.endpoint_rows[endpoint_id]
        row.update(
            previous_secret_ciphertext=row["secret_ciphertext"],
            previous_secret_until=NOW + timedelta(seconds=overlap_s),
            secret_ciphertext=secret_ciphertext,
        )
        self.endpoint_events.append((endpoint_id, "endpoint.secret_rotated", None))

    async def delete_endpoint(self, endpoint_id: uuid.UUID) -> None:
        del self.endpoint_rows[endpoint_id]
        self.delivery_rows = {  # ON DELETE CASCADE
            key: row for key, row in self.delivery_rows.items() if row["endpoint_id"] != endpoint_id
        }

    async def insert_deliveries(
        self,
        system_id: int,
        event_id: uuid.UUID,
        event_type: str,
        rows: list[tuple[uuid.UUID, bytes]],
    ) -> list[uuid.UUID]:
        taken = {(row["event_id"], row["endpoint_id"]) for row in self.delivery_rows.values()}
        created = []
        for endpoint_id, payload in rows:
            if (event_id, endpoint_id) in taken:
                continue
            row = self.add_delivery(
                self.endpoint_rows[endpoint_id],
                system_id=system_id,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
            )
            created.append(row["id"])
        return created

    async def deliveries(
        self, endpoint_id: uuid.UUID, status: str | None, page: Page | None
    ) -> tuple[list[Row], int]:
        found = [
            dict(row)
            for row in self.delivery_rows.values()
            if row["endpoint_id"] == endpoint_id and status in (None, row["status"])
        ]
        found.sort(key=lambda row: row["created_at"], reverse=True)
        return _paged(found, page), len(found)

    async def attempts_of(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
        return {delivery_id: self.attempts.get(delivery_id, []) for delivery_id in ids}

    async def requeue(
        self,
        endpoint_id: uuid.UUID,
        *,
        delivery_id: uuid.UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[uuid.UUID]:
        requeued = []
        for row in self.delivery_rows.values():
            if (
                row["endpoint_id"] == endpoint_id
                and (
                    row["status"] == "failed"
                    or (delivery_id is not None and row["status"] == "succeeded")
                )
                and delivery_id in (None, row["id"])
                and (since is None or row["created_at"] >= since)
                and (until is None or row["created_at"] < until)
            ):
                row.update(status="pending", next_attempt_at=NOW, schedule_step=0)
                requeued.append(row["id"])
        return requeued

    async def purge_system(self, system_id: int, keep: Envelope) -> None:
        gone = {key for key, row in self.endpoint_rows.items() if row["system_id"] == system_id}
        for endpoint_id in gone:
            await self.delete_endpoint(endpoint_id)
        self.purged.append((system_id, keep.message_id))


def _paged(rows: list[Row], page: Page | None) -> list[Row]:
    if page is None:
        return rows
    start = (page.page - 1) * page.count
    return rows[start : start + page.count]


class FakeDispatcher:
    """Handlers only wake the dispatcher (after their commit) when they add due deliveries."""

    def wake(self) -> None:
        raise AssertionError("woken before the commit: handlers only add `wake` to after_commit")


@dataclass
class AtOnceBatch(BatchContext[Deps]):
    """A BatchContext whose one-statement commit (`handle_at_once`) is recorded instead of run:
    which rows that statement writes is Postgres's to say (tests/integration/webhooks). Each
    event comes to what `came_to` says (fresh with so many rows, a duplicate, or unwanted)."""

    came_to: list[inbox.Handled] = field(default_factory=list)
    statements: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    keys: list[uuid.UUID | None] = field(default_factory=list)
    wanted: str = ""

    async def handle_at_once(
        self, change: str, *args: Any, keys: Sequence[uuid.UUID | None], wanted: str = "true"
    ) -> list[inbox.Handled]:
        self.statements.append((change, args))
        self.keys, self.wanted = list(keys), wanted
        self.handled = list(self.came_to)
        return self.handled
