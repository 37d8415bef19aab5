"""The issuer's rules: what an answer means, the retry delays, the circuit breaker."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from services.issuer.domain import (
    CallResult,
    CircuitBreaker,
    Outcome,
    classify,
    may_have_reached,
    retry_delay,
    vc_id,
)
from shared.http import retry_after_s

SCHEDULE = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2))
DUPLICATE = {"error": {"message": "dup", "subType": "DUPLICATE_ISSUANCE_ERROR"}}


def result(status: int | None, body: object = None, failure: str | None = None) -> CallResult:
    return CallResult(status, body, 10, failure=failure)


@pytest.mark.parametrize(
    ("status", "body", "failure", "outcome"),
    [
        (200, {"vc": {"id": "urn:uuid:1"}}, None, Outcome.ISSUED),
        (201, None, None, Outcome.ISSUED),
        (400, DUPLICATE, None, Outcome.DUPLICATE),
        (400, {"error": {"message": "bad", "subType": "VALIDATION_ERROR"}}, None, Outcome.REFUSED),
        (401, {"error": {"message": "key"}}, None, Outcome.REFUSED),
        (403, None, None, Outcome.REFUSED),
        (404, "not found", None, Outcome.REFUSED),
        (302, None, None, Outcome.REFUSED),
        (429, None, None, Outcome.TRANSIENT),
        (500, None, None, Outcome.TRANSIENT),
        (503, None, None, Outcome.TRANSIENT),
        (None, None, "timeout", Outcome.TRANSIENT),
        (None, None, "connection_error", Outcome.TRANSIENT),
    ],
)
def test_classify(status: int | None, body: object, failure: str | None, outcome: Outcome) -> None:
    assert classify(result(status, body, failure)) is outcome


def test_what_may_have_reached_open_campus() -> None:
    assert may_have_reached(result(None, failure="timeout"))
    assert may_have_reached(result(502))
    assert not may_have_reached(result(429))
    assert not may_have_reached(result(400))


def test_vc_id() -> None:
    assert vc_id({"vc": {"id": "urn:uuid:abc"}}) == "urn:uuid:abc"
    assert vc_id({"vc": {}}) is None
    assert vc_id("text") is None


class TestRetryDelay:
    def test_full_jitter_within_each_step(self) -> None:
        rng = random.Random(7)
        for step, base in enumerate(SCHEDULE):
            delays = [retry_delay(step, SCHEDULE, None, rng) for _ in range(500)]
            assert all(d is not None and 0 <= d <= base.total_seconds() for d in delays)
            # Full jitter spreads over the whole range, not just around the base.
            assert min(d for d in delays if d is not None) < base.total_seconds() * 0.1
            assert max(d for d in delays if d is not None) > base.total_seconds() * 0.9

    def test_retry_after_is_a_floor(self) -> None:
        rng = random.Random(1)
        assert all(
            (d := retry_delay(0, SCHEDULE, 12.0, rng)) is not None and d >= 12.0 for _ in range(100)
        )

    def test_none_once_the_schedule_is_spent(self) -> None:
        assert retry_delay(len(SCHEDULE), SCHEDULE, None, random.Random()) is None

    def test_seeded_delays_are_reproducible(self) -> None:
        first = [retry_delay(s, SCHEDULE, None, random.Random(3)) for s in range(3)]
        again = [retry_delay(s, SCHEDULE, None, random.Random(3)) for s in range(3)]
        assert first == again


class TestRetryAfterHeader:
    def test_seconds_and_dates(self) -> None:
        assert retry_after_s("7") == 7.0
        assert retry_after_s(None) is None
        assert retry_after_s("soon") is None
        assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestCircuitBreaker:
    def test_opens_after_the_threshold_then_probes_once(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker(threshold=3, cooldown_s=30, clock=clock)
        for _ in range(2):
            assert breaker.wait_s() is None
            breaker.record(answered=False)
        assert breaker.wait_s() is None
        breaker.record(answered=False)
        assert breaker.wait_s() == pytest.approx(30)
        clock.now += 31
        assert breaker.wait_s() is None  # the probe
        assert breaker.wait_s() == 30  # while the probe is out, nobody else
        breaker.record(answered=False)
        assert breaker.wait_s() == pytest.approx(30)  # failed probe: open again
        clock.now += 31
        assert breaker.wait_s() is None
        breaker.record(answered=True)
        assert breaker.wait_s() is None
        assert breaker.wait_s() is None

    def test_an_answer_resets_the_count(self) -> None:
        breaker = CircuitBreaker(threshold=2, cooldown_s=30, clock=Clock())
        breaker.record(answered=False)
        breaker.record(answered=True)
        breaker.record(answered=False)
        assert breaker.wait_s() is None
