"""The public URLs of Plaudit's documents under `PUBLIC_URL` (DESIGN.md, HTTP API and Open
Badges 3.0), and the media types the signed ones are served as: here once, for every service
that names or serves them (the gateway, and the issuer reading its own documents)."""

from __future__ import annotations

# A signed credential and a status list as JSON-LD, a credential as a VC-JWT, a DID document.
JSON_LD = "application/ld+json"
VC_JWT = "application/vc+jwt"
DID_JSON = "application/did+ld+json"


def assertion_url(base_url: str, slug: str) -> str:
    """An award's hosted Open Badges 2.0 Assertion."""
    return f"{base_url}/public/assertions/{slug}"


def credential_url(base_url: str, slug: str) -> str:
    """An award's Open Badges 3.0 credential (its `id`)."""
    return f"{base_url}/public/credentials/{slug}"


def profile_url(base_url: str, system: str, issuer: str | None, program: str | None) -> str:
    """The Issuer profile URL of a system, issuer or program."""
    path = f"{base_url}/public/systems/{system}"
    if issuer is not None:
        path += f"/issuers/{issuer}"
        if program is not None:
            path += f"/programs/{program}"
    return path


def badge_class_url(
    base_url: str, system: str, issuer: str | None, program: str | None, badge: str
) -> str:
    return f"{profile_url(base_url, system, issuer, program)}/badges/{badge}"


def status_list_url(base_url: str, system: str, list_id: str) -> str:
    """A system's Bitstring Status List credential."""
    return f"{base_url}/public/systems/{system}/status/{list_id}"
