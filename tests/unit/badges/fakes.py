"""Hand-written stand-ins for what the badges service's handlers are given: its repository, kept
in memory under the rules its SQL enforces (tests/integration/badges checks those rules on
Postgres), and a Context that records which commit mode a handler chose instead of committing.

`FakeRepository` has the shape of `services.badges.repository.Repository` (`repo.badges.find`,
`repo.instances.insert`, ...). Every statement it runs is logged in `calls` (`"instances.insert"`),
so tests can check what ran and in which order (locks, claim codes); `savepoint()` undoes what
ran inside it when it fails, as a Postgres savepoint does."""

from __future__ import annotations

import copy
import itertools
import secrets
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.badges.deps import Deps
from services.badges.errors import not_found
from services.badges.repository.instances import CANCELLABLE, FAILABLE, NewAward
from services.badges.repository.scopes import Place
from shared.context import BatchContext, CommitModeError, Context
from shared.crypto import SecretBox
from shared.envelope import Envelope
from shared.messages.applications import EvidenceInput, ReviewItemInput
from shared.messages.badges import CriterionInput
from shared.messages.base import Command, Message
from shared.messages.common import ImageUpload, Scope
from shared.messages.fields import Page

Row = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
BASE_URL = "https://badges.example.org"
SECRETS = SecretBox(["unit-test-encryption-key"])
# Never a connection: a handler reaching Postgres other than through its repository fails.
NO_CONNECTION: Any = object()


def _paged(rows: list[Row], page: Page | None) -> tuple[list[Row], int]:
    if page is None:
        return rows, len(rows)
    start = (page.page - 1) * page.count
    return rows[start : start + page.count], len(rows)


class Tables:
    """The rows of the badges schema, by table."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.systems: dict[int, Row] = {}
        self.issuers: dict[int, Row] = {}
        self.programs: dict[int, Row] = {}
        self.images: dict[int, Row] = {}
        self.badges: dict[int, Row] = {}
        self.instances: dict[int, Row] = {}
        self.claim_codes: dict[int, Row] = {}
        self.milestones: dict[int, Row] = {}
        self.applications: dict[int, Row] = {}
        self.reviews: dict[int, Row] = {}
        self.consumers: list[Row] = []
        # system ids whose stored replies (inbox rows) were deleted
        self.forgotten: list[int] = []

    def org(self, table: str, row_id: int | None) -> Row | None:
        """An organization row as `org_json` shows it."""
        if row_id is None:
            return None
        row = getattr(self, table)[row_id]
        image = self.images.get(row.get("image_id") or 0)
        return {
            **{name: row.get(name) for name in ("id", "slug", "url", "name", "description")},
            "email": row.get("email"),
            "image_url": row.get("image_url"),
            "image_slug": image["slug"] if image else None,
        }

    def badge(self, badge_id: int) -> Row:
        """A badge as `repository.badges.SELECT` reads it."""
        row = self.badges[badge_id]
        image = self.images.get(row.get("image_id") or 0)
        return {
            **{key: value for key, value in row.items() if key != "image_id"},
            "image_slug": image["slug"] if image else None,
            "supports_milestone": any(
                badge_id in milestone["support"] for milestone in self.milestones.values()
            ),
            "system": self.org("systems", row["system_id"]),
            "issuer": self.org("issuers", row["issuer_id"]),
            "program": self.org("programs", row["program_id"]),
            "criteria": copy.deepcopy(row["criteria"]),
            "alignments": copy.deepcopy(row["alignments"]),
            "categories": list(row["categories"]),
            "tags": copy.deepcopy(row["tags"]),
        }

    def active(self, badge_id: int, email: str | None = None) -> list[Row]:
        """The active awards of a badge (to one email, case aside), oldest first."""
        return [
            row
            for row in self.instances.values()
            if row["badge_id"] == badge_id
            and row["revoked_at"] is None
            and (email is None or row["email"].lower() == email.lower())
        ]


class _Part:
    """One family of statements; every call is logged in the repository's `calls`."""

    family = ""

    def __init__(self, repo: FakeRepository) -> None:
        self._repo = repo
        self.t = repo.tables

    def ran(self, name: str, *args: Any) -> None:
        statement = f"{self.family}.{name}"
        self._repo.calls.append((statement, args))
        if statement in self._repo.failing:
            raise self._repo.failing[statement]


