"""Fault injection: each outcome, the sequence before the rates, seeded rates, latency."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import aiohttp
import pytest

from services.sandbox.faults import Faults, FaultSettings, Outcome
from shared.opencampus import DUPLICATE_SUBTYPE
from tests.unit.sandbox.conftest import ACHIEVEMENT_PATH, Sandbox, changed, oca

NO_REFERENCE = changed(oca(), "issuerReferenceId")


class TestOutcomes:
    async def test_error_answers_503_and_records_nothing(self, sandbox: Sandbox) -> None:
        await sandbox.set_faults(sequence=["error"])
        failed = await sandbox.issue(oca())
        assert failed.status == 503
        assert failed.body["error"]["subType"] != DUPLICATE_SUBTYPE
        assert await sandbox.credentials() == []
        # The retry goes through: the reference was never used.
        assert (await sandbox.issue(oca())).status == 200
        assert len(await sandbox.credentials()) == 1

    async def test_rate_limit_answers_429_with_retry_after(self, sandbox: Sandbox) -> None:
        await sandbox.set_faults(sequence=["rate_limit", "rate_limit"], retryAfterS=7)
        limited = await sandbox.issue(oca())
        assert limited.status == 429
        assert limited.headers["Retry-After"] == "7"
        assert limited.body["error"]["message"]
        await sandbox.set_faults(sequence=["rate_limit"])
        assert (await sandbox.issue(oca())).headers["Retry-After"] == "1"
        assert await sandbox.credentials() == []

    async def test_reject_is_a_400_other_than_the_duplicate(self, sandbox: Sandbox) -> None:
        await sandbox.set_faults(sequence=["reject"])
        rejected = await sandbox.issue(oca())
        assert rejected.status == 400
        assert rejected.body["error"]["subType"] not in (DUPLICATE_SUBTYPE, "VALIDATION_ERROR")
        assert await sandbox.credentials() == []

    async def test_slow_records_then_answers_after_the_clients_timeout(
        self, sandbox: Sandbox
    ) -> None:
        await sandbox.set_faults(sequence=["slow"], slowS=60)
        with pytest.raises(TimeoutError):
            await sandbox.issue(oca(), timeout_s=0.3)
        [recorded] = await sandbox.credentials()
        assert recorded["issuerReferenceId"] == "tt:1111222333"
        assert recorded["outcome"] == "slow"
        # The client's retry learns that it went through.
        again = await sandbox.issue(oca())
        assert again.body["error"]["subType"] == DUPLICATE_SUBTYPE
        # (The held answer is released when the sandbox stops: the fixture does not wait 60 s.)

    async def test_slow_answers_in_the_end(self, sandbox: Sandbox) -> None:
        await sandbox.set_faults(sequence=["slow"], slowS=0.3)
        started = time.monotonic()
        answer = await sandbox.issue(oca())
        assert time.monotonic() - started >= 0.3
        assert answer.status == 200
        assert [c["vcId"] for c in await sandbox.credentials()] == [answer.body["vc"]["id"]]

    async def test_ambiguous_500_records_then_answers_500(self, sandbox: Sandbox) -> None:
        await sandbox.set_faults(sequence=["ambiguous_500"])
        failed = await sandbox.issue(oca())
        assert failed.status == 500
        [recorded] = await sandbox.credentials()
        assert recorded["outcome"] == "ambiguous_500"
        again = await sandbox.issue(oca())
        assert again.status == 400
        assert again.body["error"]["subType"] == DUPLICATE_SUBTYPE

    async def test_ambiguous_drop_records_then_drops_the_connection(self, sandbox: Sandbox) -> None:
        await sandbox.set_faults(sequence=["ambiguous_drop"])
        with pytest.raises(aiohttp.ClientConnectionError):
            await sandbox.issue(oca())
        [recorded] = await sandbox.credentials()
        assert recorded["outcome"] == "ambiguous_drop"
        again = await sandbox.issue(oca())
        assert again.body["error"]["subType"] == DUPLICATE_SUBTYPE
        assert len(await sandbox.credentials()) == 1

    @pytest.mark.parametrize("outcome", ["slow", "ambiguous_500", "ambiguous_drop"])
    async def test_faults_that_record_validate_and_check_duplicates_first(
        self, sandbox: Sandbox, outcome: str
    ) -> None:
        assert (await sandbox.issue(oca())).status == 200
        invalid = changed(oca(issuerReferenceId="other"), f"{ACHIEVEMENT_PATH}.identifier", "")
        await sandbox.set_faults(sequence=[outcome, outcome], slowS=0)
        for body in (invalid, oca()):  # refused by the rules, then as a duplicate
            try:
                await sandbox.issue(body)
            except aiohttp.ClientConnectionError:
                assert outcome == "ambiguous_drop"
        assert [c["issuerReferenceId"] for c in await sandbox.credentials()] == ["tt:1111222333"]
        stats = await sandbox.stats()
        assert (stats["validationFailed"], stats["duplicates"]) == (1, 1)

    async def test_latency_delays_every_call(self, sandbox: Sandbox) -> None:
        await sandbox.set_faults(latencyMs=250)
        for api_key in ("sandbox-test-key-0001", "wrong"):
            started = time.monotonic()
            await sandbox.issue(NO_REFERENCE, api_key=api_key)
            assert time.monotonic() - started >= 0.25


class TestSequenceThenRates:
    async def test_the_sequence_comes_first_then_the_rates(self, sandbox: Sandbox) -> None:
        shown = await sandbox.set_faults(
            sequence=["error", "rate_limit", "reject", "ok"], rates={"error": 1.0}
        )
        assert shown["remaining"] == ["error", "rate_limit", "reject", "ok"]
        statuses = [(await sandbox.issue(NO_REFERENCE)).status for _ in range(6)]
        assert statuses == [503, 429, 400, 200, 503, 503]
        assert (await sandbox.admin("GET", "faults")).body["remaining"] == []

    async def test_an_unauthorized_call_consumes_no_outcome(self, sandbox: Sandbox) -> None:
        await sandbox.set_faults(sequence=["error"])
        assert (await sandbox.issue(oca(), api_key="wrong")).status == 401
        assert (await sandbox.issue(oca())).status == 503

    async def test_rates_are_drawn_from_the_seed(self, sandbox: Sandbox) -> None:
        rates = {"error": 0.25, "rate_limit": 0.25, "reject": 0.25}

        async def outcomes(seed: int) -> list[int]:
            await sandbox.set_faults(rates=rates, seed=seed)
            return [(await sandbox.issue(NO_REFERENCE)).status for _ in range(400)]

        first = await outcomes(seed=7)
        assert await outcomes(seed=7) == first
        assert await outcomes(seed=8) != first
        counts = Counter(first)
        for status in (503, 429, 400, 200):
            assert 70 <= counts[status] <= 130, counts  # 100 expected; the seed fixes the draw

    async def test_no_rates_means_ok_and_certain_rates_always_happen(
        self, sandbox: Sandbox
    ) -> None:
        assert {(await sandbox.issue(NO_REFERENCE)).status for _ in range(20)} == {200}
        await sandbox.set_faults(rates={"rate_limit": 1})
        assert {(await sandbox.issue(NO_REFERENCE)).status for _ in range(20)} == {429}
        cleared = await sandbox.admin("DELETE", "faults")
        assert cleared.body["faults"] == FaultSettings().to_json()
        assert (await sandbox.issue(NO_REFERENCE)).status == 200

    def test_the_draw_follows_the_outcomes_order_not_the_json_order(self) -> None:
        one = Faults(FaultSettings.model_validate({"rates": {"error": 0.5, "reject": 0.5}}))
        other = Faults(FaultSettings.model_validate({"rates": {"reject": 0.5, "error": 0.5}}))
        assert [one.next() for _ in range(50)] == [other.next() for _ in range(50)]
        assert {one.next() for _ in range(50)} == {Outcome.ERROR, Outcome.REJECT}


class TestFaultSettings:
    async def test_get_shows_what_put_set(self, sandbox: Sandbox) -> None:
        body = {
            "sequence": ["slow", "ok"],
            "rates": {"ambiguous_500": 0.1},
            "latencyMs": 5,
            "slowS": 2.5,
            "retryAfterS": 3,
            "seed": 42,
        }
        await sandbox.set_faults(**body)
        shown = (await sandbox.admin("GET", "faults")).body
        assert shown == {"faults": body, "remaining": ["slow", "ok"]}

    async def test_defaults(self, sandbox: Sandbox) -> None:
        shown = (await sandbox.admin("GET", "faults")).body
        assert shown == {
            "faults": {
                "sequence": [],
                "rates": {},
                "latencyMs": 0,
                "slowS": 30,
                "retryAfterS": 1,
                "seed": 0,
            },
            "remaining": [],
        }

    @pytest.mark.parametrize(
        "body",
        [
            {"sequence": ["boom"]},
            {"sequence": "error"},
            {"rates": {"boom": 0.1}},
            {"rates": {"error": 0.7, "reject": 0.6}},
            {"rates": {"error": -0.1}},
            {"rates": {"error": 1.5}},
            {"latencyMs": -1},
            {"slowS": -1},
            {"retryAfterS": -1},
            {"seed": "x"},
            {"unknown": 1},
            ["error"],
        ],
    )
    async def test_bad_settings_are_refused_and_change_nothing(
        self, sandbox: Sandbox, body: Any
    ) -> None:
        await sandbox.set_faults(sequence=["error"])
        refused = await sandbox.admin("PUT", "faults", body)
        assert refused.status == 400
        assert refused.body["error"]["details"]
        assert (await sandbox.admin("GET", "faults")).body["remaining"] == ["error"]

    async def test_a_body_that_is_not_json_is_refused(self, sandbox: Sandbox) -> None:
        async with sandbox.http.put(f"{sandbox.url}/_sandbox/faults", data=b"{") as response:
            assert response.status == 400
