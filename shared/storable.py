"""What Postgres can hold, so that the edge refuses anything else before it is sent on.

`text` cannot hold the NUL character (asyncpg raises `CharacterNotInRepertoireError`, a 500 after
half a request's work) nor an unpaired surrogate (what undecodable bytes of a request line become;
they cannot be encoded as UTF-8). `integer` is 32 bits, `bigint` (ids, OFFSET) 64 bits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

NOT_STORABLE = "Invalid value: text cannot contain the NUL character (\\u0000)"

Location = tuple[str | int, ...]


def storable(text: str) -> bool:
    """Whether a Postgres `text` column can hold `text`."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def holds_only_storable(value: Any) -> bool:
    """Whether every string in `value` can be stored (the quick answer of `unstorable`)."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict | list | tuple):
        # orjson escapes a NUL as `\u0000` and refuses a lone surrogate, in C: the walk, slower
        # by far, runs only to confirm (`\\u0000` is a backslash and `u0000`) or for values
        # orjson cannot write.
        try:
            suspect = b"\\u0000" in orjson.dumps(value)
        except TypeError:
            suspect = True
        return not suspect or next(unstorable(value), None) is None
    return True


def unstorable(value: Any) -> Iterator[tuple[Location, str]]:
    """Every string in a JSON-like value (object keys included, at any depth) that Postgres
    could not store, with where it is, in document order. Models inside are not entered: they
    check their own. Walked without recursion: a JSON body may nest deeper than Python recurses."""
    pending: list[tuple[Location, Any]] = [((), value)]
    while pending:
        at, item = pending.pop()
        if isinstance(item, str):
            if not storable(item):
                yield at, item
        elif isinstance(item, dict):
            # A key Postgres cannot store stands for its whole entry (reported as the key).
            entries = [
                ((*at, key), key if isinstance(key, str) and not storable(key) else child)
                for key, child in item.items()
            ]
            pending.extend(reversed(entries))
        elif isinstance(item, list | tuple):
            pending.extend(reversed([((*at, index), child) for index, child in enumerate(item)]))
