from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from shared.listening import listen

HOST = "127.0.0.1"


@pytest.fixture
async def runners() -> AsyncIterator[list[web.AppRunner]]:
    made: list[web.AppRunner] = []
    yield made
    for runner in made:
        await runner.cleanup()


async def new_runner(runners: list[web.AppRunner]) -> web.AppRunner:
    runner = web.AppRunner(web.Application())
    await runner.setup()
    runners.append(runner)
    return runner


async def test_a_port_held_elsewhere_ends_the_process_with_one_line_saying_what_to_do(
    runners: list[web.AppRunner],
) -> None:
    with socket.socket() as held:
        held.bind((HOST, 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            await listen(
                await new_runner(runners),
                HOST,
                port,
                what="the gateway",
                advice="set GATEWAY_PORT",
                reuse_port=True,
            )
    message = str(exited.value.code)
    assert message.startswith(f"plaudit: the gateway cannot listen on {HOST}:{port} (")
    assert message.endswith("; set GATEWAY_PORT")
    assert "\n" not in message


async def test_processes_that_reuse_the_port_share_it(runners: list[web.AppRunner]) -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    for _ in range(2):
        await listen(
            await new_runner(runners), HOST, port, what="a gateway", advice="-", reuse_port=True
        )
    with socket.create_connection((HOST, port), timeout=1):
        pass