class FakeScopes(_Part):
    family = "scopes"

    async def resolve(self, scope: Scope) -> Place:
        self.ran("resolve", scope)
        system = next((s for s in self.t.systems.values() if s["slug"] == scope.system), None)
        if system is None:
            raise not_found("system", "slug", scope.system)
        issuer = next(
            (
                i
                for i in self.t.issuers.values()
                if i["system_id"] == system["id"] and i["slug"] == scope.issuer
            ),
            None,
        )
        program = next(
            (
                p
                for p in self.t.programs.values()
                if issuer is not None
                and p["issuer_id"] == issuer["id"]
                and p["slug"] == scope.program
            ),
            None,
        )
        if scope.issuer is not None and issuer is None:
            raise not_found("issuer", "slug", scope.issuer)
        if scope.program is not None and program is None:
            raise not_found("program", "slug", scope.program)
        return Place(
            system["id"],
            scope.system,
            issuer["id"] if issuer else None,
            program["id"] if program else None,
        )


class FakeOrganizations(_Part):
    family = "organizations"
    _PARENT = {"systems": None, "issuers": "system_id", "programs": "issuer_id"}

    def _found(self, table: str, row_id: int) -> Row:
        nested: Any = None
        if table == "systems":
            nested = [
                {**(self.t.org("issuers", i["id"]) or {}), "programs": self._programs(i["id"])}
                for i in self.t.issuers.values()
                if i["system_id"] == row_id
            ]
        elif table == "issuers":
            nested = self._programs(row_id)
        return {"org": self.t.org(table, row_id), "nested": nested}

    def _programs(self, issuer_id: int) -> list[Row]:
        return [
            self.t.org("programs", p["id"]) or {}
            for p in self.t.programs.values()
            if p["issuer_id"] == issuer_id
        ]

    async def get(self, table: str, row_id: int) -> Row:
        self.ran("get", table, row_id)
        return self._found(table, row_id)

    async def find_id(self, table: str, slug: str, parent_id: int | None) -> int | None:
        self.ran("find_id", table, slug, parent_id)
        parent = self._PARENT[table]
        for row in getattr(self.t, table).values():
            if row["slug"] == slug and (parent is None or row[parent] == parent_id):
                return int(row["id"])
        return None

    async def insert(self, table: str, parents: dict[str, int], fields: dict[str, Any]) -> int:
        self.ran("insert", table, parents, fields)
        rows = getattr(self.t, table)
        parent = self._PARENT[table]
        for row in rows.values():
            if row["slug"] == fields.get("slug") and (
                parent is None or row[parent] == parents[parent]
            ):
                raise asyncpg.UniqueViolationError(f"{table}: slug taken")
        row_id = next(self.t.ids)
        rows[row_id] = {"id": row_id, **parents, "image_id": None, **fields}
        return row_id

    async def update(self, table: str, row_id: int, changes: dict[str, Any]) -> None:
        self.ran("update", table, row_id, changes)
        getattr(self.t, table)[row_id].update(changes)

    async def delete(self, table: str, row_id: int) -> None:
        self.ran("delete", table, row_id)
        del getattr(self.t, table)[row_id]


class FakeImages(_Part):
    family = "images"

    async def insert(self, system_id: int, upload: ImageUpload) -> int:
        self.ran("insert", system_id, upload)
        image_id = next(self.t.ids)
        self.t.images[image_id] = {
            "id": image_id,
            "slug": secrets.token_hex(16),
            "system_id": system_id,
            "mimetype": upload.content_type,
            "data": upload.data,
        }
        return image_id

    async def get(self, slug: str) -> Row | None:
        self.ran("get", slug)
        for row in self.t.images.values():
            if row["slug"] == slug:
                return {"mimetype": row["mimetype"], "data": row["data"]}
        return None


class FakeConsumers(_Part):
    family = "consumers"

    async def forget_replies(self, system_id: int) -> None:
        self.ran("forget_replies", system_id)
        self.t.forgotten.append(system_id)

    async def insert_consumer(
        self, system_id: int, api_key: str, secret_ciphertext: str, description: str | None
    ) -> Row:
        self.ran("insert_consumer", system_id, api_key)
        row = {
            "system_id": system_id,
            "api_key": api_key,
            "secret_ciphertext": secret_ciphertext,
            "description": description,
            "created_at": NOW,
        }
        self.t.consumers.append(row)
        return _shown_consumer(row)

    async def delete_consumer(self, system_id: int, api_key: str) -> Row | None:
        self.ran("delete_consumer", system_id, api_key)
        for row in self.t.consumers:
            if (row["system_id"], row["api_key"]) == (system_id, api_key):
                self.t.consumers.remove(row)
                return _shown_consumer(row)
        return None

    async def get_consumer_credentials(self, api_key: str) -> Row | None:
        self.ran("get_consumer_credentials", api_key)
        for row in self.t.consumers:
            if row["api_key"] == api_key:
                system = self.t.systems[row["system_id"]]
                return {
                    "api_key": api_key,
                    "secret_ciphertext": row["secret_ciphertext"],
                    "system_id": system["id"],
                    "system": system["slug"],
                }
        return None


def _shown_consumer(row: Row) -> Row:
    return {key: row[key] for key in ("api_key", "description", "created_at")}


