"""Applications as responses show them."""

from __future__ import annotations

from datetime import UTC, datetime

from services.badges.domain import applications


class TestApplication:
    def test_badgekit_shape_with_dates_in_iso_8601(self) -> None:
        created = datetime(2024, 5, 1, 12, tzinfo=UTC)
        row = {
            "id": 7,
            "slug": "abc",
            "learner": "ada@example.org",
            "created": created,
            "assigned_to": None,
            "assigned_expiration": None,
            "processed": created,
            "evidence": [{"url": "https://example.org", "mediaType": "link", "reflection": None}],
        }
        assert applications.application(row, {"id": 3}) == {
            "id": 7,
            "slug": "abc",
            "learner": "ada@example.org",
            "created": "2024-05-01T12:00:00+00:00",
            "assignedTo": None,
            "assignedExpiration": None,
            "badge": {"id": 3},
            "processed": "2024-05-01T12:00:00+00:00",
            "evidence": [{"url": "https://example.org", "mediaType": "link", "reflection": None}],
        }
