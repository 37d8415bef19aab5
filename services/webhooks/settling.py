"""Recording what came of each delivery attempt, in batches: the attempts answered together are
written in one transaction (the attempt rows, the deliveries' new states, their endpoints'
health), so a busy endpoint's deliveries do not each wait for a commit of their own.

Outcomes (DESIGN.md, Webhook deliveries): only 2xx succeeds; 410 disables the endpoint; every
other failure is retried on WEBHOOK_RETRY_SCHEDULE (±20 %, never before Retry-After), then the
delivery fails; an endpoint failing for WEBHOOK_DISABLE_AFTER without a single success is
disabled. A batch that cannot be written is written again one attempt at a time; an attempt that
still cannot be is left to its lease, after which the delivery is due again.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import asyncpg
import structlog

from services.webhooks import domain
from services.webhooks.config import MAX_SETTLE_BATCH
from services.webhooks.repository import Attempt, Repository
from shared import db
from shared.batching import Batches
from shared.config import Settings

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

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410

    @property
    def verdict(self) -> bool | None:
        """What the answer says of the endpoint: True that it works, False that it fails, None
        nothing (the failure was not the endpoint's)."""
        if self.succeeded:
            return True
        return None if self.error in NOT_THE_ENDPOINTS_FAULT else False


@dataclass(frozen=True)
class Outcome:
    """An attempt of a delivery and the delivery's next state."""

    endpoint_id: uuid.UUID
    attempt: Attempt
    answer: Answer
    status: str  # succeeded | pending | failed
    retry_in_s: float | None
    said_with: dict[str, Any]  # what the log lines of the attempt carry


class Settler:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        rng: random.Random,
        retry_due: Callable[[float], None],
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._rng = rng
        self._retry_due = retry_due
        self._batches: Batches[None, tuple[Outcome, asyncio.Future[bool]]] = Batches(
            self._write, max_batch=MAX_SETTLE_BATCH, in_flight=1
        )

    def outcome(self, row: dict[str, Any], answer: Answer, *, final: bool) -> Outcome:
        """What `answer` makes of the delivery `row` (final: it is not to be tried again)."""
        delay = None
        if not (answer.succeeded or answer.gone or final):
            delay = domain.retry_delay(
                row["schedule_step"],
                self._settings.webhook_retry_schedule,
                answer.retry_after_s,
                self._rng,
            )
        status = "succeeded" if answer.succeeded else ("pending" if delay is not None else "failed")
        attempt = Attempt(
            row["id"], answer.status_code, answer.duration_ms, answer.response, answer.error
        )
        said_with = {
            "delivery_id": str(row["id"]),
            "endpoint_id": str(row["endpoint_id"]),
            "event_type": row["event_type"],
            "attempt": row["attempts"],
            "system_id": row["system_id"],
        }
        return Outcome(row["endpoint_id"], attempt, answer, status, delay, said_with)

    async def settle(self, outcome: Outcome) -> bool:
        """Record the outcome with the others of its batch; False when its delivery was deleted
        while the request was out (or cannot be recorded: the lease makes it due again)."""
        recorded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._batches.add(None, (outcome, recorded))
        return await recorded

    async def _write(self, _key: None, batch: list[tuple[Outcome, asyncio.Future[bool]]]) -> None:

        async def write() -> set[uuid.UUID]:
            async with self._pool.acquire() as conn, conn.transaction():
                return await self._record(Repository(conn), [outcome for outcome, _ in batch])

        try:
            # Should Postgres drop the connection, on another: an attempt left unrecorded would
            # be sent again once its lease is over.
            kept = await db.reconnecting(write)
        except Exception:
            if len(batch) > 1:
                for item in batch:
                    await self._write(None, [item])
                return
            log.exception(
                "webhook.attempt_unrecorded", delivery_id=str(batch[0][0].attempt.delivery_id)
            )
            batch[0][1].set_result(False)
            return
        delivered = []
        for outcome, recorded in batch:
            found = outcome.attempt.delivery_id in kept
            if found and outcome.status == "succeeded":
                delivered.append(outcome.said_with["delivery_id"])
            else:
                self._said(outcome, found)
            if found and outcome.retry_in_s is not None:
                self._retry_due(outcome.retry_in_s)
            recorded.set_result(found)
        if delivered:
            # One line for the batch's successes (each attempt is in the delivery log).
            log.info("webhook.delivered", count=len(delivered), delivery_ids=delivered)

    async def _record(self, repo: Repository, outcomes: list[Outcome]) -> set[uuid.UUID]:
        """Record the outcomes; the ids of the deliveries still there (the others were deleted
        with their endpoint while their requests were out)."""
        present = await repo.lock_endpoints({outcome.endpoint_id for outcome in outcomes})
        mine = [outcome for outcome in outcomes if outcome.endpoint_id in present]
        if not mine:
            return set()
        in_id_order = sorted(mine, key=lambda outcome: outcome.attempt.delivery_id)  # row locks
        found = await repo.settle(
            [(each.attempt.delivery_id, each.status, each.retry_in_s) for each in in_id_order]
        )
        kept = [outcome for outcome in mine if outcome.attempt.delivery_id in found]
        if not kept:
            return found
        await repo.record_attempts([outcome.attempt for outcome in kept])
        by_endpoint = sorted(kept, key=lambda outcome: outcome.endpoint_id)
        for endpoint_id, of_endpoint in groupby(
            by_endpoint, key=lambda outcome: outcome.endpoint_id
        ):
            answers = [outcome.answer for outcome in of_endpoint]
            await self._endpoint_health(repo, endpoint_id, answers)
        return found

    async def _endpoint_health(
        self, repo: Repository, endpoint_id: uuid.UUID, answers: list[Answer]
    ) -> None:
        """The endpoint's state after these answers, in the order they came: a 410 disables it;
        otherwise the last answer that says something of it ends its failing streak or goes on
        with it (and disables it once the streak is WEBHOOK_DISABLE_AFTER long)."""
        if any(answer.gone for answer in answers):
            await repo.disable(endpoint_id, "the endpoint answered 410 Gone")
            return
        verdicts = [answer.verdict for answer in answers if answer.verdict is not None]
        if not verdicts:
            return
        if verdicts[-1]:
            await repo.endpoint_succeeded(endpoint_id)
            return
        failing_since = await repo.endpoint_failed(endpoint_id)
        window = self._settings.webhook_disable_after
        if failing_since is not None and _age(failing_since) >= window.total_seconds():
            reason = f"failing without a success since {failing_since.isoformat()}"
            await repo.disable(endpoint_id, reason)

    def _said(self, outcome: Outcome, found: bool) -> None:
        answer = outcome.answer
        with structlog.contextvars.bound_contextvars(**outcome.said_with):
            if not found:
                # Deleted with its endpoint (or its system) while the request was out.
                log.info("webhook.attempt_dropped", status_code=answer.status_code)
                return
            log.info(
                "webhook.attempted",
                status=outcome.status,
                status_code=answer.status_code,
                error=answer.error,
                duration_ms=answer.duration_ms,
                retry_in_s=round(outcome.retry_in_s, 1) if outcome.retry_in_s is not None else None,
            )


def _age(moment: datetime) -> float:
    return time.time() - moment.timestamp()
