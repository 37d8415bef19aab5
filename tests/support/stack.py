"""The four services as real processes, for end-to-end tests.

Each stack runs against an `Isolation` (its own database and vhost) and a free port, writes each
process's JSON log lines to a file, and can stop, SIGKILL and restart single services.

`PLAUDIT_SCALE` (given to the stack, or in the environment) sets how many replicas of each service
run (`shared.scale`): processes are named by replica (`badges`, `badges-2`), a service's name
starts all its replicas, and a replica's name that one only.

Unless told `sandbox=False` (or given its own OPEN_CAMPUS_BASE_URL), a stack also runs the Open
Campus sandbox on a free port, started with the services and stopped after them: every process
gets OPEN_CAMPUS_BASE_URL pointing at it, and it accepts the stack's OPEN_CAMPUS_API_KEY.
`stack.sandbox` drives it (faults, recorded credentials, counters).

With `health=True`, every back-end process answers its health probes (`shared.probes`) on a
port of its own (`HEALTH_PORT` per process, kept across its restarts): `stack.health_url(name)`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg

from shared import scale, topology
from shared.opencampus import ISSUE_PATH
from tests.support.infra import Isolation

SERVICES = scale.SERVICES
SANDBOX = "sandbox"
STARTED = {"gateway": "gateway.started"}  # the log event of a gateway replica that serves
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Any, *, timeout_s: float, what: str, interval_s: float = 0.05) -> Any:
    """Poll until `condition()` is truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


