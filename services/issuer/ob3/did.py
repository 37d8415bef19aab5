"""Decentralised identifiers: a system's `did:web` and its DID document, and the DIDs of others
(`did:key`, `did:jwk`, the URL of a `did:web` document) that a verifier reads.

Let P be PUBLIC_URL. A system's DID is `did:web:` + P's host (a port written `%3A<port>`) + P's
path segments + `public:systems:<slug>`, all joined by `:`; its document is served at
`P/public/systems/<slug>/did.json`, the URL `did:web` resolution gives for an https P.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.issuer.ob3 import keys

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
JWK_CONTEXT = "https://w3id.org/security/jwk/v1"
SYSTEM_PATH = ("public", "systems")
DOCUMENT_NAME = "did.json"
DEFAULT_PORTS = {"https": 443, "http": 80}


class InvalidDid(ValueError):
    pass


def did_web(public_url: str, system_slug: str) -> str:
    """The DID of the system `system_slug` under PUBLIC_URL."""
    parts = urlsplit(public_url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidDid("PUBLIC_URL must be an http(s) URL with a host")
    if parts.username is not None or parts.query or parts.fragment:
        raise InvalidDid("PUBLIC_URL must carry no user, query or fragment")
    if ":" in parts.hostname:
        # An IPv6 literal's colons would read as path separators.
        raise InvalidDid("did:web cannot name an IPv6 address")
    try:
        port = parts.port
    except ValueError:
        raise InvalidDid("PUBLIC_URL has an invalid port") from None
    authority = parts.hostname
    # The default port is left out, so `https://h` and `https://h:443` name the same DID.
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        authority += f"%3A{port}"
    segments = [segment for segment in parts.path.split("/") if segment]
    # A colon inside a segment would split it: did:web percent-encodes it.
    path = [segment.replace(":", "%3A") for segment in [*segments, *SYSTEM_PATH, system_slug]]
    return ":".join(["did", "web", authority, *path])


def did_document_url(public_url: str, system_slug: str) -> str:
    return "/".join([public_url.rstrip("/"), *SYSTEM_PATH, system_slug, DOCUMENT_NAME])


def verification_method_id(did: str, key_id: str) -> str:
    return f"{did}#{key_id}"


def verification_method(did: str, key: keys.VerificationKey) -> dict[str, Any]:
    method: dict[str, Any] = {"id": verification_method_id(did, key.id), "controller": did}
    if isinstance(key.public, Ed25519PublicKey):
        method["type"] = "Multikey"
        method["publicKeyMultibase"] = keys.public_multibase(key.public)
    else:
        method["type"] = "JsonWebKey"
        method["publicKeyJwk"] = keys.public_jwk(key.public)
    return method


def did_document(did: str, verification_keys: Sequence[keys.VerificationKey]) -> dict[str, Any]:
    """The DID document listing `verification_keys` (every current and previous key, never a
    retired one) as verification methods for assertions."""
    methods = [verification_method(did, key) for key in verification_keys]
    kinds = {key.type for key in verification_keys}
    context = [DID_CONTEXT]
    if keys.KeyType.ED25519 in kinds:
        context.append(MULTIKEY_CONTEXT)
    if keys.KeyType.RSA in kinds:
        context.append(JWK_CONTEXT)
    return {
        "@context": context,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def assertion_key(document: Mapping[str, Any], method_id: str) -> keys.PublicKey:
    """The public key of the verification method `method_id` of a DID document, which must
    list it for assertions and be its controller."""
    did = method_id.partition("#")[0]
    if document.get("id") != did:
        raise InvalidDid(f"{method_id} does not belong to the DID document of {document.get('id')}")
    assertion = document.get("assertionMethod")
    assertion = assertion if isinstance(assertion, list) else []
    # A DID document may list a method by reference or embed it in assertionMethod.
    embedded = [entry for entry in assertion if isinstance(entry, Mapping)]
    if method_id not in assertion and all(entry.get("id") != method_id for entry in embedded):
        raise InvalidDid(f"{method_id} is not an assertion method of {did}")
    methods = document.get("verificationMethod")
    for method in [*(methods if isinstance(methods, list) else []), *embedded]:
        if isinstance(method, Mapping) and method.get("id") == method_id:
            if method.get("controller") != did:
                raise InvalidDid(f"{method_id} is not controlled by {did}")
            return _method_key(method)
    raise InvalidDid(f"{did} lists no verification method {method_id}")


def _method_key(method: Mapping[str, Any]) -> keys.PublicKey:
    try:
        if method.get("type") == "Multikey":
            return keys.ed25519_from_multibase(method["publicKeyMultibase"])
        if method.get("type") == "JsonWebKey":
            return keys.public_key_from_jwk(method["publicKeyJwk"])
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidDid(f"verification method {method.get('id')}: {error}") from None
    raise InvalidDid(f"verification method {method.get('id')} is neither Multikey nor JsonWebKey")


def did_web_document_url(did: str) -> str:
    """Where a `did:web` document is fetched (the did:web method's resolution): always HTTPS,
    the percent-encoded port decoded, `/.well-known/did.json` when the DID has no path."""
    fragmentless = did.partition("#")[0]
    if not fragmentless.startswith("did:web:"):
        raise InvalidDid(f"not a did:web: {did!r}")
    host, *path = fragmentless.removeprefix("did:web:").split(":")
    host = unquote(host)
    if not host or "/" in host or "@" in host or any(not segment for segment in path):
        raise InvalidDid(f"malformed did:web: {did!r}")
    return "/".join([f"https://{host}", *(path or [".well-known"]), DOCUMENT_NAME])


def did_key_public_key(did: str) -> Ed25519PublicKey:
    """The Ed25519 key a `did:key:z6Mk…` names (a fragment, when given, must repeat it)."""
    did_part, _, fragment = did.partition("#")
    identifier = did_part.removeprefix("did:key:")
    if identifier == did_part or (fragment and fragment != identifier):
        raise InvalidDid(f"not an Ed25519 did:key: {did!r}")
    try:
        return keys.ed25519_from_multibase(identifier)
    except ValueError as error:
        raise InvalidDid(f"{did}: {error}") from None


def did_jwk_public_key(did: str) -> keys.PublicKey:
    """The key a `did:jwk:<base64url of the JWK>` names."""
    did_part = did.partition("#")[0]
    encoded = did_part.removeprefix("did:jwk:")
    if encoded == did_part:
        raise InvalidDid(f"not a did:jwk: {did!r}")
    try:
        jwk = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        if not isinstance(jwk, dict):
            raise ValueError("the JWK is not an object")
        return keys.public_key_from_jwk(jwk)
    except ValueError as error:
        raise InvalidDid(f"{did}: {error}") from None
