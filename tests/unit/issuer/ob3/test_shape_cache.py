"""The shape cache behind `data_integrity.canonicalize`: byte for byte pyld's own
canonicalisation (`jsonld.normalize`, run here apart from our code) over generated credentials
with hostile strings, status list credentials, mutated documents and siblings of each that
reuse their template; the W3C vector and openbadgeslib on what it signs; what it refuses."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openbadgeslib.ob3 import OB3LdpVerifier
from pyld import jsonld

from services.issuer.ob3 import (
    data_integrity,
    rdf_shapes,
    rdf_templates,
    shape_cache,
    status_list,
)
from services.issuer.ob3.credential import Alignment, Award, Badge, Issuer, StatusSlot, build
from services.issuer.ob3.data_integrity import SHAPES, UndefinedTerm
from services.issuer.ob3.documents import UnknownDocument, load_document
from shared.opencampus import ACHIEVEMENT_TYPES
from tests.unit.issuer.ob3 import samples

VECTORS = Path(__file__).parent / "vectors" / "vc-di-eddsa"
BASE = "https://badges.example.org"
DID = "did:web:badges.example.org:public:systems:demo"
CREATED = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _refuse(term: str | None) -> None:
    # data_integrity's safe mode, word for word, so that refusals compare whole.
    raise UndefinedTerm(
        f"{term!r} is defined by none of the document's contexts: it would not be signed"
    )


def reference(document: dict[str, Any]) -> tuple[str, str]:
    """pyld's canonicalisation of the document itself, or the error it raises."""
    processor = jsonld.JsonLdProcessor(on_property_dropped=_refuse)
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": load_document,
    }
    try:
        return ("ok", processor.normalize(copy.deepcopy(document), options))
    except jsonld.JsonLdError as error:
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, UnknownDocument):
                return ("error", _described(cause))
            cause = cause.__cause__
        return ("error", _described(error))
    except Exception as error:  # safe mode's refusal, or whatever pyld raises past its own
        return ("error", _described(error))


def cached(document: dict[str, Any]) -> tuple[str, str]:
    try:
        return ("ok", data_integrity.canonicalize(document))
    except Exception as error:  # compared with pyld's own
        return ("error", _described(error))


def _described(error: BaseException) -> str:
    return repr(error)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    SHAPES.clear()
    yield
    # The general algorithm would have hidden a template that was wrong for its first
    # document; none may have been.
    assert SHAPES.stats.refuted == 0
    SHAPES.clear()


