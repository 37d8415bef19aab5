"""Minting BadgeKit tokens, as clients, the CLI, the tests and the benchmark sign requests."""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import jwt

# PyJWT warns about HMAC secrets under 32 bytes; BadgeKit deployments have secrets of any length,
# which must keep working (a short MASTER_SECRET is reported once, when the gateway starts).
_KEY_LENGTH_WARNING: type[Warning] = getattr(
    getattr(jwt, "warnings", None), "InsecureKeyLengthWarning", UserWarning
)


@contextmanager
def short_secrets_allowed() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _KEY_LENGTH_WARNING)
        yield


def mint(
    secret: str,
    *,
    method: str,
    path: str,
    body: bytes | None = None,
    key: str = "master",
    ttl_s: int = 60,
    body_hash: str | None = None,
) -> str:
    """A token for one request; `body_hash` (SHA-256, hex) instead of `body` for a body too
    large to hold (a file streamed from disk)."""
    claims: dict[str, object] = {
        "key": key,
        "method": method.upper(),
        "path": path,
        "exp": int(time.time()) + ttl_s,
    }
    if body is not None:
        body_hash = hashlib.sha256(body).hexdigest()
    if body_hash is not None:
        claims["body"] = {"alg": "sha256", "hash": body_hash}
    with short_secrets_allowed():
        return jwt.encode(claims, secret, algorithm="HS256")


def authorization(token: str) -> str:
    return f'JWT token="{token}"'


def signed_headers(
    secret: str, *, method: str, path: str, body: bytes | None = None, key: str = "master"
) -> dict[str, str]:
    headers = {
        "Authorization": authorization(mint(secret, method=method, path=path, body=body, key=key))
    }
    if body:
        headers["Content-Type"] = "application/json"
    return headers
