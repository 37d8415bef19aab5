"""`Idempotency-Key` records (kept by the badges service for every gateway).

A key is scoped to the caller's API key, the method and the path; its first response is stored
and replayed for 24 hours."""

from __future__ import annotations

from typing import Literal

from shared.messages.base import Command
from shared.messages.common import Base64Data


class BeginIdempotentRequest(Command):
    """Claim a key before running the request. The answer's `state`: `new` (run it, then
    finish or release), `replay` (with the stored response), `in_flight` or `mismatch`."""

    TYPE = "badges.begin_idempotent_request"
    scope: str
    key: str
    request_hash: str


class FinishIdempotentRequest(Command):
    TYPE = "badges.finish_idempotent_request"
    scope: str
    key: str
    status: int
    headers: dict[str, str]
    body: Base64Data


class ReleaseIdempotentRequest(Command):
    """Forget a claimed key whose request failed in a way worth retrying (5xx, 429)."""

    TYPE = "badges.release_idempotent_request"
    scope: str
    key: str


IdempotencyState = Literal["new", "replay", "in_flight", "mismatch"]
