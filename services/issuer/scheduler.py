"""The issuer's scheduler: claims due credentials and makes one attempt at each.

An attempt is claimed in a statement that commits before the call (the attempt counted, the
credential due again after a lease), so a process killed in the middle of a call leaves a
credential that another attempt picks up later, with the same `issuerReferenceId`: Open Campus
answers that one with its duplicate error, which then means "issued". Outcomes (DESIGN.md, Open
Campus issuance):
- 2xx → issued;
- the duplicate error → issued when an earlier attempt may have reached Open Campus (no answer,
  a 5xx, or a process that died in the call), else failed (the reference was used elsewhere);
- timeouts, connection errors, 429 and 5xx → due again after the next delay of
  OPEN_CAMPUS_RETRY_SCHEDULE (full jitter, never before Retry-After), then failed;
- any other answer → failed at once, its body kept.
Each outcome commits with its attempt record and, when final, its `credential.*` event.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import asyncpg
import orjson
import structlog

from services.issuer import domain
from services.issuer.client import OpenCampusClient
from services.issuer.config import (
    BREAKER_COOLDOWN_MAX_S,
    BREAKER_COOLDOWN_MIN_S,
    BREAKER_THRESHOLD,
    LEASE_MARGIN_S,
    MAX_CONCURRENT_CALLS,
    POLL_INTERVAL_S,
    RESPONSE_KEPT_CHARS,
)
from services.issuer.domain import CallResult, CircuitBreaker, Outcome
from services.issuer.repository.credentials import Credentials
from shared.config import Settings
from shared.crypto import SecretBox
from shared.duework import DueWork
from shared.envelope import Envelope
from shared.logging import new_correlation_id
from shared.messages.credentials import CredentialFailed, CredentialIssued
from shared.opencampus import InvalidIssueRequest, validate_issue_request
from shared.outbox import OutboxRelay, write_events

log = structlog.get_logger()


def fingerprint(api_key: str) -> str:
    """A name for an API key (circuit breakers are per key) that does not reveal it."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class Scheduler:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        box: SecretBox,
        client: OpenCampusClient,
        *,
        concurrency: int = MAX_CONCURRENT_CALLS,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._box = box
        self._client = client
        self._concurrency = concurrency
        self._rng = rng or random.SystemRandom()
        self._lease_s = settings.open_campus_timeout_s + LEASE_MARGIN_S
        first_delay = settings.open_campus_retry_schedule[0].total_seconds()
        self._cooldown_s = min(BREAKER_COOLDOWN_MAX_S, max(BREAKER_COOLDOWN_MIN_S, 2 * first_delay))
        self._breakers: dict[str, CircuitBreaker] = {}
        self._relay: OutboxRelay | None = None
        self._work = DueWork(
            "credentials",
            self._claim,
            self._attempt,
            concurrency=concurrency,
            poll_interval_s=POLL_INTERVAL_S,
        )
        default = settings.open_campus_api_key
        self._default_key = (
            (box.encrypt(default.get_secret_value()), fingerprint(default.get_secret_value()))
            if default is not None
            else None
        )

    def wake(self) -> None:
        self._work.wake()

    async def start(self, relay: OutboxRelay) -> None:
        self._relay = relay
        await self._client.start()
        self._work.start()

    async def stop(self) -> None:
        """Claim nothing more; let the calls in flight finish (each is bounded by its timeout)."""
        await self._work.stop()
        await self._client.close()

    async def _claim(self, limit: int) -> list[dict[str, Any]]:
        async with self._pool.acquire() as conn:
            return await Credentials(conn).claim_due(limit, self._lease_s, self._default_key)

    async def _attempt(self, row: dict[str, Any]) -> None:
        with structlog.contextvars.bound_contextvars(
            credential_id=str(row["id"]),
            attempt=row["attempts"],
            system_id=row["system_id"],
            correlation_id=row["correlation_id"],
        ):
            await self._attempt_once(row)

    async def _attempt_once(self, row: dict[str, Any]) -> None:
        if row["key_ciphertext"] is None:
            await self._finish(
                row,
                CallResult(None, None, 0),
                "no_key",
                status="failed",
                error={
                    "message": "No Open Campus API key: set one with PUT /systems/:s/open-campus"
                },
                not_sent=True,
                refused=True,
            )
            return
        breaker = self._breakers.setdefault(
            row["key_fingerprint"], CircuitBreaker(BREAKER_THRESHOLD, self._cooldown_s)
        )
        wait_s = breaker.wait_s()
        if wait_s is not None:
            async with self._pool.acquire() as conn:
                await Credentials(conn).postpone(row["id"], wait_s)
            log.info("credential.postponed", reason="circuit_open", retry_in_s=round(wait_s, 1))
            return
        try:
            request = validate_issue_request(row["body"])
        except InvalidIssueRequest as invalid:
            # Never reached for bodies Plaudit built or checked; kept as the last guard.
            await self._finish(
                row,
                CallResult(None, None, 0),
                "invalid",
                status="failed",
                error={"message": "Refused before sending", "details": invalid.details},
                not_sent=True,
                refused=True,
            )
            return
        try:
            api_key = self._box.decrypt(row["key_ciphertext"])
        except ValueError:
            await self._finish(
                row,
                CallResult(None, None, 0),
                "no_key",
                status="failed",
                error={
                    "message": "The stored API key cannot be decrypted with PLAUDIT_ENCRYPTION_KEY"
                },
                not_sent=True,
                refused=True,
            )
            return
        result = await self._client.issue(api_key, request.to_wire())
        outcome = domain.classify(result)
        breaker.record(answered=outcome is not Outcome.TRANSIENT)
        await self._settle(row, result, outcome)

    async def _settle(self, row: dict[str, Any], result: CallResult, outcome: Outcome) -> None:
        if outcome is Outcome.ISSUED:
            await self._finish(
                row, result, "issued", status="issued", vc_id=domain.vc_id(result.body)
            )
        elif outcome is Outcome.DUPLICATE and domain.an_earlier_attempt_may_have_issued(row):
            await self._finish(row, result, "duplicate", status="issued")
        elif outcome is Outcome.TRANSIENT:
            delay = domain.retry_delay(
                row["schedule_step"],
                self._settings.open_campus_retry_schedule,
                result.retry_after_s,
                self._rng,
            )
            not_sent = not domain.may_have_reached(result)
            if delay is None:
                await self._finish(
                    row,
                    result,
                    result.failure or "error",
                    status="failed",
                    error=_error(result, f"gave up after {row['attempts']} attempts"),
                    not_sent=not_sent,
                )
            else:
                await self._finish(
                    row,
                    result,
                    result.failure or "retry",
                    status="pending",
                    next_attempt_in_s=delay,
                    not_sent=not_sent,
                )
        else:
            refused = outcome is Outcome.REFUSED
            await self._finish(
                row,
                result,
                "refused" if refused else "duplicate_foreign",
                status="failed",
                error=_error(result, "refused by Open Campus"),
                not_sent=True,
                refused=refused,
            )

    async def _finish(
        self,
        row: dict[str, Any],
        result: CallResult,
        outcome: str,
        *,
        status: str,
        vc_id: str | None = None,
        error: Any = None,
        next_attempt_in_s: float | None = None,
        not_sent: bool = False,
        refused: bool = False,
    ) -> None:
        """Record the attempt and its consequence in one transaction (with the event when the
        credential is settled)."""
        async with self._pool.acquire() as conn, conn.transaction():
            repo = Credentials(conn)
            await repo.record_attempt(
                row["id"],
                row["attempts"],
                status_code=result.status_code,
                duration_ms=result.duration_ms,
                outcome=outcome,
                response=_kept(result),
            )
            settled = await repo.settle(
                row["id"],
                status=status,
                vc_id=vc_id,
                error=error,
                next_attempt_in_s=next_attempt_in_s,
                not_sent=not_sent,
                refused=refused,
            )
            events = _events(settled) if settled is not None and status != "pending" else []
            await write_events(conn, events)
        if events and self._relay is not None:
            self._relay.wake()
        if next_attempt_in_s is not None:
            self._work.wake_in(next_attempt_in_s)
        log.info(
            "credential.attempted",
            outcome=outcome,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            status=settled["status"] if settled else "unchanged",
            retry_in_s=round(next_attempt_in_s, 1) if next_attempt_in_s is not None else None,
        )


def _events(row: dict[str, Any]) -> list[Envelope]:
    shown = domain.announced(row)
    event = (
        CredentialIssued(system=row["system"], credential=shown)
        if row["status"] == "issued"
        else CredentialFailed(system=row["system"], credential=shown)
    )
    correlation_id = row["correlation_id"] or new_correlation_id()
    return [Envelope.wrap(event, correlation_id=correlation_id, system_id=row["system_id"])]


def _error(result: CallResult, summary: str) -> dict[str, Any]:
    return {
        "message": summary,
        "statusCode": result.status_code,
        "failure": result.failure,
        "body": result.body,
    }


def _kept(result: CallResult) -> str | None:
    if result.body is None:
        return None
    text = result.body if isinstance(result.body, str) else orjson.dumps(result.body).decode()
    return text[:RESPONSE_KEPT_CHARS]
