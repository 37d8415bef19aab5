"""Webhook endpoints and their deliveries (`services.webhooks.domain`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.gateway.responses.envelopes import Shown, omitted

_SECRET = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]


class Webhook(Shown):
    """An endpoint, without its secret."""

    id: str = Field(examples=["1f0e3dad-9990-4d3f-8d6e-2b1f9a0c6e55"])
    url: str = Field(examples=["https://hooks.library.example.org/plaudit"])
    events: list[str] = Field(examples=[["*"]])
    format: Literal["standard", "badgekit"] = Field(examples=["standard"])
    description: str | None = Field(examples=[None])
    enabled: bool = Field(examples=[True])
    disabled_reason: str | None = omitted("Only once disabled", nullable=True)
    disabled_at: datetime | None = omitted("Only once disabled", nullable=True)
    created_at: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])


class NewWebhook(Webhook):
    """A new endpoint, with its secret."""

    secret: str | None = omitted(
        "Shown once, at creation: a replay of the request (Idempotency-Key) leaves it out",
        examples=_SECRET,
    )


class RotatedSecret(Shown):
    id: str = Field(examples=["1f0e3dad-9990-4d3f-8d6e-2b1f9a0c6e55"])
    secret: str | None = omitted(
        "The new secret, shown once: a replay (Idempotency-Key) leaves it out", examples=_SECRET
    )


class DeliveryAttempt(Shown):
    at: datetime = Field(examples=["2024-05-01T12:00:01+00:00"])
    status_code: int | None = Field(examples=[200], description="null: no answer")
    duration_ms: int = Field(examples=[35])
    response: str | None = Field(examples=["ok"], description="The answer's start")
    error: str | None = Field(examples=[None])


class Delivery(Shown):
    id: str = Field(examples=["7c9e6679-7425-40de-944b-e07fc1f90ae7"])
    event_id: str = Field(examples=["16fd2706-8baf-433b-82eb-8c7fada847da"])
    event_type: str = Field(examples=["badge.awarded"])
    status: Literal["pending", "succeeded", "failed"] = Field(examples=["succeeded"])
    created_at: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])
    next_attempt_at: datetime | None = Field(examples=[None], description="While pending")
    attempts: list[DeliveryAttempt]


class DeliveriesAccepted(Shown):
    """Deliveries queued to be sent (again)."""

    status: Literal["accepted"]
    deliveries: list[str] = Field(examples=[["7c9e6679-7425-40de-944b-e07fc1f90ae7"]])
