"""The processes of `make run` (services/devrun.py): started, watched, restarted, stopped.

Each process is `python -m services.<service>` under a name of its own (a replica's name from
shared/scale.py, `badges-2`, passed to it as PLAUDIT_REPLICA so its log lines say which it is),
in a session of its own, so that the terminal's Ctrl-C reaches only the runner, which stops them
in order.

A process that exits is restarted by `heal` after a delay that doubles with each restart in a
row (1 s, 2 s, 4 s ... at most 30 s), so a service that cannot start (its database gone, say)
is retried without spinning; a process that ran for a minute before it exited counts as healthy,
and its next restart waits 1 s again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
# A process that ran this long before it exited was healthy: its restarts start over at 1 s.
HEALTHY_AFTER_S = 60.0
STOP_TIMEOUT_S = 15.0


def restart_delay(in_a_row: int) -> float:
    """Seconds before the `in_a_row`-th restart (from 1) of a process that keeps exiting."""
    return min(FIRST_DELAY_S * 2.0 ** (in_a_row - 1), MAX_DELAY_S)


@dataclass
class Backoff:
    """When to restart one process, from how long each of its runs lasted."""

    in_a_row: int = 0  # restarts since the process last ran HEALTHY_AFTER_S
    restarts: int = 0  # restarts in all, for the user

    def after_exit(self, ran_s: float) -> float:
        """Count an exit after `ran_s` seconds of running; the delay before the restart."""
        if ran_s >= HEALTHY_AFTER_S:
            self.in_a_row = 0
        self.in_a_row += 1
        self.restarts += 1
        return restart_delay(self.in_a_row)


def exit_reason(code: int) -> str:
    """`code 1`, or `code -9 (killed by SIGKILL)` for a process a signal ended."""
    if code >= 0:
        return f"code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return f"code {code} (killed by {name})"


def spawn(service: str, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", f"services.{service}"],
        env={**os.environ, "PLAUDIT_REPLICA": name},
        # The children ignore the terminal's Ctrl-C: the runner stops them in order.
        start_new_session=True,
    )


@dataclass
class Child:
    name: str
    service: str
    process: subprocess.Popen[bytes]
    started_at: float
    backoff: Backoff = field(default_factory=Backoff)
    restart_at: float | None = None  # set while it waits for its restart


class Supervisor:
    """A group of named processes, stopped together."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._children: dict[str, Child] = {}

    def start(self, name: str, service: str) -> int:
        """Start `services.<service>` as `name`; its pid."""
        process = spawn(service, name)
        self._children[name] = Child(name, service, process, time.monotonic())
        return process.pid

    def exited(self) -> tuple[str, int] | None:
        """The name and exit code of a process that has ended, if one has."""
        for child in self._children.values():
            code = child.process.poll()
            if code is not None:
                return child.name, code
        return None

    def heal(self) -> None:
        """Restart the processes that exited, each once its delay has passed, saying so."""
        now = time.monotonic()
        for child in self._children.values():
            if child.restart_at is None:
                code = child.process.poll()
                if code is None:
                    continue
                delay = child.backoff.after_exit(ran_s=now - child.started_at)
                child.restart_at = now + delay
                self._say(
                    f"{child.name} exited with {exit_reason(code)}; restarting it in {delay:g} s "
                    f"(restart {child.backoff.restarts})"
                )
            elif now >= child.restart_at:
                child.process = spawn(child.service, child.name)
                child.started_at, child.restart_at = now, None
                self._say(f"restarted {child.name} (pid {child.process.pid})")

    def stop(self) -> None:
        """SIGTERM to every process, then wait for them all; kill what does not stop in time."""
        for child in self._children.values():
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in self._children.values():
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(f"{child.name} did not stop in time; killing it")
                child.process.kill()
                child.process.wait()
