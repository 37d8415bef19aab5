"""base58btc and its multibase form."""

from __future__ import annotations

import os

import pytest

from services.issuer.ob3 import base58


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", ""),
        (b"\0", "1"),
        (b"\0\0\x01", "112"),
        (b"hello world", "StV1DL6CwTryKyV"),
        # draft-msporny-base58's example
        (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
    ],
)
def test_known_encodings(data: bytes, text: str) -> None:
    assert base58.encode(data) == text
    assert base58.decode(text) == data


def test_round_trips_random_bytes_with_leading_zeros() -> None:
    for size in range(0, 70, 7):
        data = b"\0" * (size % 3) + os.urandom(size)
        assert base58.decode(base58.encode(data)) == data


def test_multibase_prefix() -> None:
    assert base58.encode_multibase(b"\x01") == "z2"
    assert base58.decode_multibase("z2") == b"\x01"
    with pytest.raises(ValueError, match="start with 'z'"):
        base58.decode_multibase("u2")


@pytest.mark.parametrize("text", ["0", "O", "I", "l", "+", "abc/"])
def test_refuses_characters_outside_the_alphabet(text: str) -> None:
    with pytest.raises(ValueError, match="not a base58btc character"):
        base58.decode(text)


def test_refuses_overlong_text() -> None:
    with pytest.raises(ValueError, match="longer than"):
        base58.decode("2" * (base58.MAX_ENCODED + 1))
