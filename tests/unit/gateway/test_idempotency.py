"""The ids a keyed request's commands travel under: the same on every retry, and only then."""

from __future__ import annotations

from services.gateway.idempotency import KeyedRequest


def ids(scope: str, count: int = 2) -> list[str]:
    keyed = KeyedRequest(scope=scope, request_hash="h")
    return [str(keyed.next_message_id()) for _ in range(count)]


class TestKeyedRequest:
    def test_a_retry_sends_its_commands_under_the_same_ids(self) -> None:
        assert ids("master POST /systems\nk1") == ids("master POST /systems\nk1")

    def test_each_command_of_a_request_has_its_own_id(self) -> None:
        first, second = ids("master POST /systems\nk1")
        assert first != second

    def test_another_key_caller_or_path_gives_other_ids(self) -> None:
        base = ids("master POST /systems\nk1")
        for scope in (
            "master POST /systems\nk2",
            "other POST /systems\nk1",
            "master POST /systems/a/issuers\nk1",
        ):
            assert set(ids(scope)).isdisjoint(base)
