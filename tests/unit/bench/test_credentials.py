"""The award-to-credential measure of the load generator (`bench --credential-lag`)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import credentials
from bench.credentials import Stored, award_index, summarise
from bench.stats import Recorder


def test_the_index_comes_from_this_runs_emails_only() -> None:
    assert award_index("bench-1a2b3c4d-42@example.org", "bench-1a2b3c4d") == 42
    assert award_index("bench-99999999-42@example.org", "bench-1a2b3c4d") is None
    assert award_index("someone@example.org", "bench-1a2b3c4d") is None


def test_lags_run_from_the_answer_and_from_the_award_row() -> None:
    answered = {0: 100.0, 1: 100.5, 2: 101.0}
    stored = {
        0: Stored(awarded=99.99, signed=100.2),
        1: Stored(awarded=100.49, signed=100.4),  # signed before its 201 arrived
        2: Stored(awarded=100.99, signed=101.01),
    }
    lag = summarise(answered, stored, drained_s=0.5)
    assert lag["awards"] == 3
    assert lag["signed"] == 3
    assert lag["missing"] == 0
    assert lag["before_answer"] == 1
    assert lag["from_answer_ms"]["max"] == pytest.approx(200.0)
    assert lag["from_answer_ms"]["min"] == pytest.approx(-100.0)
    assert lag["from_award_ms"]["p50"] == pytest.approx(20.0)
    assert lag["drained_s"] == 0.5


def test_an_award_without_a_credential_is_missing_and_fails_the_rendering() -> None:
    answered = {0: 100.0, 1: 100.5, 7: 101.0}
    stored = {0: Stored(99.9, 100.1), 1: Stored(100.4, None)}  # 7: not even read back
    lag = summarise(answered, stored, drained_s=30.0)
    assert lag["signed"] == 1
    assert lag["missing"] == 2
    assert lag["missing_sample"] == [1, 7]
    assert any(line.startswith("FAILED: 2 awards") for line in credentials.render(lag))


def test_the_recorder_keeps_answer_times_of_measured_successes_only() -> None:
    recorder = Recorder(answer_times=True)
    recorder.done(measured=True, latency_s=0.01, outcome=None, at=1.0, number=5)
    recorder.done(measured=False, latency_s=0.01, outcome=None, at=1.0, number=1)
    recorder.done(measured=True, latency_s=0.01, outcome="HTTP 500", at=1.0, number=6)
    assert recorder.answered_at is not None
    assert list(recorder.answered_at) == [5]
    assert Recorder().answered_at is None


class FakeConn:
    """Credentials appear one poll at a time."""

    def __init__(self, run_id: str, total: int) -> None:
        self.run_id = run_id
        self.total = total
        self.signed = 0

    async def fetchval(self, sql: str, pattern: str) -> int:
        assert pattern == f"{self.run_id}-%@example.org"
        if "open_badges" in sql:
            self.signed += 1
            return self.signed
        return self.total

    async def fetch(self, sql: str, pattern: str) -> list[dict[str, Any]]:
        return [
            {"email": f"{self.run_id}-{i}@example.org", "awarded": 10.0 + i, "signed": 11.0 + i}
            for i in range(self.signed)
        ] + [{"email": "bench-other-0@example.org", "awarded": 1.0, "signed": None}]


async def test_drain_waits_for_every_credential_then_reads_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(credentials, "POLL_S", 0.0)
    conn = FakeConn("bench-x", total=3)
    await credentials.drain(conn, "bench-x", 3, deadline_s=5.0)
    stored = await credentials.read_stored(conn, "bench-x")
    assert sorted(stored) == [0, 1, 2]
    assert stored[2] == Stored(12.0, 13.0)


async def test_drain_gives_up_at_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "POLL_S", 0.0)
    waited = await credentials.drain(FakeConn("bench-x", total=10**9), "bench-x", 10**9, 0.05)
    assert waited >= 0.05