class FakeBadges(_Part):
    family = "badges"

    async def ids_in(self, column: str, owner_id: int) -> list[int]:
        self.ran("ids_in", column, owner_id)
        return sorted(i for i, row in self.t.badges.items() if row.get(column) == owner_id)

    async def find(self, scope: Scope, slug: str) -> Row | None:
        self.ran("find", scope, slug)
        for badge_id, row in self.t.badges.items():
            shown = self.t.badge(badge_id)
            if (
                row["slug"] == slug
                and shown["system"]["slug"] == scope.system
                and (scope.issuer is None or (shown["issuer"] or {}).get("slug") == scope.issuer)
                and (scope.program is None or (shown["program"] or {}).get("slug") == scope.program)
            ):
                return shown
        return None

    async def get(self, badge_id: int) -> Row:
        self.ran("get", badge_id)
        return self.t.badge(badge_id)

    async def insert(self, place: Place, fields: dict[str, Any]) -> int:
        self.ran("insert", place, fields)
        return self._repo.add_badge(
            place.system_id,
            issuer_id=place.issuer_id,
            program_id=place.program_id,
            **{
                "slug": fields.get("slug") or secrets.token_hex(16),
                "name": fields["name"],
                "strapline": fields.get("strapline"),
                "earner_description": fields["earner_description"],
                "consumer_description": fields["consumer_description"],
                "criteria_url": fields["criteria_url"],
                "is_unique": fields["unique"],
                "issuer_url": fields.get("issuer_url"),
                "rubric_url": fields.get("rubric_url"),
                "image_url": fields.get("image_url"),
                "time_value": fields.get("time_value"),
                "time_units": fields.get("time_units"),
                "award_limit": fields.get("limit"),
                "type": fields.get("type") or "",
                "evidence_type": fields.get("evidence_type"),
                "credential": fields.get("credential"),
            },
        )["id"]

    _COLUMNS = {"unique": "is_unique", "limit": "award_limit"}

    async def update(self, badge_id: int, changes: dict[str, Any]) -> None:
        self.ran("update", badge_id, changes)
        row = self.t.badges[badge_id]
        columns = {self._COLUMNS.get(name, name): value for name, value in changes.items()}
        if columns.get("credential") is not None:
            self._repo.check_identifier(row["system_id"], row["slug"], badge_id)
        row.update(columns)

    async def delete(self, badge_id: int) -> None:
        self.ran("delete", badge_id)
        del self.t.badges[badge_id]
        for table in ("instances", "claim_codes", "applications"):
            rows = getattr(self.t, table)
            for row_id in [i for i, row in rows.items() if row["badge_id"] == badge_id]:
                del rows[row_id]
        for milestone_id, milestone in list(self.t.milestones.items()):
            if milestone["primary_badge_id"] == badge_id:
                del self.t.milestones[milestone_id]
            else:
                milestone["support"].discard(badge_id)

    async def replace_criteria(self, badge_id: int, items: list[CriterionInput]) -> None:
        self.ran("replace_criteria", badge_id, items)
        self.t.badges[badge_id]["criteria"] = [
            {
                "id": next(self.t.ids),
                "description": item.description,
                "required": item.required,
                "note": item.note,
            }
            for item in items
        ]

    async def replace_categories(self, badge_id: int, values: list[str]) -> None:
        self.ran("replace_categories", badge_id, values)
        self.t.badges[badge_id]["categories"] = list(dict.fromkeys(v for v in values if v))

    async def replace_tags(self, badge_id: int, values: list[str]) -> None:
        self.ran("replace_tags", badge_id, values)
        self.t.badges[badge_id]["tags"] = [
            {"id": next(self.t.ids), "value": value} for value in dict.fromkeys(values) if value
        ]


