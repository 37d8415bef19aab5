"""The shape key: what it holds verbatim, what only by class, and what it cannot hold."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from services.issuer.ob3 import rdf_shapes
from services.issuer.ob3.rdf_shapes import iri_class, placeholder
from tests.unit.issuer.ob3 import samples

DID = "did:web:badges.example.org:public:systems:demo"


def credential() -> dict[str, Any]:
    return samples.credential(DID)


def key(document: dict[str, Any]) -> tuple[object, ...]:
    found = rdf_shapes.shape(document)
    assert found is not None
    return found.key


class TestShape:
    def test_other_values_of_the_same_classes_share_the_key(self) -> None:
        other = credential()
        other["name"] = "Writer"
        other["credentialSubject"]["achievement"]["name"] = "Writer"
        other["credentialSubject"]["identifier"][0]["salt"] = "another salt, with spaces"
        assert key(other) == key(credential())

    def test_which_values_are_equal_is_part_of_the_key(self) -> None:
        # The credential's name and its achievement's are both "Reader".
        other = credential()
        other["name"] = "Writer"
        assert key(other) != key(credential())

    def test_a_member_more_or_an_array_longer_is_another_shape(self) -> None:
        longer = credential()
        longer["type"] = [*longer["type"], "Extra"]
        more = credential()
        more["description"] = "Read"
        assert len({key(credential()), key(longer), key(more)}) == 3

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            (("type",), ["VerifiableCredential", "AchievementCredential"]),
            (("@context",), [samples.VC_CONTEXT]),
            (("credentialSubject", "identifier", 0, "hashed"), False),
            (("credentialSubject", "identifier", 0, "hashed"), 1),
            (("credentialSubject", "identifier", 0, "hashed"), None),
            # A value equal to a term: a @vocab position would expand it.
            (("name",), "Achievement"),
            (("name",), "_:b0"),
            (("name",), "@id"),
        ],
    )
    def test_pinned_values_are_held_verbatim(self, path: tuple[Any, ...], value: Any) -> None:
        other = credential()
        parent = other
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value
        assert key(other) != key(credential())

    def test_floats_are_held_by_their_text(self) -> None:
        zero, negative = credential(), credential()
        zero["credentialSubject"]["identifier"][0]["hashed"] = 0.0
        negative["credentialSubject"]["identifier"][0]["hashed"] = -0.0
        assert key(zero) != key(negative)

    def test_the_scheme_of_an_iri_is_part_of_the_key(self) -> None:
        other = credential()
        other["id"] = "urn:uuid:5b4ad1c4-3a57-4a0e-9f4b-1c2b2a1f0e11"
        assert key(other) != key(credential())
        same_scheme = credential()
        same_scheme["id"] = "https://elsewhere.example.org/x"
        assert key(same_scheme) == key(credential())

    @pytest.mark.parametrize(
        "value",
        [
            {"@context": {"name": "https://example.org/name"}},  # an embedded context
            {"type": {"@id": "x"}},  # an object under a keyword alias
            {"name": ("a", "b")},  # not JSON
            {"name": b"bytes"},
        ],
    )
    def test_a_document_the_key_cannot_hold_has_no_shape(self, value: dict[str, Any]) -> None:
        assert rdf_shapes.shape({**credential(), **value}) is None

    def test_fill_puts_strings_back_in_the_order_of_the_leaves(self) -> None:
        document = credential()
        found = rdf_shapes.shape(document)
        assert found is not None
        rebuilt = rdf_shapes.fill(document, (found.values[cls] for cls in found.leaves))
        assert rebuilt == document
        assert rebuilt is not document

    def test_fill_leaves_the_document_as_it_was(self) -> None:
        document = credential()
        before = copy.deepcopy(document)
        found = rdf_shapes.shape(document)
        assert found is not None
        rdf_shapes.fill(document, iter(["x"] * len(found.leaves)))
        assert document == before


class TestIriClass:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("https://example.org/a", ("https", True)),
            ("did:web:example.org", ("did", False)),
            ("urn:uuid:1", ("urn", False)),
            ("a+b-c.d,e:x", ("a+b-c.d,e", False)),
            ("https://example.org/a b", None),  # whitespace: pyld takes it as relative
            ("https://example.org/a\n", None),  # pyld's `$` would accept the newline
            ("relative/path", None),
            ("1abc:x", None),
            (":x", None),
            ("_:b0", None),  # a blank node (pinned before it gets here)
        ],
    )
    def test_what_pyld_takes_for_an_absolute_iri(
        self, value: str, expected: tuple[str, bool] | None
    ) -> None:
        assert iri_class(value) == expected

    def test_a_placeholder_keeps_the_scheme_and_slashes(self) -> None:
        assert placeholder("https://example.org/a", "T") == "https://T"
        assert placeholder("did:web:example.org", "T") == "did:T"
        assert placeholder("Reader", "T") == "T"
        assert placeholder("https://a b", "T") == "T"
