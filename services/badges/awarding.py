"""Awarding a badge: the one way it is done, below the handlers that ask for it (an award, a bulk
award, a claim code, a milestone).

An award is planned first (`plan`): what can be checked without writing is checked (dates, an
archived badge, a credential Open Campus would refuse) and every value is fixed, so its answer
and its events are known before anything is written. Then it is written (`write`) in the
caller's transaction: its claim code consumed, the badge's limit checked under its lock, the
insert (`repository.instances.INSERT`), its events (`badge.awarded`, and `issuer.issue_credential`
when it starts a credential), and the milestones it completes followed up (`follow_milestones`),
which award their primary badges the same way or queue an application. A plain award commits
the same insert and events at once instead (`services.badges.handlers.instances`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg
import structlog

from services.badges import applying
from services.badges.deps import Ctx, repository
from services.badges.domain import claim_codes as codes
from services.badges.domain import credentials
from services.badges.domain import instances as domain
from services.badges.domain import milestones as milestone_rules
from services.badges.domain.awarding import AwardRules
from services.badges.errors import not_found, slug_taken
from services.badges.lookups import shown
from services.badges.repository.instances import NewAward, NewCredential
from shared.errors import AppError
from shared.messages.applications import ApplicationFields
from shared.messages.claim_codes import ClaimCodeClaimed
from shared.messages.credentials import IssueCredential
from shared.messages.instances import AwardFields, BadgeAwarded
from shared.messages.open_badges import SignOpenBadgeCredential
from shared.public_urls import assertion_url

log = structlog.get_logger()

SALT_BYTES = 16


class Planned(NamedTuple):
    """An award with every value fixed before it is written: its row, the Open Campus body of
    the credential it starts (if any), and its answer."""

    award: NewAward
    credential_body: dict[str, Any] | None
    shown: dict[str, Any]


def plan(
    ctx: Ctx,
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    email: str,
    *,
    comment: str | None = None,
    issued_on: datetime | None = None,
    expires: datetime | None = None,
    claim_code: str | None = None,
    slug: str | None = None,
    evidence_url: str | None = None,
    holder: credentials.Holder | None = None,
    name: str | None = None,
    narrative: str | None = None,
) -> Planned:
    """Check what can be checked before writing and fix every value of the award. Its issuedOn
    is the service's clock (to the millisecond where it starts a credential, as Open Campus
    shows dates, so that the stored award and its credential agree)."""
    now = datetime.now(UTC)
    domain.check_dates(issued_on, expires, now)
    AwardRules.of(badge).check_awardable()
    issued = issued_on or now
    award_uid, credential, body = uuid.uuid4(), None, None
    if holder is not None:
        issued = credentials.to_millisecond(issued)
        request = credentials.issue_request(
            badge,
            shown_badge["imageUrl"],
            holder,
            award_uid=award_uid,
            email=email,
            issued_on=issued,
            expires=expires,
        )
        credential = NewCredential(uuid.uuid4(), holder.oc_id, holder.address, holder.name)
        body = request.to_wire()
    award = NewAward(
        uid=award_uid,
        slug=slug or uuid.uuid4().hex,
        badge_id=badge["id"],
        system_id=badge["system_id"],
        email=email,
        salt=secrets.token_hex(SALT_BYTES),
        issued_on=issued,
        expires=expires,
        claim_code=claim_code,
        comment=comment,
        evidence_url=evidence_url,
        unique=badge["is_unique"],
        credential=credential,
        name=name,
        narrative=narrative,
    )
    return Planned(award, body, domain.instance(award.row(), ctx.deps.base_url))


def plan_fields(
    ctx: Ctx,
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    fields: AwardFields,
    *,
    narrative: str | None = None,
) -> Planned:
    """`plan` for an award's fields as a request or an import's row gives them, its holder (for
    a credential) checked against the badge's credential. `narrative` is an import row's: a
    request's award has none (BadgeKit's fields)."""
    return plan(
        ctx,
        badge,
        shown_badge,
        fields.email,
        comment=fields.comment,
        issued_on=fields.issued_on,
        expires=fields.expires,
        claim_code=fields.claim_code,
        slug=fields.slug,
        evidence_url=fields.evidence,
        holder=credentials.holder_of(badge, fields),
        name=fields.name,
        narrative=narrative,
    )


def awarded_event(
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    shown: dict[str, Any],
    fields: Mapping[str, Any],
) -> BadgeAwarded:
    """The `badge.awarded` of an award: `fields` its values (a `NewAward`'s, or a stored row's
    of `Instances.take_open_badge_pending`), `shown` the award as responses show it."""
    expires = fields["expires"]
    return BadgeAwarded(
        system=badge["system"]["slug"],
        uid=fields["slug"],
        badge=shown_badge,
        email=fields["email"],
        assertion_url=shown["assertionUrl"],
        open_badge_credential_url=shown["openBadgeCredentialUrl"],
        issued_on=domain.unix_seconds(fields["issued_on"]),
        comment=fields["comment"],
        credential=shown.get("credential"),
        salt=fields["salt"],
        expires=domain.unix_seconds(expires) if expires is not None else None,
        evidence=fields["evidence_url"],
        narrative=fields["narrative"],
    )


def emit_awarded(
    ctx: Ctx,
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    planned: Planned,
    *,
    notify: bool = True,
) -> None:
    """The award's events: `badge.awarded`, and the command that issues its credential.
    Without `notify` (an import that asks for silence), no `badge.awarded` reaches the webhooks:
    the issuer is asked to sign its Open Badges 3.0 credential directly instead."""
    award = planned.award
    awarded = awarded_event(badge, shown_badge, planned.shown, vars(award))
    if notify:
        ctx.emit(awarded, system_id=badge["system_id"])
    else:
        ctx.emit(
            SignOpenBadgeCredential(awarded=awarded, revoked=False), system_id=badge["system_id"]
        )
    if award.credential is not None and planned.credential_body is not None:
        command = IssueCredential(
            credential_id=award.credential.id,
            system=badge["system"]["slug"],
            award_uid=award.uid,
            body=planned.credential_body,
        )
        ctx.emit(command, system_id=badge["system_id"])


async def award(
    ctx: Ctx,
    badge: dict[str, Any],
    email: str,
    *,
    comment: str | None = None,
    issued_on: datetime | None = None,
    expires: datetime | None = None,
    claim_code: str | None = None,
    slug: str | None = None,
    evidence_url: str | None = None,
    holder: credentials.Holder | None = None,
) -> dict[str, Any]:
    """Award `badge` (a row of `repository.badges`) to `email` in the caller's transaction and
    return the award as responses show it; with `holder`, the award also issues the badge's
    credential to it. Raises 409 for an archived badge, a reached limit or a unique badge the
    email holds; 400/404 for a bad `expires` or claim code, or a credential Open Campus would
    refuse."""
    shown_badge = shown(ctx, badge)
    planned = plan(
        ctx,
        badge,
        shown_badge,
        email,
        comment=comment,
        issued_on=issued_on,
        expires=expires,
        claim_code=claim_code,
        slug=slug,
        evidence_url=evidence_url,
        holder=holder,
    )
    new = await write(ctx, badge, shown_badge, planned)
    assert new is not None
    return new


async def write(
    ctx: Ctx,
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    planned: Planned,
    *,
    skip_held: bool = False,
    locked: bool = False,
    notify: bool = True,
) -> dict[str, Any] | None:
    """Write a planned award in the caller's transaction: its claim code consumed, the badge's
    limit checked under its lock, its events, its milestones followed up. With `skip_held`,
    None instead of a 409 when the email holds the (unique) badge; `locked` when the caller
    holds the badge's lock already; without `notify`, no `badge.awarded` (`emit_awarded`)."""
    award = planned.award
    if ctx.system_id is None:
        ctx.system_id = badge["system_id"]
    if award.claim_code is not None:
        await consume_claim_code(ctx, badge, shown_badge, award.claim_code, award.email)
    repo = repository(ctx)
    limit = AwardRules.of(badge).limit
    if limit is not None and not locked:
        # Locks are always taken recipient first, then badge: a milestone awarding this badge
        # holds the recipient's lock when it comes here, so the other order could deadlock.
        await repo.milestones.lock_recipient(badge["system_id"], award.email)
        await repo.instances.lock_badge(badge["id"])
    try:
        inserted = await repo.instances.insert(award, limit)
    except asyncpg.UniqueViolationError:
        raise taken(award) from None
    if not inserted:
        await refused(ctx, badge, award.email, skip_held=skip_held)
        return None
    emit_awarded(ctx, badge, shown_badge, planned, notify=notify)
    await follow_milestones(ctx, badge, award.email)
    return planned.shown


