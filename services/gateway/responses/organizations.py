"""Systems, issuers and programs (`services.badges.domain.organizations`), and API consumers."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from services.gateway.responses.envelopes import Shown, omitted


class Organization(Shown):
    """A system, an issuer or a program as BadgeKit shows them (with `description`, which
    BadgeKit's systems left out); inside a badge, its system, issuer and program."""

    id: int = Field(examples=[1])
    slug: str = Field(examples=["city-library"])
    url: str = Field(examples=["https://library.example.org"])
    name: str = Field(examples=["City Library"])
    description: str | None = Field(examples=["Badges for the library's courses"])
    email: str | None = Field(examples=["badges@library.example.org"])
    image_url: str | None = Field(
        description="Absolute: an uploaded image under /public/images/, or the URL given",
        examples=["https://badges.example.org/public/images/5f2b9c0e"],
    )


class Program(Organization):
    """A program of an issuer."""


class Issuer(Organization):
    """An issuer of a system, with its programs."""

    programs: list[Program]


class System(Organization):
    """A system (the tenant), with its issuers and theirs programs."""

    issuers: list[Issuer]


class Consumer(Shown):
    """An API key of a system (never its secret)."""

    api_key: str = Field(examples=["3c9a61f0d2b84e7a"])
    description: str | None = Field(examples=["The course site"])
    created_at: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])


class NewConsumer(Consumer):
    """A new API key, with its secret."""

    api_secret: str | None = omitted(
        "Shown once, at creation: a replay of the request (Idempotency-Key) leaves it out",
        examples=["q0Zc8d0nS3k5m1r9v2x4y6z8A0B2C4D6"],
    )
