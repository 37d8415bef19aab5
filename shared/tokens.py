"""Minting BadgeKit tokens, as clients, the CLI, the tests and the benchmark sign requests."""

from __future__ import annotations

import hashlib
import time

import jwt


def mint(
    secret: str,
    *,
    method: str,
    path: str,
    body: bytes | None = None,
    key: str = "master",
    ttl_s: int = 60,
) -> str:
    claims: dict[str, object] = {
        "key": key,
        "method": method.upper(),
        "path": path,
        "exp": int(time.time()) + ttl_s,
    }
    if body is not None:
        claims["body"] = {"alg": "sha256", "hash": hashlib.sha256(body).hexdigest()}
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
