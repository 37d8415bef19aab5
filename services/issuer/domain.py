"""The issuer's rules, without I/O: what an Open Campus answer means, when to try again, the
circuit breaker, and what a credential looks like in responses."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from shared.opencampus import DUPLICATE_SUBTYPE


@dataclass(frozen=True)
class CallResult:
    """One call to Open Campus: the HTTP status and parsed body, or no answer at all."""

    status_code: int | None
    body: Any
    duration_ms: int
    retry_after_s: float | None = None
    failure: str | None = None  # "timeout" or "connection_error" when there was no answer


class Outcome(StrEnum):
    ISSUED = "issued"  # 2xx
    DUPLICATE = "duplicate"  # 400 DUPLICATE_ISSUANCE_ERROR
    TRANSIENT = "transient"  # timeout, connection error, 429, 5xx: try again
    REFUSED = "refused"  # any other answer: failed at once, the body kept


def classify(result: CallResult) -> Outcome:
    code = result.status_code
    if code is None or code == 429 or code >= 500:
        return Outcome.TRANSIENT
    if 200 <= code < 300:
        return Outcome.ISSUED
    if code == 400 and _sub_type(result.body) == DUPLICATE_SUBTYPE:
        return Outcome.DUPLICATE
    return Outcome.REFUSED


def may_have_reached(result: CallResult) -> bool:
    """Whether Open Campus may have recorded the credential although we did not hear so:
    no answer, or a 5xx (a 429 means it was not processed)."""
    return result.status_code is None or result.status_code >= 500


def an_earlier_attempt_may_have_issued(row: Mapping[str, Any]) -> bool:
    """Whether an attempt before the current one (the row's `attempts`-th) may have reached Open
    Campus: any not known for certain to have gone unprocessed. An attempt whose process died in
    the call left no record at all, so it counts as one that may have."""
    earlier: int = row["attempts"] - 1
    return earlier > int(row["not_sent"])


def _sub_type(body: Any) -> Any:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("subType") if isinstance(error, dict) else None


def vc_id(body: Any) -> str | None:
    """`vc.id` of a success body, where Open Campus sends one."""
    vc = body.get("vc") if isinstance(body, dict) else None
    found = vc.get("id") if isinstance(vc, dict) else None
    return found if isinstance(found, str) else None


def retry_delay(
    step: int,
    schedule: Sequence[timedelta],
    retry_after_s: float | None,
    rng: random.Random,
) -> float | None:
    """Seconds until the next attempt after the `step`-th retry-worthy failure (0-based), with
    full jitter, never sooner than Retry-After; None once the schedule is spent."""
    if step >= len(schedule):
        return None
    delay = rng.uniform(0, schedule[step].total_seconds())
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay


class CircuitBreaker:
    """Stops calls with one API key while Open Campus keeps failing for it: `threshold`
    transient failures in a row open it for `cooldown_s`, then a single probe may go."""

    def __init__(
        self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0
        self._probing = False

    def wait_s(self) -> float | None:
        """None when a call may go now; otherwise how long to wait."""
        if self._failures < self._threshold:
            return None
        remaining = self._open_until - self._clock()
        if remaining > 0:
            return remaining
        if self._probing:
            return self._cooldown_s
        self._probing = True
        return None

    def record(self, answered: bool) -> None:
        """`answered`: Open Campus gave a real answer (even a refusal); otherwise a transient
        failure."""
        self._probing = False
        if answered:
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._open_until = self._clock() + self._cooldown_s


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def credential(row: Mapping[str, Any], attempts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A credential as responses show it: never the recipient's name or email."""
    body = row["body"]
    shown: dict[str, Any] = {
        "id": str(row["id"]),
        "issuerReferenceId": row["issuer_reference_id"],
        "kind": row["kind"],
        "status": row["status"],
    }
    for holder in ("holderOcId", "holderAddress"):
        if body.get(holder) is not None:
            shown[holder] = body[holder]
    shown.update(
        {
            "vcId": row["vc_id"],
            "error": row["error"],
            "attempts": [
                {
                    "at": _iso(attempt["at"]),
                    "statusCode": attempt["status_code"],
                    "durationMs": attempt["duration_ms"],
                    "outcome": attempt["outcome"],
                }
                for attempt in attempts
            ],
            "createdAt": _iso(row["created_at"]),
            "updatedAt": _iso(row["updated_at"]),
        }
    )
    if row["award_uid"] is not None:
        shown["awardUid"] = str(row["award_uid"])
    return shown


def announced(row: Mapping[str, Any]) -> dict[str, Any]:
    """A credential as its `credential.*` event carries it (no attempts, no personal data)."""
    shown = credential(row, [])
    del shown["attempts"]
    return shown
