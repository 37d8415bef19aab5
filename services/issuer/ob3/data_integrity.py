"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C vc-di-eddsa), the one
Linked Data proof OB 3.0 conformance accepts.

What is signed is the RDF dataset the JSON-LD expands to, not the JSON text: the document without
its proof and the proof's configuration (the proof without `proofValue`, read in the document's
`@context`) are each canonicalised with RDFC-1.0 into N-Quads and hashed with SHA-256, and Ed25519
signs proof hash + document hash. `proofValue` is that signature in multibase base58btc.

JSON-LD drops a member that no context defines, so it would travel unsigned beside signed ones;
canonicalisation here runs in safe mode instead, refusing such a document, whether to sign it or
to verify it (pyld has no safe mode: its hook for dropped properties raises).

pyld keeps the contexts it resolves from a document tagged static (all of ours) in a process-wide
cache keyed by URL, so every pyld call in the process must use `documents.load_document`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from services.issuer.ob3 import base58, rdf_templates, shape_cache
from services.issuer.ob3.documents import UnknownDocument, load_document

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
ASSERTION_METHOD = "assertionMethod"
SIGNATURE_BYTES = 64


class InvalidProof(Exception):
    """A proof that does not verify, or cannot be checked; the message says which and why."""


class UndefinedTerm(ValueError):
    """A member of a JSON-LD document that none of its contexts defines (JSON-LD safe mode)."""


def _refuse_dropped(term: str | None) -> None:
    raise UndefinedTerm(
        f"{term!r} is defined by none of the document's contexts: it would not be signed"
    )


def canonicalize(document: Mapping[str, Any]) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document; `UnknownDocument` when it names a
    context that is not shipped, `UndefinedTerm` when a member would be dropped.

    pyld's JSON-LD to RDF then RDFC-1.0, as `jsonld.normalize` runs them; the expansion comes
    from an exact template of the document's shape when one is proven (`shape_cache`)."""
    return SHAPES.canonical(document)


def to_dataset(document: dict[str, Any]) -> rdf_templates.Dataset:
    """pyld's JSON-LD to RDF in safe mode with the shipped contexts, raising as
    `jsonld.normalize` does."""
    options = {"documentLoader": load_document, "produceGeneralizedRdf": False}
    processor = jsonld.JsonLdProcessor(on_property_dropped=_refuse_dropped)
    try:
        dataset: rdf_templates.Dataset = processor.to_rdf(document, options)
    except jsonld.JsonLdError as error:
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, UnknownDocument):
                raise cause from None
            cause = cause.__cause__
        raise jsonld.JsonLdError(
            "Could not convert input to RDF dataset before normalization.",
            "jsonld.NormalizeError",
        ) from error
    return dataset


SHAPES = shape_cache.ShapeCache(to_dataset)


def xml_datetime(moment: datetime) -> str:
    """An `xsd:dateTime` in UTC to the second, as proofs and credentials write them."""
    if moment.tzinfo is None:
        raise ValueError("a proof's time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def proof_options(verification_method: str, created: datetime) -> dict[str, Any]:
    return {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": xml_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": ASSERTION_METHOD,
    }


def hash_data(unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """SHA-256(canonical proof configuration) + SHA-256(canonical document)."""
    configuration = {**options, "@context": unsecured.get("@context")}
    configuration.pop("proofValue", None)
    proof_hash = hashlib.sha256(canonicalize(configuration).encode()).digest()
    document_hash = hashlib.sha256(canonicalize(unsecured).encode()).digest()
    return proof_hash + document_hash


def add_proof(
    document: Mapping[str, Any],
    key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
) -> dict[str, Any]:
    """`document` (which must carry no proof yet) with an `eddsa-rdfc-2022` proof by `key`."""
    if "proof" in document:
        raise ValueError("the document already carries a proof")
    options = proof_options(verification_method, created)
    signature = key.sign(hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": base58.encode_multibase(signature)}}


def proof_of(secured: Mapping[str, Any]) -> Mapping[str, Any]:
    """The document's one `eddsa-rdfc-2022` proof: the caller reads its `verificationMethod`
    to find the key to verify it with."""
    proof = secured.get("proof")
    candidates = proof if isinstance(proof, list) else [proof]
    ours = [
        candidate
        for candidate in candidates
        if isinstance(candidate, Mapping)
        and candidate.get("type") == PROOF_TYPE
        and candidate.get("cryptosuite") == CRYPTOSUITE
    ]
    if len(ours) != 1:
        raise InvalidProof(f"expected one {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}")
    return ours[0]


def verify_proof(secured: Mapping[str, Any], key: Ed25519PublicKey) -> None:
    """Raises `InvalidProof` unless the document's proof is an assertion signed by `key` over
    exactly this document."""
    proof = proof_of(secured)
    if proof.get("proofPurpose") != ASSERTION_METHOD:
        raise InvalidProof(f"proofPurpose must be {ASSERTION_METHOD}")
    if "@context" in proof and proof["@context"] != secured.get("@context"):
        raise InvalidProof("the proof names another @context than the document")
    value = proof.get("proofValue")
    try:
        signature = base58.decode_multibase(value if isinstance(value, str) else "")
    except ValueError as error:
        raise InvalidProof(f"proofValue: {error}") from None
    if len(signature) != SIGNATURE_BYTES:
        raise InvalidProof(f"proofValue is not a {SIGNATURE_BYTES}-byte Ed25519 signature")
    unsecured = {name: value for name, value in secured.items() if name != "proof"}
    try:
        data = hash_data(unsecured, proof)
    except (UnknownDocument, UndefinedTerm, jsonld.JsonLdError) as error:
        raise InvalidProof(f"the document cannot be canonicalised: {error}") from None
    try:
        key.verify(signature, data)
    except InvalidSignature:
        raise InvalidProof("the signature does not match the document and key") from None
