"""Open Campus credentials: asked for directly (through the gateway) or by an award (an
`issuer.issue_credential` command from the badges service), and the systems' Open Campus keys.
Issuing itself is the scheduler's work."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
import structlog

from services.issuer import domain
from services.issuer.deps import Ctx, Deps
from services.issuer.repository.credentials import Credentials
from services.issuer.scheduler import fingerprint
from shared.context import Handler
from shared.errors import Conflict, NotFound, PermanentError, ValidationFailed
from shared.messages.base import Message
from shared.messages.credentials import (
    CancelCredential,
    GetCredential,
    GetOpenCampusSettings,
    IssueCredential,
    ListCredentials,
    RequestCredential,
    RetryCredential,
    SetOpenCampusKey,
)
from shared.opencampus import InvalidIssueRequest, IssueRequest, validate_issue_request

log = structlog.get_logger()


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _credential_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"Could not find credential field: `id`, value: `{value}`") from None


async def _shown(repo: Credentials, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    attempts = await repo.attempts_of([row["id"] for row in rows])
    return [domain.credential(row, attempts[row["id"]]) for row in rows]


async def _create(
    ctx: Ctx,
    repo: Credentials,
    request: IssueRequest,
    *,
    credential_id: uuid.UUID,
    system_id: int,
    system: str,
    award_uid: uuid.UUID | None,
) -> tuple[bool, dict[str, Any]]:
    reference = request.issuer_reference_id or f"plaudit:{credential_id}"
    body = {**request.to_wire(), "issuerReferenceId": reference}
    created, row = await repo.insert(
        credential_id=credential_id,
        system_id=system_id,
        system=system,
        reference=reference,
        kind=request.kind,
        award_uid=award_uid,
        body=body,
        body_hash=body_hash(body),
        correlation_id=ctx.envelope.correlation_id,
    )
    if created:
        ctx.after_commit.append(ctx.deps.scheduler.wake)
    return created, row


async def request_credential(cmd: RequestCredential, ctx: Ctx) -> dict[str, Any]:
    """`POST /systems/:s/credentials`: 202 for a new credential; the same issuerReferenceId with
    the same body answers the existing one, with another body 409."""
    ctx.system_id = cmd.system_id
    try:
        request = validate_issue_request(cmd.body)
    except InvalidIssueRequest as invalid:
        raise ValidationFailed(invalid.details) from None
    repo = ctx.deps.repository(ctx.conn).credentials
    created, row = await _create(
        ctx,
        repo,
        request,
        credential_id=uuid.uuid4(),
        system_id=cmd.system_id,
        system=cmd.system,
        award_uid=None,
    )
    if created:
        return {
            "created": True,
            "credential": {
                "id": str(row["id"]),
                "issuerReferenceId": row["issuer_reference_id"],
                "status": row["status"],
            },
        }
    given = {**request.to_wire(), "issuerReferenceId": row["issuer_reference_id"]}
    if row["body_hash"] != body_hash(given):
        raise Conflict(
            "This issuerReferenceId was used before with another body",
            details={"issuerReferenceId": row["issuer_reference_id"]},
        )
    return {"created": False, "credential": (await _shown(repo, [row]))[0]}


async def get_credential(query: GetCredential, ctx: Ctx) -> dict[str, Any]:
    ctx.system_id = query.system_id
    repo = ctx.deps.repository(ctx.conn).credentials
    row = await repo.get(query.system_id, _credential_id(query.id))
    if row is None:
        raise NotFound(f"Could not find credential field: `id`, value: `{query.id}`")
    return (await _shown(repo, [row]))[0]


async def list_credentials(query: ListCredentials, ctx: Ctx) -> dict[str, Any]:
    repo = ctx.deps.repository(ctx.conn).credentials
    rows, total = await repo.listing(query.system_id, query.status, query.page)
    return {"items": await _shown(repo, rows), "total": total}


async def retry_credential(cmd: RetryCredential, ctx: Ctx) -> dict[str, Any]:
    ctx.system_id = cmd.system_id
    credential_id = _credential_id(cmd.id)
    repo = ctx.deps.repository(ctx.conn).credentials
    row = await repo.retry(cmd.system_id, credential_id)
    if row is None:
        existing = await repo.get(cmd.system_id, credential_id)
        if existing is None:
            raise NotFound(f"Could not find credential field: `id`, value: `{cmd.id}`")
        raise Conflict(f"Only a failed credential can be retried; this one is {existing['status']}")
    ctx.after_commit.append(ctx.deps.scheduler.wake)
    return (await _shown(repo, [row]))[0]


async def set_open_campus_key(cmd: SetOpenCampusKey, ctx: Ctx) -> dict[str, Any]:
    ctx.system_id = cmd.system_id
    key = cmd.api_key.strip()
    repo = ctx.deps.repository(ctx.conn).credentials
    await repo.set_key(cmd.system_id, ctx.deps.secrets.encrypt(key), fingerprint(key), key[-4:])
    return {"configured": True, "apiKeyLast4": key[-4:]}


async def get_open_campus_settings(query: GetOpenCampusSettings, ctx: Ctx) -> dict[str, Any]:
    repo = ctx.deps.repository(ctx.conn).credentials
    last4 = await repo.key_last4(query.system_id)
    return {"configured": last4 is not None, "apiKeyLast4": last4}


async def issue_credential(cmd: IssueCredential, ctx: Ctx) -> None:
    """An award asked for its credential (the badges service built and checked the body)."""
    try:
        request = validate_issue_request(cmd.body)
    except InvalidIssueRequest:
        log.error("credential.invalid_command", credential_id=str(cmd.credential_id))
        raise PermanentError("the credential body breaks Open Campus's rules") from None
    assert ctx.system_id is not None
    repo = ctx.deps.repository(ctx.conn).credentials
    await _create(
        ctx,
        repo,
        request,
        credential_id=cmd.credential_id,
        system_id=ctx.system_id,
        system=cmd.system,
        award_uid=cmd.award_uid,
    )


async def cancel_credential(cmd: CancelCredential, ctx: Ctx) -> None:
    repo = ctx.deps.repository(ctx.conn).credentials
    await repo.cancel(cmd.credential_id)


HANDLERS: dict[type[Message], Handler[Deps]] = {
    RequestCredential: request_credential,
    GetCredential: get_credential,
    ListCredentials: list_credentials,
    RetryCredential: retry_credential,
    SetOpenCampusKey: set_open_campus_key,
    GetOpenCampusSettings: get_open_campus_settings,
}
EVENT_HANDLERS: dict[type[Message], list[Handler[Deps]]] = {
    IssueCredential: [issue_credential],
    CancelCredential: [cancel_credential],
}
