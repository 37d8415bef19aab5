"""Awards made as a careful client makes them while processes die under it, and the checks that
each was made, and its Open Campus credential issued, exactly once (the crash tests of
test_idempotency.py and the chaos test)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

import aiohttp
import asyncpg

from tests.support.client import Answer, Client
from tests.support.events import eventually
from tests.support.stack import Stack, query

# A client's back-off before its retry.
BACKOFF_S = 0.05


class KeyedAwards:
    """Each award under an Idempotency-Key of its own, retried with that key after a transport
    error or a 5xx (or a 409 while its first try still runs), `concurrency` at a time, each
    given `deadline_s` from its first try. Each starts an Open Campus credential (the badge's
    must take `holderOcId`)."""

    def __init__(self, client: Client, badge: str, *, concurrency: int, deadline_s: float) -> None:
        self.client = client
        self.badge = badge
        self.finals: dict[str, Answer] = {}
        self.retried = 0
        self._limit = asyncio.Semaphore(concurrency)
        self._deadline_s = deadline_s
        self._answered = asyncio.Condition()

    async def make(self, emails: Iterable[str]) -> None:
        await asyncio.gather(*(self._award(email) for email in emails))

    async def reached(self, count: int) -> None:
        """Until `count` awards have their final answer."""
        async with self._answered:
            await self._answered.wait_for(lambda: len(self.finals) >= count)

    async def _award(self, email: str) -> None:
        body = {"email": email, "holderOcId": "ada.edu", "name": "Ada Reader"}
        headers = {"Idempotency-Key": str(uuid.uuid4())}  # 10,000 of 32 bits would repeat
        loop = asyncio.get_running_loop()
        async with self._limit:
            deadline = loop.time() + self._deadline_s  # from its first try, not its queueing
            while True:
                try:
                    answer: Answer | None = await self.client.post(
                        f"{self.badge}/instances", json=body, headers=headers
                    )
                except aiohttp.ClientError:
                    answer = None  # its gateway died under it, or is starting again
                if answer is not None and answer.status < 500 and answer.status != 409:
                    break
                self.retried += 1
                assert loop.time() < deadline, (email, answer and answer.body)
                await asyncio.sleep(BACKOFF_S)
        self.finals[email] = answer
        async with self._answered:
            self._answered.notify_all()


async def each_awarded_once(
    stack: Stack, awards: KeyedAwards, recipients: list[str]
) -> list[asyncpg.Record]:
    """Check that every award was answered 201 with the one award that exists for its email;
    the awards' rows."""
    assert {e: a.status for e, a in awards.finals.items() if a.status != 201} == {}
    rows = await query(
        stack,
        "SELECT i.email, i.slug, i.uid FROM badges.instances i"
        " JOIN badges.badges b ON b.id = i.badge_id WHERE b.slug = $1",
        awards.badge.rsplit("/", 1)[1],
    )
    slugs: dict[str, list[str]] = {}
    for row in rows:
        slugs.setdefault(row["email"], []).append(row["slug"])
    doubled = {email: made for email, made in slugs.items() if len(made) > 1}
    assert doubled == {}, f"{len(doubled)} awards made twice"
    assert set(slugs) == set(recipients)
    # Every client was answered the award that exists, replays included.
    assert {e: a.body["instance"]["slug"] for e, a in awards.finals.items()} == {
        e: made[0] for e, made in slugs.items()
    }
    return rows


async def each_issued_once(stack: Stack, rows: list[asyncpg.Record], timeout_s: float) -> None:
    """Wait until every award's Open Campus credential is issued; check that the sandbox got
    each exactly once."""
    assert stack.sandbox is not None

    async def all_issued() -> bool:
        [row] = await query(
            stack,
            "SELECT count(*) FILTER (WHERE status = 'issued') AS issued, count(*) AS total"
            " FROM issuer.credentials",
        )
        assert row["total"] <= len(rows)
        return bool(row["issued"] == len(rows))

    await eventually(all_issued, "every award's credential to be issued", timeout_s=timeout_s)
    issued: list[Any] = [c["issuerReferenceId"] for c in stack.sandbox.credentials()]
    assert sorted(issued) == sorted(f"plaudit:{row['uid']}" for row in rows), (
        "a credential issued twice or never"
    )
