"""The public Open Badges 2.0 documents, unauthenticated: hosted Assertion (salted recipient,
410 once revoked), BadgeClass at the badge's own level, Issuer profile with BadgeKit's field
fallback (program, then issuer, then system, the organization's email included), and never a
recipient's email in clear."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from tests.e2e.test_instances_api import award, email, in_days
from tests.support.client import Client
from tests.support.factories import (
    created,
    make_badge,
    make_issuer,
    make_program,
    make_system,
    organization_body,
    unique,
)

pytestmark = pytest.mark.e2e

CONTEXT = "https://w3id.org/openbadges/v2"
# The smallest PNG: a 1x1 transparent pixel.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def public_path(url: str, client: Client) -> str:
    assert url.startswith(client.base_url), url
    return url.removeprefix(client.base_url)


class TestAssertion:
    async def test_hosted_assertion_with_salted_recipient(self, client: Client) -> None:
        badge = await make_badge(client)
        recipient = email()
        instance = await award(client, badge, recipient, issuedOn="2024-05-01T12:00:00Z")
        answer = await client.get(public_path(instance["assertionUrl"], client), sign=False)
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("application/json")
        assertion = answer.body
        salt = assertion["recipient"]["salt"]
        digest = hashlib.sha256((recipient + salt).encode()).hexdigest()
        assert assertion == {
            "@context": CONTEXT,
            "type": "Assertion",
            "id": instance["assertionUrl"],
            "recipient": {
                "type": "email",
                "hashed": True,
                "salt": salt,
                "identity": f"sha256${digest}",
            },
            "badge": f"{client.base_url}/public{badge}",
            "verification": {"type": "HostedBadge"},
            "issuedOn": "2024-05-01T12:00:00+00:00",
        }
        assert len(salt) >= 16
        assert recipient not in str(answer.body)

    async def test_every_award_has_its_own_salt(self, client: Client) -> None:
        badge = await make_badge(client)
        recipient = email()
        salts = set()
        for _ in range(2):
            instance = await award(client, badge, recipient)
            assertion = await client.get(public_path(instance["assertionUrl"], client))
            salts.add(assertion.body["recipient"]["salt"])
        assert len(salts) == 2

    async def test_expires_and_evidence(self, client: Client) -> None:
        badge = await make_badge(client)
        expires = in_days(7).replace(microsecond=0)
        instance = await award(
            client,
            badge,
            email(),
            expires=expires.isoformat(),
            evidence="https://example.org/portfolio",
        )
        assertion = (await client.get(public_path(instance["assertionUrl"], client))).body
        assert datetime.fromisoformat(assertion["expires"]) == expires
        assert assertion["evidence"] == "https://example.org/portfolio"

    async def test_revoked_assertion_is_gone(self, client: Client) -> None:
        """BadgeKit deleted the award; its assertion became a 404, never a revocation."""
        badge = await make_badge(client)
        recipient = email()
        instance = await award(client, badge, recipient)
        await client.delete(f"{badge}/instances/{recipient}")
        answer = await client.get(public_path(instance["assertionUrl"], client), sign=False)
        assert answer.status == 410
        assert answer.body["revoked"] is True
        assert answer.body["id"] == instance["assertionUrl"]
        assert recipient not in str(answer.body)

    async def test_missing_assertion_is_not_found(self, client: Client) -> None:
        answer = await client.get("/public/assertions/no-such-award", sign=False)
        assert answer.status == 404
        assert answer.body["code"] == "ResourceNotFound"

    async def test_the_badge_and_issuer_urls_resolve(self, client: Client) -> None:
        program = await make_program(client)
        badge = await make_badge(client, program)
        instance = await award(client, badge, email())
        assertion = (await client.get(public_path(instance["assertionUrl"], client))).body
        badge_class = await client.get(public_path(assertion["badge"], client), sign=False)
        assert badge_class.status == 200
        assert badge_class.body["type"] == "BadgeClass"
        issuer = await client.get(public_path(badge_class.body["issuer"], client), sign=False)
        assert issuer.status == 200
        assert issuer.body["type"] == "Issuer"
        assert issuer.body["id"] == f"{client.base_url}/public{program}"


class TestBadgeClass:
    async def test_badge_class_fields(self, client: Client) -> None:
        system = await make_system(client)
        badge = await make_badge(
            client,
            system,
            alignments=[
                {"name": "Literacy", "url": "https://example.org/lit", "description": "Reading"},
                {"name": "Numeracy", "url": "https://example.org/num"},
            ],
            tags=["books", "summer"],
        )
        answer = await client.get(f"/public{badge}", sign=False)
        assert answer.status == 200
        assert answer.body == {
            "@context": CONTEXT,
            "type": "BadgeClass",
            "id": f"{client.base_url}/public{badge}",
            "name": "Reading Champion",
            "description": "The earner read twenty books this summer.",
            "image": "https://example.org/badge.png",
            "criteria": {"id": "https://example.org/criteria"},
            "issuer": f"{client.base_url}/public{system}",
            "alignment": [
                {
                    "targetName": "Literacy",
                    "targetUrl": "https://example.org/lit",
                    "targetDescription": "Reading",
                },
                {"targetName": "Numeracy", "targetUrl": "https://example.org/num"},
            ],
            "tags": ["books", "summer"],
        }

    async def test_an_uploaded_image_is_an_absolute_url_that_resolves(self, client: Client) -> None:
        """BadgeKit left uploaded images relative (and pointing at an unrouted path)."""
        system = await make_system(client)
        data_uri = "data:image/png;base64," + base64.b64encode(PIXEL).decode()
        badge = await make_badge(client, system, imageUrl=None, image=data_uri)
        answer = await client.get(f"/public{badge}", sign=False)
        image = answer.body["image"]
        assert image.startswith(f"{client.base_url}/public/images/")
        fetched = await client.get(public_path(image, client), sign=False)
        assert fetched.status == 200

    async def test_only_at_the_badges_own_level(self, client: Client) -> None:
        issuer = await make_issuer(client)
        badge = await make_badge(client, issuer)
        system = "/".join(issuer.split("/")[:3])
        slug = badge.rsplit("/", 1)[1]
        own = await client.get(f"/public{badge}", sign=False)
        assert own.status == 200
        assert own.body["issuer"] == f"{client.base_url}/public{issuer}"
        above = await client.get(f"/public{system}/badges/{slug}", sign=False)
        assert above.status == 404

    async def test_unknown_badge_is_not_found(self, client: Client) -> None:
        system = await make_system(client)
        answer = await client.get(f"/public{system}/badges/nope", sign=False)
        assert answer.status == 404


class TestIssuerProfile:
    async def test_system_profile_with_its_email(self, client: Client) -> None:
        system = await make_system(client, email="admin@example.org", description="A system")
        answer = await client.get(f"/public{system}", sign=False)
        assert answer.status == 200
        slug = system.rsplit("/", 1)[1]
        assert answer.body == {
            "@context": CONTEXT,
            "type": "Issuer",
            "id": f"{client.base_url}/public{system}",
            "name": f"Name of {slug}",
            "url": f"https://{slug}.example.org",
            "email": "admin@example.org",
            "description": "A system",
        }
        without = await make_system(client)
        assert "email" not in (await client.get(f"/public{without}", sign=False)).body

    async def test_fields_fall_back_from_program_to_issuer_to_system(self, client: Client) -> None:
        system = await make_system(client, description="System description")
        issuer = await make_issuer(client, system)
        program_slug = unique("prog")
        await created(
            client,
            f"{issuer}/programs",
            organization_body(program_slug, email="program@example.org"),
            "program",
        )
        program = f"{issuer}/programs/{program_slug}"
        answer = await client.get(f"/public{program}", sign=False)
        assert answer.status == 200
        assert answer.body["name"] == f"Name of {program_slug}"
        assert answer.body["description"] == "System description"
        assert answer.body["email"] == "program@example.org"
        issuer_profile = await client.get(f"/public{issuer}", sign=False)
        assert "email" not in issuer_profile.body

    async def test_unknown_levels_are_not_found(self, client: Client) -> None:
        system = await make_system(client)
        assert (await client.get("/public/systems/no-such-system", sign=False)).status == 404
        assert (await client.get(f"/public{system}/issuers/nope", sign=False)).status == 404
        issuer = await make_issuer(client, system)
        missing = await client.get(f"/public{issuer}/programs/nope", sign=False)
        assert missing.status == 404


class TestPublicIsPublic:
    async def test_no_token_needed_and_a_bad_one_is_ignored(self, client: Client) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge, email())
        path = public_path(instance["assertionUrl"], client)
        answer = await client.get(path, sign=False, headers={"Authorization": 'JWT token="x"'})
        assert answer.status == 200
        assert datetime.fromisoformat(answer.body["issuedOn"]).tzinfo == UTC
