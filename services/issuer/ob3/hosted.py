"""Verifying an Open Badges 2.0 hosted Assertion by its URL (OB 2.0 § Hosted verification).

Nothing the assertion says of itself is believed: it is fetched from the URL given, and is the
issuer's only when its `id` is that URL and that URL lies on an origin its issuer allows (the
issuer profile's host, or its `verification.allowedOrigins`); its BadgeClass and Issuer are
fetched from their own URLs; revocation is what the issuer's server answers now (410 Gone, or
`revoked: true`), and `expires` is checked against the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from services.issuer.ob3.report import Checks, Report, Summary, moment_of, text_of
from services.issuer.ob3.resolving import Resolver, Unresolved, fetch_json

OB2_CONTEXT = "https://w3id.org/openbadges/v2"
HOSTED = frozenset({"hosted", "HostedBadge"})
SIGNED = frozenset({"signed", "SignedBadge"})
_REQUIRED = ("id", "recipient", "badge", "verification", "issuedOn")
_PROOF_NEEDED = "skipped: the assertion is not the one its issuer hosts"


def is_assertion(document: Any) -> bool:
    """An Open Badges 2.0 Assertion (by its context), whatever else it holds."""
    if not isinstance(document, Mapping):
        return False
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    return OB2_CONTEXT in contexts or any(
        isinstance(item, str) and item.startswith("https://w3id.org/openbadges/v")
        for item in contexts
    )


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _id_of(value: Any) -> str | None:
    found = value.get("id") if isinstance(value, Mapping) else value
    return found if isinstance(found, str) else None


async def verify(
    resolver: Resolver, url: str, status: int, assertion: Any, *, now: datetime
) -> Report:
    """The report of the assertion fetched from `url` (answered `status` with `assertion`)."""
    checks = Checks()
    summary = Summary()
    if not _structure(checks, status, assertion):
        checks.skip_rest("skipped: there is no Open Badges 2.0 assertion to check")
        return checks.report("ob2-hosted", summary)
    summary = Summary(
        achievement_id=_id_of(assertion["badge"]),
        valid_from=str(assertion["issuedOn"]),
        valid_until=text_of(assertion.get("expires")),
    )
    checks.skipped(
        "schema",
        "Open Badges 2.0 publishes no JSON schema of an assertion; the structure check covers "
        "its required fields",
    )
    _proof(checks, url, assertion)
    if not checks.ok("proof"):
        checks.skip_rest(_PROOF_NEEDED)
        return checks.report("ob2-hosted", summary)
    summary = await _issuer(checks, resolver, url, assertion, summary)
    if status == 410 or assertion.get("revoked") is True:
        reason = assertion.get("revocationReason")
        suffix = f": {reason}" if isinstance(reason, str) and reason else ""
        checks.failed("status", f"revoked by its issuer{suffix}")
    else:
        checks.passed("status", "not revoked: its issuer's server still hosts it")
    _validity(checks, assertion, now)
    return checks.report("ob2-hosted", summary)


def _structure(checks: Checks, status: int, assertion: Any) -> bool:
    if status not in (200, 410):
        checks.failed("structure", f"the URL answered {status}, not an assertion")
        return False
    if not is_assertion(assertion) or "Assertion" not in _types(assertion.get("type")):
        checks.failed("structure", "the document is not an Open Badges 2.0 Assertion")
        return False
    missing = [name for name in _REQUIRED if name not in assertion]
    if missing:
        checks.failed("structure", f"the assertion lacks {', '.join(missing)}")
        return False
    if not isinstance(assertion["verification"], Mapping) or _id_of(assertion["badge"]) is None:
        checks.failed("structure", "the assertion's verification or badge is malformed")
        return False
    if moment_of(assertion["issuedOn"]) is None:
        checks.failed("structure", "issuedOn is not a date-time with a time zone")
        return False
    if "expires" in assertion and moment_of(assertion["expires"]) is None:
        checks.failed("structure", "expires is not a date-time with a time zone")
        return False
    checks.passed("structure", "an Open Badges 2.0 Assertion with every required field")
    return True


def _proof(checks: Checks, url: str, assertion: Mapping[str, Any]) -> None:
    kind = assertion["verification"].get("type")
    if kind in SIGNED:
        checks.failed("proof", "signed Open Badges 2.0 assertions are not verified here")
    elif kind not in HOSTED:
        checks.failed("proof", f"unknown verification type {kind!r}")
    elif assertion["id"] != url:
        checks.failed(
            "proof",
            f"the assertion's id ({assertion['id']}) is not the URL it was fetched from ({url}): "
            "a copy, not the one its issuer hosts",
        )
    else:
        checks.passed("proof", "hosted: the issuer's server answers for it at its own id")


async def _issuer(
    checks: Checks, resolver: Resolver, url: str, assertion: Mapping[str, Any], summary: Summary
) -> Summary:
    badge_url = _id_of(assertion["badge"])
    assert badge_url is not None  # checked by the structure
    try:
        badge = await _document(resolver, badge_url, "BadgeClass")
        summary = replace(summary, achievement_name=text_of(badge.get("name")))
        issuer_url = _id_of(badge.get("issuer"))
        if issuer_url is None:
            raise Unresolved(f"the BadgeClass at {badge_url} names no issuer")
        issuer = await _document(resolver, issuer_url, "Issuer", "Profile")
    except Unresolved as error:
        checks.failed("issuer", str(error))
        return summary
    name = text_of(issuer.get("name"))
    summary = replace(summary, issuer_id=issuer_url, issuer_name=name)
    allowed = assertion["verification"].get("allowedOrigins")
    origins = {urlsplit(issuer_url).netloc} if allowed is None else set(_types(allowed))
    host = urlsplit(url).netloc
    if host not in origins:
        checks.failed(
            "issuer",
            f"the assertion is hosted on {host}, which its issuer ({issuer_url}) does not allow",
        )
    else:
        checks.passed("issuer", f"issued by {name or 'an unnamed issuer'} ({issuer_url})")
    return summary


async def _document(resolver: Resolver, url: str, *types: str) -> Mapping[str, Any]:
    status, document = await fetch_json(resolver, url, f"the {types[0]}")
    if status != 200:
        raise Unresolved(f"the {types[0]} at {url} answered {status}")
    if not isinstance(document, Mapping) or not set(types) & set(_types(document.get("type"))):
        raise Unresolved(f"the document at {url} is not an Open Badges 2.0 {types[0]}")
    if document.get("id") != url:
        raise Unresolved(f"the {types[0]} at {url} names another id ({document.get('id')})")
    return document


def _validity(checks: Checks, assertion: Mapping[str, Any], now: datetime) -> None:
    issued = moment_of(assertion["issuedOn"])
    expires = moment_of(assertion.get("expires"))
    assert issued is not None  # checked by the structure
    if issued > now:
        checks.failed("validity", f"not valid until {assertion['issuedOn']}")
    elif expires is not None and expires <= now:
        checks.failed("validity", f"expired on {assertion['expires']}")
    elif expires is not None:
        checks.passed("validity", f"valid until {assertion['expires']}")
    else:
        checks.passed("validity", f"issued on {assertion['issuedOn']}, with no expiry")
