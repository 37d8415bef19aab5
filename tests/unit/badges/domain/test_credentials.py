"""The Open Campus body an award of a credential badge sends, and the rules around it: holders
checked against the badge's credential, dates in UTC with `Z`, the identifier cut to 50
characters, the reference derived from the award's uid, name and email for an OCA only, and a
body Open Campus would refuse turned into field details before anything is sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.badges.domain import credentials
from shared.errors import ValidationFailed
from shared.messages.credentials import CredentialSpec
from shared.messages.instances import AwardFields
from shared.opencampus import IDENTIFIER_MAX, validate_issue_request

UID = uuid.UUID("8b0b7a8e-3c52-4f0e-9a43-2f8f1d6c0b1e")
ISSUED = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
IMAGE = "https://example.org/badge.png"
ADDRESS = "0x" + "ab12" * 10


def badge(credential: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    """A badge row as `repository.badges` reads it (the columns the body uses)."""
    return {
        "slug": "reading-champion",
        "name": "Reading Champion",
        "earner_description": "You read twenty books.",
        "consumer_description": "The earner read twenty books this summer.",
        "credential": credential,
        **extra,
    }


OCA = badge({"kind": "OCA", "achievementType": "Badge"})
OCB = badge({"kind": "OCB", "achievementType": "Achievement", "collectionSymbol": "ocbadge"})


def award(**fields: Any) -> AwardFields:
    return AwardFields.model_validate({"email": "ada@example.org", **fields})


def body_of(
    row: dict[str, Any],
    image: str | None = IMAGE,
    expires: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    holder = credentials.holder_of(row, award(**fields))
    assert holder is not None
    request = credentials.issue_request(
        row,
        image,
        holder,
        award_uid=UID,
        email="ada@example.org",
        issued_on=ISSUED,
        expires=expires,
    )
    return request.to_wire()


def problems(error: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {detail["field"]: detail["message"] for detail in error.value.details}


class TestHolder:
    def test_no_holder_is_a_plain_award(self) -> None:
        assert credentials.holder_of(OCA, award(name="Ada")) is None
        assert credentials.holder_of(badge(None), award()) is None

    @pytest.mark.parametrize(
        ("row", "fields", "field"),
        [
            (badge(None), {"holderOcId": "ada.edu"}, "holderOcId"),
            (badge(None), {"holderAddress": ADDRESS}, "holderAddress"),
            (OCA, {"holderAddress": ADDRESS, "name": "Ada"}, "holderAddress"),
            (OCA, {"holderOcId": "ada.edu"}, "name"),
        ],
        ids=["ocid, no credential", "address, no credential", "address for oca", "no name"],
    )
    def test_refused(self, row: dict[str, Any], fields: dict[str, Any], field: str) -> None:
        with pytest.raises(ValidationFailed) as error:
            credentials.holder_of(row, award(**fields))
        assert set(problems(error)) == {field}

    def test_an_oca_without_name_or_ocid_lists_both_problems(self) -> None:
        with pytest.raises(ValidationFailed) as error:
            credentials.holder_of(OCA, award(holderAddress=ADDRESS))
        assert set(problems(error)) == {"holderAddress", "name"}

    def test_an_ocb_takes_either_holder_and_drops_the_name(self) -> None:
        by_ocid = credentials.holder_of(OCB, award(holderOcId="ada.edu", name="Ada"))
        by_address = credentials.holder_of(OCB, award(holderAddress=ADDRESS))
        assert by_ocid is not None
        assert by_address is not None
        assert (by_ocid.oc_id, by_ocid.address, by_ocid.name) == ("ada.edu", None, None)
        assert (by_address.oc_id, by_address.address) == (None, ADDRESS)

    def test_both_holders_are_refused_by_the_fields(self) -> None:
        with pytest.raises(ValueError, match="at most one"):
            award(holderOcId="ada.edu", holderAddress=ADDRESS)


class TestBody:
    def test_an_oca(self) -> None:
        body = body_of(OCA, holderOcId="ada.edu", name="Ada Lovelace")
        assert body == {
            "credentialPayload": {
                "validFrom": "2024-05-01T12:00:00.123Z",
                "awardedDate": "2024-05-01T12:00:00.123Z",
                "description": "The earner read twenty books this summer.",
                "image": IMAGE,
                "credentialSubject": {
                    "type": "Person",
                    "name": "Ada Lovelace",
                    "email": "ada@example.org",
                    "image": IMAGE,
                    "achievement": {
                        "identifier": "reading-champion",
                        "name": "Reading Champion",
                        "description": "You read twenty books.",
                        "achievementType": "Badge",
                    },
                },
            },
            "holderOcId": "ada.edu",
            "issuerReferenceId": f"plaudit:{UID}",
        }
        assert validate_issue_request(body).kind == "OCA"

    def test_an_ocb_carries_no_name_or_email(self) -> None:
        body = body_of(OCB, holderAddress=ADDRESS, name="Ada Lovelace")
        assert body["holderAddress"] == ADDRESS
        assert "holderOcId" not in body
        assert body["collectionSymbol"] == "ocbadge"
        subject = body["credentialPayload"]["credentialSubject"]
        assert "name" not in subject
        assert "email" not in subject
        assert validate_issue_request(body).kind == "OCB"

    def test_expires_is_valid_until_in_utc(self) -> None:
        paris = timezone(timedelta(hours=2))
        expires = datetime(2025, 5, 1, 14, 0, tzinfo=paris)
        body = body_of(OCA, expires=expires, holderOcId="ada.edu", name="Ada")
        assert body["credentialPayload"]["validUntil"] == "2025-05-01T12:00:00.000Z"

    def test_the_identifier_is_the_slug_cut_to_50_characters(self) -> None:
        slug = "s" * 40 + "-" + "t" * 30
        body = body_of(badge(OCA["credential"], slug=slug), holderOcId="ada.edu", name="Ada")
        identifier = body["credentialPayload"]["credentialSubject"]["achievement"]["identifier"]
        assert identifier == slug[:IDENTIFIER_MAX]
        assert len(identifier) == IDENTIFIER_MAX

    @pytest.mark.parametrize("image", [None, "data:image/png;base64,AAAA", "ftp://x.org/a.png"])
    def test_an_image_that_is_not_http_is_left_out(self, image: str | None) -> None:
        body = body_of(OCA, image=image, holderOcId="ada.edu", name="Ada")
        assert "image" not in body["credentialPayload"]
        assert "image" not in body["credentialPayload"]["credentialSubject"]

    def test_the_reference_is_the_same_for_the_same_award(self) -> None:
        first = body_of(OCA, holderOcId="ada.edu", name="Ada")
        again = body_of(OCA, holderOcId="ada.edu", name="Ada")
        assert first["issuerReferenceId"] == again["issuerReferenceId"] == f"plaudit:{UID}"

    def test_a_body_open_campus_would_refuse_is_a_400_without_personal_values(self) -> None:
        holder = credentials.holder_of(OCA, award(holderOcId="ada.edu", name="Ada"))
        assert holder is not None
        with pytest.raises(ValidationFailed) as error:
            credentials.issue_request(
                badge(OCA["credential"], earner_description="   "),
                IMAGE,
                holder,
                award_uid=UID,
                email="not-an-email",
                issued_on=ISSUED,
                expires=None,
            )
        found = {detail["field"]: detail for detail in error.value.details}
        subject = "credentialPayload.credentialSubject"
        assert set(found) == {f"{subject}.achievement.description", f"{subject}.email"}
        assert found[f"{subject}.email"]["value"] == ""

    def test_valid_until_must_follow_valid_from(self) -> None:
        with pytest.raises(ValidationFailed) as error:
            body_of(OCA, expires=ISSUED, holderOcId="ada.edu", name="Ada")
        assert "validUntil" in str(error.value.details)


class TestDates:
    def test_iso_is_utc_with_z_to_the_millisecond(self) -> None:
        assert credentials.iso(ISSUED) == "2024-05-01T12:00:00.123Z"
        assert credentials.to_millisecond(ISSUED).microsecond == 123000


class TestBadgeCredential:
    def test_stored_shows_the_collection_symbol_for_an_ocb_only(self) -> None:
        oca = CredentialSpec.model_validate({"kind": "OCA", "achievementType": "Badge"})
        ocb = CredentialSpec.model_validate({"kind": "OCB", "achievementType": "Badge"})
        assert credentials.stored(oca) == {"kind": "OCA", "achievementType": "Badge"}
        assert credentials.stored(ocb) == {
            "kind": "OCB",
            "achievementType": "Badge",
            "collectionSymbol": "ocbadge",
        }
        assert credentials.stored(None) is None

    def test_a_valid_badge_has_no_problems(self) -> None:
        assert credentials.badge_problems(OCA, IMAGE) == []
        assert credentials.badge_problems(OCB, None) == []
        assert credentials.badge_problems(badge(None, name=""), IMAGE) == []

    def test_problems_name_the_badge_fields(self) -> None:
        row = badge(OCA["credential"], name=" ", consumer_description="x" * 10_001)
        found = {detail["field"] for detail in credentials.badge_problems(row, IMAGE)}
        assert found == {"name", "consumerDescription"}

    def test_identifier_taken_names_the_identifier(self) -> None:
        slug = "a" * 60
        error = credentials.identifier_taken(slug, "slug")
        (detail,) = error.details
        assert detail["field"] == "slug"
        assert "a" * 50 + "`" in detail["message"]
