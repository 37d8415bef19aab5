"""BadgeKit's signed-JWT authentication, hardened (DESIGN.md, Authentication).

Order of checks: the header; the token's structure; `alg` must be HS256 (never `none`); the `key`
claim picks the secret (`master` or an API consumer's); the HMAC-SHA256 signature is verified,
compared in constant time, before any other claim is trusted; then `exp` (required; seconds, or
milliseconds above 10^12; at most `AUTH_MAX_TOKEN_TTL_S` ahead), `method`, `path` and the body
hash. The token is parsed once; messages name the failed check and never echo the token, its
claims, a secret or the server's clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from shared.errors import NotAuthorized
from shared.storable import storable

MASTER_KEY = "master"
_JWT_SCHEME = re.compile(r'^JWT token="([^"]+)"$')
_BEARER_SCHEME = re.compile(r"^Bearer ([^\s]+)$", re.IGNORECASE)
_DUPLICATE_SLASHES = re.compile(r"/{2,}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# `exp` above this is in milliseconds, as the old official Node client sends it.
_MILLISECONDS_FROM = 10**12
# Verified tokens are remembered (decoding and verifying one costs tens of µs per request).
_VERIFIED_CACHE_SIZE = 4096
_EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Principal:
    key: str
    system: str | None  # the system an API consumer key belongs to; None for the master key

    @property
    def is_master(self) -> bool:
        return self.system is None


@dataclass(frozen=True)
class Credentials:
    """What signs a key's tokens, and the system it is confined to (None: master)."""

    secret: str
    system: str | None


CredentialsLookup = Callable[[str], Awaitable[Credentials | None]]


