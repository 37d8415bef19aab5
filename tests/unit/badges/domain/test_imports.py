"""The rules of imports: a row against its badge, rows naming someone again, the import shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.badges.domain import imports
from shared.messages.imports import ImportRowFields

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def badge(**extra: Any) -> dict[str, Any]:
    return {"slug": "reader", "credential": None, **extra}


class TestCheckRow:
    def test_a_plain_row_has_no_problem(self) -> None:
        fields = ImportRowFields(email="a@example.org")
        assert imports.check_row(badge(), 1, fields, NOW) == []

    def test_an_expiry_in_the_past_and_a_holder_the_badge_cannot_take(self) -> None:
        fields = ImportRowFields(
            email="a@example.org",
            expires=NOW - timedelta(days=1),
            holder_address="0x1111111111111111111111111111111111111111",
        )

        found = imports.check_row(badge(), 7, fields, NOW)

        assert [(p["row"], p["column"]) for p in found] == [(7, "expires"), (7, "holderAddress")]


class TestRepeated:
    def test_skip_fail_and_allow(self) -> None:
        assert imports.repeated("skip", 3, False) == ("skipped", "Repeats the email of row 3")
        assert imports.repeated("fail", None, True) == ("failed", "Already holds the badge")
        assert imports.repeated("allow", 3, True) is None
        assert imports.repeated("skip", None, False) is None


class TestPresent:
    def test_the_rate_counts_rows_from_start_to_finish(self) -> None:
        started = NOW
        row = {
            "id": uuid.UUID(int=1),
            "badge": "reader",
            "state": "completed",
            "dry_run": False,
            "duplicates": "skip",
            "notify": True,
            "total": 3000,
            "done": 3000,
            "awarded": 2990,
            "skipped": 6,
            "failed": 4,
            "problems": [{"row": 2, "column": "email", "value": "x", "message": "Invalid email"}],
            "created_at": started - timedelta(seconds=5),
            "started_at": started,
            "finished_at": started + timedelta(seconds=2),
        }

        shown = imports.present(row)

        assert shown["ratePerS"] == 1500.0
        assert shown["rows"] == {
            "total": 3000,
            "done": 3000,
            "awarded": 2990,
            "skipped": 6,
            "failed": 4,
        }
        assert "problems" not in imports.present(row, problems=False)
