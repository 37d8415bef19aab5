"""The webhooks service's rules, without I/O: payloads, signatures (Standard Webhooks v1, and
BadgeKit's JWT for endpoints that ask for BadgeKit's format), which answers succeed, when to try
again, and what endpoints and deliveries look like in responses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import jwt
import orjson

from shared.tokens import short_secrets_allowed

SECRET_PREFIX = "whsec_"
# Standard Webhooks wants 24 to 64 random bytes.
SECRET_BYTES = 32
# Retries land within ±20 % of the schedule, so failed deliveries do not come back in lockstep.
JITTER = 0.2


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (Standard Webhooks, symmetric)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def standard_headers(
    signing_secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every current secret signs (two during a rotation's overlap), space separated."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in signing_secrets
        ),
    }


def badgekit_headers(secret: str, body: bytes) -> dict[str, str]:
    """BadgeKit's webhook signature: a JWT (HS256, the endpoint's secret) over the body's hash."""
    claims = {"body": {"alg": "sha256", "hash": hashlib.sha256(body).hexdigest()}}
    with short_secrets_allowed():
        token = jwt.encode(claims, secret, algorithm="HS256")
    return {"Authorization": f'JWT token="{token}"'}


def standard_payload(event_type: str, occurred_at: datetime, data: Mapping[str, Any]) -> bytes:
    return orjson.dumps({"type": event_type, "timestamp": occurred_at.isoformat(), "data": data})


# BadgeKit's webhook bodies, by event: its `action` and the fields of the event it carried.
_BADGEKIT = {
    "badge.awarded": ("award", ("uid", "badge", "email", "assertionUrl", "issuedOn", "comment")),
    "badge.revoked": ("revoke", ("uid", "badge", "email")),
    "application.reviewed": ("review", ("application", "review", "approved")),
}


# The events BadgeKit's format has (its endpoints take no other).
BADGEKIT_TYPES = tuple(_BADGEKIT)


def badgekit_payload(event_type: str, data: Mapping[str, Any]) -> bytes | None:
    """The body BadgeKit itself sent for this event, or None: BadgeKit announced only awards,
    revocations and reviews."""
    if event_type not in _BADGEKIT:
        return None
    action, keys = _BADGEKIT[event_type]
    return orjson.dumps({"action": action, **{key: data.get(key) for key in keys}})


def retry_delay(
    step: int,
    schedule: Sequence[timedelta],
    retry_after_s: float | None,
    rng: random.Random,
) -> float | None:
    """Seconds until the next attempt after the `step`-th failure (0-based): the schedule's
    delay ±20 %, never sooner than Retry-After; None once the schedule is spent."""
    if step >= len(schedule):
        return None
    delay = schedule[step].total_seconds() * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def endpoint(row: Mapping[str, Any], *, secret: str | None = None) -> dict[str, Any]:
    """An endpoint as responses show it; `secret` only when it is created or rotated."""
    shown: dict[str, Any] = {
        "id": str(row["id"]),
        "url": row["url"],
        "events": list(row["events"]),
        "format": row["format"],
        "description": row["description"],
        "enabled": row["enabled"],
    }
    if not row["enabled"]:
        shown["disabledReason"] = row["disabled_reason"]
        shown["disabledAt"] = _iso(row["disabled_at"])
    shown["createdAt"] = _iso(row["created_at"])
    if secret is not None:
        shown["secret"] = secret
    return shown


def delivery(row: Mapping[str, Any], attempts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "eventId": str(row["event_id"]),
        "eventType": row["event_type"],
        "status": row["status"],
        "createdAt": _iso(row["created_at"]),
        "nextAttemptAt": _iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "attempts": [
            {
                "at": _iso(attempt["at"]),
                "statusCode": attempt["status_code"],
                "durationMs": attempt["duration_ms"],
                "response": attempt["response"],
                "error": attempt["error"],
            }
            for attempt in attempts
        ],
    }