def clean_path(raw: str) -> str:
    """BadgeKit's `sanitizePath`: duplicate slashes merged, a trailing slash dropped; the query
    string and percent-encoding are kept as they are."""
    path, question, query = raw.partition("?")
    path = _DUPLICATE_SLASHES.sub("/", path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path + question + query


def extract_token(authorization: str | None) -> str:
    if authorization:
        match = _JWT_SCHEME.match(authorization) or _BEARER_SCHEME.match(authorization)
        if match:
            return match.group(1)
    raise NotAuthorized(
        'Missing valid Authorization header: send `Authorization: JWT token="<jwt>"`'
    )


def _b64url(segment: str) -> bytes:
    if not _BASE64URL.fullmatch(segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _parse(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """A compact JWS, parsed once: (header, claims, signing input, signature). Nothing in it is
    trusted until the caller has checked the signature over the signing input."""
    parts = token.split(".")
    if len(parts) != 3:
        raise NotAuthorized("Could not decode JWT")
    try:
        header, claims = orjson.loads(_b64url(parts[0])), orjson.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (ValueError, binascii.Error):
        raise NotAuthorized("Could not decode JWT") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise NotAuthorized("Could not decode JWT")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


def _claim(claims: dict[str, Any], name: str, shown: str | None = None) -> Any:
    value = claims.get(name)
    if value is None:
        raise NotAuthorized(f"Missing JWT claim: {shown or name}")
    return value


class Authenticator:
    def __init__(
        self,
        *,
        master_secret: str,
        lookup: CredentialsLookup,
        max_ttl_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._master = Credentials(master_secret, None)
        self._lookup = lookup
        self._max_ttl_s = max_ttl_s
        self._clock = clock
        self._verified: OrderedDict[str, tuple[str, Credentials, dict[str, Any]]] = OrderedDict()

    async def authenticate(
        self, *, method: str, raw_path: str, authorization: str | None, body: bytes
    ) -> Principal:
        principal, claims = await self._authenticate(method, raw_path, authorization)
        check_body(claims, hashlib.sha256(body).hexdigest() if body else _EMPTY_BODY_HASH)
        return principal

    async def authenticate_streaming(
        self, *, method: str, raw_path: str, authorization: str | None
    ) -> tuple[Principal, BodyCheck]:
        """Authenticate a request whose body is streamed (an import's file): everything but the
        body's hash now, and a check to call with the hash of the body once it has been read.
        Nothing the body asks for may take effect before that check passes."""
        principal, claims = await self._authenticate(method, raw_path, authorization)
        return principal, lambda computed: check_body(claims, computed)

    async def _authenticate(
        self, method: str, raw_path: str, authorization: str | None
    ) -> tuple[Principal, dict[str, Any]]:
        token = extract_token(authorization)
        key, credentials, claims = await self._verify(token)
        self._check_expiry(claims)
        self._check_request(claims, method=method, raw_path=raw_path)
        return Principal(key=key, system=credentials.system), claims

    async def _verify(self, token: str) -> tuple[str, Credentials, dict[str, Any]]:
        """The token's key, its credentials and its claims, once the signature holds."""
        cached = self._verified.get(token)
        if cached is not None:
            key, credentials, claims = cached
            if await self._credentials(key) == credentials:
                self._verified.move_to_end(token)
                return cached
        header, claims, signing_input, signature = _parse(token)
        if header.get("alg") != "HS256":
            raise NotAuthorized("Unsupported JWT algorithm: only HS256 is accepted")
        key = _claim(claims, "key")
        if not isinstance(key, str):
            raise NotAuthorized("Invalid JWT claim: key")
        # A key the store cannot hold (a NUL in it) is unknown without asking for it.
        found = await self._credentials(key) if storable(key) else None
        if found is None:
            raise NotAuthorized("Unknown API key")
        expected = hmac.new(found.secret.encode(), signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise NotAuthorized("Invalid token signature")
        self._verified[token] = (key, found, claims)
        if len(self._verified) > _VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return key, found, claims

    async def _credentials(self, key: str) -> Credentials | None:
        return self._master if key == MASTER_KEY else await self._lookup(key)

    def _check_expiry(self, claims: dict[str, Any]) -> None:
        exp = _claim(claims, "exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise NotAuthorized("Invalid JWT claim: exp must be a number")
        expires_at = exp / 1000 if exp > _MILLISECONDS_FROM else exp
        now = self._clock()
        if expires_at <= now:
            raise NotAuthorized("Token is expired")
        if expires_at > now + self._max_ttl_s:
            raise NotAuthorized(
                f"Token expiry is too far ahead: at most {self._max_ttl_s} seconds are accepted"
            )

    @staticmethod
    def _check_request(claims: dict[str, Any], *, method: str, raw_path: str) -> None:
        claimed_method = _claim(claims, "method")
        if not isinstance(claimed_method, str) or claimed_method.upper() != method.upper():
            raise NotAuthorized("`method` does not match the request's method")
        claimed_path = _claim(claims, "path")
        if not isinstance(claimed_path, str) or clean_path(claimed_path) != clean_path(raw_path):
            raise NotAuthorized("`path` does not match the request's path")


# Called with the SHA-256 (hex) of a streamed body once it has been read: raises NotAuthorized
# when the token's `body` claim does not match it.
BodyCheck = Callable[[str], None]


def check_body(claims: dict[str, Any], computed: str) -> None:
    """The token's `body` claim against the body's SHA-256 (hex; of b"" for no body)."""
    claimed_body = claims.get("body")
    if claimed_body is None:
        if computed != _EMPTY_BODY_HASH:
            raise NotAuthorized("Missing JWT claim: body")
        return
    if not isinstance(claimed_body, dict):
        raise NotAuthorized("Invalid JWT claim: body")
    alg = _claim(claimed_body, "alg", "body.alg")
    given = _claim(claimed_body, "hash", "body.hash")
    if not isinstance(alg, str) or alg.lower() != "sha256":
        raise NotAuthorized("Unsupported body hash algorithm: use sha256")
    if not isinstance(given, str) or not hmac.compare_digest(given.lower(), computed):
        raise NotAuthorized("Computed body hash does not match the token's body.hash")
