"""The import runner: awards the rows of running imports, a batch at a time.

Each batch is one transaction: the import's row is locked (`FOR UPDATE SKIP LOCKED`, so the
runners of several processes never run one import at once, and a cancel waits for the batch in
hand), its next rows without an outcome are taken, awarded the one way a badge is awarded
(`services.badges.awarding`: plain awards in one statement, `instances.INSERT` over the batch;
awards that need more, each in a savepoint), and each row's outcome is written with the awards and
their events (outbox). So a row is awarded once whatever crashes: a batch that did not commit left
nothing, and a row with an outcome is never taken again; a running import is resumed by whichever
runner finds it, at start or at its next poll. When no row is left, the import is `completed` and
`import.completed` is emitted, in the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, NamedTuple

import asyncpg
import structlog

from services.badges import awarding
from services.badges.deps import Ctx, Deps
from services.badges.domain import badges as present_badges
from services.badges.domain import imports as domain
from services.badges.repository import Repository
from services.badges.repository.imports import Outcome
from shared.context import Context
from shared.envelope import Envelope
from shared.errors import AppError
from shared.messages.imports import FinishImportUpload, ImportCompleted, ImportRowFields
from shared.outbox import OutboxRelay, write_events

log = structlog.get_logger()

# Rows a batch takes: one statement awards them all (when plain), in one transaction.
BATCH_ROWS = 500
# A runner with nothing to do looks again this often (a new import wakes its own process's at once).
IDLE_POLL_S = 1.0
RETRY_DELAY_S = 2.0
# Batches of one import that fail otherwise than by the database or the network before it fails.
MAX_FAILURES = 3
# Rows planned between two looks at the event loop: planning a whole batch at once would hold
# back the single awards that arrive meanwhile by tens of milliseconds.
YIELD_EVERY = 50
# A batch waits while the process's outbox relay has this many events still to publish: the
# runner goes at the pace the events leave, its memory flat whatever the import's size.
MAX_BACKLOG = 2 * BATCH_ROWS
BACKLOG_PAUSE_S = 0.01
# An upload whose gateway went away (a client that hung up, a gateway killed) never finishes:
# its rows are dropped by the hourly housekeeping once it is this old.
ABANDONED_UPLOADS = (
    "DELETE FROM imports WHERE state = 'validating' AND created_at < now() - interval '1 day'"
)


class ImportRunner:
    def __init__(self, pool: asyncpg.Pool, deps: Deps) -> None:
        self._pool = pool
        self._deps = deps
        self._task: asyncio.Task[None] | None = None

    async def start(self, relay: OutboxRelay) -> None:
        self._task = asyncio.create_task(self._run(relay), name="import-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, relay: OutboxRelay) -> None:
        waiting = self._deps.imports_waiting
        failures: dict[uuid.UUID, int] = {}
        while True:
            # The relay offers no event to wait on; looking every 10 ms costs nothing.
            while relay.backlog >= MAX_BACKLOG:  # noqa: ASYNC110
                await asyncio.sleep(BACKLOG_PAUSE_S)
            try:
                ran = await self.batch(relay)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("import.batch_retrying", delay_s=RETRY_DELAY_S, exc_info=True)
                await asyncio.sleep(RETRY_DELAY_S)
                continue
            except BatchFailed as failed:
                # Not the database or the network: a batch that fails so again and again would
                # stop every import behind it. Its import fails instead; its awards made stay.
                log.exception("import.batch_failed", import_id=str(failed.import_id))
                failures[failed.import_id] = failures.get(failed.import_id, 0) + 1
                if failures[failed.import_id] >= MAX_FAILURES:
                    await self.fail(relay, failed.import_id)
                await asyncio.sleep(RETRY_DELAY_S)
                continue
            if ran:
                await asyncio.sleep(0)  # let requests in between
                continue
            waiting.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiting.wait(), IDLE_POLL_S)

    async def batch(self, relay: OutboxRelay) -> bool:
        """Run one batch of one running import; False when no import is running (or free)."""
        async with self._pool.acquire() as conn, conn.transaction():
            repo = Repository(conn)
            job = await repo.imports.take_running()
            if job is None:
                return False
            try:
                badge = await repo.badges.get(job["badge_id"])
                ctx = self._context(conn, job, badge)
                rows = await repo.imports.pending_rows(job["id"], BATCH_ROWS)
                if rows:
                    outcomes = await run_rows(ctx, job, badge, rows)
                    await repo.imports.record(job["id"], outcomes)
                else:
                    await complete(ctx, repo, job, badge, "completed")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                raise
            except Exception as error:
                raise BatchFailed(job["id"]) from error
            outbox_rows = await write_events(conn, ctx.events)
        relay.relay_soon(outbox_rows)
        return True

    async def fail(self, relay: OutboxRelay, import_id: uuid.UUID) -> None:
        """End an import whose batches keep failing: `failed`, and its `import.completed`."""
        async with self._pool.acquire() as conn, conn.transaction():
            repo = Repository(conn)
            job = await repo.imports.lock_running(import_id)
            if job is None:
                return
            badge = await repo.badges.get(job["badge_id"])
            ctx = self._context(conn, job, badge)
            await complete(ctx, repo, job, badge, "failed")
            outbox_rows = await write_events(conn, ctx.events)
        relay.relay_soon(outbox_rows)

    def _context(self, conn: Any, job: Any, badge: dict[str, Any]) -> Ctx:
        """The batch's context: its events are caused by the upload that started the import."""
        cause = Envelope.wrap(
            FinishImportUpload(system=badge["system"]["slug"], import_id=job["id"]),
            correlation_id=job["correlation_id"],
            system_id=job["system_id"],
        )
        return Context(
            conn=conn,
            deps=self._deps,
            envelope=cause,
            system_id=job["system_id"],
            in_transaction=True,
        )


