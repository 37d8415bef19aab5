"""Claim codes (BadgeKit's claim-codes.test.js: create, invalid, list, claim and CodeAlreadyUsed,
random, delete, look-up by code) at every level, and the bugs fixed: a duplicate code is a 409
(not a 500), `false` means false (issue #116), emails are validated."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.client import Client
from tests.support.events import EventTap, system_id_of, tap_events
from tests.support.factories import make_badge, make_issuer, make_program, make_system
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CLAIM_CODE_FIELDS = {"id", "code", "claimed", "email", "multiuse"}


async def add_code(client: Client, badge: str, **body: Any) -> dict[str, Any]:
    answer = await client.post(f"{badge}/codes", json=body)
    assert answer.status == 201, f"add code: {answer.status} {answer.body}"
    code: dict[str, Any] = answer.body["claimCode"]
    return code


def slug_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


@pytest.fixture
async def events(stack: Stack) -> AsyncIterator[EventTap]:
    async with tap_events(stack) as tap:
        yield tap


class TestCreateClaimCode:
    async def test_creates_with_badgekit_shape(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.post(f"{badge}/codes", json={"code": "WELCOME"})
        assert answer.status == 201
        assert answer.body["status"] == "created"
        code = answer.body["claimCode"]
        assert set(code) == CLAIM_CODE_FIELDS
        assert code["code"] == "WELCOME"
        assert (code["claimed"], code["multiuse"], code["email"]) == (False, False, None)
        assert isinstance(code["id"], int)
        assert answer.body["badge"]["slug"] == slug_of(badge)
        assert answer.headers["Location"] == f"{client.base_url}{badge}/codes/WELCOME"

    async def test_every_option(self, client: Client) -> None:
        badge = await make_badge(client)
        code = await add_code(
            client, badge, code="VIP", claimed=True, multiuse=True, email="vip@example.org"
        )
        assert (code["claimed"], code["multiuse"], code["email"]) == (
            True,
            True,
            "vip@example.org",
        )

    @pytest.mark.parametrize("false", [False, 0, "0", "false"])
    async def test_false_means_false(self, client: Client, false: Any) -> None:
        """BadgeKit took any given value as true (issue #116)."""
        badge = await make_badge(client)
        code = await add_code(client, badge, code="PLAIN", claimed=false, multiuse=false)
        assert (code["claimed"], code["multiuse"]) == (False, False)

    async def test_form_bodies(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.post(
            f"{badge}/codes", form={"code": "FORM", "multiuse": "false", "email": ""}
        )
        assert answer.status == 201, answer.body
        assert answer.body["claimCode"]["multiuse"] is False

    async def test_invalid_fields_get_field_details(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.post(f"{badge}/codes", json={"email": "nope", "multiuse": "maybe"})
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        fields = {detail["field"]: detail["message"] for detail in answer.body["details"]}
        assert fields["code"] == "Required field"
        assert fields["email"] == "Invalid email"
        assert set(fields) == {"code", "email", "multiuse"}

    async def test_duplicate_code_is_a_conflict(self, client: Client) -> None:
        """BadgeKit answered 500 with MySQL's ER_DUP_ENTRY text."""
        badge = await make_badge(client)
        await add_code(client, badge, code="TWICE")
        again = await client.post(f"{badge}/codes", json={"code": "TWICE"})
        assert again.status == 409
        assert again.body["code"] == "ResourceConflict"
        assert again.body["message"] == "claimCode with that `code` already exists"

    async def test_the_same_code_on_another_badge_is_fine(self, client: Client) -> None:
        system = await make_system(client)
        first, second = await make_badge(client, system), await make_badge(client, system)
        await add_code(client, first, code="SHARED")
        await add_code(client, second, code="SHARED")

    async def test_unknown_badge_is_not_found(self, client: Client) -> None:
        system = await make_system(client)
        answer = await client.post(f"{system}/badges/nope/codes", json={"code": "X"})
        assert answer.status == 404

    @pytest.mark.parametrize("level", ["issuer", "program"])
    async def test_at_every_level(self, client: Client, level: str) -> None:
        context = await (make_issuer(client) if level == "issuer" else make_program(client))
        badge = await make_badge(client, context)
        await add_code(client, badge, code="LEVEL")
        listed = await client.get(f"{badge}/codes")
        assert [code["code"] for code in listed.body["claimCodes"]] == ["LEVEL"]


class TestRandomClaimCode:
    async def test_ten_hex_characters(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.post(f"{badge}/codes/random", json={})
        assert answer.status == 201
        code = answer.body["claimCode"]
        assert re.fullmatch(r"[0-9a-f]{10}", code["code"])
        assert (code["claimed"], code["multiuse"]) == (False, False)
        assert answer.headers["Location"] == f"{client.base_url}{badge}/codes/{code['code']}"

    async def test_an_empty_body_is_fine(self, client: Client) -> None:
        """BadgeKit could not verify the signature of an empty-body POST."""
        badge = await make_badge(client)
        answer = await client.post(f"{badge}/codes/random")
        assert answer.status == 201, answer.body

    async def test_multiuse_false_stays_false(self, client: Client) -> None:
        """Issue #116: BadgeKit made `multiuse: false` true."""
        badge = await make_badge(client)
        answer = await client.post(f"{badge}/codes/random", json={"multiuse": False})
        assert answer.body["claimCode"]["multiuse"] is False
        answer = await client.post(f"{badge}/codes/random", json={"multiuse": True})
        assert answer.body["claimCode"]["multiuse"] is True

    async def test_codes_differ(self, client: Client) -> None:
        badge = await make_badge(client)
        codes = set()
        for _ in range(5):
            answer = await client.post(f"{badge}/codes/random", json={})
            codes.add(answer.body["claimCode"]["code"])
        assert len(codes) == 5


class TestListClaimCodes:
    async def test_lists_codes_with_their_badge(self, client: Client) -> None:
        badge = await make_badge(client)
        for code in ("A", "B", "C"):
            await add_code(client, badge, code=code)
        answer = await client.get(f"{badge}/codes")
        assert answer.status == 200
        assert [code["code"] for code in answer.body["claimCodes"]] == ["A", "B", "C"]
        assert answer.body["badge"]["slug"] == slug_of(badge)
        assert "pageData" not in answer.body

    async def test_pages(self, client: Client) -> None:
        badge = await make_badge(client)
        for code in ("A", "B", "C"):
            await add_code(client, badge, code=code)
        answer = await client.get(f"{badge}/codes?page=2&count=2")
        assert [code["code"] for code in answer.body["claimCodes"]] == ["C"]
        assert answer.body["pageData"] == {"page": 2, "count": 2, "total": 3}

    async def test_only_this_badges_codes(self, client: Client) -> None:
        system = await make_system(client)
        badge, other = await make_badge(client, system), await make_badge(client, system)
        await add_code(client, other, code="THEIRS")
        assert (await client.get(f"{badge}/codes")).body["claimCodes"] == []


class TestGetAndDeleteClaimCode:
    async def test_get_one(self, client: Client) -> None:
        badge = await make_badge(client)
        code = await add_code(client, badge, code="ONE")
        answer = await client.get(f"{badge}/codes/ONE")
        assert answer.status == 200
        assert answer.body["claimCode"] == code
        assert answer.body["badge"]["slug"] == slug_of(badge)

    async def test_unknown_is_not_found(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.get(f"{badge}/codes/NOPE")
        assert answer.status == 404
        assert answer.body == {
            "code": "ResourceNotFound",
            "message": "Could not find claimCode field: `code`, value: `NOPE`",
        }

    async def test_delete(self, client: Client) -> None:
        badge = await make_badge(client)
        code = await add_code(client, badge, code="GONE")
        answer = await client.delete(f"{badge}/codes/GONE")
        assert answer.status == 200
        assert answer.body["status"] == "deleted"
        assert answer.body["claimCode"] == code
        assert answer.body["badge"]["slug"] == slug_of(badge)
        assert (await client.get(f"{badge}/codes/GONE")).status == 404
        assert (await client.delete(f"{badge}/codes/GONE")).status == 404


class TestClaim:
    async def test_claim_then_code_already_used(self, client: Client) -> None:
        badge = await make_badge(client)
        await add_code(client, badge, code="ONCE")
        answer = await client.post(f"{badge}/codes/ONCE/claim", json={"email": "a@example.org"})
        assert answer.status == 200
        assert answer.body["status"] == "updated"
        assert answer.body["claimCode"]["claimed"] is True
        assert answer.body["claimCode"]["email"] == "a@example.org"
        assert answer.body["badge"]["slug"] == slug_of(badge)
        again = await client.post(f"{badge}/codes/ONCE/claim", json={"email": "b@example.org"})
        assert again.status == 400
        assert again.body == {
            "code": "CodeAlreadyUsed",
            "message": "Claim code `ONCE` has already been claimed",
        }

    async def test_claiming_does_not_award(self, client: Client) -> None:
        badge = await make_badge(client)
        await add_code(client, badge, code="ONCE")
        await client.post(f"{badge}/codes/ONCE/claim", json={"email": "a@example.org"})
        assert (await client.get(f"{badge}/instances")).body["instances"] == []

    async def test_multi_use_code_is_claimed_again_and_again(self, client: Client) -> None:
        badge = await make_badge(client)
        await add_code(client, badge, code="MANY", multiuse=True)
        for recipient in ("a@example.org", "b@example.org"):
            answer = await client.post(f"{badge}/codes/MANY/claim", json={"email": recipient})
            assert answer.status == 200
            assert answer.body["claimCode"]["email"] == recipient

    async def test_a_claim_without_email_keeps_the_codes_email(self, client: Client) -> None:
        badge = await make_badge(client)
        await add_code(client, badge, code="FOR-ADA", email="ada@example.org")
        answer = await client.post(f"{badge}/codes/FOR-ADA/claim")
        assert answer.status == 200, answer.body
        assert answer.body["claimCode"]["email"] == "ada@example.org"

    async def test_invalid_email_is_refused(self, client: Client) -> None:
        badge = await make_badge(client)
        await add_code(client, badge, code="ONCE")
        answer = await client.post(f"{badge}/codes/ONCE/claim", json={"email": "nope"})
        assert answer.status == 400
        assert answer.body["details"][0]["field"] == "email"
        code = await client.get(f"{badge}/codes/ONCE")
        assert code.body["claimCode"]["claimed"] is False

    async def test_unknown_code_is_not_found(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.post(f"{badge}/codes/NOPE/claim", json={})
        assert answer.status == 404

    async def test_claim_emits_claim_code_claimed(self, client: Client, events: EventTap) -> None:
        badge = await make_badge(client)
        system_id = await system_id_of(client, badge)
        await add_code(client, badge, code="ONCE")
        await client.post(f"{badge}/codes/ONCE/claim", json={"email": "a@example.org"})
        (data,) = await events.wait("claim_code.claimed", system_id)
        assert data["system"] == badge.split("/")[2]
        assert data["email"] == "a@example.org"
        assert data["claimCode"]["code"] == "ONCE"
        assert data["badge"]["slug"] == slug_of(badge)


class TestFindBadgeByCode:
    async def test_finds_the_badge_with_its_claimed_flag(self, client: Client) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        await add_code(client, badge, code="FIND-ME")
        answer = await client.get(f"{system}/codes/FIND-ME")
        assert answer.status == 200
        assert answer.body["badge"]["slug"] == slug_of(badge)
        assert answer.body["badge"]["claimed"] == 0
        await client.post(f"{badge}/codes/FIND-ME/claim", json={})
        assert (await client.get(f"{system}/codes/FIND-ME")).body["badge"]["claimed"] == 1

    async def test_a_claimed_multi_use_code_is_still_unclaimed(self, client: Client) -> None:
        system = await make_system(client)
        badge = await make_badge(client, system)
        await add_code(client, badge, code="OPEN", multiuse=True, claimed=True)
        assert (await client.get(f"{system}/codes/OPEN")).body["badge"]["claimed"] == 0

    async def test_finds_only_within_the_context(self, client: Client) -> None:
        system = await make_system(client)
        issuer = await make_issuer(client, system)
        program = await make_program(client, issuer)
        other_issuer = await make_issuer(client, system)
        badge = await make_badge(client, program)
        await add_code(client, badge, code="DEEP")
        for context in (system, issuer, program):
            found = await client.get(f"{context}/codes/DEEP")
            assert found.status == 200, context
            assert found.body["badge"]["slug"] == slug_of(badge)
        elsewhere = await client.get(f"{other_issuer}/codes/DEEP")
        assert elsewhere.status == 404
        assert elsewhere.body == {
            "code": "ResourceNotFound",
            "message": "Could not find the requested claim code DEEP",
        }

    async def test_another_systems_code_is_not_found(self, client: Client) -> None:
        badge = await make_badge(client)
        await add_code(client, badge, code="MINE")
        other = await make_system(client)
        assert (await client.get(f"{other}/codes/MINE")).status == 404
