"""Open Badges 3.0 credentials: each award's `OpenBadgeCredential`, signed once when its
`badge.awarded` arrives (after the award committed), in both forms (JSON-LD with an
`eddsa-rdfc-2022` proof, and a VC-JWT), with a status list entry; a `badge.revoked` sets its
bit and signs its list again. Both happen in the event's transaction, so a redelivery (the inbox)
never signs twice and a crash leaves nothing half-done. Awards are signed in batches (the
`badge.awarded` that arrive together, `shared.event_dispatch`): per batch, one read of each
system's keys, one of its open list and one index check for all its draws, one insert."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

from services.issuer.deps import BatchCtx, Ctx, Deps
from services.issuer.keyring import CurrentKeys
from services.issuer.ob3 import credential, data_integrity, status_list, vc_jwt
from services.issuer.repository import Repository
from services.issuer.repository.open_badges import OpenBadges, SignedCredential
from shared.context import Handler, MessageHandler, handles_batches
from shared.errors import NotFound
from shared.messages.base import Message
from shared.messages.instances import BadgeAwarded, BadgeRevoked
from shared.messages.open_badges import (
    GetOpenBadgeCredential,
    GetStatusList,
    SignOpenBadgeCredential,
)
from shared.public_urls import badge_class_url, status_list_url

log = structlog.get_logger()

# Every list holds MIN_ENTRIES indexes and gives out at most half of them: a random draw then
# finds a free index at least every other time, and a list says little about how many awards
# a system made. Indexes are drawn this many at a time (one round trip).
LIST_CAPACITY = status_list.MIN_ENTRIES // 2
DRAWS = 8


def _moment(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _badge_url(ctx: Ctx, event: BadgeAwarded) -> str:
    shown = event.badge

    def slug(level: str) -> str | None:
        org = shown.get(level)
        return org["slug"] if org else None

    return badge_class_url(
        ctx.deps.settings.base_url, event.system, slug("issuer"), slug("program"), shown["slug"]
    )


def signed_document(document: dict[str, Any], keys: CurrentKeys) -> dict[str, Any]:
    """`document` with its Data Integrity proof, as a set of one: OB 3.0's schema wants `proof`
    an array, and to JSON-LD (VC 2.0 defines `proof` as a graph container) one proof or a set of
    one are the same statements."""
    signed = data_integrity.add_proof(
        document, keys.proof_key, keys.proof_method, created=datetime.now(UTC)
    )
    return {**signed, "proof": [signed["proof"]]}


def signed_status_list(keys: CurrentKeys, url: str, revoked: bytes) -> str:
    """A list's `BitstringStatusListCredential` as served, signed by the system's current key."""
    document = status_list.status_list_credential(
        list_url=url,
        issuer=keys.did,
        valid_from=datetime.now(UTC),
        encoded_list=status_list.encode(revoked),
    )
    return orjson.dumps(signed_document(document, keys)).decode()


async def _status_slots(
    repo: OpenBadges, base_url: str, system_id: int, system: str, keys: CurrentKeys, count: int
) -> list[tuple[str, int]]:
    """`count` slots of a list with room: distinct indexes of it that no credential has, drawn
    at random. Nothing is locked here: the credentials' insert counts the indexes against the
    list, and finds whether another credential took one, or filled the list, first
    (`OpenBadges.insert`)."""
    found = await repo.open_list(system_id)
    if found is not None:
        list_id, size = found["id"], found["size"]
    else:
        list_id, size = secrets.token_hex(8), status_list.MIN_ENTRIES
        url = status_list_url(base_url, system, list_id)
        document = signed_status_list(keys, url, bytes(size // 8))
        await repo.add_list(list_id, system_id, system, size, LIST_CAPACITY, document)
    chosen: list[int] = []
    while len(chosen) < count:
        # At most half a list is given out: twice the draws needed (and a few) find them all
        # in one round trip most of the time.
        need = count - len(chosen)
        drawn = {secrets.randbelow(size) for _ in range(2 * need + DRAWS)}
        free = await repo.free_indexes(list_id, sorted(drawn.difference(chosen)))
        chosen.extend(free[:need])
    return [(list_id, index) for index in chosen]


def _signed(
    event: BadgeAwarded, ctx: Ctx, keys: CurrentKeys, slot: tuple[str, int]
) -> SignedCredential:
    """The award's credential for its status slot, signed in both forms."""
    assert ctx.system_id is not None
    base_url = ctx.deps.settings.base_url
    award = credential.Award(
        slug=event.uid,
        email=event.email,
        salt=event.salt,
        issued_on=datetime.fromtimestamp(event.issued_on, UTC),
        expires=_moment(event.expires),
        evidence_url=event.evidence,
        narrative=event.narrative,
    )
    badge = credential.Badge.from_wire(event.badge, _badge_url(ctx, event))
    issuer = credential.Issuer.from_wire(event.badge["system"], keys.did)
    list_id, index = slot
    document = credential.build(
        award,
        badge,
        issuer,
        credential.StatusSlot(status_list_url(base_url, event.system, list_id), index),
        base_url=base_url,
    )
    signed = signed_document(document, keys)
    return SignedCredential(
        slug=event.uid,
        system_id=ctx.system_id,
        status_list_id=list_id,
        status_index=index,
        document=orjson.dumps(signed).decode(),
        jwt=vc_jwt.encode(signed, keys.jwt_key, keys.jwt_kid),
    )


