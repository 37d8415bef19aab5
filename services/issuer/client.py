"""The HTTP client of the Open Campus API: one call, its answer or why there was none."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson

from services.issuer.domain import CallResult
from shared.http import retry_after_s
from shared.opencampus import API_KEY_HEADER, ISSUE_PATH


class OpenCampusClient:
    def __init__(self, base_url: str, timeout_s: float, *, max_connections: int) -> None:
        self._url = base_url.rstrip("/") + ISSUE_PATH
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._max_connections)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            json_serialize=lambda v: orjson.dumps(v).decode(),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def issue(self, api_key: str, body: dict[str, Any]) -> CallResult:
        assert self._session is not None, "start() the client first"
        started = time.perf_counter()

        def elapsed_ms() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            async with self._session.post(
                self._url,
                data=orjson.dumps(body),
                headers={API_KEY_HEADER: api_key, "Content-Type": "application/json"},
                allow_redirects=False,
            ) as response:
                raw = await response.read()
                try:
                    parsed: Any = orjson.loads(raw) if raw else None
                except orjson.JSONDecodeError:
                    parsed = raw.decode(errors="replace")
                return CallResult(
                    status_code=response.status,
                    body=parsed,
                    duration_ms=elapsed_ms(),
                    retry_after_s=retry_after_s(response.headers.get("Retry-After")),
                )
        except TimeoutError:
            return CallResult(None, None, elapsed_ms(), failure="timeout")
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError):
            return CallResult(None, None, elapsed_ms(), failure="connection_error")
