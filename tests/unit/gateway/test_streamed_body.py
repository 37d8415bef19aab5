"""A streamed body hashes each byte once, whatever is read twice (pushed back by multipart)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from aiohttp import StreamReader

from services.gateway.streamed_body import HashingStream


class _Protocol:
    """What a StreamReader asks of its connection (a body held whole never pauses it)."""

    _reading_paused = False

    def pause_reading(self, **_: Any) -> None: ...

    def resume_reading(self, **_: Any) -> None: ...


def stream(data: bytes) -> StreamReader:
    protocol: Any = _Protocol()
    reader = StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_pushed_back_bytes_are_hashed_once() -> None:
    data = b"first line\nsecond line\nthe rest of the body"
    body = HashingStream(stream(data))

    line = await body.readline()
    body.unread_data(line[5:])
    again = await body.readline()
    rest = await body.read(4)

    assert (line, again, rest) == (b"first line\n", b" line\n", b"seco")
    assert await body.hexdigest() == hashlib.sha256(data).hexdigest()