class FakeInstances(_Part):
    family = "instances"

    async def lock_badge(self, badge_id: int) -> None:
        self.ran("lock_badge", badge_id)

    async def insert(self, award: NewAward, limit: int | None) -> bool:
        """As `instances.INSERT`: nothing when the limit is reached or the email holds the
        unique badge; a taken slug raises."""
        self.ran("insert", award, limit)
        if any(row["slug"] == award.slug for row in self.t.instances.values()):
            raise asyncpg.UniqueViolationError("instances_slug_key")
        if limit is not None and len(self.t.active(award.badge_id)) >= limit:
            return False
        if award.unique and self.t.active(award.badge_id, award.email):
            return False
        self._repo.add_award_row(award)
        return True

    async def insert_many(self, awards: Sequence[NewAward]) -> set[uuid.UUID]:
        """As `instances.INSERT` over many awards without a limit: the uids inserted."""
        self.ran("insert_many", list(awards))
        inserted = set()
        for award in awards:
            if any(row["slug"] == award.slug for row in self.t.instances.values()):
                raise asyncpg.UniqueViolationError("instances_slug_key")
            if award.unique and self.t.active(award.badge_id, award.email):
                continue
            self._repo.add_award_row(award)
            inserted.add(award.uid)
        return inserted

    async def newest_active(self, badge_id: int, email: str) -> Row | None:
        self.ran("newest_active", badge_id, email)
        held = self.t.active(badge_id, email)
        return dict(held[-1]) if held else None

    async def revoke_newest(self, badge_id: int, email: str) -> Row | None:
        self.ran("revoke_newest", badge_id, email)
        held = self.t.active(badge_id, email)
        if not held:
            return None
        row = held[-1]
        cancelled = row["credential_status"] in CANCELLABLE
        row["revoked_at"] = NOW
        if cancelled:
            row["credential_status"] = "cancelled"
        return {**row, "cancelled_credential": cancelled}

    async def record_credential_outcome(
        self, credential_id: str, system_id: int | None, status: str, vc_id: str | None
    ) -> bool:
        self.ran("record_credential_outcome", credential_id, system_id, status, vc_id)
        for row in self.t.instances.values():
            if (
                row["credential_id"] == credential_id
                and system_id in (None, row["system_id"])
                and (status == "issued" or row["credential_status"] in FAILABLE)
            ):
                row["credential_status"] = status
                row["credential_vc_id"] = vc_id or row["credential_vc_id"]
                return True
        return False

    async def holds_credential(self, system_id: int, credential_id: str) -> bool:
        self.ran("holds_credential", system_id, credential_id)
        return any(
            (row["credential_id"], row["system_id"]) == (credential_id, system_id)
            for row in self.t.instances.values()
        )

    async def of_badge(self, badge_id: int, page: Page | None) -> tuple[list[Row], int]:
        self.ran("of_badge", badge_id, page)
        return _paged([dict(row) for row in self.t.active(badge_id)], page)

    async def of_email(self, place: Place, email: str, page: Page | None) -> tuple[list[Row], int]:
        self.ran("of_email", place, email, page)
        rows = [
            dict(row)
            for row in self.t.instances.values()
            if row["system_id"] == place.system_id
            and row["email"].lower() == email.lower()
            and row["revoked_at"] is None
            and place.issuer_id in (None, self.t.badges[row["badge_id"]]["issuer_id"])
            and place.program_id in (None, self.t.badges[row["badge_id"]]["program_id"])
        ]
        return _paged(rows, page)

    async def badges(self, badge_ids: list[int]) -> dict[int, Row]:
        self.ran("badges", badge_ids)
        return {badge_id: self.t.badge(badge_id) for badge_id in badge_ids}

    async def assertion(self, slug: str) -> Row | None:
        self.ran("assertion", slug)
        for row in self.t.instances.values():
            if row["slug"] == slug:
                badge = self.t.badge(row["badge_id"])
                places = {
                    level: (badge[level] or {}).get("slug")
                    for level in ("system", "issuer", "program")
                }
                return {
                    **row,
                    "revocation_reason": None,
                    "badge": badge["slug"],
                    **places,
                    "image_url": badge.get("image_url"),
                    "image_slug": badge["image_slug"],
                }
        return None


class FakeClaimCodes(_Part):
    family = "claim_codes"

    async def lock(self, codes: Iterable[tuple[int, str]]) -> None:
        self.ran("lock", sorted(codes))

    def _of(self, badge_id: int, code: str) -> Row | None:
        return next(
            (
                row
                for row in self.t.claim_codes.values()
                if (row["badge_id"], row["code"]) == (badge_id, code)
            ),
            None,
        )

    async def insert(
        self, badge_id: int, code: str, *, claimed: bool, multiuse: bool, email: str | None
    ) -> Row | None:
        self.ran("insert", badge_id, code)
        if self._repo.code_collisions > 0:
            self._repo.code_collisions -= 1
            return None
        if self._of(badge_id, code) is not None:
            return None
        return _code(self._repo.add_claim_code(badge_id, code, claimed, multiuse, email))

    async def get(self, badge_id: int, code: str) -> Row | None:
        self.ran("get", badge_id, code)
        row = self._of(badge_id, code)
        return _code(row) if row is not None else None

    async def delete(self, badge_id: int, code: str) -> Row | None:
        self.ran("delete", badge_id, code)
        row = self._of(badge_id, code)
        if row is None:
            return None
        del self.t.claim_codes[row["id"]]
        return _code(row)

    async def claim(self, badge_id: int, code: str, email: str | None) -> Row | None:
        self.ran("claim", badge_id, code, email)
        row = self._of(badge_id, code)
        if row is None or not (row["multiuse"] or not row["claimed"]):
            return None
        row["claimed"] = True
        row["email"] = email if email is not None else row["email"]
        return _code(row)

    async def find_in_place(self, place: Place, code: str) -> Row | None:
        self.ran("find_in_place", place, code)
        for row in self.t.claim_codes.values():
            badge = self.t.badges[row["badge_id"]]
            if (
                row["code"] == code
                and badge["system_id"] == place.system_id
                and place.issuer_id in (None, badge["issuer_id"])
                and place.program_id in (None, badge["program_id"])
            ):
                return {key: row[key] for key in ("badge_id", "claimed", "multiuse")}
        return None


