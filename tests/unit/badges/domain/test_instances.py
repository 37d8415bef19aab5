"""Awards as responses show them, and the dates an award may have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.badges.domain import instances
from shared.errors import ValidationFailed

MAY_1 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


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

    def test_badgekit_fields_with_absolute_assertion_and_credential_urls(self) -> None:
        assert instances.instance(self.ROW, "https://badges.example.org") == {
            "slug": "abc",
            "email": "a@example.org",
            "expires": None,
            "issuedOn": "2024-05-01T12:00:00+00:00",
            "claimCode": None,
            "assertionUrl": "https://badges.example.org/public/assertions/abc",
            "openBadgeCredentialUrl": "https://badges.example.org/public/credentials/abc",
            "badge": None,
        }

    def test_issued_on_for_webhooks_is_unix_seconds(self) -> None:
        assert instances.unix_seconds(MAY_1) == 1714564800


class TestCredentialShape:
    ROW = {
        "slug": "award-1",
        "email": "ada@example.org",
        "expires": None,
        "issued_on": MAY_1,
        "claim_code": None,
    }

    def test_a_plain_award_has_no_credential_key(self) -> None:
        shown = instances.instance({**self.ROW, "credential_id": None}, "https://plaudit.example")
        assert "credential" not in shown

    def test_a_credential_shows_id_and_status_then_the_vc_id(self) -> None:
        row = {**self.ROW, "credential_id": "c-1", "credential_status": "pending"}
        assert instances.instance(row, "https://p.example")["credential"] == {
            "id": "c-1",
            "status": "pending",
        }
        issued = {**row, "credential_status": "issued", "credential_vc_id": "vc-9"}
        assert instances.instance(issued, "https://p.example")["credential"] == {
            "id": "c-1",
            "status": "issued",
            "vcId": "vc-9",
        }
