"""Open Badges 3.0 credentials for the awards made before they existed.

Every award present when the credentials came (migration `0007_open_badge_backfill`) is marked
`open_badge_pending`. At start, the badges service drains the marks in chunks: each chunk's
awards are unmarked and their `issuer.sign_open_badge_credential` commands written to the outbox
in one transaction, so a crash loses no award and announces none twice (the issuer skips an
award whose credential exists, should a command come again). Chunks are paced, so that the
issuer keeps signing new awards first, and each is logged with what is left. Awards made since
are signed on their own `badge.awarded`; once the marks are gone the drain ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import asyncpg
import structlog

from services.badges import awarding
from services.badges.domain import badges as present_badges
from services.badges.domain import instances as domain
from services.badges.repository import Repository
from shared.envelope import Envelope
from shared.messages.open_badges import SignOpenBadgeCredential
from shared.outbox import OutboxRelay, write_events

log = structlog.get_logger()

# Awards a chunk takes, and the pause after each: at most CHUNK / PAUSE_S commands a second
# (about a third of what the issuer signs on this machine class).
CHUNK = 200
PAUSE_S = 0.5
RETRY_DELAY_S = 5.0


class OpenBadgeBackfill:
    def __init__(self, pool: asyncpg.Pool, base_url: str) -> None:
        self._pool = pool
        self._base_url = base_url
        self._task: asyncio.Task[None] | None = None

    async def start(self, relay: OutboxRelay) -> None:
        self._task = asyncio.create_task(self._drain(relay), name="open-badge-backfill")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _drain(self, relay: OutboxRelay) -> None:
        async with self._pool.acquire() as conn:
            left = await Repository(conn).instances.count_open_badge_pending()
        if not left:
            return
        log.info("open_badge.backfill_started", awards=left)
        done = 0
        while True:
            try:
                taken = await self.chunk(relay)
            except (OSError, asyncpg.PostgresError):
                log.warning("open_badge.backfill_retrying", delay_s=RETRY_DELAY_S, exc_info=True)
                await asyncio.sleep(RETRY_DELAY_S)
                continue
            if not taken:
                break
            done += taken
            log.info("open_badge.backfill_progress", done=done, left=max(left - done, 0))
            await asyncio.sleep(PAUSE_S)
        log.info("open_badge.backfill_finished", awards=done)

    async def chunk(self, relay: OutboxRelay) -> int:
        """Announce one chunk of marked awards to the issuer; how many."""
        async with self._pool.acquire() as conn, conn.transaction():
            repo = Repository(conn)
            rows = await repo.instances.take_open_badge_pending(CHUNK)
            if not rows:
                return 0
            badges = await repo.instances.badges(sorted({row["badge_id"] for row in rows}))
            commands = [self._command(row, badges[row["badge_id"]]) for row in rows]
            outbox_rows = await write_events(conn, commands)
        relay.relay_soon(outbox_rows)
        return len(rows)

    def _command(self, row: Any, badge: dict[str, Any]) -> Envelope:
        shown = domain.instance(row, self._base_url)
        shown_badge = present_badges.badge(badge, self._base_url)
        awarded = awarding.awarded_event(badge, shown_badge, shown, row)
        return Envelope.wrap(
            SignOpenBadgeCredential(awarded=awarded, revoked=row["revoked_at"] is not None),
            correlation_id=f"backfill-{uuid.uuid4().hex}",
            system_id=row["system_id"],
        )