class BatchFailed(Exception):
    """A batch failed otherwise than by the database or the network (a bug, a row that cannot
    be read): nothing of it was kept."""

    def __init__(self, import_id: uuid.UUID) -> None:
        super().__init__(str(import_id))
        self.import_id = import_id


async def complete(ctx: Ctx, repo: Repository, job: Any, badge: dict[str, Any], state: str) -> None:
    """End the import (`completed`, or `failed`) and emit its `import.completed`."""
    row = await repo.imports.finish(job["id"], state)
    ctx.emit(
        ImportCompleted(
            system=badge["system"]["slug"], import_=domain.present(row, problems=False)
        ),
        system_id=row["system_id"],
    )
    log.info("import.finished", import_id=str(row["id"]), state=state, rows=row["total"])


class _Planned(NamedTuple):
    row: int
    planned: awarding.Planned


async def run_rows(ctx: Ctx, job: Any, badge: dict[str, Any], rows: list[Any]) -> list[Outcome]:
    """Award a batch of rows; each row's outcome."""
    repo = Repository(ctx.conn)
    duplicates, notify = job["duplicates"], job["notify"]
    shown_badge = present_badges.badge(badge, ctx.deps.base_url)
    valid = [row for row in rows if row["award"] is not None]
    holders = (
        await repo.imports.holders(badge["id"], [row["award"]["email"] for row in valid])
        if duplicates != "allow"
        else set()
    )
    outcomes: list[Outcome] = []
    planned: list[_Planned] = []
    for i, row in enumerate(rows, start=1):
        if i % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # single awards arriving meanwhile are not held up
        number = row["row_number"]
        if row["award"] is None:
            outcomes.append(
                Outcome(number, "failed", error=domain.problem_message(row["problems"] or []))
            )
            continue
        fields = ImportRowFields.from_data(row["award"])
        again = domain.repeated(duplicates, row["repeats"], fields.email.lower() in holders)
        if again is not None:
            outcomes.append(Outcome(number, again[0], error=again[1]))
            continue
        try:
            plan = awarding.plan_fields(ctx, badge, shown_badge, fields, narrative=fields.narrative)
        except AppError as error:
            outcomes.append(Outcome(number, "failed", error=error.message))
            continue
        planned.append(_Planned(number, plan))
    written = await awarding.award_many(
        ctx, badge, shown_badge, [each.planned for each in planned], notify=notify, separately=True
    )
    for each, result in zip(planned, written, strict=True):
        if isinstance(result, dict):
            outcomes.append(Outcome(each.row, "awarded", slug=each.planned.award.slug))
        else:
            outcome, why = domain.refused_outcome(duplicates, result)
            outcomes.append(Outcome(each.row, outcome, error=why))
    return outcomes
