"""The issuer's scheduler on real Postgres, against a local HTTP server scripted to answer as
Open Campus does (the external API is replaced, never mocked in-process)."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp import web

from services.issuer.client import OpenCampusClient
from services.issuer.domain import retry_delay
from services.issuer.repository.credentials import Credentials
from services.issuer.scheduler import Scheduler, fingerprint
from shared.bus import Bus
from shared.config import Settings
from shared.crypto import SecretBox
from shared.envelope import Envelope
from shared.outbox import OutboxRelay
from tests.support.infra import Isolation
from tests.support.local_http import serving

pytestmark = pytest.mark.integration

KEY = "default-key-0001"
DUPLICATE = (400, {"error": {"message": "duplicate", "subType": "DUPLICATE_ISSUANCE_ERROR"}})


def body(reference: str) -> dict[str, Any]:
    return {
        "credentialPayload": {
            "awardedDate": "2024-01-31T12:00:00Z",
            "validFrom": "2024-01-31T12:00:00Z",
            "description": "Read twenty books",
            "credentialSubject": {
                "type": "Person",
                "name": "Ada Reader",
                "email": "ada@example.org",
                "achievement": {
                    "identifier": "reading-champion",
                    "achievementType": "Badge",
                    "name": "Reading Champion",
                    "description": "Twenty books",
                },
            },
        },
        "holderOcId": "ada.edu",
        "issuerReferenceId": reference,
    }


@dataclass
class FakeOpenCampus:
    """Answers calls from a script of (status, body[, headers]) or "hang"; records every call."""

    script: list[Any] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(
            {
                "key": request.headers.get("X-API-KEY"),
                "body": orjson.loads(await request.read()),
                "at": time.monotonic(),
            }
        )
        self.called.set()
        step = (
            self.script.pop(0) if self.script else (200, {"vc": {"id": f"urn:uuid:{uuid.uuid4()}"}})
        )
        if step == "hang":
            await asyncio.sleep(1)
            step = (200, {})
        status, payload, *rest = step
        return web.json_response(payload, status=status, headers=rest[0] if rest else None)


@pytest.fixture
async def open_campus() -> AsyncIterator[FakeOpenCampus]:
    fake = FakeOpenCampus()
    app = web.Application()
    app.router.add_post("/issuer/vc", fake.handle)
    async with serving(app) as fake.url:
        yield fake


Start = Callable[..., Any]


@pytest.fixture
async def scheduler(
    isolation: Isolation, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, bus: Bus
) -> AsyncIterator[Start]:
    started: list[Scheduler] = []

    async def start(
        schedule: str = "50ms,50ms,50ms", timeout_s: str = "0.5", **env: str
    ) -> Scheduler:
        settings = isolation.settings(
            open_campus_base_url=open_campus.url,
            open_campus_api_key=KEY,
            open_campus_timeout_s=timeout_s,
            open_campus_retry_schedule=schedule,
            **env,
        )
        box = SecretBox(settings.encryption_keys)
        client = OpenCampusClient(
            open_campus.url, settings.open_campus_timeout_s, max_connections=4
        )
        made = Scheduler(issuer_pool, settings, box, client, rng=random.Random(5))
        await made.start(OutboxRelay(issuer_pool, bus))
        started.append(made)
        return made

    yield start
    for made in started:
        await made.stop()


async def add(pool: asyncpg.Pool, reference: str | None = None, system_id: int = 1) -> uuid.UUID:
    credential_id = uuid.uuid4()
    reference = reference or f"plaudit:{credential_id}"
    async with pool.acquire() as conn:
        await Credentials(conn).insert(
            credential_id=credential_id,
            system_id=system_id,
            system="chicago",
            reference=reference,
            kind="OCA",
            award_uid=None,
            body=body(reference),
            body_hash="h",
            correlation_id="trace-1",
        )
    return credential_id


async def settled(
    pool: asyncpg.Pool, credential_id: uuid.UUID, timeout_s: float = 10
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        row = await pool.fetchrow("SELECT * FROM credentials WHERE id = $1", credential_id)
        assert row is not None
        if row["status"] != "pending":
            return dict(row)
        assert time.monotonic() < deadline, f"still pending after {timeout_s} s: {dict(row)}"
        await asyncio.sleep(0.02)


async def attempts(pool: asyncpg.Pool, credential_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT * FROM attempts WHERE credential_id = $1 ORDER BY number", credential_id
    )
    return [dict(row) for row in rows]


async def events(pool: asyncpg.Pool) -> list[Envelope]:
    return [Envelope.from_bytes(row["body"]) for row in await pool.fetch("SELECT body FROM outbox")]


class TestOutcomes:
    async def test_200_issues_and_announces(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        open_campus.script = [(200, {"vc": {"id": "urn:uuid:42"}})]
        credential = await add(issuer_pool)
        await scheduler()
        row = await settled(issuer_pool, credential)
        assert (row["status"], row["vc_id"], row["attempts"]) == ("issued", "urn:uuid:42", 1)
        assert open_campus.calls[0]["key"] == KEY
        assert open_campus.calls[0]["body"]["issuerReferenceId"] == f"plaudit:{credential}"
        [event] = await events(issuer_pool)
        assert (event.type, event.correlation_id) == ("credential.issued", "trace-1")
        assert event.data["credential"]["vcId"] == "urn:uuid:42"
        assert "Ada" not in orjson.dumps(event.data).decode()

    async def test_a_refusal_fails_at_once_with_its_body_kept(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        refusal = {"error": {"message": "bad identifier", "subType": "VALIDATION_ERROR"}}
        open_campus.script = [(400, refusal)]
        credential = await add(issuer_pool)
        await scheduler()
        row = await settled(issuer_pool, credential)
        assert row["status"] == "failed"
        assert row["error"]["body"] == refusal
        assert row["error"]["statusCode"] == 400
        await asyncio.sleep(0.3)  # the retry schedule is 50 ms: a retry would have come by now
        assert len(open_campus.calls) == 1
        assert [e.type for e in await events(issuer_pool)] == ["credential.failed"]

    @pytest.mark.parametrize("transient", [(503, {}), (500, {}), (502, {}), (429, {})])
    async def test_transient_failures_are_retried_with_the_same_reference(
        self,
        issuer_pool: asyncpg.Pool,
        open_campus: FakeOpenCampus,
        scheduler: Start,
        transient: tuple[int, Any],
    ) -> None:
        open_campus.script = [transient, transient, (200, {"vc": {"id": "urn:uuid:7"}})]
        credential = await add(issuer_pool)
        await scheduler()
        row = await settled(issuer_pool, credential)
        assert (row["status"], row["attempts"]) == ("issued", 3)
        references = {call["body"]["issuerReferenceId"] for call in open_campus.calls}
        assert references == {f"plaudit:{credential}"}
        assert [a["outcome"] for a in await attempts(issuer_pool, credential)] == [
            "retry",
            "retry",
            "issued",
        ]

    async def test_retries_follow_the_planned_delays(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        schedule = "200ms,400ms,600ms"
        open_campus.script = [(503, {}), (502, {}), (500, {})]
        credential = await add(issuer_pool)
        await scheduler(schedule=schedule)
        await settled(issuer_pool, credential)
        # The scheduler draws its jitter from Random(5): the same draws give the plan.
        rng = random.Random(5)
        steps = Settings(plaudit_env="test", open_campus_retry_schedule=schedule)  # type: ignore[call-arg]
        planned = [retry_delay(n, steps.open_campus_retry_schedule, None, rng) for n in range(3)]
        times = [call["at"] for call in open_campus.calls]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert len(gaps) == 3
        for gap, delay in zip(gaps, planned, strict=True):
            assert delay is not None
            assert delay - 0.01 <= gap <= delay + 0.25

    async def test_retry_after_is_honoured(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        open_campus.script = [(429, {}, {"Retry-After": "1"})]
        credential = await add(issuer_pool)
        await scheduler()
        await settled(issuer_pool, credential)
        first, second = open_campus.calls
        # The schedule says at most 50 ms; Retry-After says a second.
        assert second["at"] - first["at"] >= 0.95

    async def test_the_schedule_spent_means_failed(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        open_campus.script = [(503, {})] * 10
        credential = await add(issuer_pool)
        await scheduler(schedule="10ms,10ms")
        row = await settled(issuer_pool, credential)
        assert row["status"] == "failed"
        assert row["error"]["message"] == "gave up after 3 attempts"
        assert len(open_campus.calls) == 3

    async def test_a_timeout_then_a_duplicate_means_it_went_through(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        open_campus.script = ["hang", DUPLICATE]
        credential = await add(issuer_pool)
        await scheduler(timeout_s="0.3")
        row = await settled(issuer_pool, credential)
        assert row["status"] == "issued"
        assert [a["outcome"] for a in await attempts(issuer_pool, credential)] == [
            "timeout",
            "duplicate",
        ]

    async def test_a_duplicate_after_a_process_died_in_the_call_means_issued(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        credential = await add(issuer_pool)
        async with issuer_pool.acquire() as conn:
            # An attempt was claimed, then its process died in the call: no record of it...
            [claimed] = await Credentials(conn).claim_due(1, 60, None)
            assert claimed["attempts"] == 1
            # ...and its lease ran out.
            await conn.execute(
                "UPDATE credentials SET next_attempt_at = now() WHERE id = $1", credential
            )
        open_campus.script = [DUPLICATE]
        await scheduler()
        row = await settled(issuer_pool, credential)
        assert (row["status"], row["attempts"]) == ("issued", 2)

    async def test_a_duplicate_on_the_first_attempt_is_someone_elses(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        open_campus.script = [DUPLICATE]
        credential = await add(issuer_pool, reference="used-elsewhere")
        await scheduler()
        row = await settled(issuer_pool, credential)
        assert row["status"] == "failed"

    async def test_a_duplicate_after_a_429_is_someone_elses_too(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        open_campus.script = [(429, {}), DUPLICATE]
        credential = await add(issuer_pool)
        await scheduler()
        assert (await settled(issuer_pool, credential))["status"] == "failed"


class TestKeysAndCancellation:
    async def test_a_credential_stays_on_the_key_of_its_first_attempt(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        box_settings_key = "system-key-0001"
        made = await scheduler(schedule="300ms,300ms")
        box = made._box
        async with issuer_pool.acquire() as conn:
            await Credentials(conn).set_key(
                1, box.encrypt(box_settings_key), fingerprint(box_settings_key), "0001"
            )
        open_campus.script = [(503, {})]
        credential = await add(issuer_pool)
        await asyncio.wait_for(open_campus.called.wait(), 5)
        async with issuer_pool.acquire() as conn:  # the system changes its key meanwhile
            await Credentials(conn).set_key(
                1, box.encrypt("newer-key-9999"), fingerprint("newer-key-9999"), "9999"
            )
        await settled(issuer_pool, credential)
        assert [call["key"] for call in open_campus.calls] == [box_settings_key, box_settings_key]

    async def test_without_any_key_the_credential_fails_saying_why(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, isolation: Isolation, bus: Bus
    ) -> None:
        settings = isolation.settings(open_campus_base_url=open_campus.url)
        object.__setattr__(settings, "open_campus_api_key", None)
        box = SecretBox(settings.encryption_keys)
        made = Scheduler(
            issuer_pool, settings, box, OpenCampusClient(open_campus.url, 1, max_connections=1)
        )
        credential = await add(issuer_pool)
        await made.start(OutboxRelay(issuer_pool, bus))
        try:
            row = await settled(issuer_pool, credential)
        finally:
            await made.stop()
        assert row["status"] == "failed"
        assert "PUT /systems/:s/open-campus" in row["error"]["message"]
        assert open_campus.calls == []

    async def test_a_cancelled_credential_is_never_sent(
        self, issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
    ) -> None:
        credential = await add(issuer_pool)
        async with issuer_pool.acquire() as conn:
            await Credentials(conn).cancel(credential)
        await scheduler()
        await asyncio.sleep(0.3)
        assert open_campus.calls == []
        assert (await settled(issuer_pool, credential))["status"] == "cancelled"


async def test_the_circuit_breaker_stops_calls_while_open_campus_keeps_failing(
    issuer_pool: asyncpg.Pool, open_campus: FakeOpenCampus, scheduler: Start
) -> None:
    open_campus.script = [(503, {})] * 100
    credentials = [await add(issuer_pool) for _ in range(12)]
    await scheduler(schedule="10ms,10ms,10ms,10ms,10ms,10ms")
    deadline = time.monotonic() + 5
    while len(open_campus.calls) < 5:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)
    # Five failures open it for 30 s: the other credentials wait instead of hammering.
    assert 5 <= len(open_campus.calls) <= 5 + 4  # calls already in flight when it opened
    pending = await issuer_pool.fetchval(
        "SELECT count(*) FROM credentials WHERE status = 'pending' AND id = ANY($1::uuid[])",
        credentials,
    )
    assert pending == 12