@handles_batches
async def sign_credentials(events: list[BadgeAwarded], batch: BatchCtx) -> None:
    await _sign(batch, list(zip(events, batch.each, strict=True)))


@handles_batches
async def sign_backfilled(commands: list[SignOpenBadgeCredential], batch: BatchCtx) -> None:
    """Awards made before credentials existed, as their `badge.awarded` would have had them
    signed: one whose credential exists is skipped (a command may come twice); a revoked one is
    born revoked."""
    repo = batch.deps.repository(batch.conn)
    signed = await repo.open_badges.signed([command.awarded.uid for command in commands])
    awards: dict[str, tuple[BadgeAwarded, Ctx]] = {}
    for command, ctx in zip(commands, batch.each, strict=True):
        uid = command.awarded.uid
        if uid in signed or uid in awards:
            continue
        assert ctx.system_id is not None
        if command.revoked:
            await repo.open_badges.revoke_early(ctx.system_id, uid)
        awards[uid] = (command.awarded, ctx)
    await _sign(batch, list(awards.values()))
    log.info("open_badge.backfilled", signed=len(awards), skipped=len(commands) - len(awards))


async def _sign(batch: BatchCtx, awards: list[tuple[BadgeAwarded, Ctx]]) -> None:
    """Sign and store the credentials of awards, per system in one go."""
    if not awards:
        return
    repo = batch.deps.repository(batch.conn)
    base_url = batch.deps.settings.base_url
    keys: dict[int, CurrentKeys] = {}
    waiting: dict[int, list[tuple[BadgeAwarded, Ctx]]] = {}
    for event, ctx in awards:
        assert ctx.system_id is not None
        if ctx.system_id not in keys:
            keys[ctx.system_id] = await batch.deps.keyring.current(
                repo.signing_keys, ctx.system_id, event.system
            )
        waiting.setdefault(ctx.system_id, []).append((event, ctx))
    revoked_early: list[tuple[BadgeAwarded, Ctx]] = []
    while waiting:
        signed = []
        for system_id, awards in waiting.items():
            system_keys = keys[system_id]
            slots = await _status_slots(
                repo.open_badges, base_url, system_id, awards[0][0].system, system_keys, len(awards)
            )
            for (event, ctx), slot in zip(awards, slots, strict=True):
                signed.append(_signed(event, ctx, system_keys, slot))
        stored = await repo.open_badges.insert(signed)
        lost: dict[int, list[tuple[BadgeAwarded, Ctx]]] = {}
        for system_id, awards in waiting.items():
            for event, ctx in awards:
                if event.uid not in stored:
                    lost.setdefault(system_id, []).append((event, ctx))
                elif stored[event.uid]:
                    revoked_early.append((event, ctx))
        if lost:
            # Another credential filled a list or took an index since the draw: draw again.
            log.info("open_badge.slots_lost", lost=sum(map(len, lost.values())))
        waiting = lost
    log.info("open_badge.signed", count=len(awards), systems=len(keys))
    for event, ctx in revoked_early:
        # The award was revoked before its credential was signed (its events came in that
        # order): the credential is born revoked.
        await _revoke(repo, ctx, event.system, event.uid)


