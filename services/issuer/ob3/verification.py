"""The verifier anyone can call (`POST /public/verify`): what was submitted, and six checks of it.

A submission is a credential as JSON-LD (`ob3-ldp`), a VC-JWT (`ob3-jwt`), a baked PNG or SVG
(whatever it carries is verified as if submitted), or `{"url": ...}` of a credential or of an
Open Badges 2.0 hosted assertion (`ob2-hosted`, see `hosted.py`). Anything else is
`NotACredential`, the one outcome that is no report.

The checks, always all six, in order: `structure` (a credential of the kind, readable),
`schema` (1EdTech's OB 3.0 JSON schema), `proof` (the signature, with the key its proof names,
which must be the issuer's: resolved from a `did:key` or `did:jwk` itself, or from the issuer's
`did:web` document, which must list it for assertions), `issuer` (who that makes the issuer),
`status` (the credential's own status list, fetched, its signature verified and its issuer the
credential's, then the bit), `validity` (`validFrom`, `validUntil` against the clock). Nothing
the credential says of its own validity is believed before its proof verifies: a failed
structure skips everything but the schema, a failed proof everything after it.

Documents are read through a `Resolver` (the issuer's composes its own documents and the guarded
network); the JSON-LD contexts are never fetched (`documents.py`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jsonschema
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from services.issuer.ob3 import baking, data_integrity, hosted, schemas, status_list, vc_jwt
from services.issuer.ob3.report import Checks, Report, Summary, moment_of, text_of
from services.issuer.ob3.resolving import (
    Resolver,
    Unresolved,
    fetch,
    fetch_json,
    fragment,
    method_key,
)

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VC1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
OB3_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/context"
CREDENTIAL_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
JWT_MEDIA_TYPES = frozenset({"application/vc+jwt", "application/jwt", "text/plain"})
URL_ACCEPT = "application/ld+json, application/json;q=0.9, application/vc+jwt;q=0.8"
# A credential is a few kilobytes. Canonicalising JSON-LD costs CPU on input anyone may send, so
# what is canonicalised is bounded: in bytes, in nesting, and in JSON values.
MAX_CREDENTIAL_BYTES = 256 * 1024
MAX_DEPTH = 24
MAX_VALUES = 5_000
_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_PROOF_NEEDED = "skipped: the proof did not verify, so what the credential says cannot be trusted"


class NotACredential(ValueError):
    """The submission is none of the kinds a verifier reads; the message says what it is."""


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_jws(text: str) -> bool:
    return bool(_JWS.match(text))


@dataclass(frozen=True)
class Verifier:
    resolver: Resolver
    # Read a loopback did:web over HTTP (development and tests, where private targets are
    # allowed): such a host can have no public certificate.
    http_loopback: bool = False
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def verify_body(self, data: bytes, content_type: str) -> Report:
        """The report of a submitted body, or `NotACredential`."""
        kind = media_type(content_type)
        if data.startswith(baking.PNG_SIGNATURE) or baking.sniff(data) == "svg":
            return await self._baked(data)
        try:
            text = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise NotACredential("the body is neither an image, JSON nor a JWT") from None
        return await self._verify_text(text, jwt_expected=kind in JWT_MEDIA_TYPES)

    async def verify_url(self, url: Any) -> Report:
        """The report of what `url` serves: an OB 3.0 credential or an OB 2.0 assertion."""
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise NotACredential("url must be an http(s) URL")
        try:
            fetched = await fetch(self.resolver, url, "the document", accept=URL_ACCEPT)
        except Unresolved as error:
            raise NotACredential(str(error)) from None
        text = fetched.body.decode("utf-8", errors="replace").strip()
        if fetched.content_type in ("application/vc+jwt", "application/jwt") or is_jws(text):
            return await self.verify_jwt(text)
        try:
            document = orjson.loads(fetched.body)
        except orjson.JSONDecodeError:
            raise NotACredential(f"{url} answered {fetched.status}, not JSON nor a JWT") from None
        if hosted.is_assertion(document):
            return await hosted.verify(self.resolver, url, fetched.status, document, now=self.now())
        if fetched.status != 200:
            raise NotACredential(f"{url} answered {fetched.status}")
        if not _is_vc(document):
            raise NotACredential(f"{url} serves neither a credential nor an assertion")
        return await self.verify_ldp(document)

    def now(self) -> datetime:
        return self.clock()

    async def _baked(self, image: bytes) -> Report:
        try:
            if image.startswith(baking.PNG_SIGNATURE):
                carried = baking.extract_png(image) or baking.extract_png(image, baking.OB2)
            else:
                carried = baking.extract_svg(image) or baking.extract_svg(image, baking.OB2)
        except baking.InvalidImage as error:
            raise NotACredential(f"the image cannot be read: {error}") from None
        if carried is None:
            raise NotACredential("the image carries no baked credential or assertion")
        if carried.startswith(("https://", "http://")):
            return await self.verify_url(carried)  # an OB 2.0 SVG's `verify` attribute
        return await self._verify_text(carried.strip(), jwt_expected=False)

    async def _verify_text(self, text: str, *, jwt_expected: bool) -> Report:
        if is_jws(text):
            return await self.verify_jwt(text)
        if jwt_expected:
            raise NotACredential("the body is not a compact JWS (a VC-JWT)")
        if len(text) > MAX_CREDENTIAL_BYTES:
            raise NotACredential(f"a credential is at most {MAX_CREDENTIAL_BYTES} bytes")
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise NotACredential("the body is neither an image, JSON nor a JWT") from None
        if isinstance(document, str) and is_jws(document):
            return await self.verify_jwt(document)
        if not isinstance(document, dict):
            raise NotACredential("the JSON is not an object")
        if "url" in document and "@context" not in document:
            return await self.verify_url(document["url"])
        if _is_vc(document):
            return await self.verify_ldp(document)
        if hosted.is_assertion(document):
            # Only the issuer's server is believed about an assertion: it is fetched again.
            return await self.verify_url(document.get("id"))
        raise NotACredential("the JSON is neither a credential, an assertion, nor {url}")

    async def verify_ldp(self, document: dict[str, Any]) -> Report:
        checks = Checks()
        summary = _summary(document)
        _structure(checks, document, "a credential")
        _schema(checks, document)
        if not checks.ok("structure"):
            checks.skip_rest("skipped: the structure check failed")
            return checks.report("ob3-ldp", summary)
        await self._ldp_proof(checks, document)
        await self._rest(checks, document)
        return checks.report("ob3-ldp", summary)

    async def verify_jwt(self, token: str) -> Report:
        checks = Checks()
        try:
            header = jwt.get_unverified_header(token)
            payload = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as error:
            checks.failed("structure", f"not a readable JWT: {error}")
            checks.skip_rest("skipped: the structure check failed")
            return checks.report("ob3-jwt", Summary())
        claimed = _claimed_credential(payload)
        summary = _summary(claimed)
        if header.get("alg") != vc_jwt.ALGORITHM:
            checks.failed(
                "structure",
                f"the JWT is signed {header.get('alg')!r}; OB 3.0 VC-JWTs are {vc_jwt.ALGORITHM}",
            )
        else:
            _structure(checks, claimed, "a VC-JWT whose payload is a credential")
        _schema(checks, claimed)
        if not checks.ok("structure"):
            checks.skip_rest("skipped: the structure check failed")
            return checks.report("ob3-jwt", summary)
        credential = await self._jwt_proof(checks, token, claimed)
        await self._rest(checks, credential or claimed)
        return checks.report("ob3-jwt", _summary(credential) if credential else summary)

    async def _ldp_proof(self, checks: Checks, document: Mapping[str, Any]) -> None:
        try:
            proof = data_integrity.proof_of(document)
        except data_integrity.InvalidProof as error:
            checks.failed("proof", f"no usable proof: {error}")
            return
        method = proof.get("verificationMethod")
        if not isinstance(method, str):
            checks.failed("proof", "the proof names no verificationMethod")
            return
        try:
            key = await self._key(method, _issuer_id(document))
        except Unresolved as error:
            checks.failed("proof", str(error))
            return
        if not isinstance(key, Ed25519PublicKey):
            checks.failed("proof", f"key {fragment(method)} is not an Ed25519 key")
            return
        try:
            data_integrity.verify_proof(document, key)
        except data_integrity.InvalidProof as error:
            checks.failed("proof", _proof_message(str(error)))
        except Exception:  # JSON-LD processing of input anyone may send
            checks.failed("proof", "the credential cannot be processed as JSON-LD")
        else:
            checks.passed(
                "proof",
                f"signature verified ({data_integrity.CRYPTOSUITE}, key {fragment(method)})",
            )

    async def _jwt_proof(
        self, checks: Checks, token: str, claimed: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        try:
            method = vc_jwt.key_id(token)
            key = await self._key(method, _issuer_id(claimed))
        except (vc_jwt.InvalidToken, Unresolved) as error:
            checks.failed("proof", str(error))
            return None
        if not isinstance(key, RSAPublicKey):
            checks.failed("proof", f"key {fragment(method)} is not an RSA key")
            return None
        try:
            credential = vc_jwt.verify(token, key)
        except vc_jwt.InvalidToken as error:
            message = str(error)
            if "Signature verification failed" in message:
                message = "signature does not match: the token was changed after signing"
            checks.failed("proof", message)
            return None
        checks.passed("proof", f"signature verified ({vc_jwt.ALGORITHM}, key {fragment(method)})")
        return credential

    async def _key(self, method: str, issuer_id: str) -> Any:
        return await method_key(self.resolver, method, issuer_id, http_loopback=self.http_loopback)

    async def _rest(self, checks: Checks, credential: Mapping[str, Any]) -> None:
        if not checks.ok("proof"):
            checks.skipped(
                "issuer", "skipped: the proof did not verify, so nothing ties it to its issuer"
            )
            checks.skip_rest(_PROOF_NEEDED)
            return
        _issuer(checks, credential)
        await self._status(checks, credential)
        _validity(checks, credential, self.now())

    async def _status(self, checks: Checks, credential: Mapping[str, Any]) -> None:
        entry = credential.get("credentialStatus")
        if entry is None:
            checks.skipped("status", "the credential has no status entry: it cannot be revoked")
            return
        entries = entry if isinstance(entry, list) else [entry]
        try:
            for one in entries:
                revoked = await self._status_entry(one, _issuer_id(credential))
                if revoked:
                    checks.failed("status", revoked)
                    return
        except Unresolved as error:
            checks.failed("status", f"cannot tell whether it is revoked: {error}")
            return
        checks.passed("status", "not revoked: its issuer's signed status list says so")

    async def _status_entry(self, entry: Any, issuer_id: str) -> str | None:
        """Why the entry invalidates the credential (revoked, suspended), or None."""
        if not isinstance(entry, Mapping) or "BitstringStatusListEntry" not in _types(entry):
            raise Unresolved("only BitstringStatusListEntry status entries are supported")
        purpose, url = entry.get("statusPurpose"), entry.get("statusListCredential")
        index = entry.get("statusListIndex")
        if not isinstance(url, str) or not isinstance(index, str) or not index.isdigit():
            raise Unresolved("the status entry names no list or no index")
        status, document = await fetch_json(self.resolver, url, "the status list")
        if status != 200 or not isinstance(document, dict):
            raise Unresolved(f"the status list at {url} answered {status}")
        if "BitstringStatusListCredential" not in _types(document):
            raise Unresolved(f"{url} is not a BitstringStatusListCredential")
        if _issuer_id(document) != issuer_id:
            raise Unresolved(
                f"the status list is issued by {_issuer_id(document)}, not by the credential's "
                "issuer"
            )
        await self._list_proof(document, issuer_id)
        _list_window(document, self.now())
        subject = document.get("credentialSubject")
        if not isinstance(subject, Mapping) or subject.get("statusPurpose") != purpose:
            raise Unresolved(f"the status list is not one of {purpose!r} entries")
        try:
            bits = status_list.StatusList.decode(str(subject.get("encodedList")))
            is_set = bits.get(int(index))
        except (status_list.InvalidStatusList, IndexError) as error:
            raise Unresolved(f"the status list cannot be read: {error}") from None
        if not is_set:
            return None
        return "revoked by its issuer" if purpose == "revocation" else f"{purpose} by its issuer"

    async def _list_proof(self, document: Mapping[str, Any], issuer_id: str) -> None:
        try:
            proof = data_integrity.proof_of(document)
            method = proof.get("verificationMethod")
            if not isinstance(method, str):
                raise data_integrity.InvalidProof("no verificationMethod")
            key = await self._key(method, issuer_id)
            if not isinstance(key, Ed25519PublicKey):
                raise data_integrity.InvalidProof(f"key {fragment(method)} is not Ed25519")
            data_integrity.verify_proof(document, key)
        except data_integrity.InvalidProof as error:
            raise Unresolved(f"the status list's signature does not verify: {error}") from None
        except Unresolved as error:
            raise Unresolved(f"the status list's signature: {error}") from None


def _types(document: Mapping[str, Any]) -> list[Any]:
    value = document.get("type")
    return value if isinstance(value, list) else [value]


def _issuer_id(document: Mapping[str, Any]) -> str:
    issuer = document.get("issuer")
    found = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return found if isinstance(found, str) else ""


def _is_vc(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    return VC_CONTEXT in contexts or VC1_CONTEXT in contexts


def _claimed_credential(payload: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(payload.get("vc"), Mapping):
        return dict(payload["vc"])
    return {name: value for name, value in payload.items() if name not in vc_jwt.REGISTERED_CLAIMS}


def _summary(credential: Mapping[str, Any]) -> Summary:
    issuer = credential.get("issuer")
    subject = credential.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    achievement = achievement if isinstance(achievement, Mapping) else {}
    return Summary(
        issuer_id=_issuer_id(credential) or None,
        issuer_name=text_of(issuer.get("name")) if isinstance(issuer, Mapping) else None,
        achievement_id=text_of(achievement.get("id")),
        achievement_name=text_of(achievement.get("name")),
        valid_from=text_of(credential.get("validFrom")),
        valid_until=text_of(credential.get("validUntil")),
    )


def _bounded(value: Any, depth: int = 0, budget: list[int] | None = None) -> bool:
    """Whether a JSON value stays within MAX_DEPTH and MAX_VALUES."""
    budget = budget if budget is not None else [MAX_VALUES]
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        return False
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    return all(_bounded(child, depth + 1, budget) for child in children)


def _structure(checks: Checks, document: Mapping[str, Any], what: str) -> None:
    problem = _structure_problem(document)
    if problem is None:
        checks.passed("structure", f"{what}: an OpenBadgeCredential of VC Data Model 2.0")
    else:
        checks.failed("structure", problem)


def _structure_problem(document: Mapping[str, Any]) -> str | None:
    if not _bounded(document):
        return f"the credential nests deeper than {MAX_DEPTH} or holds over {MAX_VALUES} values"
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if contexts[0] == VC1_CONTEXT:
        return (
            "a VC Data Model 1.1 credential: Open Badges 3.0.3 credentials use VC Data Model 2.0 "
            f"({VC_CONTEXT})"
        )
    if contexts[0] != VC_CONTEXT:
        return f"@context must start with {VC_CONTEXT}"
    if not any(isinstance(item, str) and item.startswith(OB3_CONTEXT_PREFIX) for item in contexts):
        return "@context does not name the Open Badges 3.0 context"
    types = _types(document)
    if "VerifiableCredential" not in types or not CREDENTIAL_TYPES & {
        item for item in types if isinstance(item, str)
    }:
        return "type must hold VerifiableCredential and OpenBadgeCredential"
    if not _issuer_id(document):
        return "the credential names no issuer id"
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping) or not isinstance(subject.get("achievement"), Mapping):
        return "credentialSubject must be an object with an achievement"
    if moment_of(document.get("validFrom")) is None:
        return "validFrom is missing, or not a date-time with a time zone"
    if "validUntil" in document and moment_of(document["validUntil"]) is None:
        return "validUntil is not a date-time with a time zone"
    return None


@functools.cache
def _validator() -> jsonschema.Draft201909Validator:
    return jsonschema.Draft201909Validator(
        schemas.achievement_credential(), format_checker=jsonschema.FormatChecker()
    )


def _schema(checks: Checks, document: Mapping[str, Any]) -> None:
    if isinstance(document.get("proof"), Mapping):
        # The schema wants a list of proofs; in JSON-LD one value and a list of one are the
        # same, and VC Data Model 2.0 (our signer too) writes a single proof as an object.
        document = {**document, "proof": [document["proof"]]}
    try:
        errors = sorted(
            _validator().iter_errors(document), key=lambda error: [str(part) for part in error.path]
        )
    except Exception:  # a schema run over input anyone may send
        checks.failed("schema", "the credential cannot be checked against the schema")
        return
    if not errors:
        checks.passed("schema", "valid against the Open Badges 3.0 AchievementCredential schema")
        return
    shown = [
        f"{'/'.join(str(part) for part in error.path) or '(root)'}: {error.message[:160]}"
        for error in errors[:3]
    ]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    checks.failed("schema", "; ".join(shown) + more)


def _proof_message(error: str) -> str:
    if "does not match" in error:
        return "signature does not match: the credential was changed after signing"
    if "canonicalised" in error:
        return f"the credential cannot have been signed as it is: {error}"
    return f"the proof is malformed: {error}"


def _issuer(checks: Checks, credential: Mapping[str, Any]) -> None:
    issuer_id = _issuer_id(credential)
    issuer = credential.get("issuer")
    name = text_of(issuer.get("name")) if isinstance(issuer, Mapping) else None
    named = f"{name} ({issuer_id})" if name else issuer_id
    if issuer_id.startswith("did:web:"):
        checks.passed("issuer", f"issued by {named}, whose DID document lists the signing key")
    else:
        method = issuer_id.split(":")[1]
        checks.warning(
            "issuer",
            f"issued by {named}: a did:{method} is its own key, so nothing ties it to a person "
            "or organisation; trust it only if you know this key",
        )


def _list_window(document: Mapping[str, Any], now: datetime) -> None:
    since, until = moment_of(document.get("validFrom")), moment_of(document.get("validUntil"))
    if since is not None and since > now:
        raise Unresolved("the status list is not valid yet")
    if until is not None and until <= now:
        raise Unresolved("the status list has expired (a stale copy?)")


def _validity(checks: Checks, credential: Mapping[str, Any], now: datetime) -> None:
    since, until = credential.get("validFrom"), credential.get("validUntil")
    start, end = moment_of(since), moment_of(until)
    if start is None or (until is not None and end is None):
        checks.failed("validity", "its dates cannot be read")
    elif start > now:
        checks.failed("validity", f"not valid until {since}")
    elif end is not None and end <= now:
        checks.failed("validity", f"expired on {until}")
    elif end is not None:
        checks.passed("validity", f"valid from {since} until {until}")
    else:
        checks.passed("validity", f"valid since {since}, with no expiry")
