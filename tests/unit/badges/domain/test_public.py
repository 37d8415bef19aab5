"""The Open Badges 2.0 documents, built from rows: salted recipient, URLs, field fallbacks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from openbadgeslib.ob2.models import Assertion as OB2Assertion

from services.badges.domain import public

BASE = "https://badges.example.org"


def org(slug: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "slug": slug,
        "name": None,
        "url": None,
        "description": None,
        "email": f"{slug}@example.org",
        "image_url": None,
        "image_slug": None,
        **fields,
    }


class TestRecipient:
    def test_identity_is_the_salted_sha256_of_the_email(self) -> None:
        expected = hashlib.sha256(b"ada@example.orgpepper").hexdigest()
        assert public.recipient("ada@example.org", "pepper") == {
            "type": "email",
            "hashed": True,
            "salt": "pepper",
            "identity": f"sha256${expected}",
        }

    def test_the_email_is_matched_case_insensitively(self) -> None:
        assert public.identity("Ada@Example.org", "s") == public.identity("ada@example.org", "s")

    def test_another_salt_gives_another_identity(self) -> None:
        assert public.identity("ada@example.org", "a") != public.identity("ada@example.org", "b")


class TestAssertion:
    ROW = {
        "slug": "abc",
        "email": "ada@example.org",
        "salt": "pepper",
        "issued_on": datetime(2024, 5, 1, tzinfo=UTC),
        "expires": None,
        "evidence_url": None,
        "narrative": None,
        "revoked_at": None,
        "revocation_reason": None,
        "badge": "reader",
        "system": "sys",
        "issuer": "iss",
        "program": None,
    }

    def test_hosted_assertion_without_the_email(self) -> None:
        document = public.assertion(self.ROW, BASE)
        assert document["@context"] == "https://w3id.org/openbadges/v2"
        assert document["id"] == f"{BASE}/public/assertions/abc"
        assert document["badge"] == f"{BASE}/public/systems/sys/issuers/iss/badges/reader"
        assert document["verification"] == {"type": "HostedBadge"}
        assert document["issuedOn"] == "2024-05-01T00:00:00+00:00"
        assert "expires" not in document
        assert "revoked" not in document
        assert "ada@example.org" not in str(document)

    def test_an_award_without_a_narrative_keeps_its_shape(self) -> None:
        row = {**self.ROW, "evidence_url": "https://example.org/portfolio"}
        document = public.assertion(row, BASE)
        assert document["evidence"] == "https://example.org/portfolio"
        assert "narrative" not in document
        assert set(document) == {
            "@context",
            "type",
            "id",
            "recipient",
            "badge",
            "verification",
            "issuedOn",
            "evidence",
        }

    def test_a_narrative_is_the_assertions_own_and_evidence_stays_its_url(self) -> None:
        """OB 2.0's Assertion `narrative` (Markdown), the counterpart of the OB 3.0 subject's:
        `evidence` stays the bare URL that consumers of the assertion read. An independent
        strict OB 2.0 parser (openbadgeslib's) reads both; it would drop the narrative of an
        Evidence object (it keeps only evidence IRIs)."""
        narrative = 'Built a robot, "Ada", from <b>scrap</b>; café'
        row = {**self.ROW, "evidence_url": "https://example.org/robot", "narrative": narrative}
        document = public.assertion(row, BASE)
        assert document["narrative"] == narrative
        assert document["evidence"] == "https://example.org/robot"
        parsed = OB2Assertion.from_dict(document)
        assert (parsed.narrative, parsed.evidence) == (narrative, "https://example.org/robot")

    def test_a_narrative_without_evidence(self) -> None:
        document = public.assertion({**self.ROW, "narrative": "Read twelve books."}, BASE)
        assert document["narrative"] == "Read twelve books."
        assert "evidence" not in document

    def test_revoked_with_its_reason(self) -> None:
        row = {**self.ROW, "revoked_at": datetime.now(UTC), "revocation_reason": "Plagiarism"}
        document = public.assertion(row, BASE)
        assert document["revoked"] is True
        assert document["revocationReason"] == "Plagiarism"


class TestIssuerProfile:
    def test_each_field_from_the_nearest_level_that_has_it(self) -> None:
        levels = [
            org("prog", name="Program", email=None),
            org("iss", name="Issuer", url="https://issuer.example.org", description="Issues"),
            org("sys", name="System", url="https://sys.example.org", image_slug="img"),
        ]
        profile = public.issuer_profile(levels, f"{BASE}/public/systems/sys", BASE)
        assert profile == {
            "@context": "https://w3id.org/openbadges/v2",
            "type": "Issuer",
            "id": f"{BASE}/public/systems/sys",
            "name": "Program",
            "url": "https://issuer.example.org",
            "email": "iss@example.org",
            "description": "Issues",
            "image": f"{BASE}/public/images/img",
        }

    def test_the_organizations_email_when_one_is_set(self) -> None:
        with_email = [org("sys", name="S", url="https://s.example.org")]
        assert public.issuer_profile(with_email, "u", BASE)["email"] == "sys@example.org"
        without = [org("sys", name="S", url="https://s.example.org", email=None)]
        assert "email" not in public.issuer_profile(without, "u", BASE)
