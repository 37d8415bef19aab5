"""The Open Campus sandbox as a process: `python -m services.sandbox`, and the stack's option."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from shared.opencampus import API_KEY_HEADER, DUPLICATE_SUBTYPE
from tests.support.infra import Isolation, Servers
from tests.support.stack import SANDBOX, Sandbox, Stack, free_port, wait_for
from tests.unit.sandbox.conftest import oca

pytestmark = pytest.mark.e2e

PROCESS_KEY = "process-secret-key-0001"
EXTRA_KEY = "extra-secret-key-4321"


def sandbox_env(port: int, **overrides: str) -> dict[str, str]:
    return {
        **os.environ,
        "PLAUDIT_ENV": "test",
        "OPEN_CAMPUS_BASE_URL": f"http://127.0.0.1:{port}",
        "OPEN_CAMPUS_API_KEY": PROCESS_KEY,
        **overrides,
    }


@pytest.fixture
def process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Sandbox, Path]]:
    """A sandbox process on a free port, its admin client, and its log file."""
    port = free_port()
    log_path = tmp_path / "sandbox.log"
    with log_path.open("wb") as log_file:
        started = subprocess.Popen(
            [sys.executable, "-m", "services.sandbox", "--api-key", EXTRA_KEY],
            env=sandbox_env(port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    admin = Sandbox(f"http://127.0.0.1:{port}", PROCESS_KEY)
    try:
        wait_for(
            lambda: started.poll() is not None or admin.answers(),
            timeout_s=30,
            what="the sandbox to answer",
        )
        assert started.poll() is None, log_path.read_text()
        yield started, admin, log_path
    finally:
        if started.poll() is None:
            started.kill()
            started.wait(timeout=10)


async def issue(http: aiohttp.ClientSession, admin: Sandbox, key: str, body: object) -> int:
    async with http.post(admin.issue_url, json=body, headers={API_KEY_HEADER: key}) as response:
        return response.status


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
async def test_the_process_issues_logs_no_secrets_and_stops_cleanly(
    process: tuple[subprocess.Popen[bytes], Sandbox, Path], stop_with: signal.Signals
) -> None:
    started, admin, log_path = process
    async with aiohttp.ClientSession() as http:
        assert await issue(http, admin, PROCESS_KEY, oca()) == 200
        assert await issue(http, admin, EXTRA_KEY, oca()) == 200
        assert await issue(http, admin, "unknown-key", oca()) == 401
        # Under uvloop too, a dropped connection is what the client sees.
        admin.set_faults(sequence=["ambiguous_drop"])
        with pytest.raises(aiohttp.ClientConnectionError):
            await issue(http, admin, PROCESS_KEY, oca(issuerReferenceId="dropped"))
        assert len(admin.credentials("dropped")) == 1
        # An answer held for five minutes does not hold up the stop.
        admin.set_faults(sequence=["slow"], slow_s=300)
        held = asyncio.create_task(issue(http, admin, PROCESS_KEY, oca(issuerReferenceId="held")))
        deadline = asyncio.get_running_loop().time() + 10
        while admin.stats()["outcomes"]["slow"] == 0:
            assert asyncio.get_running_loop().time() < deadline, "the held call never arrived"
            await asyncio.sleep(0.05)
        started.send_signal(stop_with)
        assert await asyncio.to_thread(started.wait, 30) == 0
        assert await held == 200  # released at once, as it was processed
    log = log_path.read_text()
    events = [line for line in log.splitlines() if line.startswith("{")]
    assert any('"sandbox.started"' in line for line in events)
    assert '"sandbox.stopped"' in events[-1]
    assert "Traceback" not in log
    body = oca()
    subject = body["credentialPayload"]["credentialSubject"]
    for secret in (PROCESS_KEY, EXTRA_KEY, subject["name"], subject["email"], "unknown-key"):
        assert secret not in log


def test_the_sandbox_never_runs_in_production() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.sandbox"],
        env=sandbox_env(
            free_port(),
            PLAUDIT_ENV="production",
            MASTER_SECRET="m" * 40,
            PLAUDIT_ENCRYPTION_KEY="k" * 40,
            PUBLIC_URL="https://badges.example.org",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "PLAUDIT_ENV=production" in done.stderr


def test_a_busy_port_is_reported() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = subprocess.run(
            [sys.executable, "-m", "services.sandbox"],
            env=sandbox_env(taken.getsockname()[1]),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert "cannot listen" in done.stderr


# ---------------------------------------------------------------------------------------------
# The stack's option


def test_the_shared_stack_runs_a_sandbox_its_services_call(stack: Stack) -> None:
    assert stack.sandbox is not None
    assert stack.running(SANDBOX)
    assert stack.sandbox.answers()
    assert stack.settings.open_campus_base_url == stack.sandbox.base_url
    assert stack.env["OPEN_CAMPUS_BASE_URL"] == stack.sandbox.base_url
    assert stack.sandbox.base_url.startswith("http://127.0.0.1:")
    assert stack.settings.open_campus_api_key is not None
    assert stack.settings.open_campus_api_key.get_secret_value() == stack.sandbox.api_key
    assert stack.env["OPEN_CAMPUS_API_KEY"] == stack.sandbox.api_key


async def test_a_stack_sandbox_is_driven_by_its_helpers(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack()
    stack.start(SANDBOX)  # alone: no service needed to drive it
    sandbox = stack.sandbox
    assert sandbox is not None
    assert sandbox.answers()
    key = sandbox.api_key
    assert await issue(http, sandbox, key, oca()) == 200
    [recorded] = sandbox.credentials("tt:1111222333")
    assert recorded["apiKeyLast4"] == key[-4:]
    sandbox.set_faults(sequence=["error", "ambiguous_500"], rates={"reject": 1.0}, seed=3)
    assert sandbox.faults()["remaining"] == ["error", "ambiguous_500"]
    body = oca(issuerReferenceId="second")
    assert [await issue(http, sandbox, key, body) for _ in range(3)] == [503, 500, 400]
    async with http.post(sandbox.issue_url, json=body, headers={API_KEY_HEADER: key}) as answer:
        assert (await answer.json())["error"]["subType"] != DUPLICATE_SUBTYPE  # reject, by rate
    sandbox.clear_faults()
    async with http.post(sandbox.issue_url, json=body, headers={API_KEY_HEADER: key}) as answer:
        assert (await answer.json())["error"]["subType"] == DUPLICATE_SUBTYPE
    sandbox.add_key("another-key-0042")
    assert await issue(http, sandbox, "another-key-0042", body) == 200
    assert sandbox.stats()["recorded"] == 3
    sandbox.reset()
    assert sandbox.credentials() == []
    assert sandbox.stats()["calls"] == 0
    stack.close()
    assert stack.processes[SANDBOX].returncode == 0


def test_a_stack_runs_without_a_sandbox_when_told(servers: Servers, tmp_path: Path) -> None:
    isolation = Isolation(servers)  # never created: nothing here starts
    without = Stack(isolation, tmp_path, sandbox=False)
    assert without.sandbox is None
    with pytest.raises(ValueError, match="without a sandbox"):
        without.start(SANDBOX)
    elsewhere = Stack(isolation, tmp_path, OPEN_CAMPUS_BASE_URL="http://127.0.0.1:1")
    assert elsewhere.sandbox is None
    assert elsewhere.settings.open_campus_base_url == "http://127.0.0.1:1"
