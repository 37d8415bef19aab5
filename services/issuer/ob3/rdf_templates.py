"""What pyld's JSON-LD to RDF says of a document whose strings are placeholders: where each
placeholder landed (`landings`, the probe) and the statements with a slot wherever one landed
(`compile_template`); and RDFC-1.0, which both the general algorithm and a filled template end
with. `shape_cache` says why a filled template is pyld's own output."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyld.canon import URDNA2015

from services.issuer.ob3 import rdf_shapes

Dataset = dict[str, list[dict[str, Any]]]

NQUADS = "application/n-quads"
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
RDF_JSON = "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON"
# Datatypes whose lexical form pyld computes from the value instead of copying it.
_REWRITTEN = frozenset({XSD_DOUBLE, RDF_JSON})
# Where a placeholder lands: a whole literal, a whole IRI, or anywhere else.
LITERAL, IRI, UNSAFE = "literal", "IRI", "unsafe"
_TOKEN_END = "e"


class _Rdfc(URDNA2015):  # type: ignore[misc]  # pyld has no type hints
    """pyld's RDFC-1.0, with one copy made cheaper: Hash First Degree Quads copies each blank
    node component (`{"type", "value"}`, two strings) with `copy.deepcopy`, a quarter of the
    whole algorithm's time; a new dict of the same members is the same copy."""

    def modify_first_degree_component(
        self, id_: str, component: dict[str, str], key: str
    ) -> dict[str, str]:
        if component["type"] != "blank node":
            return component
        return {**component, "value": "_:a" if component["value"] == id_ else "_:z"}


def rdfc(dataset: Dataset) -> str:
    """pyld's RDFC-1.0 of a dataset, as canonical N-Quads (it relabels blank nodes in place)."""
    canonical: str = _Rdfc().main(dataset, {"format": NQUADS})
    return canonical


# A slot: the component of the template run to copy, and the class whose value it takes.
_Component = tuple[int, Any, int]
_FIXED, _BLANK, _SLOT = 0, 1, 2


@dataclass(frozen=True)
class Template:
    """The statements of one shape (and pinned values), with slots for its class values."""

    graphs: tuple[tuple[str, tuple[tuple[_Component, _Component, _Component], ...]], ...]
    slots: tuple[int, ...]
    fixed: frozenset[str]

    def fill(self, values: Sequence[str]) -> Dataset | None:
        """The dataset of the document with these class values; None when one of them equals
        a fixed term (pyld might merge the two)."""
        if not self.fixed.isdisjoint([values[index] for index in self.slots]):
            return None
        return {
            name: [
                {
                    "subject": _make(s, values),
                    "predicate": _make(p, values),
                    "object": _make(o, values),
                }
                for s, p, o in triples
            ]
            for name, triples in self.graphs
        }


def _make(component: _Component, values: Sequence[str]) -> dict[str, str]:
    kind, fixed, index = component
    if kind == _FIXED:
        # RDFC rewrites only blank node components: a fixed IRI or literal can be shared.
        made: dict[str, str] = fixed
        return made
    if kind == _BLANK:
        return {"type": "blank node", "value": fixed}
    made = dict(fixed)
    made["value"] = values[index]
    return made


def nonce(document: Mapping[str, Any]) -> str:
    """A marker found in none of the document's text nor the contexts' (so a placeholder is
    recognised wherever it lands, and nothing else is taken for one)."""
    text = repr(document)  # every member name and string, escaped or not
    vocabulary = rdf_shapes.vocabulary().text
    while True:
        found = "ph" + secrets.token_hex(8)
        if found not in text and found not in vocabulary:
            return found


def token(nonce: str, number: int) -> str:
    """The `number`th placeholder's marker, which `landings` reads back."""
    return f"{nonce}n{number}{_TOKEN_END}"


def landings(dataset: Dataset, nonce: str, strings: Sequence[str]) -> dict[int, set[str]]:
    """Where each placeholder of `strings` (by index) lands: as a whole literal, a whole IRI,
    or `UNSAFE` (within another text, as a predicate, a datatype, a rewritten literal...)."""
    numbers = re.compile(re.escape(nonce) + r"n(\d+)" + _TOKEN_END)
    landed: dict[int, set[str]] = {}

    def seen(text: str, role: str) -> None:
        if nonce not in text:
            return
        found = [int(number) for number in numbers.findall(text)]
        whole = len(found) == 1 and found[0] < len(strings) and strings[found[0]] == text
        for number in found:
            landed.setdefault(number, set()).add(role if whole else UNSAFE)

    for name, triples in dataset.items():
        seen(name, UNSAFE)
        for triple in triples:
            subject, predicate, obj = triple["subject"], triple["predicate"], triple["object"]
            seen(subject["value"], IRI if subject["type"] == IRI else UNSAFE)
            seen(predicate["value"], UNSAFE)
            if obj["type"] == "literal":
                rewritten = obj.get("datatype") in _REWRITTEN
                seen(obj["value"], UNSAFE if rewritten else LITERAL)
                seen(obj.get("datatype") or "", UNSAFE)
                seen(obj.get("language") or "", UNSAFE)
            else:
                seen(obj["value"], IRI if obj["type"] == IRI else UNSAFE)
    return landed


def compile_template(
    dataset: Dataset, nonce: str, by_class: Sequence[str], pinned: set[int]
) -> Template | None:
    """The template of a dataset whose class values were `by_class` (placeholders but for the
    pinned): None unless every placeholder lands whole, as a literal or an IRI, at least once."""
    slot_of = {text: cls for cls, text in enumerate(by_class) if cls not in pinned}
    fixed: set[str] = set()
    used: set[int] = set()

    def component(part: dict[str, str], position: str) -> _Component | None:
        value = part["value"]
        others = [part.get("datatype") or "", part.get("language") or ""]
        if any(nonce in text for text in others):
            return None
        if nonce in value:
            cls = slot_of.get(value)
            if cls is None or position == "predicate":
                return None
            if part["type"] == "literal" and part.get("datatype") in _REWRITTEN:
                return None
            if part["type"] not in (IRI, "literal"):
                return None
            if part["type"] == IRI and rdf_shapes.iri_class(by_class[cls]) is None:
                return None  # the probe saw this class only as literals
            used.add(cls)
            return (_SLOT, dict(part), cls)
        if part["type"] == "blank node":
            return (_BLANK, value, 0)
        fixed.update(text for text in (value, *others) if text)
        return (_FIXED, dict(part), 0)

    graphs = []
    for name, triples in dataset.items():
        if nonce in name:
            return None
        fixed.add(name)
        compiled = []
        for triple in triples:
            if len(triple) != len(_POSITIONS):
                return None
            s = component(triple["subject"], "subject")
            p = component(triple["predicate"], "predicate")
            o = component(triple["object"], "object")
            if s is None or p is None or o is None:
                return None
            compiled.append((s, p, o))
        graphs.append((name, tuple(compiled)))
    if used != set(slot_of.values()):
        return None
    return Template(tuple(graphs), tuple(sorted(used)), frozenset(fixed))


_POSITIONS = ("subject", "predicate", "object")
