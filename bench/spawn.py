"""`--spawn`: the four services on a database and vhost of their own, for one run.

Reuses the end-to-end tests' harness (tests.support): the services run as processes with
`PLAUDIT_ENV=test`, each writing its log to a file; everything is stopped and dropped afterwards.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.runner import say
from shared.scale import describe
from tests.support.infra import Isolation, Servers
from tests.support.stack import Stack

# The per-key rate limit (200/s, bursts of 400 by default) would throttle the benchmark itself.
UNTHROTTLED = {"RATE_LIMIT_PER_S": "1000000", "RATE_LIMIT_BURST": "1000000"}


@contextmanager
def spawned_stack(
    *,
    master_secret: str | None,
    keep_logs: bool,
    scale: str | None = None,
    python: str | None = None,
) -> Iterator[Stack]:
    """The stack for one run; `scale` as PLAUDIT_SCALE (which the environment may give too);
    `python` the interpreter of the services (this one's by default)."""
    env: dict[str, Any] = dict(UNTHROTTLED)
    if master_secret is not None:
        env["MASTER_SECRET"] = master_secret
    if scale is not None:
        env["PLAUDIT_SCALE"] = scale
    servers = Servers.find()
    isolation = Isolation(servers)
    log_dir = Path(tempfile.mkdtemp(prefix="plaudit-bench-"))
    stack: Stack | None = None
    clean = False
    try:
        say(f"spawn: database and vhost {isolation.name}")
        isolation.create()
        stack = Stack(isolation, log_dir, python=python or sys.executable, **env)
        say(
            f"spawn: starting the four services ({describe(stack.scale)}; gateway on "
            f"{stack.base_url})"
        )
        stack.start()
        yield stack
        clean = True
    finally:
        say("spawn: stopping the services, dropping the database and vhost")
        if stack is not None:
            stack.close()
        try:
            isolation.drop()
        except Exception as error:
            say(f"spawn: could not drop {isolation.name} entirely: {error}")
        servers.stop()
        if clean and not keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"spawn: the services' logs are in {log_dir}")
