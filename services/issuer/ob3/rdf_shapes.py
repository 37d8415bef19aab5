"""The shape of a JSON-LD document: what its RDF statements depend on, apart from the values
that only fill them in.

JSON-LD expansion turns a document into RDF statements by its members' names, its nesting,
its array lengths, its `@context` and `@type` values and its numbers, booleans and nulls, all
of which the shape key holds verbatim. A string elsewhere becomes, at most, a literal or an
IRI of a statement whose place does not depend on its text, so the key holds only its *class*:
which strings of the document are equal to each other (equal `@id`s merge nodes, equal values
of one property are one statement) and, for a string that could stand as an IRI, its scheme and
whether `//` follows it (all that pyld's IRI expansion reads of an absolute IRI). Such a string
is a *class value*; the cache proves, per shape, which class values a template may stand for
(`shape_cache`).

A string is pinned (held verbatim in the key) instead when its text could change the
statements: under a keyword or a keyword alias other than `@id` (`type`, `@context`, `@language`
...), equal to a term any shipped context defines (a `@vocab` position would expand it as that
term), or starting with `@` or `_:`. A document whose shape the key cannot hold (an embedded
context, an object under a keyword, a value of another type than JSON's) has no shape: it is
always canonicalised by the general algorithm.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from services.issuer.ob3.documents import shipped

# Where pyld calls an IRI absolute: a scheme, a colon, no whitespace (pyld's own pattern,
# anchored at both ends: its `$` would also accept a newline at the end, which we pin instead).
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+,\-.]*:\S*")
ID_KEYWORD = "@id"


class _Marker:
    """A token of a shape key that no member name or value can equal."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


DICT, LIST, NEW, PIN, NULL, TRUE, FALSE, INT, FLOAT = (
    _Marker(name)
    for name in ("dict", "list", "new", "pin", "null", "true", "false", "int", "float")
)


@dataclass(frozen=True)
class Vocabulary:
    """What the shipped contexts define, read once: the member names whose string values are
    pinned, the strings pinned wherever they stand, and all of their text."""

    pinned_keys: frozenset[str]
    terms: frozenset[str]
    text: str


@functools.cache
def vocabulary() -> Vocabulary:
    keys: set[str] = set()
    terms: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, Mapping):
            for name, definition in node.items():
                terms.add(name)
                target = definition.get("@id") if isinstance(definition, Mapping) else definition
                if isinstance(target, str) and target.startswith("@") and target != ID_KEYWORD:
                    keys.add(name)
                visit(definition)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    documents = shipped()
    for document in documents.values():
        visit(document)
    text = json.dumps(list(documents.values()), ensure_ascii=False)
    return Vocabulary(frozenset(keys), frozenset(terms), text)


@dataclass(frozen=True)
class Shape:
    """`key`: the document's shape. `values`: its class values, by class (first seen first).
    `leaves`: the class of each unpinned string, in the order `fill` visits them."""

    key: tuple[object, ...]
    values: list[str]
    leaves: list[int]


def shape(document: Mapping[str, Any]) -> Shape | None:
    """The shape of `document`, or None when it has none the key can hold."""
    walk = _Walk(vocabulary())
    if not walk.node(dict(document), False):
        return None
    return Shape(tuple(walk.tokens), walk.values, walk.leaves)


def iri_class(value: str) -> tuple[str, bool] | None:
    """For a string pyld would take as an absolute IRI: its scheme and whether `//` follows it."""
    if _ABSOLUTE_IRI.fullmatch(value) is None:
        return None
    scheme, _, rest = value.partition(":")
    return scheme, rest.startswith("//")


def placeholder(value: str, token: str) -> str:
    """A stand-in for `value` that pyld's IRI expansion treats alike: the same scheme and `//`,
    or none when `value` is no absolute IRI."""
    found = iri_class(value)
    if found is None:
        return token
    scheme, slashes = found
    return f"{scheme}:{'//' if slashes else ''}{token}"


def fill(document: Mapping[str, Any], strings: Iterator[str]) -> dict[str, Any]:
    """A copy of `document` whose unpinned strings are the next ones of `strings`, in the
    order `Shape.leaves` lists them."""
    rebuilt = _fill(dict(document), False, strings, vocabulary())
    assert isinstance(rebuilt, dict)
    return rebuilt


def _pinned(value: str, under_keyword: bool, terms: frozenset[str]) -> bool:
    return under_keyword or value in terms or value.startswith(("@", "_:"))


def _keyword_key(name: str, vocabulary: Vocabulary) -> bool:
    return (name.startswith("@") and name != ID_KEYWORD) or name in vocabulary.pinned_keys


class _Walk:
    """One pass over a document. `_Walk.node` is the hot path of every canonicalisation, so
    `_pinned` and `_keyword_key` are inlined in it (`_fill`, cold, calls them)."""

    __slots__ = ("leaves", "pinned_keys", "seen", "terms", "tokens", "values")

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.terms = vocabulary.terms
        self.pinned_keys = vocabulary.pinned_keys
        self.tokens: list[object] = []
        self.values: list[str] = []
        self.leaves: list[int] = []
        self.seen: dict[str, int] = {}

    def string(self, node: str, under_keyword: bool) -> None:
        if under_keyword or node in self.terms or node.startswith(("@", "_:")):
            self.tokens += (PIN, node)
            return
        index = self.seen.get(node)
        if index is None:
            index = self.seen[node] = len(self.values)
            self.values.append(node)
            self.tokens += (NEW, iri_class(node))
        else:
            self.tokens.append(index)
        self.leaves.append(index)

    def node(self, node: object, under_keyword: bool) -> bool:
        """Appends the tokens of `node`; False when its shape cannot be held."""
        tokens = self.tokens
        kind = type(node)
        if kind is str:
            assert isinstance(node, str)
            self.string(node, under_keyword)
            return True
        if kind is dict:
            assert isinstance(node, dict)
            if under_keyword:  # an embedded context, a JSON literal's object...
                return False
            tokens += (DICT, len(node))
            pinned_keys = self.pinned_keys
            for name, value in node.items():
                if type(name) is not str:
                    return False
                tokens.append(name)
                keyword = name in pinned_keys or (name.startswith("@") and name != ID_KEYWORD)
                if type(value) is str:
                    self.string(value, keyword)
                elif not self.node(value, keyword):
                    return False
            return True
        if kind is list:
            assert isinstance(node, list)
            tokens += (LIST, len(node))
            return all(self.node(item, under_keyword) for item in node)
        if node is None:
            tokens.append(NULL)
        elif kind is bool:
            tokens.append(TRUE if node else FALSE)
        elif kind is int:
            tokens += (INT, node)
        elif kind is float:
            # repr tells -0.0 from 0.0 and makes NaN equal to itself.
            tokens += (FLOAT, repr(node))
        else:
            return False
        return True


def _fill(node: object, under_keyword: bool, strings: Iterator[str], vocabulary: Vocabulary) -> Any:
    """`_Walk.node`'s traversal, rebuilding instead of reading."""
    if isinstance(node, str):
        return node if _pinned(node, under_keyword, vocabulary.terms) else next(strings)
    if isinstance(node, dict):
        return {
            name: _fill(value, _keyword_key(name, vocabulary), strings, vocabulary)
            for name, value in node.items()
        }
    if isinstance(node, list):
        return [_fill(item, under_keyword, strings, vocabulary) for item in node]
    return node
