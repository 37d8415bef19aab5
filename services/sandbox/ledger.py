"""What the sandbox remembers: accepted API keys, issued credentials, and counters.

`record` checks for a duplicate and records in one synchronous step (no await in between), so
concurrent requests with one `issuerReferenceId` issue exactly one credential.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.sandbox.faults import Outcome
from shared.opencampus import IssueRequest

# The counters of `GET /_sandbox/stats`, besides one per outcome.
COUNTERS = ("calls", "unauthorized", "invalidJson", "validationFailed", "duplicates", "recorded")


@dataclass(frozen=True)
class Credential:
    api_key: str
    issuer_reference_id: str | None
    vc_id: str
    kind: str
    holder: str
    outcome: Outcome
    body: dict[str, Any]
    recorded_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "issuerReferenceId": self.issuer_reference_id,
            "vcId": self.vc_id,
            "apiKeyLast4": self.api_key[-4:],
            "kind": self.kind,
            "holder": self.holder,
            "outcome": self.outcome.value,
            "recordedAt": self.recorded_at.isoformat().replace("+00:00", "Z"),
            "body": self.body,
        }


class Ledger:
    def __init__(self, api_keys: Iterable[str] = ()) -> None:
        self.keys = {key for key in api_keys if key}
        self.credentials: list[Credential] = []
        self._by_reference: dict[tuple[str, str], Credential] = {}
        self._counts: Counter[str] = Counter()

    def accepts(self, api_key: str | None) -> bool:
        return bool(api_key) and api_key in self.keys

    def count(self, name: str) -> None:
        self._counts[name] += 1

    def record(
        self, api_key: str, request: IssueRequest, body: dict[str, Any], outcome: Outcome
    ) -> Credential | None:
        """The new credential, or None when this key already used the `issuerReferenceId`."""
        reference = request.issuer_reference_id
        if reference is not None and (api_key, reference) in self._by_reference:
            self.count("duplicates")
            return None
        holder = request.holder_oc_id or request.holder_address
        assert holder is not None  # validation requires exactly one
        credential = Credential(
            api_key=api_key,
            issuer_reference_id=reference,
            vc_id=f"urn:uuid:{uuid.uuid4()}",
            kind=request.kind,
            holder=holder,
            outcome=outcome,
            body=body,
            recorded_at=datetime.now(UTC),
        )
        if reference is not None:
            self._by_reference[api_key, reference] = credential
        self.credentials.append(credential)
        self.count("recorded")
        return credential

    def stats(self) -> dict[str, Any]:
        return {
            **{name: self._counts[name] for name in COUNTERS},
            "outcomes": {outcome.value: self._counts[outcome.value] for outcome in Outcome},
        }

    def reset(self) -> None:
        """Forget credentials and counters; keys stay."""
        self.credentials.clear()
        self._by_reference.clear()
        self._counts.clear()
