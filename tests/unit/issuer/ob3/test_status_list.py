"""The Bitstring Status List: bit order, encodedList both ways (and as openbadgeslib reads it),
the list credential, random indexes."""

from __future__ import annotations

import base64
import gzip
import random
from datetime import UTC, datetime

import pytest
from openbadgeslib.ob3 import OB3VerificationError, decode_encoded_list, set_indices
from openbadgeslib.ob3._context_validation import validate_document
from openbadgeslib.ob3.contexts import document_loader
from pyld import jsonld

from services.issuer.ob3 import status_list
from services.issuer.ob3.status_list import (
    MIN_ENTRIES,
    InvalidStatusList,
    ListFull,
    StatusList,
    pick_index,
    status_entry,
    status_list_credential,
)

LIST_URL = "https://badges.example.org/public/systems/demo/status/1"
DID = "did:web:badges.example.org:public:systems:demo"


class TestBits:
    def test_a_new_list_has_the_minimum_size_and_no_bit_set(self) -> None:
        bits = StatusList()
        assert bits.size == MIN_ENTRIES == 131_072
        assert bits.to_bytes() == bytes(16_384)

    def test_bit_zero_is_the_most_significant_bit_of_the_first_byte(self) -> None:
        bits = StatusList()
        bits.set(0)
        assert bits.to_bytes()[0] == 0b1000_0000
        bits.set(7)
        bits.set(9)
        assert bits.to_bytes()[:2] == bytes([0b1000_0001, 0b0100_0000])

    def test_the_last_index_is_the_least_significant_bit_of_the_last_byte(self) -> None:
        bits = StatusList()
        bits.set(MIN_ENTRIES - 1)
        assert bits.to_bytes()[-1] == 1

    def test_set_get_clear(self) -> None:
        bits = StatusList()
        bits.set(4242)
        assert bits.get(4242)
        assert not bits.get(4241)
        assert not bits.get(4243)
        bits.set(4242)
        assert bits.get(4242)
        bits.clear(4242)
        assert not bits.get(4242)
        assert bits.to_bytes() == bytes(16_384)

    @pytest.mark.parametrize("index", [-1, MIN_ENTRIES])
    def test_an_index_outside_the_list_is_refused(self, index: int) -> None:
        with pytest.raises(IndexError):
            StatusList().set(index)

    @pytest.mark.parametrize("size", [MIN_ENTRIES - 8, MIN_ENTRIES + 1])
    def test_a_list_smaller_than_the_minimum_or_of_partial_bytes_is_refused(
        self, size: int
    ) -> None:
        with pytest.raises(ValueError, match="multiple of 8"):
            StatusList(size)

    def test_a_larger_list(self) -> None:
        bits = StatusList(MIN_ENTRIES * 2)
        bits.set(MIN_ENTRIES * 2 - 1)
        assert bits.size == MIN_ENTRIES * 2
        assert bits.get(MIN_ENTRIES * 2 - 1)


