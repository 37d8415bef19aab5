"""The issuer's outbound GET, against aiohttp servers on 127.0.0.1: answers, the SSRF guard,
redirects, the size limit, the timeout, and the cache."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from services.issuer.fetcher import Fetched, Fetcher, FetchFailed
from shared import guard
from tests.support.local_http import serving


@dataclass
class Server:
    url: str
    hits: dict[str, int] = field(default_factory=dict)
    accepts: list[str] = field(default_factory=list)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    served = Server("")

    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        served.hits[name] = served.hits.get(name, 0) + 1
        served.accepts.append(request.headers.get("Accept", ""))
        if name == "doc":
            return web.json_response({"id": "doc"}, content_type="application/ld+json")
        if name == "gone":
            return web.json_response({"revoked": True}, status=410)
        if name == "broken":
            return web.Response(status=500, text="oops")
        if name == "moved":
            raise web.HTTPFound("/doc")
        if name == "big":
            return web.Response(body=b"x" * 5000, content_type="application/json")
        if name == "streamed":
            # No Content-Length: the limit must hold while reading.
            response = web.StreamResponse()
            await response.prepare(request)
            for _ in range(10):
                await response.write(b"y" * 1000)
            await response.write_eof()
            return response
        if name == "slow":
            await asyncio.sleep(1)
            return web.Response(text="late")
        if name == "png":
            return web.Response(body=b"\x89PNG" + b"0" * 3000, content_type="image/png")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", handle)
    async with serving(app) as served.url:
        yield served


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    made = Fetcher(allow_private=True, timeout_s=0.5, max_bytes=4096)
    await made.start()
    try:
        yield made
    finally:
        await made.stop()


class TestFetch:
    async def test_answers_the_document(self, fetcher: Fetcher, server: Server) -> None:
        fetched = await fetcher.fetch(f"{server.url}/doc")
        assert fetched == Fetched(200, "application/ld+json", b'{"id": "doc"}')
        assert server.accepts == ["application/json"]

    async def test_sends_the_accept_asked_for(self, fetcher: Fetcher, server: Server) -> None:
        await fetcher.fetch(f"{server.url}/doc", accept="application/vc+jwt")
        assert server.accepts == ["application/vc+jwt"]

    async def test_any_status_is_an_answer(self, fetcher: Fetcher, server: Server) -> None:
        assert (await fetcher.fetch(f"{server.url}/gone")).status == 410
        assert (await fetcher.fetch(f"{server.url}/broken")).status == 500
        assert (await fetcher.fetch(f"{server.url}/nothing")).status == 404

    async def test_a_redirect_is_not_followed(self, fetcher: Fetcher, server: Server) -> None:
        fetched = await fetcher.fetch(f"{server.url}/moved")
        assert fetched.status == 302
        assert "doc" not in server.hits

    async def test_an_answer_over_the_limit_fails(self, fetcher: Fetcher, server: Server) -> None:
        with pytest.raises(FetchFailed, match="larger than 4 KiB"):
            await fetcher.fetch(f"{server.url}/big")

    async def test_the_limit_holds_without_a_content_length(
        self, fetcher: Fetcher, server: Server
    ) -> None:
        with pytest.raises(FetchFailed, match="larger than 4 KiB"):
            await fetcher.fetch(f"{server.url}/streamed")

    async def test_a_larger_limit_for_images(self, fetcher: Fetcher, server: Server) -> None:
        fetched = await fetcher.fetch(f"{server.url}/png", accept="image/*", max_bytes=8192)
        assert fetched.content_type == "image/png"
        with pytest.raises(FetchFailed, match="larger than 2 KiB"):
            await fetcher.fetch(f"{server.url}/png", accept="image/*", max_bytes=2048)

    async def test_a_slow_answer_times_out(self, fetcher: Fetcher, server: Server) -> None:
        with pytest.raises(FetchFailed, match=r"no answer within 0\.5 s"):
            await fetcher.fetch(f"{server.url}/slow")

    async def test_an_unreachable_host(self, fetcher: Fetcher) -> None:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with pytest.raises(FetchFailed, match="cannot be reached"):
            await fetcher.fetch(f"http://127.0.0.1:{port}/doc")

    @pytest.mark.parametrize("url", ["ftp://example.org/doc", "file:///etc/passwd", "nonsense"])
    async def test_only_http_urls(self, fetcher: Fetcher, url: str) -> None:
        with pytest.raises(FetchFailed, match="refused"):
            await fetcher.fetch(url)


class TestGuard:
    async def test_refuses_loopback_unless_private_is_allowed(self, server: Server) -> None:
        guarded = Fetcher(allow_private=False)
        try:
            for base in (server.url, server.url.replace("127.0.0.1", "localhost")):
                with pytest.raises(FetchFailed, match=r"refused: (loopback address|localhost)"):
                    await guarded.fetch(f"{base}/doc")
        finally:
            await guarded.stop()
        assert server.hits == {}

    async def test_refuses_a_name_that_resolves_to_a_private_address(
        self, server: Server, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(guard, "DefaultResolver", lambda: _Resolver("127.0.0.1"))
        guarded = Fetcher(allow_private=False)
        port = server.url.rsplit(":", 1)[1]
        try:
            with pytest.raises(FetchFailed, match="refused: host resolves only to blocked"):
                await guarded.fetch(f"http://issuer.example:{port}/doc")
        finally:
            await guarded.stop()
        assert server.hits == {}


class TestCache:
    async def test_a_document_is_fetched_once_within_the_ttl(self, server: Server) -> None:
        now = [0.0]
        fetcher = Fetcher(allow_private=True, cache_ttl_s=60, clock=lambda: now[0])
        try:
            first = await fetcher.fetch(f"{server.url}/doc")
            assert await fetcher.fetch(f"{server.url}/doc") == first
            assert server.hits == {"doc": 1}
            now[0] = 61
            await fetcher.fetch(f"{server.url}/doc")
            assert server.hits == {"doc": 2}
        finally:
            await fetcher.stop()

    async def test_a_gone_answer_is_kept_an_error_is_not(
        self, fetcher: Fetcher, server: Server
    ) -> None:
        for _ in range(2):
            await fetcher.fetch(f"{server.url}/gone")
            await fetcher.fetch(f"{server.url}/broken")
        assert server.hits == {"gone": 1, "broken": 2}

    async def test_another_accept_is_another_entry(self, fetcher: Fetcher, server: Server) -> None:
        await fetcher.fetch(f"{server.url}/doc")
        await fetcher.fetch(f"{server.url}/doc", accept="application/vc+jwt")
        assert server.hits == {"doc": 2}

    async def test_concurrent_requests_share_one_fetch(
        self, fetcher: Fetcher, server: Server
    ) -> None:
        answers = await asyncio.gather(*(fetcher.fetch(f"{server.url}/doc") for _ in range(5)))
        assert len(set(answers)) == 1
        assert server.hits == {"doc": 1}

    async def test_bounded_in_entries(self, server: Server) -> None:
        fetcher = Fetcher(allow_private=True, cache_entries=2)
        try:
            for name in ("doc", "gone", "nothing", "doc"):
                await fetcher.fetch(f"{server.url}/{name}")
            assert server.hits == {"doc": 2, "gone": 1, "nothing": 1}
        finally:
            await fetcher.stop()

    async def test_bounded_in_bytes(self, server: Server) -> None:
        # The PNG (3,004 bytes) is more than a quarter of 8 KiB: never kept.
        fetcher = Fetcher(allow_private=True, cache_bytes=8192)
        try:
            for _ in range(2):
                await fetcher.fetch(f"{server.url}/png")
            assert server.hits == {"png": 2}
        finally:
            await fetcher.stop()


class _Resolver(AbstractResolver):
    def __init__(self, address: str) -> None:
        self._address = address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=self._address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=0,
            )
        ]

    async def close(self) -> None:
        pass
