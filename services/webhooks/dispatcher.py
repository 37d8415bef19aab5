"""Delivering webhooks: claim due deliveries, send each, record every attempt.

Per endpoint: at most PER_ENDPOINT_CONCURRENCY deliveries in flight, over HTTP connections of
its own (one session per endpoint, whatever host it is on), so a slow or dead endpoint holds only
its own slots. Each send goes through the SSRF guard: the URL is checked, and the connection
goes to the addresses the guarded resolver kept. Outcomes (DESIGN.md, Webhook deliveries): only
2xx succeeds; redirects are not followed (a 3xx is a failure); 410 disables the endpoint; every
other failure is retried on WEBHOOK_RETRY_SCHEDULE (±20 %, never before Retry-After), then the
delivery fails; an endpoint failing for WEBHOOK_DISABLE_AFTER without a single success is
disabled.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import asyncpg
import structlog

from services.webhooks import domain
from services.webhooks.config import (
    LEASE_MARGIN_S,
    MAX_CONCURRENT_DELIVERIES,
    PER_ENDPOINT_CONCURRENCY,
    POLL_INTERVAL_S,
    RESPONSE_KEPT_CHARS,
    SESSION_IDLE_S,
    USER_AGENT,
)
from services.webhooks.repository import Repository
from shared.config import Settings
from shared.crypto import SecretBox
from shared.duework import DueWork
from shared.guard import BlockedTarget, check_url, guarded_connector
from shared.http import retry_after_s
from shared.outbox import OutboxRelay

log = structlog.get_logger()

ENDPOINT_DISABLED = "endpoint disabled"
SECRET_UNREADABLE = "the endpoint's secret cannot be decrypted with PLAUDIT_ENCRYPTION_KEY"
# Failures that say nothing about the endpoint: they never count towards disabling it.
NOT_THE_ENDPOINTS_FAULT = frozenset({ENDPOINT_DISABLED, SECRET_UNREADABLE})


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    response: str | None
    duration_ms: int
    retry_after_s: float | None = None
    error: str | None = None


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        box: SecretBox,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._box = box
        self._rng = rng or random.SystemRandom()
        self._allow_private = bool(settings.webhook_allow_private)
        self._timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_s)
        self._lease_s = settings.webhook_timeout_s + LEASE_MARGIN_S
        self._sessions: dict[uuid.UUID, tuple[aiohttp.ClientSession, float]] = {}
        self._busy: Counter[uuid.UUID] = Counter()
        self._work = DueWork(
            "webhook-deliveries",
            self._claim,
            self._deliver,
            concurrency=MAX_CONCURRENT_DELIVERIES,
            poll_interval_s=POLL_INTERVAL_S,
        )

    def wake(self) -> None:
        self._work.wake()

    async def start(self, relay: OutboxRelay) -> None:
        self._work.start()

    async def stop(self) -> None:
        await self._work.stop()
        for session, _ in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def _claim(self, limit: int) -> list[dict[str, Any]]:
        async with self._pool.acquire() as conn:
            rows = await Repository(conn).claim_due(
                limit, PER_ENDPOINT_CONCURRENCY, dict(self._busy), self._lease_s
            )
        for row in rows:  # counted at once, so the next claim sees them busy
            self._busy[row["endpoint_id"]] += 1
        self._close_idle_sessions()
        return rows

    async def _deliver(self, row: dict[str, Any]) -> None:
        endpoint_id = row["endpoint_id"]
        try:
            with structlog.contextvars.bound_contextvars(
                delivery_id=str(row["id"]),
                endpoint_id=str(endpoint_id),
                event_type=row["event_type"],
                attempt=row["attempts"],
                system_id=row["system_id"],
            ):
                await self._deliver_once(row)
        finally:
            self._busy[endpoint_id] -= 1
            if self._busy[endpoint_id] <= 0:
                del self._busy[endpoint_id]

    async def _deliver_once(self, row: dict[str, Any]) -> None:
        if not row["enabled"]:
            await self._settle(row, Answer(None, None, 0, error=ENDPOINT_DISABLED), final=True)
            return
        try:
            check_url(row["url"], allow_private=self._allow_private)
        except BlockedTarget as blocked:
            await self._settle(
                row, Answer(None, None, 0, error=f"blocked: {blocked.reason}"), final=True
            )
            return
        try:
            headers = self._headers(row)
        except ValueError:  # no key of PLAUDIT_ENCRYPTION_KEY decrypts it: retrying cannot help
            await self._settle(row, Answer(None, None, 0, error=SECRET_UNREADABLE), final=True)
            return
        answer = await self._send(row, headers)
        await self._settle(row, answer, final=False)

    def _session(self, endpoint_id: uuid.UUID) -> aiohttp.ClientSession:
        found = self._sessions.get(endpoint_id)
        if found is None or found[0].closed:
            connector = guarded_connector(
                allow_private=self._allow_private, limit=PER_ENDPOINT_CONCURRENCY
            )
            session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        else:
            session = found[0]
        self._sessions[endpoint_id] = (session, time.monotonic())
        return session

    def _close_idle_sessions(self) -> None:
        now = time.monotonic()
        for endpoint_id, (session, used) in list(self._sessions.items()):
            if now - used > SESSION_IDLE_S and not self._busy.get(endpoint_id):
                del self._sessions[endpoint_id]
                asyncio.get_running_loop().create_task(session.close())

    def _headers(self, row: dict[str, Any]) -> dict[str, str]:
        body: bytes = row["payload"]
        secret = self._box.decrypt(row["secret_ciphertext"])
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if row["format"] == "badgekit":
            return {**headers, **domain.badgekit_headers(secret, body)}
        signing = [secret]
        if row["previous_secret_ciphertext"] is not None:
            signing.append(self._box.decrypt(row["previous_secret_ciphertext"]))
        message_id = str(row["id"])
        return {**headers, **domain.standard_headers(signing, message_id, int(time.time()), body)}

    async def _send(self, row: dict[str, Any], headers: dict[str, str]) -> Answer:
        started = time.perf_counter()

        def elapsed_ms() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            async with self._session(row["endpoint_id"]).post(
                row["url"], data=row["payload"], headers=headers, allow_redirects=False
            ) as response:
                raw = await response.content.read(RESPONSE_KEPT_CHARS * 4)
                return Answer(
                    response.status,
                    raw.decode(errors="replace")[:RESPONSE_KEPT_CHARS],
                    elapsed_ms(),
                    retry_after_s(response.headers.get("Retry-After")),
                )
        except TimeoutError:
            return Answer(None, None, elapsed_ms(), error="timeout")
        except (aiohttp.ClientError, OSError) as error:
            return Answer(None, None, elapsed_ms(), error=_connection_error(error))

    async def _settle(self, row: dict[str, Any], answer: Answer, *, final: bool) -> None:
        succeeded = answer.status_code is not None and 200 <= answer.status_code < 300
        gone = answer.status_code == 410
        delay = None
        if not (succeeded or gone or final):
            delay = domain.retry_delay(
                row["schedule_step"],
                self._settings.webhook_retry_schedule,
                answer.retry_after_s,
                self._rng,
            )
        status = "succeeded" if succeeded else ("pending" if delay is not None else "failed")
        async with self._pool.acquire() as conn, conn.transaction():
            repo = Repository(conn)
            if not await repo.lock_for_settling(row["endpoint_id"], row["id"]):
                # Deleted with its endpoint (or its system) while the request was out.
                log.info("webhook.attempt_dropped", status_code=answer.status_code)
                return
            await repo.record_attempt(
                row["id"],
                status_code=answer.status_code,
                duration_ms=answer.duration_ms,
                response=answer.response,
                error=answer.error,
            )
            await repo.settle(row["id"], status, delay)
            endpoint_id = row["endpoint_id"]
            if succeeded:
                await repo.endpoint_succeeded(endpoint_id)
            elif gone:
                await repo.disable(endpoint_id, "the endpoint answered 410 Gone")
            elif answer.error not in NOT_THE_ENDPOINTS_FAULT:
                failing_since = await repo.endpoint_failed(endpoint_id)
                window = self._settings.webhook_disable_after
                if failing_since is not None and _age(failing_since) >= window.total_seconds():
                    reason = f"failing without a success since {failing_since.isoformat()}"
                    await repo.disable(endpoint_id, reason)
        if delay is not None:
            self._work.wake_in(delay)
        log.info(
            "webhook.attempted",
            status=status,
            status_code=answer.status_code,
            error=answer.error,
            duration_ms=answer.duration_ms,
            retry_in_s=round(delay, 1) if delay is not None else None,
        )


def _age(moment: datetime) -> float:
    return time.time() - moment.timestamp()


def _connection_error(error: BaseException) -> str:
    """A short description of why there was no answer (never the URL: it may hold a token)."""
    cause = error
    while cause.__cause__ is not None and isinstance(cause.__cause__, BaseException):
        cause = cause.__cause__
    if isinstance(cause, BlockedTarget):
        return f"blocked: {cause.reason}"
    text = str(cause) or type(cause).__name__
    if "blocked" in text:
        return f"blocked: {text}"
    return f"connection error: {type(error).__name__}"