class Sandbox:
    """Drives a running Open Campus sandbox through its admin API (`/_sandbox/`). Synchronous:
    the sandbox is another process, so a test calls it between its awaits."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key  # the key the stack's processes send

    @property
    def issue_url(self) -> str:
        return f"{self.base_url}{ISSUE_PATH}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.base_url}/_sandbox/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def answers(self) -> bool:
        try:
            return bool(self._call("GET", "health")["status"] == "ok")
        except (OSError, ValueError):
            return False

    def set_faults(
        self,
        *,
        sequence: Sequence[str] = (),
        rates: dict[str, float] | None = None,
        latency_ms: float = 0,
        slow_s: float = 30,
        retry_after_s: int = 1,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Replace the faults: `sequence` outcomes first, one per call, then `rates`. Outcomes:
        ok, error, rate_limit, slow, ambiguous_500, ambiguous_drop, reject."""
        body = {
            "sequence": list(sequence),
            "rates": rates or {},
            "latencyMs": latency_ms,
            "slowS": slow_s,
            "retryAfterS": retry_after_s,
            "seed": seed,
        }
        answer: dict[str, Any] = self._call("PUT", "faults", body)
        return answer

    def faults(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", "faults")
        return answer

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def credentials(self, issuer_reference_id: str | None = None) -> list[dict[str, Any]]:
        query = (
            ""
            if issuer_reference_id is None
            else "?" + urlencode({"issuerReferenceId": issuer_reference_id})
        )
        found: list[dict[str, Any]] = self._call("GET", f"credentials{query}")["credentials"]
        return found

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", "stats")
        return answer

    def add_key(self, api_key: str) -> None:
        self._call("POST", "keys", {"apiKey": api_key})

    def reset(self) -> None:
        """Forget credentials and counters (keys and faults stay)."""
        self._call("DELETE", "state")


class Stack:
    def __init__(
        self,
        isolation: Isolation,
        log_dir: Path,
        *,
        sandbox: bool = True,
        health: bool = False,
        python: str = sys.executable,
        **env: str,
    ) -> None:
        self.isolation = isolation
        self.python = python  # the interpreter the processes run with (a virtualenv's)
        self._ports: set[int] = set()
        self.port = self._new_port()
        self.log_dir = log_dir
        # A base URL given by the test wins: then it brings its own Open Campus.
        with_sandbox = sandbox and "OPEN_CAMPUS_BASE_URL" not in env
        if with_sandbox:
            env = {**env, "OPEN_CAMPUS_BASE_URL": f"http://127.0.0.1:{self._new_port()}"}
        self.health = health
        self.health_ports: dict[str, int] = {}  # back-end process name -> its HEALTH_PORT
        self.env = {
            **os.environ,
            **isolation.env(GATEWAY_PORT=str(self.port), **env),
        }
        self.scale = scale.parse(self.env.get("PLAUDIT_SCALE"))
        env = {key: value for key, value in env.items() if key != "PLAUDIT_SCALE"}
        self.settings = isolation.settings(
            gateway_port=str(self.port), **{k.lower(): v for k, v in env.items()}
        )
        self.sandbox: Sandbox | None = None
        if with_sandbox:
            assert self.settings.open_campus_base_url is not None
            assert self.settings.open_campus_api_key is not None
            api_key = self.settings.open_campus_api_key.get_secret_value()
            # The sandbox reads the same variables as the services: it listens where they call.
            self.env["OPEN_CAMPUS_API_KEY"] = api_key
            self.sandbox = Sandbox(self.settings.open_campus_base_url, api_key)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._log_offsets: dict[str, int] = {}  # where each replica's log began at its start

    def _new_port(self) -> int:
        """A free port that no other process of this stack was given (a port just released may
        come round again)."""
        port = free_port()
        while port in self._ports:
            port = free_port()
        self._ports.add(port)
        return port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health_url(self, name: str) -> str:
        """Where the back-end process `name` (a replica's name) answers its health probes."""
        return f"http://127.0.0.1:{self.health_ports[name]}"

    def _process_env(self, name: str, module: str) -> dict[str, str]:
        env = {**self.env, "PLAUDIT_REPLICA": name}
        # Per process or not at all: one for the whole stack would have its processes clash.
        env.pop("HEALTH_PORT", None)
        if self.health and module in topology.SERVICES:  # the back ends
            if name not in self.health_ports:
                self.health_ports[name] = self._new_port()
            env["HEALTH_PORT"] = str(self.health_ports[name])
        return env

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def replicas(self, *services: str) -> list[scale.Replica]:
        """The replicas of `services` (all when none are named) under the stack's scale."""
        return scale.replicas(self.scale, services or SERVICES)

    def _chosen(self, names: Sequence[str]) -> dict[str, str]:
        """Process name -> its module, for names of services (all their replicas), of single
        replicas, or the sandbox."""
        by_name = {replica.name: replica.service for replica in self.replicas()}
        chosen: dict[str, str] = {}
        for name in names:
            if name == SANDBOX:
                chosen[SANDBOX] = SANDBOX
            elif name in SERVICES:
                chosen.update((replica.name, name) for replica in self.replicas(name))
            elif name in by_name:
                chosen[name] = by_name[name]
            else:
                raise ValueError(f"{name} is neither a service nor a replica of this stack")
        return chosen

    def start(self, *names: str, wait: bool = True) -> None:
        """Start the named processes (every replica of the four services, and the sandbox,
        when none are named); a sandbox still running is kept. Waits until the sandbox answers,
        and with `wait` (and a service among them) until the stack is ready."""
        chosen = self._chosen(names or SERVICES)
        if not names and self.sandbox is not None and not self.running(SANDBOX):
            chosen = {SANDBOX: SANDBOX, **chosen}  # first; the services need a moment longer
        if SANDBOX in chosen and self.sandbox is None:
            raise ValueError("this stack runs without a sandbox")
        for name, module in chosen.items():
            path = self.log_path(name)
            self._log_offsets[name] = path.stat().st_size if path.exists() else 0
            with path.open("ab") as log_file:
                self.processes[name] = subprocess.Popen(
                    [self.python, "-m", f"services.{module}"],
                    env=self._process_env(name, module),
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
        if SANDBOX in chosen:
            self.wait_sandbox()
        if wait and list(chosen) != [SANDBOX]:
            self.wait_ready()

    def running(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def started_since_spawn(self, name: str, event: str) -> bool:
        """Whether the replica `name` logged `event` since it was last started."""
        path = self.log_path(name)
        if not path.exists():
            return False
        with path.open("rb") as log_file:
            log_file.seek(self._log_offsets.get(name, 0))
            lines = log_file.read().splitlines()
        return any(
            line.startswith(b"{") and json.loads(line).get("event") == event for line in lines
        )

    def wait_sandbox(self) -> None:
        sandbox = self.sandbox
        assert sandbox is not None, "this stack runs without a sandbox"

        def answers() -> bool:
            process = self.processes[SANDBOX]
            if process.poll() is not None:
                raise AssertionError(
                    f"the sandbox exited with {process.returncode}:\n"
                    f"{self.log_text(SANDBOX)[-3000:]}"
                )
            return sandbox.answers()

        wait_for(answers, timeout_s=START_TIMEOUT_S, what="the Open Campus sandbox to answer")

    def readiness(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as response:
                body: dict[str, Any] = json.loads(response.read())
                return body
        except (OSError, ValueError):
            return None

    def wait_ready(self, *, services: tuple[str, ...] = ("badges", "issuer", "webhooks")) -> None:
        """Until every process runs, each of `services` answers with as many replicas consuming
        as run, and every gateway replica serves."""

        def ready() -> bool:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(
                        f"{name} exited with {process.returncode}:\n{self.log_text(name)[-3000:]}"
                    )
            gateways = [r.name for r in self.replicas("gateway") if self.running(r.name)]
            if not all(self.started_since_spawn(name, STARTED["gateway"]) for name in gateways):
                return False
            body = self.readiness()
            if not body:
                return False
            return all(
                body["services"].get(s) == "ok"
                and body["replicas"].get(s) == self.running_replicas(s)
                for s in services
            )

        wait_for(ready, timeout_s=START_TIMEOUT_S, what="the stack to be ready")

    def running_replicas(self, service: str) -> int:
        return sum(self.running(replica.name) for replica in self.replicas(service))

    def _started(self, name: str) -> list[subprocess.Popen[bytes]]:
        """The processes a name stands for (a service: each of its replicas) that were started."""
        return [self.processes[each] for each in self._chosen([name]) if each in self.processes]

    def signal(self, name: str, sig: signal.Signals) -> None:
        for process in self._started(name):
            process.send_signal(sig)

    def stop(self, name: str, *, timeout_s: float = 20.0) -> int:
        """SIGTERM to the process (each replica of a service), and its exit code once it ended
        (the last replica's)."""
        processes = self._started(name)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        return [process.wait(timeout=timeout_s) for process in processes][-1]

    def kill(self, name: str) -> None:
        for process in self._started(name):
            process.kill()
            process.wait(timeout=10)

    def close(self) -> None:
        # The sandbox last: services stopping may still be calling it.
        for name in sorted(self.processes, key=lambda name: name == SANDBOX):
            try:
                self.stop(name)
            except subprocess.TimeoutExpired:
                self.kill(name)

    async def drop_broker_connections(self, reason: str = "test") -> None:
        """The broker closes every connection of the stack's vhost (as a network blip or a
        broker node leaving would); the processes reconnect by themselves."""
        await asyncio.to_thread(
            subprocess.run,
            ["rabbitmqctl", "-q", "close_all_connections", "-p", self.isolation.name, reason],
            check=True,
            capture_output=True,
            timeout=60,
        )

    async def drop_database_connections(self) -> int:
        """Postgres ends every connection to the stack's database, some mid-transaction (as a
        failover or a restart would); the pools open new ones by themselves. How many."""
        dropped = await query(
            self,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        return len(dropped)

    def log_text(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def log_events(self, name: str) -> list[dict[str, Any]]:
        events = []
        for line in self.log_text(name).splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events


async def query(stack: Stack, sql: str, *args: object) -> list[asyncpg.Record]:
    """Rows of `sql` read straight from the stack's database (what a test checks behind the
    API), on a connection of its own."""
    conn = await asyncpg.connect(stack.isolation.database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()
