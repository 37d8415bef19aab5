"""Handlers of the webhooks service: the fan-out of every event to the system's matching
endpoints (it only records deliveries; the dispatcher sends them), the endpoints API, the
delivery log, replay and recovery, and the purge of a deleted system."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog

from services.webhooks import domain, repository
from services.webhooks.deps import BatchCtx, Ctx, Deps
from services.webhooks.repository import Repository
from shared.context import Handler, MessageHandler, Sensitive, chooses_commit, handles_batches
from shared.errors import NotFound, ValidationFailed
from shared.guard import BlockedTarget, check_url
from shared.messages import MESSAGE_TYPES
from shared.messages.base import Message
from shared.messages.events import SystemDeleted
from shared.messages.webhooks import (
    FANNED_OUT,
    CreateEndpoint,
    DeleteEndpoint,
    GetEndpoint,
    ListDeliveries,
    ListEndpoints,
    RecoverDeliveries,
    RetryDelivery,
    RotateEndpointSecret,
    TestEndpoint,
    UpdateEndpoint,
)

log = structlog.get_logger()


# Fan-out ----------------------------------------------------------------------------------------


def _payload(
    endpoint_format: str, event_type: str, occurred_at: datetime, data: Any
) -> bytes | None:
    if endpoint_format == "badgekit":
        return domain.badgekit_payload(event_type, data)
    return domain.standard_payload(event_type, occurred_at, data)


@handles_batches
@chooses_commit
async def fan_out(events: list[Message], ctx: BatchCtx) -> None:
    """Record one delivery per event of the batch and endpoint of its system that takes it, in
    one statement with the events' inbox rows; the dispatcher sends them. An event no endpoint
    takes writes nothing (most systems have no endpoint: their awards cost the webhooks service
    no write), and a redelivered one nothing more."""
    envelopes = [each.envelope for each in ctx.each]
    keys = [envelope.message_id for envelope in envelopes]
    handled = await ctx.handle_at_once(
        repository.FAN_OUT,
        list(domain.BADGEKIT_TYPES),
        keys,
        [domain.standard_payload(e.type, e.occurred_at, e.data) for e in envelopes],
        [domain.badgekit_payload(e.type, e.data) for e in envelopes],
        keys=keys,
        wanted=repository.FAN_OUT_WANTED,
    )
    fanned_out = [(e, done.rows) for e, done in zip(envelopes, handled, strict=True) if done.rows]
    if fanned_out:
        ctx.after_commit.append(ctx.deps.dispatcher.wake)
    if fanned_out:
        # One line for the batch: each event's id and how many deliveries it made.
        log.info(
            "webhooks.fanned_out",
            events={str(envelope.message_id): deliveries for envelope, deliveries in fanned_out},
        )


async def purge_system(event: SystemDeleted, ctx: Ctx) -> None:
    assert ctx.system_id is not None
    repo = ctx.deps.repository(ctx.conn)
    await repo.purge_system(ctx.system_id, keep=ctx.envelope)
    log.info("webhooks.system_purged", system_id=ctx.system_id)


# Endpoints --------------------------------------------------------------------------------------


def _check_target(ctx: Ctx, url: str) -> None:
    """Refuse at once a URL that could never be delivered to (it is checked again, on the
    resolved address, at every send)."""
    try:
        check_url(url, allow_private=bool(ctx.deps.settings.webhook_allow_private))
    except BlockedTarget as blocked:
        raise ValidationFailed(
            [{"field": "url", "value": url, "message": f"Refused target: {blocked.reason}"}]
        ) from None


def _endpoint_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"Could not find webhook field: `id`, value: `{value}`") from None


async def _endpoint(ctx: Ctx, repo: Repository, system_id: int, value: str) -> dict[str, Any]:
    ctx.system_id = system_id
    found = await repo.endpoint(system_id, _endpoint_id(value))
    if found is None:
        raise NotFound(f"Could not find webhook field: `id`, value: `{value}`")
    return found


async def create_endpoint(cmd: CreateEndpoint, ctx: Ctx) -> Sensitive:
    ctx.system_id = cmd.system_id
    _check_target(ctx, cmd.endpoint.url)
    secret = domain.new_secret()
    repo = ctx.deps.repository(ctx.conn)
    row = await repo.insert_endpoint(
        system_id=cmd.system_id,
        system=cmd.system,
        fields=cmd.endpoint.model_dump(),
        secret_ciphertext=ctx.deps.secrets.encrypt(secret),
    )
    return Sensitive(data=domain.endpoint(row, secret=secret), stored=domain.endpoint(row))


async def list_endpoints(query: ListEndpoints, ctx: Ctx) -> dict[str, Any]:
    repo = ctx.deps.repository(ctx.conn)
    rows, total = await repo.endpoints(query.system_id, query.page)
    return {"items": [domain.endpoint(row) for row in rows], "total": total}


async def get_endpoint(query: GetEndpoint, ctx: Ctx) -> dict[str, Any]:
    repo = ctx.deps.repository(ctx.conn)
    return domain.endpoint(await _endpoint(ctx, repo, query.system_id, query.id))


async def update_endpoint(cmd: UpdateEndpoint, ctx: Ctx) -> dict[str, Any]:
    repo = ctx.deps.repository(ctx.conn)
    row = await _endpoint(ctx, repo, cmd.system_id, cmd.id)
    changes = cmd.changes.model_dump(exclude_unset=True)
    if "url" in changes:
        _check_target(ctx, changes["url"])
    await repo.update_endpoint(row["id"], changes)
    if changes.get("enabled") is True:
        await repo.enable(row["id"])
    elif changes.get("enabled") is False:
        await repo.disable(row["id"], "disabled through the API")
    return domain.endpoint(await _endpoint(ctx, repo, cmd.system_id, cmd.id))


async def delete_endpoint(cmd: DeleteEndpoint, ctx: Ctx) -> dict[str, Any]:
    repo = ctx.deps.repository(ctx.conn)
    row = await _endpoint(ctx, repo, cmd.system_id, cmd.id)
    await repo.delete_endpoint(row["id"])
    return domain.endpoint(row)


async def rotate_endpoint_secret(cmd: RotateEndpointSecret, ctx: Ctx) -> Sensitive:
    """A new secret signs from now on; the old one signs beside it for WEBHOOK_SECRET_OVERLAP,
    so receivers can switch without missing a delivery."""
    repo = ctx.deps.repository(ctx.conn)
    row = await _endpoint(ctx, repo, cmd.system_id, cmd.id)
    secret = domain.new_secret()
    overlap = ctx.deps.settings.webhook_secret_overlap.total_seconds()
    await repo.rotate_secret(row["id"], ctx.deps.secrets.encrypt(secret), overlap)
    shown = {"id": str(row["id"])}
    return Sensitive(data={**shown, "secret": secret}, stored=shown)


async def test_endpoint(cmd: TestEndpoint, ctx: Ctx) -> list[str]:
    """Send a `webhook.test` event to this endpoint alone."""
    repo = ctx.deps.repository(ctx.conn)
    row = await _endpoint(ctx, repo, cmd.system_id, cmd.id)
    data = {"system": row["system"], "endpoint": str(row["id"])}
    payload = _payload(row["format"], "webhook.test", datetime.now(UTC), data)
    if payload is None:
        raise ValidationFailed(
            [
                {
                    "field": "format",
                    "value": row["format"],
                    "message": "BadgeKit's format has no test event",
                }
            ]
        )
    created = await repo.insert_deliveries(
        cmd.system_id, uuid.uuid4(), "webhook.test", [(row["id"], payload)]
    )
    ctx.after_commit.append(ctx.deps.dispatcher.wake)
    return [str(delivery_id) for delivery_id in created]


# Deliveries -------------------------------------------------------------------------------------


async def list_deliveries(query: ListDeliveries, ctx: Ctx) -> dict[str, Any]:
    repo = ctx.deps.repository(ctx.conn)
    row = await _endpoint(ctx, repo, query.system_id, query.id)
    rows, total = await repo.deliveries(row["id"], query.status, query.page)
    attempts = await repo.attempts_of([delivery["id"] for delivery in rows])
    return {
        "items": [domain.delivery(delivery, attempts[delivery["id"]]) for delivery in rows],
        "total": total,
    }


async def retry_delivery(cmd: RetryDelivery, ctx: Ctx) -> list[str]:
    repo = ctx.deps.repository(ctx.conn)
    row = await _endpoint(ctx, repo, cmd.system_id, cmd.id)
    try:
        delivery_id = uuid.UUID(cmd.delivery_id)
    except ValueError:
        delivery_id = None
    requeued = (
        await repo.requeue(row["id"], delivery_id=delivery_id) if delivery_id is not None else []
    )
    if not requeued:
        raise NotFound(
            f"Could not find a finished delivery field: `id`, value: `{cmd.delivery_id}`"
        )
    ctx.after_commit.append(ctx.deps.dispatcher.wake)
    return [str(found) for found in requeued]


async def recover_deliveries(cmd: RecoverDeliveries, ctx: Ctx) -> list[str]:
    """Replay every failed delivery of the endpoint created since a time (and before another)."""
    repo = ctx.deps.repository(ctx.conn)
    row = await _endpoint(ctx, repo, cmd.system_id, cmd.id)
    requeued = await repo.requeue(row["id"], since=cmd.window.since, until=cmd.window.until)
    if requeued:
        ctx.after_commit.append(ctx.deps.dispatcher.wake)
    return [str(found) for found in requeued]


REQUEST_HANDLERS: dict[type[Message], Handler[Deps]] = {
    CreateEndpoint: create_endpoint,
    ListEndpoints: list_endpoints,
    GetEndpoint: get_endpoint,
    UpdateEndpoint: update_endpoint,
    DeleteEndpoint: delete_endpoint,
    RotateEndpointSecret: rotate_endpoint_secret,
    TestEndpoint: test_endpoint,
    ListDeliveries: list_deliveries,
    RetryDelivery: retry_delivery,
    RecoverDeliveries: recover_deliveries,
}


EVENT_HANDLERS: dict[type[Message], list[MessageHandler[Deps]]] = {
    SystemDeleted: [purge_system],
    **{MESSAGE_TYPES[event_type]: [fan_out] for event_type in FANNED_OUT},
}