def taken(award: NewAward) -> AppError:
    """The 409 of an award whose slug another award has."""
    return slug_taken("badgeInstance", {"slug": award.slug, "email": award.email})


async def refused(ctx: Ctx, badge: dict[str, Any], email: str, *, skip_held: bool) -> None:
    """Why an insert inserted nothing: the email holds the unique badge, or the limit."""
    held = (
        await repository(ctx).instances.newest_active(badge["id"], email)
        if badge["is_unique"]
        else None
    )
    if held is not None:
        if skip_held:
            return
        url = assertion_url(ctx.deps.base_url, held["slug"])
        raise domain.already_awarded(email, badge["slug"], url)
    limit = AwardRules.of(badge).limit
    if limit is not None:
        raise domain.limit_reached(badge["slug"], limit)
    raise domain.already_awarded(email, badge["slug"], None)


async def award_in_bulk(
    ctx: Ctx,
    badge: dict[str, Any],
    emails: Sequence[str],
    *,
    comment: str | None = None,
    issued_on: datetime | None = None,
    expires: datetime | None = None,
) -> list[dict[str, Any]]:
    """Award one badge to many emails at once, in the caller's transaction: all or nothing,
    except that emails holding the (unique) badge already are skipped; the new awards."""
    shown_badge = shown(ctx, badge)
    planned = [
        plan(ctx, badge, shown_badge, email, comment=comment, issued_on=issued_on, expires=expires)
        for email in _once_each(emails)
    ]
    written = await award_many(ctx, badge, shown_badge, planned)
    return [new for new in written if isinstance(new, dict)]  # no AppError: not `separately`