def _code(row: Row) -> Row:
    return {key: row[key] for key in ("id", "code", "claimed", "email", "multiuse")}


class FakeMilestones(_Part):
    family = "milestones"

    def _row(self, milestone_id: int) -> Row:
        row = self.t.milestones[milestone_id]
        shown = {key: value for key, value in row.items() if key != "support"}
        return {**shown, "support_badge_ids": sorted(row["support"])}

    async def badges_by_id(self, ids: set[int]) -> dict[int, Row]:
        self.ran("badges_by_id", ids)
        return {badge_id: self.t.badge(badge_id) for badge_id in ids if badge_id in self.t.badges}

    async def badges_outside(self, system_id: int, ids: list[int]) -> set[int]:
        self.ran("badges_outside", system_id, ids)
        return {
            badge_id
            for badge_id in ids
            if badge_id not in self.t.badges or self.t.badges[badge_id]["system_id"] != system_id
        }

    async def find(self, system_id: int, milestone_id: int) -> Row | None:
        self.ran("find", system_id, milestone_id)
        row = self.t.milestones.get(milestone_id)
        return self._row(milestone_id) if row and row["system_id"] == system_id else None

    async def delete(self, milestone_id: int) -> None:
        self.ran("delete", milestone_id)
        del self.t.milestones[milestone_id]

    async def with_primary(self, badge_id: int) -> list[Row]:
        self.ran("with_primary", badge_id)
        return [
            self._row(i)
            for i, row in self.t.milestones.items()
            if row["primary_badge_id"] == badge_id
        ]

    async def supported_by(self, system_id: int, badge_id: int) -> list[Row]:
        self.ran("supported_by", system_id, badge_id)
        return [
            self._row(i)
            for i, row in self.t.milestones.items()
            if row["system_id"] == system_id and badge_id in row["support"]
        ]

    async def lock_recipient(self, system_id: int, email: str) -> None:
        self.ran("lock_recipient", system_id, email)

    async def lock_recipients(self, recipients: Iterable[tuple[int, str]]) -> None:
        self.ran("lock_recipients", sorted(recipients))

    async def held_badges(self, system_id: int, email: str) -> set[int]:
        self.ran("held_badges", system_id, email)
        return {
            row["badge_id"]
            for row in self.t.instances.values()
            if row["system_id"] == system_id
            and row["email"].lower() == email.lower()
            and row["revoked_at"] is None
        }

    async def insert(self, system_id: int, fields: dict[str, Any]) -> int:
        self.ran("insert", system_id, fields)
        return self._repo.add_milestone(
            system_id,
            fields["primary_badge_id"],
            [],
            required=fields["number_required"],
            action=fields["action"],
        )

    async def update(self, milestone_id: int, changes: dict[str, Any]) -> None:
        self.ran("update", milestone_id, changes)
        row = self.t.milestones[milestone_id]
        for name in ("primary_badge_id", "number_required", "action"):
            if name in changes:
                row[name] = changes[name]

    async def replace_support(self, milestone_id: int, badge_ids: list[int]) -> None:
        self.ran("replace_support", milestone_id, badge_ids)
        self.t.milestones[milestone_id]["support"] = set(badge_ids)

    async def add_support(self, milestone_id: int, badge_ids: list[int]) -> None:
        self.ran("add_support", milestone_id, badge_ids)
        self.t.milestones[milestone_id]["support"].update(badge_ids)


