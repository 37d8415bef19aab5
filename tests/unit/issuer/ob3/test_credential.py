"""The unsigned OpenBadgeCredential: 1EdTech's JSON Schema, the two contexts and nothing outside
them (openbadgeslib's JSON-LD safe-mode check), the recipient's hash, the mapping of a badge."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from openbadgeslib.ob3 import OB3VerificationError
from openbadgeslib.ob3._context_validation import validate_document
from openbadgeslib.ob3.contexts import document_loader
from pyld import jsonld

from services.badges.domain import badges as shown_badges
from services.badges.domain import public as ob2
from services.issuer.ob3 import credential, schemas
from services.issuer.ob3.credential import Alignment, Award, Badge, Issuer, StatusSlot
from shared.opencampus import ACHIEVEMENT_TYPES

BASE = "https://badges.example.org"
DID = "did:web:badges.example.org:public:systems:demo"
LIST_URL = f"{BASE}/public/systems/demo/status/1"
BADGE_URL = f"{BASE}/public/systems/demo/badges/reader"
EMAIL = "Ada.Lovelace@Example.org"
SALT = "9f2c1e"

ISSUER = Issuer(did=DID, name="Demo University", url="https://demo.example.org")
BADGE = Badge(
    id=BADGE_URL,
    name="Reader",
    description="Read five books.",
    image=f"{BASE}/public/images/reader",
    criteria_url="https://demo.example.org/reader/criteria",
)
AWARD = Award(slug="a1b2c3", email=EMAIL, salt=SALT, issued_on=datetime(2024, 5, 1, 9, tzinfo=UTC))
SLOT = StatusSlot(LIST_URL, 4242)


def build(award: Award = AWARD, badge: Badge = BADGE, issuer: Issuer = ISSUER) -> dict[str, Any]:
    return credential.build(award, badge, issuer, SLOT, base_url=BASE)


def full() -> dict[str, Any]:
    """Every optional field there is."""
    return build(
        Award(
            slug="full",
            email=EMAIL,
            salt=SALT,
            issued_on=datetime(2024, 5, 1, 9, 30, 15, 250_000, tzinfo=UTC),
            expires=datetime(2027, 5, 1, tzinfo=UTC),
            evidence_url="https://portfolio.example.org/ada/essay",
            narrative="Wrote an essay on **Babbage**.",
        ),
        Badge(
            id=BADGE_URL,
            name="Reader",
            description="Read five books.",
            image=f"{BASE}/public/images/reader",
            criteria_url="https://demo.example.org/reader/criteria",
            criteria="- Read five books\n- Review one (optional)",
            achievement_type="MicroCredential",
            alignments=(
                Alignment("Reading", "https://standards.example.org/r1", "Reads fluently"),
                Alignment("Writing", "https://standards.example.org/w1"),
            ),
            tags=("reading", "books"),
        ),
        Issuer(
            did=DID,
            name="Demo University",
            url="https://demo.example.org",
            email="badges@demo.example.org",
            description="A university.",
            image=f"{BASE}/public/images/demo-logo",
        ),
    )


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft201909Validator(
        schemas.achievement_credential(), format_checker=jsonschema.FormatChecker()
    )
    return [
        f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)
    ]


def check_terms(document: dict[str, Any]) -> None:
    """openbadgeslib's context validation, as its Data Integrity verifier runs it: the document
    must be the compacted form of its own expansion under the two contexts (JSON-LD safe mode:
    an undefined term, dropped by expansion, fails)."""
    proof_config = {
        "@context": document["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2024-05-01T00:00:00Z",
        "verificationMethod": f"{DID}#key-1",
        "proofPurpose": "assertionMethod",
    }
    validate_document(document, proof_config, document_loader(), jsonld)


class TestSchema:
    def test_the_shipped_schema_is_1edtechs_for_vc_2(self) -> None:
        schema = schemas.achievement_credential()
        jsonschema.Draft201909Validator.check_schema(schema)
        assert schema["$id"].endswith("/ob_v3p0_achievementcredential_schema.json")
        assert "validFrom" in schema["required"]
        assert "issuanceDate" not in schema["properties"]

    def test_the_schema_catches_a_broken_credential(self) -> None:
        """So the passes below mean something."""
        document = build()
        del document["credentialSubject"]["achievement"]["criteria"]
        document["credentialSubject"]["identifier"][0]["email"] = "x"
        document["@context"].reverse()
        assert len(schema_errors(document)) >= 3

    def test_dates_are_checked_as_rfc_3339(self) -> None:
        assert schema_errors({**build(), "validFrom": "1 May 2024"}) != []


@pytest.mark.parametrize(
    "document",
    [pytest.param(build, id="minimal"), pytest.param(full, id="every-optional-field")],
)
class TestValid:
    def test_against_the_1edtech_schema(self, document: Any) -> None:
        assert schema_errors(document()) == []

    def test_only_terms_of_the_two_contexts(self, document: Any) -> None:
        check_terms(document())

    def test_exactly_the_two_contexts_and_types(self, document: Any) -> None:
        built = document()
        assert built["@context"] == [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ]
        assert built["type"] == ["VerifiableCredential", "OpenBadgeCredential"]

    def test_the_email_appears_nowhere(self, document: Any) -> None:
        text = json.dumps(document()).lower()
        assert EMAIL.lower() not in text
        assert "lovelace" not in text


class TestOptionalFields:
    def test_an_undefined_term_is_caught(self) -> None:
        """So `test_only_terms_of_the_two_contexts` means something."""
        document = build()
        document["credentialSubject"]["achievement"]["strapline"] = "Read more"
        with pytest.raises(OB3VerificationError, match="compacted form"):
            check_terms(document)

    def test_minimal(self) -> None:
        document = build()
        assert document["id"] == f"{BASE}/public/credentials/a1b2c3"
        assert document["name"] == "Reader"
        assert document["validFrom"] == "2024-05-01T09:00:00Z"
        assert "validUntil" not in document
        assert "evidence" not in document
        assert "narrative" not in document["credentialSubject"]
        achievement = document["credentialSubject"]["achievement"]
        assert "alignment" not in achievement
        assert "tag" not in achievement
        assert achievement["achievementType"] == "Badge"
        assert document["issuer"] == {
            "id": DID,
            "type": ["Profile"],
            "name": "Demo University",
            "url": "https://demo.example.org",
        }

    def test_expiry_evidence_narrative_alignments_tags(self) -> None:
        document = full()
        assert document["validFrom"] == "2024-05-01T09:30:15Z"
        assert document["validUntil"] == "2027-05-01T00:00:00Z"
        assert document["evidence"] == [
            {"id": "https://portfolio.example.org/ada/essay", "type": ["Evidence"]}
        ]
        subject = document["credentialSubject"]
        assert subject["narrative"] == "Wrote an essay on **Babbage**."
        achievement = subject["achievement"]
        assert achievement == {
            "id": BADGE_URL,
            "type": ["Achievement"],
            "name": "Reader",
            "description": "Read five books.",
            "criteria": {
                "id": "https://demo.example.org/reader/criteria",
                "narrative": "- Read five books\n- Review one (optional)",
            },
            "achievementType": "MicroCredential",
            "image": {"id": f"{BASE}/public/images/reader", "type": "Image"},
            "alignment": [
                {
                    "type": ["Alignment"],
                    "targetName": "Reading",
                    "targetUrl": "https://standards.example.org/r1",
                    "targetDescription": "Reads fluently",
                },
                {
                    "type": ["Alignment"],
                    "targetName": "Writing",
                    "targetUrl": "https://standards.example.org/w1",
                },
            ],
            "tag": ["reading", "books"],
        }
        assert document["issuer"]["email"] == "badges@demo.example.org"
        assert document["issuer"]["image"] == {
            "id": f"{BASE}/public/images/demo-logo",
            "type": "Image",
        }

    def test_the_status_entry(self) -> None:
        assert build()["credentialStatus"] == {
            "id": f"{LIST_URL}#4242",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "4242",
            "statusListCredential": LIST_URL,
        }

    def test_criteria_fall_back_to_the_badge_page(self) -> None:
        badge = Badge(id=BADGE_URL, name="Reader", description="Read.")
        document = build(badge=badge)
        assert document["credentialSubject"]["achievement"]["criteria"] == {"id": BADGE_URL}
        assert "image" not in document["credentialSubject"]["achievement"]
        assert schema_errors(document) == []
        check_terms(document)

    def test_a_time_zone_other_than_utc(self) -> None:
        moment = datetime.fromisoformat("2024-05-01T11:00:00+02:00")
        award = Award(slug="tz", email=EMAIL, salt=SALT, issued_on=moment)
        assert build(award)["validFrom"] == "2024-05-01T09:00:00Z"


class TestRecipient:
    def test_identity_object(self) -> None:
        digest = hashlib.sha256(("ada.lovelace@example.org" + SALT).encode()).hexdigest()
        assert build()["credentialSubject"]["identifier"] == [
            {
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": True,
                "identityHash": f"sha256${digest}",
                "salt": SALT,
            }
        ]

    def test_the_email_is_trimmed_and_lowercased_before_hashing(self) -> None:
        expected = credential.identity_hash("ada.lovelace@example.org", SALT)
        assert credential.identity_hash("  Ada.Lovelace@EXAMPLE.org\n", SALT) == expected

    def test_the_same_hash_as_the_ob2_assertion(self) -> None:
        assert credential.identity_hash(EMAIL, SALT) == ob2.identity(EMAIL, SALT)

    def test_no_subject_id_and_no_email_in_any_form(self) -> None:
        document = full()
        assert "id" not in document["credentialSubject"]
        text = json.dumps(document)
        for form in (EMAIL, EMAIL.lower(), "Ada.Lovelace", "ada.lovelace", "Lovelace"):
            assert form not in text


class TestAchievementType:
    @pytest.mark.parametrize("value", ACHIEVEMENT_TYPES)
    def test_each_of_the_31_types(self, value: str) -> None:
        badge = Badge(id=BADGE_URL, name="R", description="R", achievement_type=value)
        document = build(badge=badge)
        assert document["credentialSubject"]["achievement"]["achievementType"] == value
        assert schema_errors(document) == []

    def test_an_extension_type(self) -> None:
        badge = Badge(id=BADGE_URL, name="R", description="R", achievement_type="ext:Workshop")
        assert schema_errors(build(badge=badge)) == []

    def test_an_unknown_type_is_refused(self) -> None:
        badge = Badge(id=BADGE_URL, name="R", description="R", achievement_type="Trophy")
        with pytest.raises(ValueError, match="achievement type"):
            build(badge=badge)


def _badge_row(**fields: Any) -> dict[str, Any]:
    """A badge as `repository.badges` reads it (see tests/unit/badges)."""
    system = {
        "id": 1,
        "slug": "demo",
        "url": "https://demo.example.org",
        "name": "Demo University",
        "description": "A university.",
        "email": "badges@demo.example.org",
        "image_url": None,
        "image_slug": "demo-logo",
    }
    return {
        "id": 7,
        "slug": "reader",
        "name": "Reader",
        "strapline": "Read more",
        "earner_description": "You read five books.",
        "consumer_description": "Read five books.",
        "issuer_url": None,
        "rubric_url": None,
        "time_value": None,
        "time_units": None,
        "award_limit": None,
        "is_unique": False,
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        "image_url": None,
        "image_slug": "reader",
        "type": "skill",
        "archived": False,
        "system": system,
        "issuer": None,
        "program": None,
        "criteria_url": "https://demo.example.org/reader/criteria",
        "criteria": [
            {"id": 1, "description": "Read five books", "required": True, "note": ""},
            {"id": 2, "description": "Review one", "required": False, "note": ""},
            {"id": 3, "description": "  ", "required": True, "note": ""},
        ],
        "alignments": [
            {
                "id": 1,
                "name": "Reading",
                "url": "https://standards.example.org/r1",
                "description": "",
            }
        ],
        "evidence_type": None,
        "categories": ["literacy"],
        "tags": [{"id": 1, "value": "reading"}, {"id": 2, "value": "books"}],
        "credential": {"kind": "OCA", "achievementType": "Certificate"},
        **fields,
    }


class TestFromWire:
    """The badge and its system as `badge.awarded` carries them (badges' own presenter)."""

    def test_a_badge(self) -> None:
        shown = shown_badges.badge(_badge_row(), BASE)
        assert Badge.from_wire(shown, BADGE_URL) == Badge(
            id=BADGE_URL,
            name="Reader",
            description="Read five books.",
            image=f"{BASE}/public/images/reader",
            criteria_url="https://demo.example.org/reader/criteria",
            criteria="- Read five books\n- Review one (optional)",
            achievement_type="Certificate",
            alignments=(Alignment("Reading", "https://standards.example.org/r1"),),
            tags=("reading", "books"),
        )

    def test_a_plain_badge(self) -> None:
        row = _badge_row(
            credential=None,
            criteria=[],
            alignments=[],
            tags=[],
            criteria_url=None,
            image_slug=None,
            consumer_description="",
        )
        badge = Badge.from_wire(shown_badges.badge(row, BASE), BADGE_URL)
        assert badge.description == "You read five books."
        assert (badge.criteria, badge.criteria_url, badge.image) == (None, None, None)
        assert (badge.achievement_type, badge.alignments, badge.tags) == (None, (), ())
        document = build(badge=badge)
        assert schema_errors(document) == []
        check_terms(document)

    def test_the_issuer(self) -> None:
        shown = shown_badges.badge(_badge_row(), BASE)
        assert Issuer.from_wire(shown["system"], DID) == Issuer(
            did=DID,
            name="Demo University",
            url="https://demo.example.org",
            email="badges@demo.example.org",
            description="A university.",
            image=f"{BASE}/public/images/demo-logo",
        )

    def test_from_the_wire_to_a_valid_credential(self) -> None:
        shown = shown_badges.badge(_badge_row(), BASE)
        document = build(
            badge=Badge.from_wire(shown, BADGE_URL), issuer=Issuer.from_wire(shown["system"], DID)
        )
        assert schema_errors(document) == []
        check_terms(document)
        assert "Read more" not in json.dumps(document)  # the strapline has no OB 3.0 term
