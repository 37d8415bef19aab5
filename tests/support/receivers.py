"""Real webhook receivers for end-to-end tests: aiohttp servers on 127.0.0.1 (a free port each)
that record every request they get (headers, raw body, arrival time) and answer as scripted.

A `Receivers` (one per test, closed at its end) makes them:

    receivers.new(always())                      # a server of its own, receiving on `/`
    receivers.new(failing(0.3, seed=7))          # 500 for a seeded 30 % of requests
    server = await receivers.server()            # one host and port for several receivers,
    server.receiver("/slow", hanging(30))        # each on a path of its own

A script maps the n-th request (0-based) of a receiver to a `Reply`; `receiver.answer(script)`
swaps it while the test runs. Scripts: `always`, `failing`, `hanging`, `gone`, `redirect`,
`throttled`, `sequence`. A request is recorded when it arrives, before any scripted delay.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.events import DEADLINE_S, eventually

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    delay_s: float = 0.0


Script = Callable[[int], Reply]


def always(status: int = 200, body: str = "", headers: Mapping[str, str] | None = None) -> Script:
    reply = Reply(status, dict(headers or {}), body)
    return lambda _: reply


def failing(fraction: float, *, seed: int, status: int = 500) -> Script:
    """A `status` answer for a seeded random `fraction` of requests, 200 for the rest."""
    rng = random.Random(seed)
    return lambda _: Reply(status if rng.random() < fraction else 200)


def hanging(seconds: float) -> Script:
    """No answer for `seconds` (or until the receivers close)."""
    return lambda _: Reply(200, delay_s=seconds)


def gone() -> Script:
    return always(410)


def redirect(to: str, status: int = 302) -> Script:
    return always(status, headers={"Location": to})


def throttled(retry_after: str, *, times: int = 1) -> Script:
    """429 with `Retry-After` for the first `times` requests, then 200."""
    limited = Reply(429, {"Retry-After": retry_after})
    return lambda n: limited if n < times else Reply(200)


def sequence(*statuses: int, then: int = 200) -> Script:
    """The given statuses, one per request in order, then `then` for every later request."""
    return lambda n: Reply(statuses[n] if n < len(statuses) else then)


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it. `at` is `time.monotonic()` on arrival."""

    at: float
    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    status: int  # what the script answered

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(self, base_url: str, path: str, script: Script) -> None:
        self.url = base_url + path
        self.path = path
        self.requests: list[Received] = []
        self._script = script
        self._offset = 0

    def answer(self, script: Script) -> None:
        """Answer with `script` from now on (its request count starts again at 0)."""
        self._script = script
        self._offset = len(self.requests)

    def next_reply(self) -> Reply:
        """The scripted answer to the request arriving now."""
        return self._script(len(self.requests) - self._offset)

    def ok(self) -> list[Received]:
        """The requests answered 2xx."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def by_webhook_id(self) -> dict[str, list[Received]]:
        found: dict[str, list[Received]] = {}
        for request in self.requests:
            found.setdefault(request.webhook_id, []).append(request)
        return found

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.requests if r.json().get("type") == event_type]

    async def wait(
        self,
        condition: Callable[[list[Received]], bool],
        what: str,
        timeout_s: float = DEADLINE_S,
    ) -> list[Received]:
        """Poll until `condition(self.requests)` holds; the requests then."""

        async def holds() -> list[Received] | None:
            seen = list(self.requests)
            return seen if condition(seen) else None

        found: list[Received] = await eventually(holds, f"{self.url}: {what}", timeout_s)
        return found

    async def wait_count(self, count: int, timeout_s: float = DEADLINE_S) -> list[Received]:
        """Until at least `count` requests arrived."""
        return await self.wait(lambda seen: len(seen) >= count, f"{count} request(s)", timeout_s)


class ReceiverServer:
    """One aiohttp server; each receiver answers on a path of its own."""

    def __init__(self, closing: asyncio.Event) -> None:
        self._closing = closing
        self._receivers: dict[str, Receiver] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{HOST}:{port}"

    def receiver(self, path: str = "/", script: Script | None = None) -> Receiver:
        made = Receiver(self.base_url, path, script or always())
        self._receivers[path] = made
        return made

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        body = await request.read()
        receiver = self._receivers.get(request.path)
        if receiver is None:
            return web.Response(status=404)
        reply = receiver.next_reply()
        receiver.requests.append(
            Received(
                at=arrived,
                method=request.method,
                path=request.path,
                headers={name.lower(): value for name, value in request.headers.items()},
                body=body,
                status=reply.status,
            )
        )
        if reply.delay_s > 0:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), reply.delay_s)
        return web.Response(status=reply.status, headers=dict(reply.headers), text=reply.body)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class Receivers:
    def __init__(self) -> None:
        self._closing = asyncio.Event()
        self._servers: list[ReceiverServer] = []

    async def server(self) -> ReceiverServer:
        made = ReceiverServer(self._closing)
        await made.start()
        self._servers.append(made)
        return made

    async def new(self, script: Script | None = None, path: str = "/") -> Receiver:
        """A receiver on a server of its own."""
        return (await self.server()).receiver(path, script)

    def release(self) -> None:
        """Hanging answers end now (they answer what their script said)."""
        self._closing.set()

    async def close(self) -> None:
        self.release()
        for server in self._servers:
            await server.close()


@asynccontextmanager
async def receiving() -> AsyncIterator[Receivers]:
    made = Receivers()
    try:
        yield made
    finally:
        await made.close()
