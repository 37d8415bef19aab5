"""`make run` (`python -m services.devrun`) as a user runs it: the replicas PLAUDIT_SCALE asks
for, sharing the gateway's port; a process that dies restarted (the sandbox too), one failing at
start ending the run; Ctrl-C and SIGTERM leaving no process behind; and, with
OPEN_CAMPUS_BASE_URL at a local service of the user's own, that service used instead of the
sandbox.

Each run has its own database and vhost, its own ports, and its output in a file; whatever a test
does, the runner and every process it started are gone at its end."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shared.config import DEV_MASTER_SECRET
from shared.tokens import mint
from tests.support.infra import Isolation, Servers
from tests.support.stack import free_port, wait_for

pytestmark = pytest.mark.e2e

READY = "ready: the gateway listens on"
RUNNER = "plaudit: "
# `badges-2 (pid 4242)`, in the runner's start and restart lines.
PID = re.compile(r"(\S+) \(pid (\d+)\)")
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def parent_of(pid: int) -> int | None:
    """The parent of a live process (None once it has exited, a zombie included)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, parent = stat.rsplit(")", 1)[1].split()[:2]
    return None if state == "Z" else int(parent)


class DevRun:
    """`python -m services.devrun` started with `env`, its output (and its children's) in a
    file."""

    def __init__(self, env: dict[str, str], output: Path) -> None:
        self.env = env
        self.output = output
        self.port = int(env["GATEWAY_PORT"])
        with output.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.devrun"], env=env, stdout=sink, stderr=sink
            )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def says(self) -> list[str]:
        """The runner's own lines."""
        return [line for line in self.text().splitlines() if line.startswith(RUNNER)]

    def events(self) -> list[dict[str, Any]]:
        """The children's JSON log lines."""
        events = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue  # a line being written
        return events

    def wait_for_line(self, text: str, *, timeout_s: float = START_TIMEOUT_S) -> None:
        def said() -> bool:
            if any(text in line for line in self.says()):
                return True
            if self.process.poll() is not None:
                raise AssertionError(
                    f"make run exited with {self.process.returncode} before saying {text!r}:\n"
                    f"{self.text()[-5000:]}"
                )
            return False

        wait_for(said, timeout_s=timeout_s, what=f"make run to say {text!r}")

    def every_pid(self) -> dict[str, list[int]]:
        """Each process's pids, as the runner named them, the latest last."""
        found: dict[str, list[int]] = {}
        for line in self.says():
            for name, pid in PID.findall(line):
                found.setdefault(name, []).append(int(pid))
        return found

    def pids(self) -> dict[str, int]:
        """The pid each process has now."""
        return {name: pids[-1] for name, pids in self.every_pid().items()}

    def kill(self, name: str, *, delay_s: int = 1, restart: int = 1) -> tuple[int, int]:
        """SIGKILL the process `name`; once the runner has said it restarts it after `delay_s`
        (its `restart`th restart in a row) and named the new one: (the killed pid, the new)."""
        killed = self.pids()[name]
        os.kill(killed, signal.SIGKILL)
        self.wait_for_line(
            f"plaudit: {name} exited with code -9 (killed by SIGKILL); restarting it in "
            f"{delay_s} s (restart {restart})"
        )
        restarted: int = wait_for(
            lambda: self.pids()[name] if self.pids()[name] != killed else None,
            timeout_s=30,
            what=f"{name} to be restarted",
        )
        return killed, restarted

    def children(self) -> set[int]:
        found: set[int] = set()
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            try:
                found.update(int(pid) for pid in (task / "children").read_text().split())
            except OSError:
                continue
        return found

    def stop(self, signum: signal.Signals) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=STOP_TIMEOUT_S)

    def _ours(self, pid: int) -> bool:
        """Whether `pid` is a process this run started (its environment names this run's
        database), not another one that took its number since."""
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return f"DATABASE_URL={self.env['DATABASE_URL']}".encode() in environ.split(b"\0")

    def close(self) -> None:
        """Stop the runner as Ctrl-C would, then kill whatever of its processes is left."""
        started = self.children() | {pid for pids in self.every_pid().values() for pid in pids}
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in started:
            if self._ours(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def make_run(servers: Servers, tmp_path: Path) -> Iterator[Callable[..., DevRun]]:
    """Starts `make run` on a database and vhost of its own, its gateway and Open Campus sandbox
    on free ports (`env` overrides)."""
    made: list[tuple[DevRun, Isolation]] = []

    def start(**env: str) -> DevRun:
        isolation = Isolation(servers).create()
        gateway_port = free_port()
        sandbox_port = free_port()
        while sandbox_port == gateway_port:  # a port just released may come round again
            sandbox_port = free_port()
        defaults = {
            "PLAUDIT_ENV": "development",
            "PLAUDIT_SCALE": "",
            "GATEWAY_PORT": str(gateway_port),
            "OPEN_CAMPUS_BASE_URL": f"http://127.0.0.1:{sandbox_port}",
        }
        run_env = {**os.environ, **isolation.env(**{**defaults, **env})}
        try:
            run = DevRun(run_env, tmp_path / f"devrun{len(made)}.log")
        except BaseException:
            isolation.drop()
            raise
        made.append((run, isolation))
        return run

    yield start
    for run, isolation in made:
        try:
            run.close()
        finally:
            isolation.drop()


def get(url: str, **headers: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def systems_answer(run: DevRun) -> bool:
    token = mint(DEV_MASTER_SECRET, method="GET", path="/systems")
    return get(f"{run.base_url}/systems", Authorization=f'JWT token="{token}"') == 200


def assert_all_gone(run: DevRun) -> None:
    every = run.every_pid()
    left = {name: pid for name, pids in every.items() for pid in pids if alive(pid)}
    assert not left, f"still running after make run stopped: {left}"


def test_make_run_starts_the_replicas_of_plaudit_scale_and_restarts_a_killed_one(
    make_run: Callable[..., DevRun],
) -> None:
    run = make_run(PLAUDIT_SCALE="gateway=2,badges=2")
    run.wait_for_line(READY)
    assert any(
        line.startswith("plaudit: starting badges x2, issuer, webhooks, gateway x2: ")
        for line in run.says()
    ), run.text()
    pids = run.pids()
    replicas = {"badges", "badges-2", "issuer", "webhooks", "gateway", "gateway-2"}
    assert set(pids) == {*replicas, "sandbox"}
    assert {name: parent_of(pid) for name, pid in pids.items()} == dict.fromkeys(
        pids, run.process.pid
    )
    assert len(set(pids.values())) == len(pids)

    # Both gateways serve on the one port: new connections reach each of them.
    probes = itertools.count()

    def served_by() -> set[str]:
        request_id = f"scale-probe-{next(probes)}"
        assert get(f"{run.base_url}/healthz", **{"X-Request-Id": request_id}) == 200
        return {
            event.get("replica", "")
            for event in run.events()
            if event.get("event") == "http.request"
            and str(event.get("correlation_id", "")).startswith("scale-probe-")
        }

    wait_for(
        lambda: served_by() == {"gateway", "gateway-2"},
        timeout_s=30,
        what="both gateways to answer on the one port",
    )

    killed, restarted = run.kill("badges-2")
    run.wait_for_line("plaudit: restarted badges-2 (pid ")
    assert restarted != killed
    assert parent_of(restarted) == run.process.pid
    wait_for(
        lambda: (
            sum(
                event.get("event") == "service.started" and event.get("replica") == "badges-2"
                for event in run.events()
            )
            == 2
        ),
        timeout_s=60,
        what="the new badges-2 to start consuming",
    )
    wait_for(lambda: systems_answer(run), timeout_s=30, what="the system to answer")
    assert not alive(killed)
    others = {name: pid for name, pid in run.pids().items() if name != "badges-2"}
    assert others == {name: pid for name, pid in pids.items() if name != "badges-2"}

    assert run.stop(signal.SIGINT) == 0, run.text()
    assert "plaudit: stopped" in run.says()
    assert_all_gone(run)
    assert "address already in use" not in run.text()


def test_make_run_restarts_the_gateway_and_the_sandbox_with_growing_delays(
    make_run: Callable[..., DevRun],
) -> None:
    run = make_run()
    run.wait_for_line(READY)
    pids = run.pids()
    assert set(pids) == {"sandbox", "badges", "issuer", "webhooks", "gateway"}
    assert any(
        line.startswith("plaudit: starting badges, issuer, webhooks, gateway: ")
        for line in run.says()
    ), run.text()

    run.kill("gateway")
    # Killed again at once: a second restart in a row waits twice as long.
    _, third = run.kill("gateway", delay_s=2, restart=2)
    assert parent_of(third) == run.process.pid
    wait_for(lambda: systems_answer(run), timeout_s=60, what="the system to answer again")

    sandbox, restarted = run.kill("sandbox")
    sandbox_url = run.env["OPEN_CAMPUS_BASE_URL"]
    wait_for(
        lambda: get(f"{sandbox_url}/_sandbox/health") == 200,
        timeout_s=30,
        what="the sandbox to answer again",
    )
    assert restarted != sandbox

    assert run.stop(signal.SIGTERM) == 0, run.text()
    assert_all_gone(run)


def test_a_process_that_fails_while_starting_ends_the_run(
    make_run: Callable[..., DevRun],
) -> None:
    with socket.socket() as taken:  # the gateway's port, held without SO_REUSEPORT
        taken.bind(("127.0.0.1", 0))
        run = make_run(GATEWAY_PORT=str(taken.getsockname()[1]))
        assert run.process.wait(timeout=START_TIMEOUT_S) == 1, run.text()
    says = run.says()
    assert "plaudit: gateway exited with code 1 while starting; see its log" in says, run.text()
    assert not any("restart" in line for line in says)
    assert_all_gone(run)


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ("gateways=2", "PLAUDIT_SCALE: 'gateways=2' is not service=count"),
        ("badges=0", "PLAUDIT_SCALE: badges='0': a count from 1 to 16"),
    ],
)
def test_an_invalid_scale_ends_make_run_at_once(scale: str, message: str) -> None:
    # Nothing listens at these addresses: the scale is refused before anything is reached.
    env = {
        **os.environ,
        "PLAUDIT_SCALE": scale,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
        "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.devrun"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"plaudit: {message}")


def test_a_health_port_ends_make_run_at_once() -> None:
    """Every back-end process would take it (shared/probes.py): the second could never start."""
    env = {
        **os.environ,
        "HEALTH_PORT": str(free_port()),
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
        "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.devrun"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert lines == [
        "plaudit: HEALTH_PORT is for one process per container or pod; unset it for make run"
    ]


class OwnOpenCampus(BaseHTTPRequestHandler):
    """A user's mock of Open Campus: it knows nothing of the sandbox's admin API."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def own_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OwnOpenCampus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_make_run_uses_a_local_service_already_there(
    make_run: Callable[..., DevRun], own_service: str
) -> None:
    run = make_run(OPEN_CAMPUS_BASE_URL=own_service)
    run.wait_for_line(READY)
    text = run.text()
    assert (
        f"something already answers at {own_service} (not the sandbox): using it as Open "
        "Campus, without starting the sandbox"
    ) in text
    assert "starting the Open Campus sandbox" not in text
    assert f"Open Campus: {own_service}" in text
    assert "sandbox" not in run.pids()
    assert run.stop(signal.SIGTERM) == 0, run.text()
    assert "address already in use" not in run.text()
    assert_all_gone(run)
