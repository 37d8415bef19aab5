"""W3C Bitstring Status List v1.0: the revocation list of a system's credentials.

A list is a bitstring of at least 131,072 entries (16 KiB), the minimum the specification sets
so that one credential's status check does not single its holder out among the others. Bit 0
is the most significant bit of the first byte. Published as `encodedList`: the bitstring
GZIP-compressed, base64url without padding, with the multibase prefix `u`.

Every credential takes one index, drawn at random among the free ones (an index that follows
the order of issuance would tell a verifier when its credential was issued) and never given
again, even after a revocation: the database keeps each index unique once wiring stores them.

Every term of the status list credential and of its entries (`BitstringStatusListCredential`,
`BitstringStatusList`, `encodedList`, `BitstringStatusListEntry`, ...) is defined by the VC
Data Model 2.0 context, which is therefore the list credential's only context.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import random
import re
import secrets
import zlib
from collections.abc import Set
from datetime import UTC, datetime
from typing import Any

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
STATUS_PURPOSE = "revocation"
MIN_ENTRIES = 131_072
# A list fetched from another issuer is decoded before anything about it is trusted: a gzip
# bomb must not inflate past this (64 times the minimum list; 67 million entries).
MAX_DECODED_BYTES = 1 << 23
MULTIBASE_BASE64URL = "u"
# Drawn at random this many times before falling back to listing the free indexes: with a
# list at most half full, the chance of 32 misses in a row is below one in four billion.
_RANDOM_TRIES = 32

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_SYSTEM_RANDOM = secrets.SystemRandom()


class InvalidStatusList(ValueError):
    """An `encodedList` that is not multibase base64url of a GZIP bitstring of the right size."""


class ListFull(Exception):
    """Every index of the list is taken: the next credential needs a new list."""


class StatusList:
    """A bitstring backed by bytes. `size` entries, a multiple of 8, at least MIN_ENTRIES."""

    __slots__ = ("_bits",)

    def __init__(self, size: int = MIN_ENTRIES) -> None:
        if size < MIN_ENTRIES or size % 8:
            raise ValueError(f"a status list holds a multiple of 8 entries, at least {MIN_ENTRIES}")
        self._bits = bytearray(size // 8)

    @classmethod
    def from_bytes(cls, bitstring: bytes) -> StatusList:
        if len(bitstring) * 8 < MIN_ENTRIES:
            raise InvalidStatusList(f"a status list holds at least {MIN_ENTRIES} entries")
        status_list = cls.__new__(cls)
        status_list._bits = bytearray(bitstring)
        return status_list

    @classmethod
    def decode(cls, encoded_list: str) -> StatusList:
        return cls.from_bytes(decode(encoded_list))

    @property
    def size(self) -> int:
        return len(self._bits) * 8

    def get(self, index: int) -> bool:
        byte, mask = self._locate(index)
        return bool(self._bits[byte] & mask)

    def set(self, index: int) -> None:
        byte, mask = self._locate(index)
        self._bits[byte] |= mask

    def clear(self, index: int) -> None:
        byte, mask = self._locate(index)
        self._bits[byte] &= ~mask & 0xFF

    def to_bytes(self) -> bytes:
        return bytes(self._bits)

    def encode(self) -> str:
        return encode(self._bits)

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < self.size:
            raise IndexError(f"status list index {index} outside 0..{self.size - 1}")
        # Bit 0 is the most significant bit of the first byte (the specification's order).
        return index // 8, 0x80 >> (index % 8)


def encode(bitstring: bytes | bytearray) -> str:
    """The `encodedList` of a bitstring. `mtime=0` keeps the GZIP header free of the time, so
    one bitstring always encodes to the same text (stable signatures and caches)."""
    compressed = gzip.compress(bytes(bitstring), mtime=0)
    text = base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")
    return MULTIBASE_BASE64URL + text


def decode(encoded_list: str) -> bytes:
    """The bitstring of an `encodedList`, refusing anything but strict multibase base64url of
    a complete GZIP stream that inflates to at most MAX_DECODED_BYTES."""
    if not encoded_list.startswith(MULTIBASE_BASE64URL):
        raise InvalidStatusList("encodedList must be multibase base64url (prefix 'u')")
    text = encoded_list[1:]
    if not text or not _BASE64URL.match(text) or len(text) % 4 == 1:
        raise InvalidStatusList("encodedList is not base64url without padding")
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only
        bitstring = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except (binascii.Error, zlib.error) as error:
        raise InvalidStatusList(f"encodedList is not GZIP data: {error}") from None
    if inflater.unconsumed_tail:
        raise InvalidStatusList(f"encodedList inflates past {MAX_DECODED_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise InvalidStatusList("encodedList is not exactly one complete GZIP stream")
    return bitstring


def pick_index(used: Set[int], size: int = MIN_ENTRIES, *, rng: random.Random | None = None) -> int:
    """A random index of a list of `size` entries that is not in `used`."""
    if len(used) >= size:
        raise ListFull(f"all {size} indexes of the list are taken")
    draw = rng or _SYSTEM_RANDOM
    for _ in range(_RANDOM_TRIES):
        index = draw.randrange(size)
        if index not in used:
            return index
    # A nearly full list: choose among the free indexes themselves.
    return draw.choice([index for index in range(size) if index not in used])


def status_entry(list_url: str, index: int) -> dict[str, Any]:
    """A credential's `credentialStatus`. Its `id` is the list's URL with the index as the
    fragment (the OB 3.0 schema requires an `id`; VC 2.0 makes it any URL)."""
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    *, list_url: str, issuer: str, valid_from: datetime, encoded_list: str
) -> dict[str, Any]:
    """The unsigned `BitstringStatusListCredential` served at `list_url`. No `validUntil`:
    a list is signed again whenever one of its bits changes, and a verifier refuses an expired
    list (the credentials on it would all fail)."""
    since = valid_from.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": since,
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": encoded_list,
        },
    }