class FakeApplications(_Part):
    family = "applications"

    async def find(self, badge_id: int, slug: str) -> Row | None:
        self.ran("find", badge_id, slug)
        for row in self.t.applications.values():
            if (row["badge_id"], row["slug"]) == (badge_id, slug):
                return copy.deepcopy(row)
        return None

    async def get(self, application_id: int) -> Row:
        self.ran("get", application_id)
        return copy.deepcopy(self.t.applications[application_id])

    async def listing(
        self,
        place: Place,
        *,
        badge_id: int | None,
        processed: str,
        email: str | None,
        page: Page | None,
    ) -> tuple[list[Row], int]:
        self.ran("listing", place, badge_id, processed, email, page)
        rows = [
            copy.deepcopy(row)
            for row in self.t.applications.values()
            if row["system_id"] == place.system_id
            and badge_id in (None, row["badge_id"])
            and (email is None or row["learner"].lower() == email.lower())
            and processed in ("any", str(row["processed"] is not None).lower())
        ]
        return _paged(rows, page)

    async def pending(self, badge_id: int, learner: str) -> bool:
        self.ran("pending", badge_id, learner)
        return any(
            row["badge_id"] == badge_id
            and row["learner"].lower() == learner.lower()
            and row["processed"] is None
            for row in self.t.applications.values()
        )

    async def insert(self, system_id: int, badge_id: int, fields: dict[str, Any]) -> int:
        self.ran("insert", system_id, badge_id)
        return self._repo.add_application(
            badge_id,
            fields["learner"],
            assigned_to=fields.get("assigned_to"),
            assigned_expiration=fields.get("assigned_expiration"),
        )["id"]

    async def update(self, application_id: int, changes: dict[str, Any]) -> None:
        self.ran("update", application_id, changes)
        row = self.t.applications[application_id]
        for name in ("learner", "assigned_to", "assigned_expiration", "processed"):
            if name in changes:
                row[name] = changes[name]

    async def replace_evidence(self, application_id: int, items: list[EvidenceInput]) -> None:
        self.ran("replace_evidence", application_id, items)
        self.t.applications[application_id]["evidence"] = [
            {"url": item.url, "mediaType": item.media_type, "reflection": item.reflection}
            for item in items
        ]

    async def delete(self, application_id: int) -> None:
        self.ran("delete", application_id)
        del self.t.applications[application_id]
        for review_id in [
            i for i, row in self.t.reviews.items() if row["application_id"] == application_id
        ]:
            del self.t.reviews[review_id]


class FakeReviews(_Part):
    family = "reviews"

    async def find(self, application_id: int, slug: str) -> Row | None:
        self.ran("find", application_id, slug)
        for row in self.t.reviews.values():
            if (row["application_id"], row["slug"]) == (application_id, slug):
                return copy.deepcopy(row)
        return None

    async def get(self, review_id: int) -> Row:
        self.ran("get", review_id)
        return copy.deepcopy(self.t.reviews[review_id])

    async def criteria_of(self, badge_id: int) -> dict[int, bool]:
        self.ran("criteria_of", badge_id)
        return {item["id"]: item["required"] for item in self.t.badges[badge_id]["criteria"]}

    async def insert(self, application_id: int, fields: dict[str, Any]) -> int:
        self.ran("insert", application_id, fields)
        return self._repo.add_review(application_id, fields["author"], fields.get("comment"))["id"]

    async def update(self, review_id: int, changes: dict[str, Any]) -> None:
        self.ran("update", review_id, changes)
        row = self.t.reviews[review_id]
        for name in ("author", "comment"):
            if name in changes:
                row[name] = changes[name]

    async def replace_items(self, review_id: int, items: list[ReviewItemInput]) -> None:
        self.ran("replace_items", review_id, items)
        self.t.reviews[review_id]["items"] = [
            {"criterion_id": i.criterion_id, "satisfied": i.satisfied, "comment": i.comment}
            for i in items
        ]

    async def delete(self, review_id: int) -> None:
        self.ran("delete", review_id)
        del self.t.reviews[review_id]


