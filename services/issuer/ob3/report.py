"""What a verification answers: the kind of credential, what it claims, and six checks in a fixed
order, each `passed`, `failed`, `warning` or `skipped` with a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Kind = Literal["ob3-ldp", "ob3-jwt", "ob2-hosted"]
Outcome = Literal["passed", "failed", "warning", "skipped"]
CHECKS = ("structure", "schema", "proof", "issuer", "status", "validity")


@dataclass(frozen=True)
class Check:
    check: str
    outcome: Outcome
    message: str


@dataclass(frozen=True)
class Summary:
    """What the credential says of itself; trusted only as far as the checks go."""

    issuer_id: str | None = None
    issuer_name: str | None = None
    achievement_id: str | None = None
    achievement_name: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "issuer": {"id": self.issuer_id, "name": self.issuer_name},
            "achievement": {"id": self.achievement_id, "name": self.achievement_name},
            "validFrom": self.valid_from,
            "validUntil": self.valid_until,
        }


@dataclass(frozen=True)
class Report:
    kind: Kind
    credential: Summary
    checks: tuple[Check, ...]

    @property
    def verified(self) -> bool:
        """A proof that verified, and no check failed (a warning does not fail)."""
        outcomes = {check.check: check.outcome for check in self.checks}
        return outcomes["proof"] == "passed" and "failed" not in outcomes.values()

    def outcome(self, name: str) -> Outcome:
        return next(check.outcome for check in self.checks if check.check == name)

    def message(self, name: str) -> str:
        return next(check.message for check in self.checks if check.check == name)

    def to_wire(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "kind": self.kind,
            "credential": self.credential.to_wire(),
            "checks": [
                {"check": check.check, "outcome": check.outcome, "message": check.message}
                for check in self.checks
            ],
        }


@dataclass
class Checks:
    """The checks as they are made; any not made is reported skipped, with why."""

    done: dict[str, Check] = field(default_factory=dict)

    def passed(self, name: str, message: str) -> None:
        self._record(name, "passed", message)

    def failed(self, name: str, message: str) -> None:
        self._record(name, "failed", message)

    def warning(self, name: str, message: str) -> None:
        self._record(name, "warning", message)

    def skipped(self, name: str, message: str) -> None:
        self._record(name, "skipped", message)

    def ok(self, name: str) -> bool:
        found = self.done.get(name)
        return found is not None and found.outcome in ("passed", "warning")

    def skip_rest(self, message: str) -> None:
        for name in CHECKS:
            if name not in self.done:
                self.skipped(name, message)

    def report(self, kind: Kind, summary: Summary) -> Report:
        self.skip_rest("not checked")
        return Report(kind, summary, tuple(self.done[name] for name in CHECKS))

    def _record(self, name: str, outcome: Outcome, message: str) -> None:
        if name not in CHECKS:
            raise ValueError(f"no check is called {name!r}")
        if name in self.done:
            raise ValueError(f"check {name!r} was made already")
        self.done[name] = Check(name, outcome, message)


def text_of(value: Any) -> str | None:
    """A member a credential should hold as a string, or None."""
    return value if isinstance(value, str) else None


def moment_of(value: Any) -> datetime | None:
    """A member a credential should hold as a date-time with its offset, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