# Strings that have broken canonicalisers, escaping and caches: quotes, backslashes, line
# breaks, bidirectional controls, emoji, blank node labels, IRIs of every kind pyld tells apart
# (absolute, compact with a defined prefix, relative, with whitespace, equal to a term of the
# contexts or to an IRI the statements hold anyway), keywords, numbers as text, long text.
HOSTILE = [
    '"',
    '\\"',
    "\\",
    "\n",
    "\r\n",
    "\t",
    "",
    " ",
    "\x00",
    "\u2028",
    "\u202eRTL\u202c",
    "שלום עולם",
    "👩🏽‍🎓🎓",
    "e\u0301",
    "_:b0",
    "_:c14n0",
    "@id",
    "@type",
    "https://example.org/x",
    "https://example.org/x y",
    "https://example.org/x\n",
    "did:web:example.org",
    "urn:uuid:5b4ad1c4-3a57-4a0e-9f4b-1c2b2a1f0e11",
    "xsd:string",
    "cred:VerifiableCredential",
    "mailto:a@example.org",
    "relative/path",
    "../up",
    "#fragment",
    "Profile",
    "Achievement",
    "name",
    "id",
    "https://purl.imsglobal.org/spec/vc/ob/vocab.html#Profile",
    "https://www.w3.org/2018/credentials#VerifiableCredential",
    "http://www.w3.org/2001/XMLSchema#string",
    "1.5",
    "true",
    "<>{}|^`",
    "a" * 5000,
    "x\u200by",
]
TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=24),
    st.builds(str.__add__, st.sampled_from(HOSTILE), st.text(max_size=8)),
    st.builds(str.__add__, st.text(max_size=8), st.sampled_from(HOSTILE)),
)
IRI = st.one_of(
    TEXT,
    st.builds(lambda tail: f"https://example.org/{tail}", st.text(max_size=16)),
    st.builds(lambda tail: f"did:web:example.org:{tail}", st.text(max_size=16)),
)
# The issuer's public URL, which begins the credential's id.
BASES = st.sampled_from([BASE, *HOSTILE[:6]])
MOMENT = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@st.composite
def credentials(
    draw: st.DrawFn,
    text: st.SearchStrategy[str] = TEXT,
    iri: st.SearchStrategy[str] = IRI,
    base: st.SearchStrategy[str] = BASES,
) -> dict[str, Any]:
    """A credential as the issuer builds it, every field drawn, optional ones present or not
    (`base` and the award's slug make the credential's id)."""

    def maybe(strategy: st.SearchStrategy[str]) -> str | None:
        return draw(st.none() | strategy)

    alignments = draw(
        st.lists(st.builds(Alignment, text, iri, st.none() | text), max_size=3),
    )
    badge = Badge(
        id=draw(iri),
        name=draw(text),
        description=draw(text),
        image=maybe(iri),
        criteria_url=maybe(iri),
        criteria=maybe(text),
        achievement_type=draw(st.none() | st.sampled_from([*ACHIEVEMENT_TYPES, "ext:Custom"])),
        alignments=tuple(alignments),
        tags=tuple(draw(st.lists(text, max_size=4))),
    )
    issuer = Issuer(
        did=draw(iri),
        name=draw(text),
        url=maybe(iri),
        email=maybe(text),
        description=maybe(text),
        image=maybe(iri),
    )
    issued = draw(MOMENT)
    award = Award(
        slug=draw(text if iri is IRI else iri.map(lambda url: url.rpartition("/")[2])),
        email=draw(text),
        salt=draw(text),
        issued_on=issued,
        expires=draw(st.none() | st.just(issued + timedelta(days=365))),
        evidence_url=maybe(iri),
        narrative=maybe(text),
    )
    slot = StatusSlot(draw(iri), draw(st.integers(0, status_list.MIN_ENTRIES - 1)))
    return build(award, badge, issuer, slot, base_url=draw(base))


def sibling(document: dict[str, Any], tail: Callable[[], str]) -> dict[str, Any] | None:
    """The document with every class value replaced by another of the same class (another
    absolute IRI of the same scheme, another non-IRI string), each ending in a drawn tail,
    keeping which are equal: a document of the same shape, which a template answers once its
    shape is learned."""
    found = rdf_shapes.shape(document)
    if found is None:
        return None
    fresh = []
    for index, value in enumerate(found.values):
        iri = rdf_shapes.iri_class(value)
        if iri is None:
            fresh.append(f"sibling {index} {tail()}")
        else:
            scheme, slashes = iri
            compact = "".join(tail().split())
            fresh.append(f"{scheme}:{'//' if slashes else ''}sibling-{index}/{compact}")
    return rdf_shapes.fill(document, (fresh[cls] for cls in found.leaves))


def assert_exact(document: dict[str, Any]) -> None:
    assert cached(document) == reference(document)