class TestEncodedList:
    def test_is_multibase_base64url_of_the_gzip_bitstring_without_padding(self) -> None:
        bits = StatusList()
        bits.set(3)
        encoded = bits.encode()
        assert encoded.startswith("u")
        assert "=" not in encoded
        assert "+" not in encoded
        assert "/" not in encoded
        text = encoded[1:]
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        assert gzip.decompress(raw) == bits.to_bytes()

    def test_the_same_bits_always_encode_alike(self) -> None:
        bits = StatusList()
        bits.set(99)
        assert bits.encode() == StatusList.decode(bits.encode()).encode()

    def test_round_trip(self) -> None:
        rng = random.Random(7)
        bits = StatusList()
        chosen = {rng.randrange(MIN_ENTRIES) for _ in range(500)}
        for index in chosen:
            bits.set(index)
        decoded = StatusList.decode(bits.encode())
        assert decoded.to_bytes() == bits.to_bytes()
        assert {i for i in range(MIN_ENTRIES) if decoded.get(i)} == chosen

    def test_openbadgeslib_reads_the_same_indexes(self) -> None:
        """An independent decoder (its own base64url, gzip and bit order) agrees."""
        bits = StatusList()
        chosen = {0, 1, 7, 8, 4242, 65_535, MIN_ENTRIES - 1}
        for index in chosen:
            bits.set(index)
        raw = decode_encoded_list(bits.encode())
        assert raw == bits.to_bytes()
        assert set_indices(raw) == chosen

    def test_an_empty_list_decodes_in_openbadgeslib(self) -> None:
        assert set_indices(decode_encoded_list(StatusList().encode())) == frozenset()

    @pytest.mark.parametrize(
        "encoded",
        [
            "",
            "zSomethingBase58",  # another multibase
            "u",
            "uAAA=",  # padded
            "uH4sI+AA",  # standard alphabet
            "u" + base64.urlsafe_b64encode(b"not gzip at all").decode().rstrip("="),
        ],
    )
    def test_not_an_encoded_list(self, encoded: str) -> None:
        with pytest.raises(InvalidStatusList):
            status_list.decode(encoded)

    def test_a_truncated_stream_is_refused(self) -> None:
        compressed = gzip.compress(bytes(16_384), mtime=0)[:-6]
        encoded = "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")
        with pytest.raises(InvalidStatusList, match="complete"):
            status_list.decode(encoded)

    def test_a_gzip_bomb_stops_at_the_limit(self) -> None:
        bomb = gzip.compress(bytes(status_list.MAX_DECODED_BYTES + 1), mtime=0)
        encoded = "u" + base64.urlsafe_b64encode(bomb).decode().rstrip("=")
        with pytest.raises(InvalidStatusList, match="inflates past"):
            status_list.decode(encoded)

    def test_a_list_below_the_minimum_size_is_refused(self) -> None:
        with pytest.raises(InvalidStatusList, match="at least"):
            StatusList.decode(status_list.encode(bytes(1024)))


class TestPickIndex:
    def test_never_a_used_index(self) -> None:
        rng = random.Random(1)
        used: set[int] = set()
        for _ in range(2000):
            index = pick_index(used, rng=rng)
            assert index not in used
            assert 0 <= index < MIN_ENTRIES
            used.add(index)

    def test_drawn_at_random_not_in_order(self) -> None:
        rng = random.Random(2)
        used: set[int] = set()
        picks = []
        for _ in range(50):
            picks.append(pick_index(used, rng=rng))
            used.add(picks[-1])
        assert picks != sorted(picks)
        assert max(picks) - min(picks) > MIN_ENTRIES // 2

    def test_finds_the_last_free_index_of_a_nearly_full_list(self) -> None:
        used = set(range(MIN_ENTRIES)) - {123_456}
        assert pick_index(used, rng=random.Random(3)) == 123_456

    def test_a_full_list(self) -> None:
        with pytest.raises(ListFull):
            pick_index(set(range(MIN_ENTRIES)))

    def test_without_a_generator_of_its_own(self) -> None:
        assert pick_index({0, 1}) not in {0, 1}


class TestDocuments:
    def test_the_status_entry(self) -> None:
        assert status_entry(LIST_URL, 4242) == {
            "id": f"{LIST_URL}#4242",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "4242",
            "statusListCredential": LIST_URL,
        }

    def test_the_list_credential(self) -> None:
        bits = StatusList()
        bits.set(5)
        document = status_list_credential(
            list_url=LIST_URL,
            issuer=DID,
            valid_from=datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=UTC),
            encoded_list=bits.encode(),
        )
        assert document == {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": LIST_URL,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": DID,
            "validFrom": "2024-05-01T14:00:00Z",
            "credentialSubject": {
                "id": f"{LIST_URL}#list",
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": bits.encode(),
            },
        }

    def test_the_list_credential_uses_only_terms_of_its_context(self) -> None:
        """openbadgeslib's JSON-LD safe-mode check: every member must survive expansion under
        the VC 2.0 context (it refuses a document with an undefined term, see below)."""
        document = status_list_credential(
            list_url=LIST_URL,
            issuer=DID,
            valid_from=datetime(2024, 5, 1, tzinfo=UTC),
            encoded_list=StatusList().encode(),
        )
        validate_document(document, _proof_config(document), document_loader(), jsonld)
        document["credentialSubject"]["unknownTerm"] = 1
        with pytest.raises(OB3VerificationError, match="compacted form"):
            validate_document(document, _proof_config(document), document_loader(), jsonld)


def _proof_config(document: dict[str, object]) -> dict[str, object]:
    """A proof configuration as eddsa-rdfc-2022 reads it (the check needs one)."""
    return {
        "@context": document["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2024-05-01T00:00:00Z",
        "verificationMethod": f"{DID}#key-1",
        "proofPurpose": "assertionMethod",
    }
