"""The admin API: recorded credentials, counters, reset."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import aiohttp

from tests.unit.sandbox.conftest import KEY, OTHER_KEY, Sandbox, changed, oca, ocb


class TestCredentials:
    async def test_each_credential_is_listed_with_what_was_sent(self, sandbox: Sandbox) -> None:
        before = datetime.now(UTC)
        issued = await sandbox.issue(oca())
        badge = ocb(issuerReferenceId="badge-1")
        await sandbox.issue(badge, api_key=OTHER_KEY)
        first, second = await sandbox.credentials()
        assert first == {
            "issuerReferenceId": "tt:1111222333",
            "vcId": issued.body["vc"]["id"],
            "apiKeyLast4": KEY[-4:],
            "kind": "OCA",
            "holder": "bob.edu",
            "outcome": "ok",
            "recordedAt": first["recordedAt"],
            "body": oca(),
        }
        recorded_at = datetime.fromisoformat(first["recordedAt"])
        assert first["recordedAt"].endswith("Z")
        assert before - timedelta(seconds=1) <= recorded_at <= datetime.now(UTC)
        assert (second["kind"], second["holder"]) == ("OCB", badge["holderAddress"])
        assert second["apiKeyLast4"] == OTHER_KEY[-4:]
        assert second["body"] == badge

    async def test_listed_by_issuer_reference_id(self, sandbox: Sandbox) -> None:
        await sandbox.issue(oca(issuerReferenceId="a/1?&=#+"))
        await sandbox.issue(oca(issuerReferenceId="b"))
        async with sandbox.http.get(
            f"{sandbox.url}/_sandbox/credentials", params={"issuerReferenceId": "a/1?&=#+"}
        ) as response:
            [found] = (await response.json())["credentials"]
        assert found["issuerReferenceId"] == "a/1?&=#+"
        assert await sandbox.credentials("missing") == []

    async def test_the_full_key_is_never_shown(self, sandbox: Sandbox) -> None:
        await sandbox.issue(oca())
        for path in ("credentials", "stats", "faults"):
            answer = await sandbox.admin("GET", path)
            assert KEY not in str(answer.body)


class TestStats:
    async def test_calls_are_counted_by_outcome_and_refusal(self, sandbox: Sandbox) -> None:
        await sandbox.issue(oca(), api_key=None)
        await sandbox.issue(None, raw=b"{")
        await sandbox.issue(changed(oca(), "holderOcId"))
        await sandbox.issue(oca())
        await sandbox.issue(oca())
        await sandbox.set_faults(sequence=["error", "rate_limit", "reject", "ambiguous_500"])
        for _ in range(4):
            await sandbox.issue(oca(issuerReferenceId="second"))
        await sandbox.set_faults(sequence=["ambiguous_drop", "slow"], slowS=0)
        with contextlib.suppress(aiohttp.ClientConnectionError):
            await sandbox.issue(oca(issuerReferenceId="third"))
        await sandbox.issue(oca(issuerReferenceId="fourth"))
        assert await sandbox.stats() == {
            "calls": 11,
            "unauthorized": 1,
            "invalidJson": 1,
            "validationFailed": 1,
            "duplicates": 1,
            "recorded": 4,
            "outcomes": {
                "ok": 4,
                "error": 1,
                "rate_limit": 1,
                "reject": 1,
                "slow": 1,
                "ambiguous_500": 1,
                "ambiguous_drop": 1,
            },
        }


class TestReset:
    async def test_reset_forgets_credentials_and_counters_and_keeps_keys_and_faults(
        self, sandbox: Sandbox
    ) -> None:
        await sandbox.admin("POST", "keys", {"apiKey": "added-key-5555"})
        await sandbox.issue(oca(), api_key="added-key-5555")
        await sandbox.set_faults(sequence=["ok", "error"], latencyMs=1)
        await sandbox.issue(oca(issuerReferenceId="x"))
        answer = await sandbox.admin("DELETE", "state")
        assert answer.status == 200
        assert await sandbox.credentials() == []
        stats = await sandbox.stats()
        assert all(value == 0 for key, value in stats.items() if key != "outcomes")
        assert set(stats["outcomes"].values()) == {0}
        faults = (await sandbox.admin("GET", "faults")).body
        assert faults["remaining"] == ["error"]
        assert faults["faults"]["latencyMs"] == 1
        # The references are free again, and the added key still works.
        await sandbox.admin("DELETE", "faults")
        assert (await sandbox.issue(oca(), api_key="added-key-5555")).status == 200

    async def test_health(self, sandbox: Sandbox) -> None:
        answer = await sandbox.admin("GET", "health")
        assert (answer.status, answer.body) == (200, {"status": "ok"})
