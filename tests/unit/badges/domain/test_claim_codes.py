"""Claim codes: random codes, and a badge found by one."""

from __future__ import annotations

import re

from services.badges.domain import claim_codes


class TestRandomCode:
    def test_random_codes_are_ten_hex_characters(self) -> None:
        codes = {claim_codes.random_code() for _ in range(100)}
        assert all(re.fullmatch(r"[0-9a-f]{10}", code) for code in codes)
        assert len(codes) == 100


class TestFoundByCode:
    def test_claimed_counts_only_for_single_use_codes(self) -> None:
        assert claim_codes.found_by_code({"id": 1}, True, False)["claimed"] == 1
        assert claim_codes.found_by_code({"id": 1}, True, True)["claimed"] == 0
        assert claim_codes.found_by_code({"id": 1}, False, False)["claimed"] == 0
