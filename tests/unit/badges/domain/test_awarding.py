"""The rules that decide how a badge is awarded."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.badges.domain.awarding import AwardRules
from shared.errors import Conflict
from shared.messages.badges import BadgeChanges, BadgeFields

BADGE_FIELDS = {
    "name": "Reader",
    "earnerDescription": "Read.",
    "consumerDescription": "Read a lot.",
    "criteriaUrl": "https://example.org/criteria",
    "unique": False,
}


def rules(**row: Any) -> AwardRules:
    badge = {"slug": "reader", "archived": False, "is_unique": False, "award_limit": None}
    return AwardRules.of({**badge, **row})


class TestLimit:
    @pytest.mark.parametrize(("stored", "limit"), [(None, None), (0, None), (1, 1), (25, 25)])
    def test_zero_is_no_limit(self, stored: int | None, limit: int | None) -> None:
        assert rules(award_limit=stored).limit == limit

    def test_requests_take_zero_and_refuse_negatives(self) -> None:
        assert BadgeFields.model_validate({**BADGE_FIELDS, "limit": 0}).limit == 0
        assert BadgeChanges.model_validate({"limit": "0"}).limit == 0
        with pytest.raises(ValidationError):
            BadgeChanges.model_validate({"limit": -1})


class TestCheckAwardable:
    def test_an_archived_badge_is_a_409_naming_it(self) -> None:
        with pytest.raises(Conflict, match="Badge reader is archived"):
            rules(archived=True).check_awardable()

    def test_a_live_badge_passes(self) -> None:
        rules().check_awardable()


class TestCommitsAtOnce:
    def test_a_plain_award_is_its_insert_and_events_alone(self) -> None:
        assert rules().commits_at_once(claim_code=False, credential=False)

    @pytest.mark.parametrize(
        ("row", "claim_code", "credential"),
        [
            ({}, True, False),
            ({}, False, True),
            ({"award_limit": 3}, False, False),
            ({"supports_milestone": True}, False, False),
        ],
        ids=["claim code", "credential", "limit", "milestone"],
    )
    def test_anything_more_takes_a_transaction(
        self, row: dict[str, Any], claim_code: bool, credential: bool
    ) -> None:
        assert not rules(**row).commits_at_once(claim_code=claim_code, credential=credential)

    def test_a_limit_of_zero_still_commits_at_once(self) -> None:
        assert rules(award_limit=0).commits_at_once(claim_code=False, credential=False)
