"""The public, unauthenticated documents under `/public/` (served by the badges service)."""

from __future__ import annotations

from shared.messages.base import Query
from shared.messages.common import Scope


class GetImage(Query):
    TYPE = "badges.get_image"
    slug: str


class GetAssertion(Query):
    """An award's hosted Open Badges 2.0 Assertion; the reply says whether it is revoked."""

    TYPE = "badges.get_assertion"
    slug: str


class GetBadgeClass(Query):
    """A badge's Open Badges 2.0 BadgeClass, at the badge's own level only."""

    TYPE = "badges.get_badge_class"
    scope: Scope
    badge: str


class GetIssuerProfile(Query):
    """The Open Badges 2.0 Issuer profile of a system, issuer or program."""

    TYPE = "badges.get_issuer_profile"
    scope: Scope
