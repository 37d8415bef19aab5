from __future__ import annotations

from typing import Any

import pytest

from shared.storable import holds_only_storable, storable, unstorable


class TestStorable:
    @pytest.mark.parametrize("text", ["", "plain", "Zoë 😀", "tab\tand newline\n", "\\u0000"])
    def test_text_postgres_holds(self, text: str) -> None:
        assert storable(text)

    @pytest.mark.parametrize("text", ["\x00", "a\x00b", "é\x00", "lone \ud800 surrogate"])
    def test_text_it_cannot(self, text: str) -> None:
        assert not storable(text)


class TestUnstorable:
    def test_every_place_in_document_order_keys_included(self) -> None:
        value = {
            "name": "a\x00",
            "ok": "fine",
            "b\x00": {"inside": "never looked at: its key stands for the entry"},
            "tags": ["ok", ["deep", "c\x00"]],
            "nested": {"key\x00": 1, "text": "d\x00"},
        }
        assert list(unstorable(value)) == [
            (("name",), "a\x00"),
            (("b\x00",), "b\x00"),
            (("tags", 1, 1), "c\x00"),
            (("nested", "key\x00"), "key\x00"),
            (("nested", "text"), "d\x00"),
        ]

    def test_other_values_are_left_alone(self) -> None:
        assert list(unstorable({"n": 1, "f": 1.5, "b": True, "none": None, "raw": b"\x00"})) == []

    def test_nesting_deeper_than_python_recurses(self) -> None:
        value: Any = "a\x00"
        for _ in range(5000):
            value = [value]
        [(at, text)] = list(unstorable({"deep": value}))
        assert at == ("deep", *([0] * 5000))
        assert text == "a\x00"


class TestHoldsOnlyStorable:
    @pytest.mark.parametrize(
        "value",
        [
            None,
            42,
            "text",
            {"a": ["b", {"c": "d"}]},
            # A backslash then `u0000`, as JSON writes a NUL: storable text.
            {"escaped": "\\u0000"},
            # orjson cannot write these: the walk answers instead.
            {1: "int key"},
            {"raw": b"bytes"},
        ],
    )
    def test_storable(self, value: Any) -> None:
        assert holds_only_storable(value)

    @pytest.mark.parametrize(
        "value",
        ["a\x00", {"a": "b\x00"}, {"a\x00": 1}, [["x", "\x00"]], {1: "a\x00"}, ("\ud800",)],
    )
    def test_unstorable(self, value: Any) -> None:
        assert not holds_only_storable(value)
