"""Claim code requests: BadgeKit's flags, and codes that a path can address."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.messages.claim_codes import ClaimCodeFields, ClaimCodeOptions


class TestClaimCodeOptions:
    @pytest.mark.parametrize(
        ("given", "meant"),
        [(False, False), ("0", False), ("false", False), ("true", True), (1, True), ("", None)],
    )
    def test_false_means_false_issue_116(self, given: Any, meant: bool | None) -> None:
        options = ClaimCodeOptions.model_validate({"multiuse": given, "claimed": given})
        assert options.multiuse is meant
        assert options.claimed is meant


class TestClaimCodeFields:
    @pytest.mark.parametrize("code", ["", "a/b", "two words"])
    def test_codes_must_be_addressable(self, code: str) -> None:
        with pytest.raises(ValidationError):
            ClaimCodeFields.model_validate({"code": code})
