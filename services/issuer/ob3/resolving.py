"""How a verifier learns what a credential refers to: documents by URL through a `Resolver` (the
issuer composes its own documents and the guarded network; tests use documents in memory), and
the public key of a verification method of a `did:key`, `did:jwk` or `did:web` issuer.

Every failure is a `Unresolved` whose message says, for whoever submitted the credential, what
was not found and why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import unquote

import orjson

from services.issuer.fetcher import Fetched, FetchFailed
from services.issuer.ob3 import did, keys

JSON_ACCEPT = "application/ld+json, application/json;q=0.9"
# did:web hosts that may be read over plain HTTP when the resolver allows it: a loopback address
# can have no public certificate, and is only reachable when private targets are allowed at all.
_LOOPBACK_NAMES = frozenset({"localhost"})


class Resolver(Protocol):
    async def fetch(self, url: str, *, accept: str = ...) -> Fetched: ...


class Unresolved(Exception):
    """What a credential refers to could not be had; the message is for the submitter."""


def fragment(method_id: str) -> str:
    """`#key-1` of `did:web:...#key-1`, or the whole id when it has no fragment."""
    _, hash_, name = method_id.partition("#")
    return f"#{name}" if hash_ else method_id


async def fetch_json(resolver: Resolver, url: str, what: str) -> tuple[int, Any]:
    """The status and parsed JSON answer of `url`; `what` names it in messages."""
    fetched = await fetch(resolver, url, what)
    try:
        return fetched.status, orjson.loads(fetched.body)
    except orjson.JSONDecodeError:
        raise Unresolved(f"{what} at {url} is not JSON (answered {fetched.status})") from None


async def fetch(resolver: Resolver, url: str, what: str, *, accept: str = JSON_ACCEPT) -> Fetched:
    try:
        return await resolver.fetch(url, accept=accept)
    except FetchFailed as failed:
        raise Unresolved(f"could not fetch {what} at {url}: {failed.reason}") from None


def did_web_url(did_web: str, *, http_loopback: bool) -> str:
    """Where a `did:web` document is read: `did.did_web_document_url`, over HTTP instead of
    HTTPS for a loopback host when `http_loopback` (development and tests)."""
    url = did.did_web_document_url(did_web)
    host = unquote(did_web.removeprefix("did:web:").split(":")[0]).rsplit(":", 1)[0]
    if http_loopback and _is_loopback(host):
        return "http://" + url.removeprefix("https://")
    return url


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def method_key(
    resolver: Resolver, method_id: str, issuer_id: str, *, http_loopback: bool
) -> keys.PublicKey:
    """The key of the verification method `method_id`, which must belong to `issuer_id` (the
    credential's issuer) and, for a `did:web`, be listed in its DID document for assertions."""
    method_did = method_id.partition("#")[0]
    if method_did != issuer_id:
        raise Unresolved(
            f"the signing key {method_id} is not the issuer's: it belongs to {method_did}, "
            f"while the credential names {issuer_id} as its issuer"
        )
    try:
        if issuer_id.startswith("did:key:"):
            return did.did_key_public_key(method_id)
        if issuer_id.startswith("did:jwk:"):
            if fragment(method_id) not in ("#0", method_id):
                raise Unresolved(f"a did:jwk has one key, #0, not {fragment(method_id)}")
            return did.did_jwk_public_key(issuer_id)
    except did.InvalidDid as error:
        raise Unresolved(f"the issuer's DID names no usable key: {error}") from None
    if not issuer_id.startswith("did:web:"):
        raise Unresolved(
            f"the issuer {issuer_id} is not a DID this verifier resolves "
            "(did:web, did:key, did:jwk): nothing ties the signing key to it"
        )
    document = await did_web_document(resolver, issuer_id, http_loopback=http_loopback)
    return _listed_key(document, method_id)


async def did_web_document(
    resolver: Resolver, did_web: str, *, http_loopback: bool
) -> Mapping[str, Any]:
    try:
        url = did_web_url(did_web, http_loopback=http_loopback)
    except did.InvalidDid as error:
        raise Unresolved(str(error)) from None
    status, document = await fetch_json(resolver, url, f"the DID document of {did_web}")
    if status != 200:
        raise Unresolved(f"the DID document of {did_web} at {url} answered {status}")
    if not isinstance(document, Mapping) or document.get("id") != did_web:
        raise Unresolved(f"the document at {url} is not the DID document of {did_web}")
    return document


def _ids(entries: Any) -> set[str]:
    """The ids a DID document lists under one relationship, by reference or embedded."""
    found = set()
    for item in entries if isinstance(entries, list) else []:
        value = item.get("id") if isinstance(item, Mapping) else item
        if isinstance(value, str):
            found.add(value)
    return found


def _listed_key(document: Mapping[str, Any], method_id: str) -> keys.PublicKey:
    listed = _ids(document.get("verificationMethod")) | _ids(document.get("assertionMethod"))
    if method_id not in listed:
        raise Unresolved(
            f"key {fragment(method_id)} is not in the issuer's DID document "
            "(retired or never published)"
        )
    try:
        return did.assertion_key(document, method_id)
    except did.InvalidDid as error:
        raise Unresolved(f"key {fragment(method_id)} cannot sign for the issuer: {error}") from None
