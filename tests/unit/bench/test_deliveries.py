"""The webhooks scenario's receivers and measure (`bench webhooks`)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import aiohttp
import orjson
import pytest
from standardwebhooks import Webhook

from bench.deliveries import DeliveryTally, failed, rate_line, receiving, render, summarise

RUN = "bench-1a2b3c4d"


def email(index: int, run: str = RUN) -> str:
    return f"{run}-{index}@example.org"


def test_each_webhook_id_counts_once_and_a_repeat_is_a_duplicate() -> None:
    tally = DeliveryTally(RUN)
    tally.record("a", email(0), 10.0)
    tally.record("b", email(1), 10.5)
    tally.record("a", email(0), 11.0)  # redelivered
    assert (tally.received, tally.distinct, tally.duplicates) == (3, 2, 1)
    assert tally.delivered_at == {0: 10.0, 1: 10.5}
    assert (tally.first_at, tally.last_at) == (10.0, 10.5)  # a duplicate is not a new delivery


def test_deliveries_of_other_runs_or_events_are_foreign() -> None:
    tally = DeliveryTally(RUN)
    tally.record("a", email(0, "bench-99999999"), 10.0)
    tally.record("b", None, 10.0)
    assert tally.foreign == 2
    assert tally.delivered_at == {}


def test_a_sample_of_signatures_is_verified() -> None:
    tally = DeliveryTally(RUN)
    chosen = []
    for n in range(2000):
        chosen.append(tally.to_verify())
        tally.record(str(n), email(n), float(n))
    assert sum(chosen) == 20 + 3  # the first twenty, then the 500th, 1000th, 1500th


def tally_of(delivered: dict[int, float]) -> DeliveryTally:
    tally = DeliveryTally(RUN)
    for index, at in sorted(delivered.items(), key=lambda item: item[1]):
        tally.record(f"id-{index}", email(index), at)
    return tally


def test_the_rate_runs_from_the_first_delivery_to_the_last() -> None:
    # Two requests of three awards each, answered at 100.0 and 100.2.
    delivered = {0: 100.1, 1: 100.2, 2: 100.3, 3: 100.4, 4: 100.5, 5: 100.6}
    summary = summarise(tally_of(delivered), {0: 100.0, 1: 100.2}, 3, drained_s=1.0, hung=4)
    assert summary["events"] == 6
    assert summary["delivered"] == 6
    assert summary["missing"] == 0
    assert summary["rate_per_s"] == pytest.approx(5 / 0.5)
    assert summary["from_answer_ms"]["max"] == pytest.approx(400.0)
    assert summary["from_answer_ms"]["min"] == pytest.approx(100.0)
    assert not failed(summary)
    assert rate_line(summary, failed_requests=0).startswith("  rate         10.0 deliveries/s")


def test_missing_deliveries_withhold_the_rate_and_fail_the_run() -> None:
    delivered = {0: 100.1, 2: 100.3}
    summary = summarise(tally_of(delivered), {0: 100.0}, 3, drained_s=30.0, hung=4)
    assert summary["missing"] == 1
    assert summary["missing_sample"] == [1]
    assert failed(summary)
    line = rate_line(summary, failed_requests=0)
    assert "not reported" in line
    assert "deliveries/s" not in line
    assert any(line.startswith("FAILED") for line in render(summary, 0, None))


def test_a_failed_request_withholds_the_rate_too() -> None:
    summary = summarise(tally_of({0: 100.1}), {0: 100.0}, 1, drained_s=0.1, hung=4)
    assert "not reported: 2 requests failed" in rate_line(summary, failed_requests=2)


async def test_the_receivers_count_deliveries_verify_signatures_and_one_hangs() -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTnbjMfKQ9r8GKYqrTnbjMfKQ9r8GKYo="
    signer = Webhook(secret)
    async with receiving(RUN) as targets, aiohttp.ClientSession() as session:
        targets.secret = secret
        for index, webhook_id in ((0, "msg-0"), (1, "msg-1"), (0, "msg-0")):
            body = orjson.dumps({"type": "badge.awarded", "data": {"email": email(index)}})
            now = int(time.time())
            headers = {
                "webhook-id": webhook_id,
                "webhook-timestamp": str(now),
                "webhook-signature": signer.sign(
                    webhook_id, datetime.fromtimestamp(now, tz=UTC), body
                ),
            }
            async with session.post(targets.healthy_url, data=body, headers=headers) as answer:
                assert answer.status == 200
        forged = {"webhook-id": "msg-2", "webhook-timestamp": str(int(time.time()))}
        forged["webhook-signature"] = "v1,AAAA"
        async with session.post(targets.healthy_url, data=b"{}", headers=forged) as answer:
            assert answer.status == 200
        with pytest.raises(TimeoutError):
            await session.post(targets.hanging_url, data=b"{}", timeout=aiohttp.ClientTimeout(0.3))
        await asyncio.sleep(0)
    tally = targets.tally
    assert (tally.received, tally.distinct, tally.duplicates, tally.foreign) == (4, 3, 1, 1)
    assert sorted(tally.delivered_at) == [0, 1]
    assert (tally.verified, tally.refused) == (3, 1)
    assert targets.hung == 1