async def award_many(
    ctx: Ctx,
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    planned: Sequence[Planned],
    *,
    notify: bool = True,
    separately: bool = False,
) -> list[dict[str, Any] | AppError | None]:
    """Awards of one badge planned together (a bulk award, a batch of an import), written in the
    caller's transaction the one way: plain ones in one statement (`insert_at_once`), the others
    in turn as a single award is written, the locks they take taken first, in order
    (`lock_in_order`). For each: the award as shown, or None where its email holds the (unique)
    badge. A refusal (a limit reached) raises; with `separately`, each award is written in a
    savepoint of its own and its refusal is its result instead, the others kept."""
    rules = AwardRules.of(badge)
    if all(
        rules.commits_at_once(claim_code=False, credential=new.award.credential is not None)
        for new in planned
    ):
        inserted = await insert_at_once(ctx, badge, shown_badge, planned, notify=notify)
        return [new.shown if done else None for new, done in zip(planned, inserted, strict=True)]
    if rules.limit is not None:
        await lock_in_order(ctx, [(badge, new.award) for new in planned])

    async def one(new: Planned) -> dict[str, Any] | None:
        return await write(ctx, badge, shown_badge, new, skip_held=True, locked=True, notify=notify)

    written: list[dict[str, Any] | AppError | None] = []
    for new in planned:
        if not separately:
            written.append(await one(new))
            continue
        emitted = len(ctx.events)
        try:
            async with repository(ctx).savepoint():
                written.append(await one(new))
        except AppError as error:
            del ctx.events[emitted:]  # its events go with its writes
            written.append(error)
    return written


async def insert_at_once(
    ctx: Ctx,
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    planned: Sequence[Planned],
    *,
    notify: bool = True,
) -> list[bool]:
    """Plain awards of one badge (`AwardRules.commits_at_once`: nothing to do but the insert
    and the events) in one statement, in the caller's transaction, with the events of those
    inserted; for each, whether it was (one that was not: its email holds the unique badge)."""
    if not planned:
        return []
    rows = await repository(ctx).instances.insert_many([new.award for new in planned])
    for new in planned:
        if new.award.uid in rows:
            emit_awarded(ctx, badge, shown_badge, new, notify=notify)
    return [new.award.uid in rows for new in planned]