class FakeRepository:
    """The badges repository in memory, with `add_*` to put rows in place before a test."""

    def __init__(self) -> None:
        self.tables = Tables()
        # (statement family.name, its arguments), in the order they ran
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        # How many claim code inserts to come find their code taken (as a random one could).
        self.code_collisions = 0
        # Statements (`family.name`) that fail, with the error they raise.
        self.failing: dict[str, BaseException] = {}
        self.scopes = FakeScopes(self)
        self.organizations = FakeOrganizations(self)
        self.images = FakeImages(self)
        self.consumers = FakeConsumers(self)
        self.badges = FakeBadges(self)
        self.instances = FakeInstances(self)
        self.claim_codes = FakeClaimCodes(self)
        self.milestones = FakeMilestones(self)
        self.applications = FakeApplications(self)
        self.reviews = FakeReviews(self)

    def ran(self, *names: str) -> list[str]:
        """The statements run so far (`family.name`), those of `names`' families only if given."""
        return [
            call
            for call, _ in self.calls
            if not names or call in names or call.split(".")[0] in names
        ]

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """As a savepoint: what runs inside and fails is undone, and the caller goes on."""
        before = copy.deepcopy(self.tables.__dict__)
        self.calls.append(("savepoint", ()))
        try:
            yield
        except BaseException:
            self.tables.__dict__.update(before)
            self.calls.append(("savepoint.rollback", ()))
            raise
        self.calls.append(("savepoint.release", ()))

    # Rows put in place by tests (and by the fakes' inserts).

    def add_system(self, slug: str = "chicago", **fields: Any) -> Row:
        return self._add_org("systems", {"slug": slug, **fields})

    def add_issuer(self, system: Row, slug: str = "library", **fields: Any) -> Row:
        return self._add_org("issuers", {"slug": slug, "system_id": system["id"], **fields})

    def add_program(self, issuer: Row, slug: str = "summer", **fields: Any) -> Row:
        return self._add_org(
            "programs",
            {"slug": slug, "system_id": issuer["system_id"], "issuer_id": issuer["id"], **fields},
        )

    def _add_org(self, table: str, fields: dict[str, Any]) -> Row:
        row_id = next(self.tables.ids)
        row = {
            "id": row_id,
            "name": fields["slug"].title(),
            "url": f"https://{fields['slug']}.example.org",
            "description": None,
            "email": None,
            "image_url": None,
            "image_id": None,
            **fields,
        }
        getattr(self.tables, table)[row_id] = row
        return row

    def add_badge(
        self,
        system_id: int,
        slug: str = "reader",
        *,
        issuer_id: int | None = None,
        program_id: int | None = None,
        **fields: Any,
    ) -> Row:
        """A badge row as stored; `self.tables.badge(id)` reads it as the repository does.
        Refused as the unique indexes refuse it (a slug, or an Open Campus identifier, taken
        in the system)."""
        if any(
            (b["system_id"], b["slug"]) == (system_id, slug) for b in self.tables.badges.values()
        ):
            raise asyncpg.UniqueViolationError.new(
                {"C": "23505", "M": "duplicate key", "n": "badges_system_id_slug_key"}
            )
        if fields.get("credential") is not None:
            self.check_identifier(system_id, slug, None)
        badge_id = next(self.tables.ids)
        self.tables.badges[badge_id] = {
            "id": badge_id,
            "slug": slug,
            "name": slug.title(),
            "strapline": None,
            "earner_description": "You read.",
            "consumer_description": "The earner read.",
            "issuer_url": None,
            "rubric_url": None,
            "criteria_url": "https://example.org/criteria",
            "time_value": None,
            "time_units": None,
            "award_limit": None,
            "is_unique": False,
            "archived": False,
            "type": "",
            "evidence_type": None,
            "image_url": "https://example.org/badge.png",
            "image_id": None,
            "credential": None,
            "created_at": NOW,
            "system_id": system_id,
            "issuer_id": issuer_id,
            "program_id": program_id,
            "criteria": [],
            "alignments": [],
            "categories": [],
            "tags": [],
            **fields,
        }
        return self.tables.badges[badge_id]

    def check_identifier(self, system_id: int, slug: str, badge_id: int | None) -> None:
        """The unique index of a system's Open Campus identifiers (credential badges' slugs cut
        to 50 characters)."""
        if any(
            other["id"] != badge_id
            and other["system_id"] == system_id
            and other["credential"] is not None
            and other["slug"][:50] == slug[:50]
            for other in self.tables.badges.values()
        ):
            raise asyncpg.UniqueViolationError.new(
                {"C": "23505", "M": "duplicate key", "n": "badges_credential_identifier"}
            )

    def add_criterion(self, badge: Row, *, required: bool = True) -> int:
        criterion_id = next(self.tables.ids)
        badge["criteria"].append(
            {"id": criterion_id, "description": "Read", "required": required, "note": None}
        )
        return criterion_id

    def add_award(self, badge: Row, email: str, **fields: Any) -> Row:
        award_id = next(self.tables.ids)
        row = {
            "id": award_id,
            "uid": uuid.uuid4(),
            "slug": uuid.uuid4().hex,
            "system_id": badge["system_id"],
            "badge_id": badge["id"],
            "email": email,
            "salt": "salt",
            "issued_on": NOW,
            "expires": None,
            "claim_code": None,
            "comment": None,
            "evidence_url": None,
            "unique_award": badge["is_unique"],
            "recipient_name": None,
            "holder_oc_id": None,
            "holder_address": None,
            "credential_id": None,
            "credential_status": None,
            "credential_vc_id": None,
            "narrative": None,
            "revoked_at": None,
            **fields,
        }
        self.tables.instances[award_id] = row
        return row

    def add_award_row(self, award: NewAward) -> Row:
        credential = award.credential
        return self.add_award(
            self.tables.badges[award.badge_id],
            award.email,
            uid=award.uid,
            slug=award.slug,
            salt=award.salt,
            issued_on=award.issued_on,
            expires=award.expires,
            claim_code=award.claim_code,
            comment=award.comment,
            evidence_url=award.evidence_url,
            unique_award=award.unique,
            recipient_name=award.name or (credential.name if credential else None),
            holder_oc_id=credential.holder_oc_id if credential else None,
            holder_address=credential.holder_address if credential else None,
            credential_id=str(credential.id) if credential else None,
            credential_status="pending" if credential else None,
            narrative=award.narrative,
        )

    def awards(self, badge: Row) -> list[Row]:
        """The active awards of a badge, oldest first."""
        return self.tables.active(badge["id"])

    def add_claim_code(
        self,
        badge_id: int,
        code: str,
        claimed: bool = False,
        multiuse: bool = False,
        email: str | None = None,
    ) -> Row:
        code_id = next(self.tables.ids)
        row = {
            "id": code_id,
            "badge_id": badge_id,
            "code": code,
            "claimed": claimed,
            "multiuse": multiuse,
            "email": email,
        }
        self.tables.claim_codes[code_id] = row
        return row

    def add_milestone(
        self,
        system_id: int,
        primary_badge_id: int,
        support: Iterable[int],
        *,
        required: int = 1,
        action: str = "issue",
    ) -> int:
        milestone_id = next(self.tables.ids)
        self.tables.milestones[milestone_id] = {
            "id": milestone_id,
            "system_id": system_id,
            "primary_badge_id": primary_badge_id,
            "number_required": required,
            "action": action,
            "support": set(support),
        }
        return milestone_id

    def add_application(self, badge_id: int, learner: str, **fields: Any) -> Row:
        application_id = next(self.tables.ids)
        row = {
            "id": application_id,
            "slug": secrets.token_hex(16),
            "system_id": self.tables.badges[badge_id]["system_id"],
            "badge_id": badge_id,
            "learner": learner,
            "created": NOW,
            "assigned_to": None,
            "assigned_expiration": None,
            "processed": None,
            "evidence": [],
            **fields,
        }
        self.tables.applications[application_id] = row
        return row

    def add_review(self, application_id: int, author: str, comment: str | None = None) -> Row:
        review_id = next(self.tables.ids)
        row = {
            "id": review_id,
            "slug": secrets.token_hex(16),
            "application_id": application_id,
            "author": author,
            "comment": comment,
            "items": [],
        }
        self.tables.reviews[review_id] = row
        return row


