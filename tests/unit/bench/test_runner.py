"""A closed loop of `--requests N` sends exactly N requests and reports every answer's count."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from bench.cpu import CpuMeter
from bench.memory import Checkpoints
from bench.runner import Plan, Runner
from bench.signing import Call, RequestSource, Signer
from bench.stats import Recorder
from tests.support.local_http import serving


async def created(request: web.Request) -> web.Response:
    return web.Response(status=201)


async def test_a_closed_loop_of_requests_stops_after_that_many() -> None:
    app = web.Application()
    app.router.add_post("/systems", created)
    answered: list[int] = []
    checkpoints = Checkpoints(10)
    async with serving(app) as base_url, aiohttp.ClientSession() as session:
        signer = Signer(base_url, "secret")
        source = RequestSource.ahead(lambda n: Call.json("POST", "/systems", {"n": n}), signer, 45)
        plan = Plan(connections=4, duration_s=0.001, warmup_s=0.0, requests=45)
        recorder = Recorder()

        def on_answer(count: int) -> None:
            answered.append(count)
            if checkpoints.due(count):
                checkpoints.record(count, {})

        runner = Runner(session, source, plan, recorder, CpuMeter({}), asyncio.Event(), on_answer)
        outcome = await runner.run()
    assert not outcome.interrupted
    assert recorder.measured.sent == recorder.measured.ok == 45  # the duration did not stop it
    assert answered == list(range(1, 46))
    assert [count for count, _ in checkpoints.taken] == [10, 20, 30, 40]
    assert source.signed_inline == 0
