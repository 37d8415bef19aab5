"""How fast one core signs and verifies OB 3.0 credentials: `python -m bench.ob3_signing`.

No service runs: this times the library of services/issuer/ob3 on a credential of the shape the
issuer will sign (a Profile issuer, an Achievement with criteria and image, a hashed e-mail
identity, a status list entry). It prints, per operation, the CPU time of one call and the calls a
second that makes: signing and verifying with the shape cache warm (and its hit rate), where a
warm call spends its time, the general algorithm every call (pyld's expansion and RDFC-1.0, as
before the cache), a shape's first call (the cold path), and how many shapes varied credentials
make. Nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from services.issuer.ob3 import (
    base58,
    data_integrity,
    did,
    documents,
    keys,
    rdf_shapes,
    rdf_templates,
    vc_jwt,
)

PUBLIC_URL = "https://badges.example.org"
CREATED = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)


def credential(issuer: str, slug: str, badge: str, email: str, index: int) -> dict[str, Any]:
    salt = secrets.token_urlsafe(8)
    systems = f"{PUBLIC_URL}/public/systems/demo"
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": f"{PUBLIC_URL}/public/credentials/{slug}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": badge.title(),
        "issuer": {
            "id": issuer,
            "type": ["Profile"],
            "name": "Demo University",
            "url": "https://demo.example.edu",
        },
        "validFrom": "2025-03-01T12:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest(),
                    "salt": salt,
                }
            ],
            "achievement": {
                "id": f"{systems}/badges/{badge}",
                "type": ["Achievement"],
                "name": badge.title(),
                "description": f"Awarded for {badge}: a paragraph or two about what it means.",
                "criteria": {"narrative": f"Show that you can {badge}."},
                "image": {"id": f"{systems}/badges/{badge}/image.png", "type": "Image"},
            },
        },
        "credentialStatus": {
            "id": f"{systems}/status/1#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(index),
            "statusListCredential": f"{systems}/status/1",
        },
    }


def sample(issuer: str) -> dict[str, Any]:
    badge = secrets.choice(["reader", "writer", "speaker", "mentor"])
    email = f"{secrets.token_hex(5)}@example.org"
    return credential(issuer, secrets.token_urlsafe(6), badge, email, secrets.randbelow(131072))


def timed(name: str, calls: int, operation: Callable[[int], object]) -> float:
    """Mean CPU seconds of one call, printed with the calls a second it allows."""
    operation(0)  # warm: the first call resolves the contexts
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(calls):
        operation(index)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    mean = cpu / calls
    per_call = f"{mean * 1e3:8.3f} ms cpu  {1 / mean:9.0f}/s"
    print(f"  {name:<46} {per_call}  (wall {wall / calls * 1e3:.3f} ms)")
    return mean


def _untagged(url: str, options: Any = None) -> dict[str, Any]:
    remote = documents.load_document(url, options)
    del remote["tag"]
    return remote


def canonical_without_static_contexts(document: dict[str, Any]) -> str:
    """What each call would cost if pyld processed the contexts again every time."""
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": _untagged,
        "contextResolver": ContextResolver({}, _untagged),
    }
    text: str = jsonld.normalize(document, options)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per operation")
    args = parser.parse_args(argv)
    calls: int = args.calls

    issuer = did.did_web(PUBLIC_URL, "demo")
    ed = keys.generate(keys.KeyType.ED25519)
    rsa = keys.generate(keys.KeyType.RSA)
    ed_private, ed_public, rsa_private, rsa_public = ed.private, ed.public, rsa.private, rsa.public
    assert isinstance(ed_private, Ed25519PrivateKey)
    assert isinstance(ed_public, Ed25519PublicKey)
    assert isinstance(rsa_private, RSAPrivateKey)
    assert isinstance(rsa_public, RSAPublicKey)
    ed_method, rsa_method = (did.verification_method_id(issuer, k.id) for k in (ed, rsa))
    credentials = [sample(issuer) for _ in range(calls + 1)]
    signed = [data_integrity.add_proof(c, ed_private, ed_method, CREATED) for c in credentials]
    tokens = [vc_jwt.encode(s, rsa_private, rsa_method) for s in signed]
    options = data_integrity.proof_options(ed_method, CREATED)
    configuration = {**options, "@context": credentials[0]["@context"]}
    hash_data = data_integrity.hash_data(credentials[0], options)
    signature = ed_private.sign(hash_data)
    quads = data_integrity.canonicalize(credentials[0]).count("\n")
    shapes = data_integrity.SHAPES

    print(f"One core, {calls} calls each; a credential of {quads} quads.")
    print("Data Integrity, eddsa-rdfc-2022, shape cache warm:")
    shapes.clear()
    data_integrity.add_proof(credentials[0], ed_private, ed_method, CREATED)  # learn the shapes
    sign = timed(
        "sign (add_proof)",
        calls,
        lambda i: data_integrity.add_proof(credentials[i], ed_private, ed_method, CREATED),
    )
    timed(
        "verify (verify_proof)", calls, lambda i: data_integrity.verify_proof(signed[i], ed_public)
    )
    stats = shapes.stats
    print(
        f"  shape cache over sign and verify: {stats.hits} hits, {stats.misses} misses, "
        f"{stats.general} general; hit rate {stats.hit_rate:.1%}; {len(shapes)} shapes"
    )
    document = timed(
        "  canonicalise the credential",
        calls,
        lambda i: data_integrity.canonicalize(credentials[i]),
    )
    proof = timed(
        "  canonicalise the proof configuration",
        calls,
        lambda i: data_integrity.canonicalize(configuration),
    )
    timed("  Ed25519 sign of the hash data", calls, lambda i: ed_private.sign(hash_data))
    timed("  Ed25519 verify", calls, lambda i: ed_public.verify(signature, hash_data))
    texts = [
        data_integrity.canonicalize(configuration),
        data_integrity.canonicalize(credentials[0]),
    ]
    timed("  SHA-256 of both canonical forms", calls, lambda i: _hashes(texts))
    timed("  base58btc of the signature", calls, lambda i: base58.encode_multibase(signature))

    print("Inside a warm canonicalisation of the credential:")
    found = rdf_shapes.shape(credentials[0])
    assert found is not None
    template = shapes.template_of(credentials[0])
    timed("  shape key (rdf_shapes.shape)", calls, lambda i: rdf_shapes.shape(credentials[i]))
    if template is not None:
        dataset = template.fill(found.values)
        assert dataset is not None
        timed("  fill the template", calls, lambda i: template.fill(found.values))
        timed("  RDFC-1.0 on the dataset, N-Quads out", calls, lambda i: _rdfc_of(template, found))
        print(f"  (RDFC-1.0 includes filling; {len(found.values)} class values)")

    print("Without the cache (the general algorithm, every call):")
    general = timed(
        "  canonicalise the credential",
        calls,
        lambda i: shapes.general(credentials[i]),
    )
    general_proof = timed(
        "  canonicalise the proof configuration",
        calls,
        lambda i: shapes.general(configuration),
    )
    cold_calls = max(calls // 10, 3)
    timed(
        "  the credential, contexts processed every call",
        cold_calls,
        lambda i: canonical_without_static_contexts(credentials[i]),
    )
    print("Cold path (a shape never seen: general algorithm, probe, template, check):")
    cold = timed("  canonicalise the credential", cold_calls, lambda i: _cold(credentials[i]))
    timed("  canonicalise the proof configuration", cold_calls, lambda i: _cold(configuration))
    print(
        f"  a new shape costs {cold / general:.1f} general calls; the general algorithm "
        f"would sign at {1 / (sign - document - proof + general + general_proof):.0f}/s"
    )

    print("VC-JWT, RS256 (RSA-2048):")
    jwt_sign = timed("encode", calls, lambda i: vc_jwt.encode(signed[i], rsa_private, rsa_method))
    timed("verify", calls, lambda i: vc_jwt.verify(tokens[i], rsa_public))
    both = sign + jwt_sign
    print(f"Both forms of one award: {both * 1e3:.2f} ms cpu, {1 / both:.0f} awards/s")

    print("Shapes of varied credentials:")
    shapes.clear()
    varied = [sample(issuer) for _ in range(calls)]
    for varied_credential in varied:
        data_integrity.canonicalize(varied_credential)
    stats = shapes.stats
    print(
        f"  {len(varied)} credentials (random badge, e-mail, slug, index): {len(shapes)} shapes, "
        f"hit rate {stats.hit_rate:.1%}"
    )
    return 0


def _hashes(texts: list[str]) -> bytes:
    """hash_data's two SHA-256 over texts already canonical: what hashing alone costs."""
    return b"".join(hashlib.sha256(text.encode()).digest() for text in texts)


def _rdfc_of(template: rdf_templates.Template, found: rdf_shapes.Shape) -> str:
    dataset = template.fill(found.values)
    assert dataset is not None
    return rdf_templates.rdfc(dataset)


def _cold(document: dict[str, Any]) -> str:
    data_integrity.SHAPES.clear()
    return data_integrity.canonicalize(document)


if __name__ == "__main__":
    raise SystemExit(main())
