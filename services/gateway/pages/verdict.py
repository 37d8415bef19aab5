"""The verification panel's verdict: the report `POST /public/verify` gives (computed by the
issuer, never here), said in words a person understands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["valid", "revoked", "suspended", "expired", "not-yet-valid", "pending", "invalid"]

_HEADLINES: dict[Status, str] = {
    "valid": "Valid",
    "revoked": "Revoked",
    "suspended": "Suspended",
    "expired": "Expired",
    "not-yet-valid": "Not yet valid",
    "pending": "Not verified yet",
    "invalid": "Could not be verified",
}
_EXPLANATIONS: dict[Status, str] = {
    "valid": (
        "The issuer's signature checks out, the badge has not been changed since it was"
        " issued, and the issuer has not revoked it."
    ),
    "revoked": "The issuer has withdrawn this badge. It is no longer valid.",
    "suspended": "The issuer has suspended this badge for now. It is not valid while suspended.",
    "expired": "This badge had an end date, which has passed. It is no longer valid.",
    "not-yet-valid": "This badge only becomes valid later.",
    "pending": (
        "The signed credential is still being prepared. Reload this page in a few seconds."
    ),
    "invalid": "Some checks failed: do not rely on this badge. The details are below.",
}
# The checks of a report as a person would name them.
CHECK_NAMES = {
    "structure": "Format",
    "schema": "Open Badges 3.0 schema",
    "proof": "Issuer's signature",
    "issuer": "Issuer",
    "status": "Revocation",
    "validity": "Dates",
}


@dataclass(frozen=True)
class Verdict:
    status: Status
    headline: str
    explanation: str
    checks: tuple[dict[str, str], ...] = ()


def _verdict(status: Status, checks: tuple[dict[str, str], ...] = ()) -> Verdict:
    return Verdict(status, _HEADLINES[status], _EXPLANATIONS[status], checks)


def _failed(report: dict[str, Any], check: str) -> str | None:
    for item in report.get("checks", []):
        if item.get("check") == check and item.get("outcome") == "failed":
            return str(item.get("message", ""))
    return None


def of_report(report: dict[str, Any]) -> Verdict:
    """The verdict of a verification report (`VerificationReport`)."""
    checks = tuple(
        {
            "check": str(item.get("check")),
            "name": CHECK_NAMES.get(str(item.get("check")), str(item.get("check"))),
            "outcome": str(item.get("outcome")),
            "message": str(item.get("message")),
        }
        for item in report.get("checks", [])
    )
    status_problem = _failed(report, "status")
    if status_problem is not None and "suspen" in status_problem:
        return _verdict("suspended", checks)
    if status_problem is not None and "revoked" in status_problem:
        return _verdict("revoked", checks)
    validity_problem = _failed(report, "validity")
    if validity_problem is not None and validity_problem.startswith("expired"):
        return _verdict("expired", checks)
    if validity_problem is not None and validity_problem.startswith("not valid until"):
        return _verdict("not-yet-valid", checks)
    if report.get("verified") is True:
        return _verdict("valid", checks)
    return _verdict("invalid", checks)


def of_award(
    report: dict[str, Any] | None,
    *,
    revoked: bool,
    expires: datetime | None,
    now: datetime | None = None,
) -> Verdict:
    """An award's verdict: its report, where the issuer could make one (None: its credential is
    not signed yet), overruled by what the badges service knows first (a revocation, an expiry)
    while the issuer's status list catches up."""
    reported = of_report(report) if report is not None else None
    if revoked:
        # The report's checks only where they say so too (a report made before the revocation
        # would show a status check passed).
        return reported if reported and reported.status == "revoked" else _verdict("revoked")
    if expires is not None and expires <= (now or datetime.now(UTC)):
        return reported if reported and reported.status == "expired" else _verdict("expired")
    return reported or _verdict("pending")
