"""Award requests as clients send them: dates in every form BadgeKit took, evidence URLs, bulk
emails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.messages.instances import AwardFields, BulkAwardFields, parse_timestamp

MAY_1 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


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
