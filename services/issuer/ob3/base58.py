"""base58btc (the Bitcoin alphabet), the encoding of Multikey public keys, `did:key` and
Data Integrity proof values, each written as multibase: `z` followed by the base58btc text."""

from __future__ import annotations

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}
MULTIBASE_PREFIX = "z"
# Decoding is quadratic in the length: no key or signature we read is near this long, and
# the values come from documents anyone can send us.
MAX_ENCODED = 256


def encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(ALPHABET[remainder])
    # Each leading zero byte is written as a leading "1".
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def decode(text: str) -> bytes:
    if len(text) > MAX_ENCODED:
        raise ValueError(f"base58btc text longer than {MAX_ENCODED} characters")
    number = 0
    for char in text:
        value = _INDEX.get(char)
        if value is None:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def encode_multibase(data: bytes) -> str:
    return MULTIBASE_PREFIX + encode(data)


def decode_multibase(text: str) -> bytes:
    if not text.startswith(MULTIBASE_PREFIX):
        raise ValueError("not multibase base58btc (it must start with 'z')")
    return decode(text[len(MULTIBASE_PREFIX) :])