async def _revoke(repo: Repository, ctx: Ctx, system: str, slug: str) -> bool:
    assert ctx.system_id is not None
    found = await repo.open_badges.revoke(ctx.system_id, slug)
    if found is None:
        return False
    bits = status_list.StatusList.from_bytes(found["revoked"])
    bits.set(found["index"])
    keys = await ctx.deps.keyring.current(repo.signing_keys, ctx.system_id, system)
    url = status_list_url(ctx.deps.settings.base_url, system, found["list_id"])
    await repo.open_badges.update_list(
        found["list_id"], bits.to_bytes(), signed_status_list(keys, url, bits.to_bytes())
    )
    return True


async def sign_status_lists(repo: Repository, ctx: Ctx, system_id: int, system: str) -> None:
    """Sign every status list of the system again with its current key (after a rotation: a
    list is always signed by the current key, so retiring a previous one never breaks a list)."""
    keys = await ctx.deps.keyring.current(repo.signing_keys, system_id, system)
    for found in await repo.open_badges.lists_of(system_id):
        url = status_list_url(ctx.deps.settings.base_url, system, found["id"])
        document = signed_status_list(keys, url, found["revoked"])
        await repo.open_badges.update_list(found["id"], found["revoked"], document)


async def revoke_credential(event: BadgeRevoked, ctx: Ctx) -> None:
    """Set the credential's bit in its list (the credential itself stays, as it was signed).
    Should the award's credential not be signed yet, it will be signed revoked."""
    assert ctx.system_id is not None
    repo = ctx.deps.repository(ctx.conn)
    revoked = await _revoke(repo, ctx, event.system, event.uid)
    if not revoked and await repo.open_badges.by_slug(event.uid) is None:
        await repo.open_badges.revoke_early(ctx.system_id, event.uid)
    log.info("open_badge.revoked", system_id=ctx.system_id)


async def get_open_badge_credential(query: GetOpenBadgeCredential, ctx: Ctx) -> dict[str, Any]:
    row = await ctx.deps.repository(ctx.conn).open_badges.by_slug(query.slug)
    if row is None:
        raise NotFound(f"Could not find credential field: `slug`, value: `{query.slug}`")
    return {
        "document": row["document"],
        "jwt": row["jwt"],
        "revoked": row["revoked_at"] is not None,
    }


async def get_status_list(query: GetStatusList, ctx: Ctx) -> dict[str, Any]:
    row = await ctx.deps.repository(ctx.conn).open_badges.status_list(
        query.system_id, query.list_id
    )
    if row is None:
        raise NotFound(f"Could not find status list field: `id`, value: `{query.list_id}`")
    return {"document": row["document"]}


HANDLERS: dict[type[Message], Handler[Deps]] = {
    GetOpenBadgeCredential: get_open_badge_credential,
    GetStatusList: get_status_list,
}
EVENT_HANDLERS: dict[type[Message], list[MessageHandler[Deps]]] = {
    BadgeAwarded: [sign_credentials],
    BadgeRevoked: [revoke_credential],
    SignOpenBadgeCredential: [sign_backfilled],
}