async def lock_in_order(ctx: Ctx, awards: Sequence[tuple[dict[str, Any], NewAward]]) -> None:
    """For awards written in one transaction: take first, for all, the locks a lone award takes
    as it goes, in its order (its claim code's row, its recipient, its badge when the badge has
    a limit), each kind sorted, so that neither another such batch nor a lone award can wait on
    this one while it waits on them. The awards are then written with `locked`."""
    repo = repository(ctx)
    codes = [(badge["id"], award.claim_code) for badge, award in awards if award.claim_code]
    if codes:
        await repo.claim_codes.lock(codes)
    await repo.milestones.lock_recipients((award.system_id, award.email) for _, award in awards)
    limited = {badge["id"] for badge, _ in awards if AwardRules.of(badge).limit is not None}
    for badge_id in sorted(limited):
        await repo.instances.lock_badge(badge_id)


def _once_each(emails: Sequence[str]) -> list[str]:
    """Each email once, case aside, in the order given."""
    unique: dict[str, str] = {}
    for email in emails:
        unique.setdefault(email.lower(), email)
    return list(unique.values())


async def consume_claim_code(
    ctx: Ctx, badge: dict[str, Any], shown_badge: dict[str, Any], code: str, email: str | None
) -> dict[str, Any]:
    """Claim a code of this badge in the caller's transaction: 404 when the badge has no such
    code, 400 CodeAlreadyUsed when it is a used single-use code. Emits `claim_code.claimed`."""
    repo = repository(ctx)
    row = await repo.claim_codes.claim(badge["id"], code, email)
    if row is None:
        if await repo.claim_codes.get(badge["id"], code) is None:
            raise not_found("claimCode", "code", code)
        raise codes.already_used(code)
    shown_code = codes.claim_code(row)
    ctx.emit(
        ClaimCodeClaimed(
            system=badge["system"]["slug"],
            badge=shown_badge,
            claim_code=shown_code,
            email=shown_code["email"],
        ),
        system_id=badge["system_id"],
    )
    return shown_code


async def follow_milestones(ctx: Ctx, badge: dict[str, Any], email: str) -> list[dict[str, Any]]:
    """In the transaction of every award of `badge` to `email`: award the primary badge of each
    milestone this award completes (in the same transaction, each with its own `badge.awarded`
    event), and return those new awards.

    A `queue-application` milestone queues an application for its primary badge instead (unless
    one is pending, or the badge is archived). A primary badge that cannot be awarded (archived,
    limit reached) is skipped, never failing the award that triggered it. Chains end: a held
    primary badge is skipped."""
    repo = repository(ctx)
    supported = await repo.milestones.supported_by(badge["system_id"], badge["id"])
    if not supported:
        return []
    await repo.milestones.lock_recipient(badge["system_id"], email)
    held = await repo.milestones.held_badges(badge["system_id"], email)
    awarded: list[dict[str, Any]] = []
    for milestone in supported:
        if not milestone_rules.is_due(milestone, held):
            continue
        primary = await repo.badges.get(milestone["primary_badge_id"])
        if milestone["action"] == "queue-application":
            await _queue_application(ctx, milestone, primary, email)
            continue
        instance = await _award_primary(ctx, milestone, primary, email)
        if instance is not None:
            awarded.append(instance)
            # That award may have completed further milestones (and awarded their badges).
            held = await repo.milestones.held_badges(badge["system_id"], email)
    return awarded


async def _award_primary(
    ctx: Ctx, milestone: dict[str, Any], primary: dict[str, Any], email: str
) -> dict[str, Any] | None:
    emitted = len(ctx.events)
    try:
        # A savepoint: a refused award leaves the triggering award's transaction usable.
        async with repository(ctx).savepoint():
            instance = await award(ctx, primary, email)
    except AppError as error:
        del ctx.events[emitted:]
        log.info(
            "milestone.award_skipped",
            milestone_id=milestone["id"],
            badge_id=primary["id"],
            reason=error.code,
        )
        return None
    log.info("milestone.awarded", milestone_id=milestone["id"], badge_id=primary["id"])
    return instance


async def _queue_application(
    ctx: Ctx, milestone: dict[str, Any], primary: dict[str, Any], email: str
) -> None:
    if primary["archived"] or await repository(ctx).applications.pending(primary["id"], email):
        return
    await applying.submit(ctx, primary, ApplicationFields(learner=email))
    log.info("milestone.application_queued", milestone_id=milestone["id"], badge_id=primary["id"])
