"""The four services as real processes, for end-to-end tests.

Each stack runs against an `Isolation` (its own database and vhost) and a free port, writes each
process's JSON log lines to a file, and can stop, SIGKILL and restart single services.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.infra import Isolation

SERVICES = ("badges", "issuer", "webhooks", "gateway")
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


class Stack:
    def __init__(self, isolation: Isolation, log_dir: Path, **env: str) -> None:
        self.isolation = isolation
        self.port = free_port()
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            **isolation.env(GATEWAY_PORT=str(self.port), **env),
        }
        self.settings = isolation.settings(
            gateway_port=str(self.port), **{k.lower(): v for k, v in env.items()}
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, *names: str, wait: bool = True) -> None:
        for name in names or SERVICES:
            with self.log_path(name).open("ab") as log_file:
                self.processes[name] = subprocess.Popen(
                    [sys.executable, "-m", f"services.{name}"],
                    env=self.env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
        if wait:
            self.wait_ready()

    def readiness(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as response:
                body: dict[str, Any] = json.loads(response.read())
                return body
        except (OSError, ValueError):
            return None

    def wait_ready(self, *, services: tuple[str, ...] = ("badges", "issuer", "webhooks")) -> None:
        def ready() -> bool:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(
                        f"{name} exited with {process.returncode}:\n{self.log_text(name)[-3000:]}"
                    )
            body = self.readiness()
            return bool(body) and all(body["services"].get(s) == "ok" for s in services)

        wait_for(ready, timeout_s=START_TIMEOUT_S, what="the stack to be ready")

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.processes[name].send_signal(sig)

    def stop(self, name: str, *, timeout_s: float = 20.0) -> int:
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        return process.wait(timeout=timeout_s)

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.kill()
        process.wait(timeout=10)

    def close(self) -> None:
        for name in list(self.processes):
            try:
                self.stop(name)
            except subprocess.TimeoutExpired:
                self.kill(name)

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
