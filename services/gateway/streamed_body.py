"""A request body read as a stream, hashed as it goes (its token's `body` claim is checked once
it has all been read: `auth_middleware`, `streams_body`).

Wraps aiohttp's `StreamReader` for `MultipartReader`, which reads lines and chunks and pushes
back what it read too far (`unread_data`): pushed-back bytes are served again from here, so the
hash counts each byte of the body once, in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from aiohttp import StreamReader

CHUNK_BYTES = 64 * 1024


class HashingStream:
    def __init__(self, inner: StreamReader) -> None:
        self._inner = inner
        self._hash = hashlib.sha256()
        self._back = b""

    def _hashed(self, data: bytes) -> bytes:
        self._hash.update(data)
        return data

    def at_eof(self) -> bool:
        return not self._back and self._inner.at_eof()

    async def read(self, n: int = -1) -> bytes:
        if self._back:
            size = len(self._back) if n < 0 else n
            data, self._back = self._back[:size], self._back[size:]
            return data
        return self._hashed(await self._inner.read(n))

    async def readline(self, *, max_line_length: int | None = None) -> bytes:
        if self._back:
            end = self._back.find(b"\n")
            if end >= 0:
                line, self._back = self._back[: end + 1], self._back[end + 1 :]
                return line
            start, self._back = self._back, b""
            rest = await self._inner.readline(max_line_length=max_line_length)
            return start + self._hashed(rest)
        return self._hashed(await self._inner.readline(max_line_length=max_line_length))

    def unread_data(self, data: bytes) -> None:
        self._back = data + self._back

    async def chunks(self) -> AsyncIterator[bytes]:
        """The rest of the body, a chunk at a time."""
        while chunk := await self.read(CHUNK_BYTES):
            yield chunk

    async def hexdigest(self) -> str:
        """The SHA-256 of the whole body: what is left of it is read (and dropped) first."""
        self._back = b""  # hashed when it was first read
        while chunk := await self._inner.read(CHUNK_BYTES):
            self._hash.update(chunk)
        return self._hash.hexdigest()
