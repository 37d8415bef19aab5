"""Reading placeholders back from pyld's statements, compiling and filling a template, and
RDFC-1.0 as pyld's own."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pyld.canon import URDNA2015

from services.issuer.ob3 import data_integrity, rdf_templates
from services.issuer.ob3.rdf_templates import (
    IRI,
    LITERAL,
    UNSAFE,
    XSD_DOUBLE,
    compile_template,
    landings,
    nonce,
    token,
)
from tests.unit.issuer.ob3 import samples

VECTORS = Path(__file__).parent / "vectors" / "vc-di-eddsa"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
NAME = "https://schema.org/name"
MARK = "phfeedface00000000"


def iri(value: str) -> dict[str, str]:
    return {"type": "IRI", "value": value}


def literal(value: str, datatype: str = XSD_STRING) -> dict[str, str]:
    return {"type": "literal", "value": value, "datatype": datatype}


def blank(label: str) -> dict[str, str]:
    return {"type": "blank node", "value": label}


def triple(s: dict[str, str], p: dict[str, str], o: dict[str, str]) -> dict[str, Any]:
    return {"subject": s, "predicate": p, "object": o}


class TestRdfc:
    @pytest.mark.parametrize(
        "document",
        [
            samples.credential("did:web:badges.example.org:public:systems:demo"),
            json.loads((VECTORS / "unsecured.json").read_text()),
            json.loads((VECTORS / "proof-options.json").read_text()),
        ],
    )
    def test_is_pyld_urdna2015(self, document: dict[str, Any]) -> None:
        dataset = data_integrity.to_dataset(document)
        expected = URDNA2015().main(copy.deepcopy(dataset), {"format": "application/n-quads"})
        assert rdf_templates.rdfc(dataset) == expected


class TestLandings:
    def test_reads_where_each_placeholder_landed(self) -> None:
        strings = [f"https://{token(MARK, 0)}", token(MARK, 1), token(MARK, 2), token(MARK, 3)]
        dataset = {
            "@default": [
                triple(iri(strings[0]), iri(NAME), literal(strings[1])),
                triple(blank("_:b0"), iri(NAME), iri(f"http://example.org/base/{strings[2]}")),
                triple(blank("_:b0"), iri(NAME), literal(strings[3], XSD_DOUBLE)),
            ]
        }
        assert landings(dataset, MARK, strings) == {
            0: {IRI},
            1: {LITERAL},
            2: {UNSAFE},  # resolved against a base: not the string it stood for
            3: {UNSAFE},  # a double pyld rewrites
        }

    def test_a_placeholder_as_a_predicate_or_datatype_is_unsafe(self) -> None:
        strings = [f"https://{token(MARK, 0)}", f"https://{token(MARK, 1)}"]
        dataset = {
            "@default": [
                triple(blank("_:b0"), iri(strings[0]), literal("x", strings[1])),
            ]
        }
        assert landings(dataset, MARK, strings) == {0: {UNSAFE}, 1: {UNSAFE}}

    def test_the_nonce_is_in_neither_the_document_nor_the_contexts(self) -> None:
        document = samples.credential("did:web:example.org")
        marker = nonce(document)
        assert marker not in json.dumps(document)
        assert marker != nonce(document)


class TestTemplate:
    def placeholders(self) -> list[str]:
        return [f"https://{token(MARK, 0)}", token(MARK, 1)]

    def dataset(self) -> rdf_templates.Dataset:
        by_class = self.placeholders()
        return {
            "@default": [
                triple(iri(by_class[0]), iri(NAME), literal(by_class[1])),
                triple(iri(by_class[0]), iri(NAME), blank("_:b0")),
                triple(blank("_:b0"), iri(NAME), literal("fixed")),
            ]
        }

    def test_fills_slots_with_values(self) -> None:
        template = compile_template(self.dataset(), MARK, self.placeholders(), set())
        assert template is not None
        filled = template.fill(["https://example.org/a", 'say "hi"\n'])
        assert filled == {
            "@default": [
                triple(iri("https://example.org/a"), iri(NAME), literal('say "hi"\n')),
                triple(iri("https://example.org/a"), iri(NAME), blank("_:b0")),
                triple(blank("_:b0"), iri(NAME), literal("fixed")),
            ]
        }

    def test_every_fill_has_its_own_blank_nodes(self) -> None:
        template = compile_template(self.dataset(), MARK, self.placeholders(), set())
        assert template is not None
        first = template.fill(["https://example.org/a", "x"])
        second = template.fill(["https://example.org/a", "x"])
        assert first is not None
        assert second is not None
        assert first["@default"][1]["object"] is not second["@default"][1]["object"]

    def test_refuses_a_value_equal_to_a_fixed_term(self) -> None:
        template = compile_template(self.dataset(), MARK, self.placeholders(), set())
        assert template is not None
        assert template.fill(["https://example.org/a", "fixed"]) is None
        assert template.fill([NAME, "x"]) is None

    def test_none_when_a_placeholder_lands_inside_another_text(self) -> None:
        dataset = self.dataset()
        dataset["@default"].append(
            triple(blank("_:b1"), iri(NAME), iri(f"https://example.org/{token(MARK, 1)}"))
        )
        assert compile_template(dataset, MARK, self.placeholders(), set()) is None

    def test_none_when_a_class_does_not_land(self) -> None:
        by_class = [*self.placeholders(), token(MARK, 2)]
        assert compile_template(self.dataset(), MARK, by_class, set()) is None

    def test_none_when_a_non_iri_lands_as_an_iri(self) -> None:
        by_class = ["relative", token(MARK, 1)]
        dataset = {"@default": [triple(iri(by_class[1]), iri(NAME), literal("x"))]}
        assert compile_template(dataset, MARK, by_class, {0}) is None
