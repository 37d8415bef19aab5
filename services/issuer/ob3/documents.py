"""The JSON-LD documents the issuer may read: shipped in `contexts/`, never fetched.

Canonicalisation resolves every `@context` a document names. Fetching one while signing or
verifying would let whoever serves it change what a signature covers, and would make each
verification an outbound request; so the exact published documents ship with the code
(`contexts/manifest.json` names each one's URL, file, source and SHA-256) and `load_document`, the
loader given to pyld, answers those URLs alone and refuses every other.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

CONTEXTS_FOLDER = "contexts"


class UnknownDocument(LookupError):
    """A JSON-LD document was asked for by a URL that is not shipped: it is never fetched."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"JSON-LD document {url!r} is not one shipped with Plaudit "
            f"(services/issuer/ob3/{CONTEXTS_FOLDER}/manifest.json); documents are never fetched"
        )
        self.url = url


@functools.cache
def shipped() -> Mapping[str, Mapping[str, Any]]:
    """Every shipped document by its URL, read once and checked against the manifest's hashes
    (a file edited by hand would silently change what our signatures cover)."""
    folder = resources.files(__package__ or __name__).joinpath(CONTEXTS_FOLDER)
    manifest = json.loads(folder.joinpath("manifest.json").read_text("utf-8"))
    documents: dict[str, Mapping[str, Any]] = {}
    for entry in manifest["contexts"]:
        raw = folder.joinpath(entry["file"]).read_bytes()
        if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
            raise RuntimeError(f"{CONTEXTS_FOLDER}/{entry['file']} differs from its manifest hash")
        documents[entry["url"]] = json.loads(raw)
    return MappingProxyType(documents)


def load_document(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """pyld's document loader: a shipped document, or `UnknownDocument`.

    The `static` tag lets pyld keep the context it resolved from the document for the life of
    the process instead of processing it again for every document (the files never change).
    pyld may rewrite URLs inside what it is given, so it gets a copy."""
    document = shipped().get(url)
    if document is None:
        raise UnknownDocument(url)
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(dict(document)),
        "tag": "static",
    }
