"""The gateway's HTTP server on a real local port: what aiohttp's parser refuses before any
middleware runs (an over-long header or URL, a malformed request) is answered with a BadgeKit
error body, as every other error is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
from aiohttp import web

from services.gateway.config import MAX_HEADER_FIELD_SIZE, MAX_REQUEST_LINE_SIZE
from services.gateway.server import runner


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "world"})


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", hello)
    serving = runner(app)
    await serving.setup()
    site = web.TCPSite(serving, "127.0.0.1", 0)
    await site.start()
    host, port = serving.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await serving.cleanup()


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, response.content_type, await response.read()


async def raw_request(base_url: str, request: bytes) -> bytes:
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        # The server closes the connection after an error: read to the end.
        return await reader.read()
    finally:
        writer.close()


class TestOverLongHeaders:
    async def test_a_header_over_the_limit_gets_a_json_431(self, base_url: str) -> None:
        token = "x" * (MAX_HEADER_FIELD_SIZE + 100)
        status, content_type, body = await get(
            f"{base_url}/systems", {"Authorization": f'JWT token="{token}"'}
        )
        assert status == 431
        assert content_type == "application/json"
        error = orjson.loads(body)
        assert error["code"] == "RequestHeaderFieldsTooLarge"
        assert str(MAX_HEADER_FIELD_SIZE) in error["message"]
        assert "xxxx" not in error["message"]

    async def test_a_long_idempotency_key_too(self, base_url: str) -> None:
        key = "k" * 20_000
        status, content_type, body = await get(f"{base_url}/", {"Idempotency-Key": key})
        assert (status, content_type) == (431, "application/json")
        assert orjson.loads(body)["code"] == "RequestHeaderFieldsTooLarge"

    async def test_headers_beyond_aiohttps_default_pass(self, base_url: str) -> None:
        # A token signing a long path is longer than the path: 8190 bytes are not enough.
        status, _, body = await get(f"{base_url}/", {"Authorization": "t" * 12_000})
        assert status == 200
        assert orjson.loads(body) == {"hello": "world"}

    async def test_too_many_headers(self, base_url: str) -> None:
        headers = {f"X-Header-{n}": "v" for n in range(200)}
        status, content_type, body = await get(f"{base_url}/", headers)
        assert (status, content_type) == (431, "application/json")
        assert "headers" in orjson.loads(body)["message"]


async def test_a_url_over_the_limit_gets_a_json_414(base_url: str) -> None:
    status, content_type, body = await get(f"{base_url}/{'u' * (MAX_REQUEST_LINE_SIZE + 10)}")
    assert (status, content_type) == (414, "application/json")
    error = orjson.loads(body)
    assert error["code"] == "URITooLong"
    assert "uuuu" not in error["message"]


async def test_a_malformed_request_gets_a_json_400(base_url: str) -> None:
    answer = await raw_request(base_url, b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400"
    assert b"Content-Type: application/json" in head
    assert b"X-Request-Id: " in head
    error = orjson.loads(body)
    assert error["code"] == "BadRequest"
    assert error["message"].startswith("Malformed HTTP request")