# Contexts, as the dispatchers build them.


def request_context(deps: Deps, message: Message) -> Context[Deps]:
    """A request's context: a command's in its transaction, a query's without one; the
    handler names the system itself (`ctx.system_id`)."""
    envelope = Envelope.wrap(message, correlation_id="c")
    return Context(NO_CONNECTION, deps, envelope, in_transaction=isinstance(message, Command))


@dataclass
class AtOnce:
    """A batch committed at once: its statement and parameters, each command's key and reply,
    and the events each would write."""

    statement: str
    args: tuple[Any, ...]
    keys: list[Any]
    replies: list[Any]
    events: list[list[Envelope]]


@dataclass
class ChoosingBatch(BatchContext[Deps]):
    """The batch a command handler marked `@chooses_commit` gets, recording the mode it chose:
    `begin()` opens the transaction (`began`); `commit_at_once` records what it would commit
    (`at_once`) and answers `at_once_returns` (None: every command with a key is written; a
    list: which are; an exception: raised, as asyncpg would)."""

    began: int = 0
    at_once: list[AtOnce] = field(default_factory=list)
    at_once_returns: list[bool] | BaseException | None = None

    def __post_init__(self) -> None:
        # As the request dispatcher does for such a handler (`RequestDispatcher._run`).
        self._begin = self._open

    async def _open(self) -> None:
        self.began += 1

    async def commit_at_once(
        self, change: str, *args: Any, keys: Sequence[Any], replies: Sequence[Any]
    ) -> list[bool]:
        if self.in_transaction or self.committed_at_once:
            raise CommitModeError("a handler commits at once instead of a transaction, once")
        events = [list(ctx.events) for ctx in self.each]
        self.at_once.append(AtOnce(change, args, list(keys), list(replies), events))
        if isinstance(self.at_once_returns, BaseException):
            raise self.at_once_returns
        written = self.at_once_returns or [key is not None for key in keys]
        self.committed_at_once = True
        for ctx, done in zip(self.each, written, strict=True):
            if done:
                ctx.committed = []
            else:
                ctx.events.clear()
        return list(written)


def choosing_batch(deps: Deps, *messages: Message, **fields: Any) -> ChoosingBatch:
    """The batch of these commands, on no connection (the repository is in memory)."""
    each = [
        Context(NO_CONNECTION, deps, Envelope.wrap(message, correlation_id="c"))
        for message in messages
    ]
    return ChoosingBatch(NO_CONNECTION, deps, each, **fields)


def emitted(ctx: Context[Deps]) -> list[str]:
    """The types of the events (and commands to other services) a handler emitted."""
    return [envelope.type for envelope in ctx.events]


def event(ctx: Context[Deps], event_type: str) -> dict[str, Any]:
    """The data of the one event of this type a handler emitted."""
    [found] = [envelope.data for envelope in ctx.events if envelope.type == event_type]
    return found