class TestAgainstPyld:
    @FUZZ
    @given(credentials(), st.data())
    def test_credentials_with_hostile_strings(
        self, document: dict[str, Any], data: st.DataObject
    ) -> None:
        assert_exact(document)
        assert_exact(document)  # again, now from its template if it has one
        other = sibling(document, lambda: data.draw(TEXT))
        if other is not None:
            assert_exact(other)

    @FUZZ
    @given(st.data())
    def test_credentials_of_one_layout_hit_the_template(self, data: st.DataObject) -> None:
        # Strings made distinct per field (so no two are equal by chance) but hostile inside,
        # IRIs absolute where the issuer puts IRIs.
        counter = iter(range(10_000))
        text = st.builds(lambda text: f"v{next(counter)}|{text}", TEXT)
        iri = st.builds(
            lambda text: f"https://example.org/v{next(counter)}/{''.join(text.split())}", TEXT
        )
        first = data.draw(credentials(text, iri, st.just(BASE)))
        again = sibling(first, lambda: data.draw(TEXT))
        assert again is not None
        assert_exact(first)
        before = SHAPES.stats.hits
        assert_exact(again)
        assert SHAPES.stats.hits == before + 1, "the second credential of a shape is a hit"

    @FUZZ
    @given(
        st.sampled_from(HOSTILE) | st.builds(lambda t: f"https://example.org/{t}", TEXT),
        IRI,
        MOMENT,
        st.binary(min_size=16, max_size=64),
        st.data(),
    )
    def test_status_list_credentials(
        self, list_url: str, issuer: str, since: datetime, seed: bytes, data: st.DataObject
    ) -> None:
        bits = status_list.StatusList()
        for byte in seed:
            bits.set(byte * 257 % bits.size)
        document = status_list.status_list_credential(
            list_url=list_url, issuer=issuer, valid_from=since, encoded_list=bits.encode()
        )
        assert_exact(document)
        other = sibling(document, lambda: data.draw(TEXT))
        assert other is not None
        assert_exact(other)

    @FUZZ
    @given(st.data())
    def test_mutated_documents(self, data: st.DataObject) -> None:
        """Any member of a credential replaced by any JSON value, keywords among the names."""
        document = samples.credential(DID, valid_until="2030-01-01T00:00:00Z")
        paths = list(_paths(document))
        path = data.draw(st.sampled_from(paths))
        _set(document, path, data.draw(JSON_VALUES))
        assert_exact(document)
        other = sibling(document, lambda: data.draw(TEXT))
        if other is not None:
            assert_exact(other)

    @FUZZ
    @given(IRI, MOMENT)
    def test_proof_configurations(self, method: str, created: datetime) -> None:
        configuration = {
            **data_integrity.proof_options(method, created),
            "@context": [samples.VC_CONTEXT, samples.OB_CONTEXT],
        }
        assert_exact(configuration)
        assert_exact(configuration)


