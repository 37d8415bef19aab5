"""Delivering webhooks: claim due deliveries, send each, have every attempt recorded.

Per endpoint: at most its window of deliveries in flight (`windows.Windows`: a few for a new or
failing endpoint, more for one that answers), over HTTP connections of its own (one session per
endpoint, whatever host it is on), so a slow or dead endpoint holds only its own slots. Each
send goes through the SSRF guard: the URL is checked, and the connection goes to the addresses
the guarded resolver kept; redirects are not followed. What comes of each attempt is recorded
by `settling.Settler`, in batches.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import aiohttp
import asyncpg

from services.webhooks import domain
from services.webhooks.config import (
    ENDPOINT_WINDOW_START,
    ENDPOINT_WINDOW_WIDEST,
    LEASE_MARGIN_S,
    MAX_CONCURRENT_DELIVERIES,
    POLL_INTERVAL_S,
    RESPONSE_KEPT_CHARS,
    SESSION_IDLE_S,
    USER_AGENT,
)
from services.webhooks.repository import Repository
from services.webhooks.settling import ENDPOINT_DISABLED, SECRET_UNREADABLE, Answer, Settler
from services.webhooks.windows import Windows
from shared.config import Settings
from shared.crypto import SecretBox
from shared.duework import DueWork
from shared.guard import BlockedTarget, check_url, guarded_connector
from shared.http import retry_after_s
from shared.outbox import OutboxRelay


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
        self._box = box
        self._allow_private = bool(settings.webhook_allow_private)
        self._timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_s)
        self._lease_s = settings.webhook_timeout_s + LEASE_MARGIN_S
        self._sessions: dict[uuid.UUID, tuple[aiohttp.ClientSession, float]] = {}
        self._windows = Windows(start=ENDPOINT_WINDOW_START, widest=ENDPOINT_WINDOW_WIDEST)
        self._work = DueWork(
            "webhook-deliveries",
            self._claim,
            self._deliver,
            concurrency=MAX_CONCURRENT_DELIVERIES,
            poll_interval_s=POLL_INTERVAL_S,
        )
        self._settler = Settler(pool, settings, rng or random.SystemRandom(), self._work.wake_in)

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
                limit, self._windows.free(), self._windows.start, self._lease_s
            )
        for row in rows:  # counted at once, so the next claim sees them busy
            self._windows.taken(row["endpoint_id"])
        self._close_idle_sessions()
        return rows

    async def _deliver(self, row: dict[str, Any]) -> None:
        answered: bool | None = None
        try:
            answer, final = await self._attempt(row)  # logs nothing: the settler says it
            if await self._settler.settle(self._settler.outcome(row, answer, final=final)):
                answered = answer.verdict
        finally:
            self._windows.returned(row["endpoint_id"], answered)

    async def _attempt(self, row: dict[str, Any]) -> tuple[Answer, bool]:
        """Send the delivery, unless it cannot be: the answer, and whether it is final (not to
        be tried again)."""
        if not row["enabled"]:
            return Answer(None, None, 0, error=ENDPOINT_DISABLED), True
        try:
            check_url(row["url"], allow_private=self._allow_private)
        except BlockedTarget as blocked:
            return Answer(None, None, 0, error=f"blocked: {blocked.reason}"), True
        try:
            headers = self._headers(row)
        except ValueError:  # no key of PLAUDIT_ENCRYPTION_KEY decrypts it: retrying cannot help
            return Answer(None, None, 0, error=SECRET_UNREADABLE), True
        return await self._send(row, headers), False

    def _session(self, endpoint_id: uuid.UUID) -> aiohttp.ClientSession:
        found = self._sessions.get(endpoint_id)
        if found is None or found[0].closed:
            connector = guarded_connector(
                allow_private=self._allow_private, limit=ENDPOINT_WINDOW_WIDEST
            )
            # No cookies: what one answer sets must never ride along with a later delivery.
            session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        else:
            session = found[0]
        self._sessions[endpoint_id] = (session, time.monotonic())
        return session

    def _close_idle_sessions(self) -> None:
        now = time.monotonic()
        for endpoint_id, (session, used) in list(self._sessions.items()):
            if now - used > SESSION_IDLE_S and not self._windows.busy(endpoint_id):
                del self._sessions[endpoint_id]
                self._windows.forget_idle(endpoint_id)
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
