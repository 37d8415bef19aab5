"""Requests as a BadgeKit client sends them: a fresh JWT per request over method, path and body.

Minting costs CPU (about 30 µs a token) on the machine the system under test runs on, so by
default the requests of a run are signed before its clock starts (`RequestSource.ahead`); those
beyond the planned number, and every request with `--sign inline`, are signed as they are sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from shared.tokens import authorization, mint

MASTER_KEY = "master"


@dataclass(frozen=True, slots=True)
class Call:
    """One request of a scenario, before signing: the path as the gateway receives it."""

    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = None
    # Other headers to send (an Idempotency-Key), as (name, value) pairs.
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(
        cls, method: str, path: str, payload: Any, headers: tuple[tuple[str, str], ...] = ()
    ) -> Call:
        # A copy of orjson's bytes: its own keep the 4 KB buffer they were written in (about
        # 400 MB for the bodies of 100,000 pre-signed requests; a copy holds what it needs).
        body = bytes(memoryview(orjson.dumps(payload)))
        return cls(method, path, body, "application/json", headers)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A signed request, ready to send."""

    method: str
    url: str
    body: bytes | None
    headers: Mapping[str, str]


CallFactory = Callable[[int], Call]


class Signer:
    def __init__(self, base_url: str, secret: str, *, key: str = MASTER_KEY, ttl_s: int = 60):
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.key = key
        self.ttl_s = ttl_s

    def sign(self, call: Call) -> Prepared:
        token = mint(
            self.secret,
            method=call.method,
            path=call.path,
            body=call.body,
            key=self.key,
            ttl_s=self.ttl_s,
        )
        headers = {**dict(call.headers), "Authorization": authorization(token)}
        if call.content_type:
            headers["Content-Type"] = call.content_type
        return Prepared(call.method, self.base_url + call.path, call.body, headers)


class RequestSource:
    """Hands out the run's signed requests by index: pre-signed ones first, then signed inline."""

    def __init__(self, make: CallFactory, signer: Signer, presigned: list[Prepared]) -> None:
        self._make = make
        self._signer = signer
        self._presigned = presigned
        self.presigned = len(presigned)
        self.presign_s = 0.0
        self.signed_inline = 0

    @classmethod
    def ahead(cls, make: CallFactory, signer: Signer, count: int) -> RequestSource:
        started = time.perf_counter()
        presigned = [signer.sign(make(index)) for index in range(count)]
        source = cls(make, signer, presigned)
        source.presign_s = time.perf_counter() - started
        return source

    def get(self, index: int) -> Prepared:
        if index < self.presigned:
            return self._presigned[index]
        self.signed_inline += 1
        return self._signer.sign(self._make(index))

    def distinct_presigned_tokens(self) -> int:
        return len({prepared.headers["Authorization"] for prepared in self._presigned})
