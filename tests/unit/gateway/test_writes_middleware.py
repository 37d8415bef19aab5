"""A write under a system drops this gateway's cached reads of that system before it answers
(services/gateway/middleware.py: writes_middleware), served over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from services.gateway.keys import read_cache_key
from services.gateway.middleware import keeps_cached_reads, writes_middleware
from services.gateway.read_cache import Found, ReadCache, Reply
from shared.errors import NotFound
from tests.support.local_http import serving


async def answered(request: web.Request) -> web.Response:
    # What the cache held when the handler answered: a write drops only after its own work.
    return web.json_response({"cached": len(request.app[read_cache_key])})


async def refused(request: web.Request) -> web.Response:
    raise NotFound("no such thing")


@keeps_cached_reads
async def awarded(request: web.Request) -> web.Response:
    return await answered(request)


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[str, ReadCache]]:
    app = web.Application(middlewares=[writes_middleware])
    cache = ReadCache(ttl_s=60, max_entries=10, max_bytes=100_000)
    app[read_cache_key] = cache
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE"):
        app.router.add_route(method, "/systems/{system}/badges", answered)
    app.router.add_post("/systems/{system}/refused", refused)
    app.router.add_post("/systems/{system}/instances", awarded)
    app.router.add_post("/public/verify", answered)
    async with serving(app) as base_url:
        yield base_url, cache


async def fill(cache: ReadCache, *systems: str) -> None:
    for system in systems:

        async def look_up(system: str = system) -> Found:
            return Found(system, Reply(200, (), system.encode()))

        await cache.get(system, look_up)


async def request(base_url: str, method: str, path: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base_url + path) as response,
    ):
        if response.status == 200 and method != "HEAD":
            # The handler ran before the drop, which follows the write's own work.
            assert (await response.json())["cached"] >= 1
        return response.status


class TestWritesMiddleware:
    @pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
    async def test_a_write_drops_its_system_and_no_other(
        self, gateway: tuple[str, ReadCache], method: str
    ) -> None:
        base_url, cache = gateway
        await fill(cache, "demo", "other")
        assert await request(base_url, method, "/systems/demo/badges") == 200
        assert len(cache) == 1
        await fill(cache, "other")  # a hit: "other" was kept
        assert len(cache) == 1

    async def test_a_refused_write_drops_too(self, gateway: tuple[str, ReadCache]) -> None:
        # A command that timed out may still have committed: any answer drops.
        base_url, cache = gateway
        await fill(cache, "demo")
        assert await request(base_url, "POST", "/systems/demo/refused") == 500
        assert len(cache) == 0

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/systems/demo/badges"),
            ("HEAD", "/systems/demo/badges"),
            ("POST", "/public/verify"),
            ("POST", "/systems/demo/instances"),
        ],
    )
    async def test_reads_writes_outside_a_system_and_awards_drop_nothing(
        self, gateway: tuple[str, ReadCache], method: str, path: str
    ) -> None:
        base_url, cache = gateway
        await fill(cache, "demo")
        assert await request(base_url, method, path) == 200
        assert len(cache) == 1