KEYS = ["id", "type", "name", "description", "url", "tag", "@id", "@type", "@value", "@list"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _paths(value, (*path, name))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value


def vector(name: str) -> Any:
    text = (VECTORS / name).read_text()
    return json.loads(text) if name.endswith(".json") else text


class TestTemplates:
    def test_the_w3c_vector_from_its_template(self) -> None:
        for _ in range(3):
            assert data_integrity.canonicalize(vector("unsecured.json")) == vector(
                "canonical-document.nq"
            )
            assert data_integrity.canonicalize(vector("proof-options.json")) == vector(
                "canonical-proof-options.nq"
            )
        assert SHAPES.stats.hits == 4

    def test_credentials_of_the_issuer_share_one_template(self) -> None:
        documents = [
            samples.credential(f"did:web:badges.example.org:public:systems:s{index}")
            for index in range(20)
        ]
        for document in documents:
            assert_exact(document)
        assert (SHAPES.stats.hits, SHAPES.stats.misses) == (19, 1)
        assert len(SHAPES) == 1

    def test_a_value_equal_to_a_fixed_term_takes_the_general_algorithm(self) -> None:
        assert_exact(samples.credential("https://issuer.example.org/"))
        # The issuer's id is an IRI slot; the Profile type's IRI is a fixed term of the
        # template: pyld would make them one node.
        same = samples.credential("https://purl.imsglobal.org/spec/vc/ob/vocab.html#Profile")
        assert_exact(same)
        assert SHAPES.stats.general == 1

    @pytest.mark.parametrize(
        "issuer",
        [
            "https://example.org/a b",  # an IRI pyld takes as relative
            "relative",
            "xsd:string",  # a compact IRI of a defined prefix
            "_:b0",
            "Profile",
        ],
    )
    def test_values_whose_text_changes_the_statements(self, issuer: str) -> None:
        assert_exact(samples.credential(DID))
        assert_exact(samples.credential(issuer))
        assert_exact(samples.credential(issuer))

    def test_equal_values_merge_as_pyld_merges_them(self) -> None:
        document = samples.credential(DID)
        achievement = document["credentialSubject"]["achievement"]
        achievement["criteria"] = {"id": achievement["id"]}
        achievement["tag"] = ["same", "same", "other"]
        assert_exact(document)
        achievement["criteria"] = {"id": achievement["id"] + "/again"}
        assert_exact(document)
        achievement["criteria"] = {"id": "https://example.org/c"}
        achievement["id"] = "https://example.org/c"
        achievement["tag"] = ["x", "x", "y"]
        assert_exact(document)

    def test_template_of_a_document_is_there_once_learned(self) -> None:
        document = samples.credential(DID)
        assert SHAPES.template_of(document) is None
        data_integrity.canonicalize(document)
        template = SHAPES.template_of(document)
        assert isinstance(template, rdf_templates.Template)
        assert len(template.slots) == len(rdf_shapes.shape(document).values)  # type: ignore[union-attr]

    def test_a_template_survives_its_use(self) -> None:
        # RDFC relabels blank nodes in place: every fill must give fresh ones.
        document = samples.credential(DID)
        texts = {data_integrity.canonicalize(document) for _ in range(5)}
        assert len(texts) == 1
        assert SHAPES.stats.hits == 4

    def test_errors_are_pyld_errors_every_time(self) -> None:
        undefined = {**samples.credential(DID), "strapline": "Read more"}
        unknown = {**samples.credential(DID), "@context": ["https://example.org/ctx.json"]}
        for _ in range(2):
            with pytest.raises(UndefinedTerm):
                data_integrity.canonicalize(undefined)
            with pytest.raises(UnknownDocument):
                data_integrity.canonicalize(unknown)

    def test_the_number_of_shapes_is_bounded(self) -> None:
        cache = shape_cache.ShapeCache(data_integrity.to_dataset, size=2)
        for index in range(4):
            document = {**samples.credential(DID), "name": [f"n{i}" for i in range(index + 1)]}
            assert cache.canonical(document) == reference(document)[1]
        assert len(cache) == 2

    def test_a_document_without_a_shape_takes_the_general_algorithm(self) -> None:
        document = {**samples.credential(DID), "@context": [samples.VC_CONTEXT, {"@vocab": BASE}]}
        assert_exact(document)
        assert SHAPES.stats.general == 1


class TestSignedThroughTemplates:
    def test_openbadgeslib_verifies_credentials_signed_from_templates(self) -> None:
        system = samples.system()
        key = system.ed25519.private
        assert isinstance(key, Ed25519PrivateKey)
        verifier = OB3LdpVerifier.for_issuer_did(system.did)
        for index in range(4):
            document = samples.credential(system.did)
            document["id"] = f"{BASE}/public/credentials/{index}"
            document["credentialSubject"]["identifier"][0]["salt"] = f"salt {index} \"'\n"
            signed = data_integrity.add_proof(
                document, key, system.method(system.ed25519), CREATED + timedelta(seconds=index)
            )
            verifier.verify(signed, download=system.fetch())
        assert SHAPES.stats.hits >= 6  # 3 credentials and 3 proof configurations at least

    def test_hash_data_from_templates_is_pyld_hash_data(self) -> None:
        for index in range(3):
            document = samples.credential(DID)
            options = data_integrity.proof_options(f"{DID}#key-{index}", CREATED)
            configuration = {**options, "@context": document["@context"]}
            expected = _sha256(reference(configuration)[1]) + _sha256(reference(document)[1])
            assert data_integrity.hash_data(document, options) == expected


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()
