"""The shipped JSON-LD documents and the loader that serves them, and nothing else."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from pyld import jsonld

from services.issuer.ob3 import documents
from services.issuer.ob3.documents import UnknownDocument, load_document

CREDENTIAL_CONTEXTS = (
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/security/multikey/v1",
)


class TestShippedDocuments:
    def test_the_contexts_signed_documents_need_are_shipped(self) -> None:
        assert set(CREDENTIAL_CONTEXTS) <= set(documents.shipped())

    def test_every_file_in_the_folder_is_in_the_manifest(self) -> None:
        folder = resources.files("services.issuer.ob3").joinpath("contexts")
        manifest = json.loads(folder.joinpath("manifest.json").read_text())
        listed = {entry["file"] for entry in manifest["contexts"]}
        files = {item.name for item in folder.iterdir() if item.name != "manifest.json"}
        assert files == listed
        assert all(entry["source"] and entry["sha256"] for entry in manifest["contexts"])

    def test_every_document_is_a_context(self) -> None:
        for url, document in documents.shipped().items():
            assert isinstance(document.get("@context"), dict), url

    def test_the_ob_context_defines_the_terms_of_ob_3_0_3(self) -> None:
        ob = documents.shipped()[CREDENTIAL_CONTEXTS[1]]["@context"]
        assert {"OpenBadgeCredential", "Achievement", "AchievementSubject", "Profile"} <= set(ob)
        assert {"IdentityObject", "awardedDate", "endorsementJwt"} <= set(ob)


class TestLoadDocument:
    def test_serves_a_shipped_context(self) -> None:
        remote = load_document("https://www.w3.org/ns/credentials/v2")
        assert remote["documentUrl"] == "https://www.w3.org/ns/credentials/v2"
        assert remote["document"]["@context"]["@protected"] is True

    def test_hands_out_copies(self) -> None:
        url = "https://w3id.org/security/multikey/v1"
        load_document(url)["document"]["@context"]["Multikey"] = "changed"
        assert load_document(url)["document"]["@context"]["Multikey"] != "changed"

    @pytest.mark.parametrize(
        "url",
        [
            "https://example.org/context.json",
            "http://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/v2/",
            "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        ],
    )
    def test_refuses_any_other_url(self, url: str) -> None:
        with pytest.raises(UnknownDocument, match="never fetched"):
            load_document(url)

    def test_pyld_given_the_loader_expands_without_the_network(self) -> None:
        document = {
            "@context": list(CREDENTIAL_CONTEXTS[:2]),
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
        }
        expanded = jsonld.expand(document, {"documentLoader": load_document})
        assert expanded[0]["@type"] == [
            "https://www.w3.org/2018/credentials#VerifiableCredential",
            "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential",
        ]

    def test_pyld_given_the_loader_refuses_an_unknown_context(self) -> None:
        document = {"@context": "https://example.org/evil.json", "name": "x"}
        with pytest.raises(jsonld.JsonLdError) as raised:
            jsonld.expand(document, {"documentLoader": load_document})
        cause: BaseException | None = raised.value
        while cause is not None and not isinstance(cause, UnknownDocument):
            cause = cause.__cause__
        assert isinstance(cause, UnknownDocument)
