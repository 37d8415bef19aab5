"""The verification panel's verdict, from the issuer's report and what badges knows first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.gateway.pages.verdict import of_award, of_report

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PASSED = {
    "structure": "a credential",
    "schema": "valid",
    "proof": "signature verified",
    "issuer": "did:web:x",
    "status": "not revoked",
    "validity": "valid since 2025",
}


def report(verified: bool = True, **failed: str) -> dict[str, Any]:
    checks = [
        {
            "check": name,
            "outcome": "failed" if name in failed else "passed",
            "message": failed.get(name, message),
        }
        for name, message in PASSED.items()
    ]
    return {"verified": verified, "kind": "ob3-ldp", "credential": {}, "checks": checks}


class TestOfReport:
    def test_valid(self) -> None:
        verdict = of_report(report())
        assert verdict.status == "valid"
        assert verdict.headline == "Valid"
        assert [check["name"] for check in verdict.checks][:3] == [
            "Format",
            "Open Badges 3.0 schema",
            "Issuer's signature",
        ]

    def test_revoked_suspended_expired_and_not_yet_valid(self) -> None:
        assert of_report(report(False, status="revoked by its issuer")).status == "revoked"
        assert of_report(report(False, status="suspension by its issuer")).status == "suspended"
        assert of_report(report(False, validity="expired on 2025-01-01")).status == "expired"
        later = report(False, validity="not valid until 2030-01-01")
        assert of_report(later).status == "not-yet-valid"

    def test_anything_else_that_fails_is_invalid(self) -> None:
        verdict = of_report(report(False, proof="signature does not match"))
        assert verdict.status == "invalid"
        assert "do not rely" in verdict.explanation


class TestOfAward:
    def test_a_revocation_badges_knows_wins_over_a_report_not_caught_up(self) -> None:
        verdict = of_award(report(), revoked=True, expires=None, now=NOW)
        assert verdict.status == "revoked"
        assert verdict.checks == ()  # not the report's, which says otherwise
        caught_up = report(False, status="revoked by its issuer")
        verdict = of_award(caught_up, revoked=True, expires=None, now=NOW)
        assert [c["outcome"] for c in verdict.checks if c["check"] == "status"] == ["failed"]

    def test_an_expiry_badges_knows(self) -> None:
        verdict = of_award(report(), revoked=False, expires=NOW - timedelta(days=1), now=NOW)
        assert verdict.status == "expired"
        future = of_award(report(), revoked=False, expires=NOW + timedelta(days=1), now=NOW)
        assert future.status == "valid"

    def test_no_report_yet_is_pending(self) -> None:
        verdict = of_award(None, revoked=False, expires=None, now=NOW)
        assert verdict.status == "pending"
        assert verdict.checks == ()
