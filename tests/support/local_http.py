"""An aiohttp application served on a free loopback port for the length of a test: the hosts
tests stand up (did:web issuers, image hosts, Open Campus stand-ins, fetch targets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

HOST = "127.0.0.1"


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` listening on a free port of 127.0.0.1; its base URL (`http://127.0.0.1:<port>`)
    while the block runs, and stopped after it."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, 0).start()
    try:
        yield f"http://{HOST}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
