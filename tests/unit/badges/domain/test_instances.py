"""Pure rules of awards and claim codes: dates as clients send them, expiry checks, limits,
shapes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.badges.domain import claim_codes, instances
from shared.errors import ValidationFailed
from shared.messages.claim_codes import ClaimCodeFields, ClaimCodeOptions
from shared.messages.instances import AwardFields, BulkAwardFields, parse_timestamp

MAY_1 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BADGE = {
    "name": "Reader",
    "earnerDescription": "Read.",
    "consumerDescription": "Read a lot.",
    "criteriaUrl": "https://example.org/criteria",
    "unique": False,
}


class TestParseTimestamp:
    @pytest.mark.parametrize(
        "value",
        [
            1714564800,
            "1714564800",
            1714564800000,
            "1714564800000",
            1714564800.0,
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00+00:00",
            "2024-05-01T14:00:00+02:00",
            "2024-05-01T12:00:00",
            " 2024-05-01T12:00:00Z ",
        ],
    )
    def test_seconds_milliseconds_and_iso_8601_name_the_same_moment(self, value: Any) -> None:
        assert parse_timestamp(value) == MAY_1

    def test_a_date_alone_is_midnight_utc(self) -> None:
        assert parse_timestamp("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)

    def test_results_are_always_in_utc(self) -> None:
        parsed = parse_timestamp("2024-05-01T14:00:00+02:00")
        assert parsed is not None
        assert parsed.utcoffset() == timedelta(0)

    @pytest.mark.parametrize("value", [None, "", "   "])
    def test_blank_is_no_date(self, value: Any) -> None:
        assert parse_timestamp(value) is None

    @pytest.mark.parametrize("value", ["tomorrow", "2024-13-01", True, [1], {"a": 1}, "1e10"])
    def test_anything_else_is_refused(self, value: Any) -> None:
        with pytest.raises(ValueError, match="Invalid date"):
            parse_timestamp(value)

    def test_out_of_range_numbers_are_refused_not_crashed_on(self) -> None:
        with pytest.raises(ValueError, match="Invalid date"):
            parse_timestamp(10**30)


class TestAwardFields:
    def test_dates_survive_the_wire(self) -> None:
        fields = AwardFields.model_validate(
            {"email": "a@example.org", "expires": 1714564800000, "issuedOn": "1714564800"}
        )
        again = AwardFields.from_data(fields.to_data())
        assert again.expires == again.issued_on == MAY_1

    def test_evidence_must_be_a_web_url(self) -> None:
        with pytest.raises(ValidationError, match="Invalid URL"):
            AwardFields.model_validate({"email": "a@example.org", "evidence": "ftp://x.org/e"})

    @pytest.mark.parametrize("emails", ["a@example.org", 3, {"0": "a@example.org"}, []])
    def test_bulk_emails_must_be_a_non_empty_list(self, emails: Any) -> None:
        with pytest.raises(ValidationError):
            BulkAwardFields.model_validate({"emails": emails})

    def test_every_bulk_email_is_checked(self) -> None:
        with pytest.raises(ValidationError) as caught:
            BulkAwardFields.model_validate({"emails": ["a@example.org", "nope"]})
        assert caught.value.errors()[0]["loc"] == ("emails", 1)


class TestCheckDates:
    NOW = MAY_1

    def test_no_expiry_or_a_future_one_passes(self) -> None:
        instances.check_dates(None, None, self.NOW)
        instances.check_dates(None, self.NOW + timedelta(days=1), self.NOW)

    def test_an_expiry_in_the_past_is_refused_on_the_expires_field(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            instances.check_dates(None, self.NOW - timedelta(seconds=1), self.NOW)
        assert caught.value.details[0]["field"] == "expires"
        assert caught.value.details[0]["message"] == "Expiry date is in the past"

    def test_an_expiry_before_the_issue_date_is_refused(self) -> None:
        with pytest.raises(ValidationFailed):
            instances.check_dates(
                self.NOW + timedelta(days=10), self.NOW + timedelta(days=1), self.NOW
            )


class TestInstanceShape:
    ROW = {
        "slug": "abc",
        "email": "a@example.org",
        "issued_on": MAY_1,
        "expires": None,
        "claim_code": None,
        "credential_id": None,
        "credential_status": None,
    }

    def test_badgekit_fields_with_absolute_assertion_url(self) -> None:
        assert instances.instance(self.ROW, "https://badges.example.org") == {
            "slug": "abc",
            "email": "a@example.org",
            "expires": None,
            "issuedOn": "2024-05-01T12:00:00+00:00",
            "claimCode": None,
            "assertionUrl": "https://badges.example.org/public/assertions/abc",
            "badge": None,
        }

    def test_issued_on_for_webhooks_is_unix_seconds(self) -> None:
        assert instances.unix_seconds(MAY_1) == 1714564800


class TestClaimCodes:
    def test_random_codes_are_ten_hex_characters(self) -> None:
        codes = {claim_codes.random_code() for _ in range(100)}
        assert all(re.fullmatch(r"[0-9a-f]{10}", code) for code in codes)
        assert len(codes) == 100

    @pytest.mark.parametrize(
        ("given", "meant"),
        [(False, False), ("0", False), ("false", False), ("true", True), (1, True), ("", None)],
    )
    def test_false_means_false_issue_116(self, given: Any, meant: bool | None) -> None:
        options = ClaimCodeOptions.model_validate({"multiuse": given, "claimed": given})
        assert options.multiuse is meant
        assert options.claimed is meant

    @pytest.mark.parametrize("code", ["", "a/b", "two words"])
    def test_codes_must_be_addressable(self, code: str) -> None:
        with pytest.raises(ValidationError):
            ClaimCodeFields.model_validate({"code": code})

    def test_claimed_counts_only_for_single_use_codes(self) -> None:
        assert claim_codes.found_by_code({"id": 1}, True, False)["claimed"] == 1
        assert claim_codes.found_by_code({"id": 1}, True, True)["claimed"] == 0
        assert claim_codes.found_by_code({"id": 1}, False, False)["claimed"] == 0
