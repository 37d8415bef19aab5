"""`make run`: the whole system in the foreground, against the local Postgres and RabbitMQ.

Creates the database when it is missing (each service migrates its own schema at start), starts
the four services, waits until the gateway is ready, prints its URL and a first signed call,
and on Ctrl-C (or SIGTERM) stops every process cleanly. Every variable of DESIGN.md overrides
its default, so the same command runs against any database and broker.

PLAUDIT_SCALE (shared/scale.py) says how many processes of each service to start
(`gateway=2,badges=2`; the gateways share the port); the start line names each replica with its
pid, and each replica's log lines carry its name (`replica`). A scale that cannot be read ends the
run at once (exit code 2), before anything starts.

Once the system has been ready, a process that exits or is killed is restarted, with a line that
says so and a delay that grows while it keeps failing (services/supervisor.py), and never while
the run itself is stopping. Before that, while starting, any process that exits ends the run
(exit code 1) with its name and exit code: a service that cannot start on a fresh run (a port in
use, a wrong setting) says so at once instead of restarting forever while the user waits.

In development, when OPEN_CAMPUS_BASE_URL is the local sandbox's (the default, or any http URL on
a loopback host), the Open Campus sandbox starts first (the run waits until it answers) and stops
last, so credentials are issued end to end without an API key and nothing leaves the machine.
It starts only where nothing answers yet: a sandbox already running there, or a service of the
user's own (a mock, a proxy, a tunnel to staging), is used as it is, and the run says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import urllib.request
from enum import Enum
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg

from services.supervisor import Supervisor, exit_reason
from shared import scale
from shared.config import Settings, is_loopback_host
from shared.entrypoint import load_settings, redact_url
from shared.tokens import mint

SANDBOX = "sandbox"
SANDBOX_HEALTH = {"status": "ok"}
READY_TIMEOUT_S = 60.0
SANDBOX_TIMEOUT_S = 20.0
POLL_S = 0.2


def say(text: str) -> None:
    sys.stderr.write(f"plaudit: {text}\n")
    sys.stderr.flush()


async def ensure_database(dsn: str) -> None:
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(dsn)
        name = parts.path.lstrip("/")
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        say(f"created database {name}")
    except OSError as error:
        sys.exit(
            f"plaudit: cannot reach Postgres at {redact_url(dsn)} ({error}); start it "
            "(pg_ctlcluster ... start, or `docker compose up postgres`) or set DATABASE_URL"
        )
    else:
        await conn.close()


async def check_broker(url: str) -> None:
    try:
        connection = await aio_pika.connect(url)
    except Exception as error:
        sys.exit(
            f"plaudit: cannot reach RabbitMQ at {redact_url(url)} ({error}); start it "
            "(rabbitmq-server -detached, or `docker compose up rabbitmq`) or set AMQP_URL"
        )
    await connection.close()


class OpenCampus(Enum):
    """What stands at OPEN_CAMPUS_BASE_URL when `make run` starts."""

    ELSEWHERE = "elsewhere"  # not a local http URL: nothing to start
    START_SANDBOX = "start the sandbox"  # local, and nothing answers there yet
    SANDBOX = "the sandbox"  # a sandbox answers there already
    OWN_SERVICE = "the user's own service"  # something else answers there: a mock, a proxy...


def wants_sandbox(settings: Settings) -> bool:
    """The local sandbox is Open Campus here: development, over http, on a loopback host."""
    if settings.is_production or settings.open_campus_base_url is None:
        return False
    parts = urlsplit(settings.open_campus_base_url)
    return parts.scheme == "http" and is_loopback_host(parts.hostname or "")


def sandbox_answers(base_url: str) -> bool:
    # The admin API answers at the root, whatever path OPEN_CAMPUS_BASE_URL has; its body tells
    # the sandbox from a mock that answers 200 to anything.
    root = urlunsplit(urlsplit(base_url)._replace(path="", query="", fragment=""))
    try:
        with urllib.request.urlopen(f"{root}/_sandbox/health", timeout=2) as response:
            return response.status == 200 and bool(json.loads(response.read()) == SANDBOX_HEALTH)
    except (OSError, ValueError):
        return False


def listens(base_url: str) -> bool:
    """Whether anything accepts connections where `base_url` points (where the sandbox would
    have to listen)."""
    parts = urlsplit(base_url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=2):
            return True
    except OSError:
        return False


def open_campus_at(settings: Settings) -> OpenCampus:
    """Whether to start the sandbox: only for a local target where nothing answers yet."""
    if not wants_sandbox(settings):
        return OpenCampus.ELSEWHERE
    assert settings.open_campus_base_url is not None
    if sandbox_answers(settings.open_campus_base_url):
        return OpenCampus.SANDBOX
    if listens(settings.open_campus_base_url):
        return OpenCampus.OWN_SERVICE
    return OpenCampus.START_SANDBOX


class StopRequest:
    """Set by Ctrl-C (SIGINT) or SIGTERM: the run stops at its next look."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGINT, self._request)
        signal.signal(signal.SIGTERM, self._request)

    def _request(self, signum: int, frame: object) -> None:
        self.requested = True


def failed_while_starting(supervisors: tuple[Supervisor, ...]) -> bool:
    for supervisor in supervisors:
        exited = supervisor.exited()
        if exited is not None:
            name, code = exited
            say(f"{name} exited with {exit_reason(code)} while starting; see its log")
            return True
    return False


def wait_sandbox(base_url: str, sandbox: Supervisor, stop: StopRequest) -> bool:
    """Whether the sandbox answers (False if it failed, or the user stopped the run)."""
    deadline = time.monotonic() + SANDBOX_TIMEOUT_S
    while not sandbox_answers(base_url):
        if failed_while_starting((sandbox,)) or stop.requested:
            return False
        if time.monotonic() > deadline:
            say(f"the sandbox did not answer at {base_url} after {SANDBOX_TIMEOUT_S:.0f} s")
            return False
        time.sleep(POLL_S)
    return True


def wait_ready(settings: Settings, supervisors: tuple[Supervisor, ...], stop: StopRequest) -> bool:
    """Whether the gateway is ready (False if a process failed, or the user stopped the run)."""
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/readyz"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if failed_while_starting(supervisors) or stop.requested:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(POLL_S)
    say(f"the gateway was not ready after {READY_TIMEOUT_S:.0f} s")
    return False


def greet(settings: Settings, open_campus: OpenCampus) -> None:
    base = f"http://{settings.gateway_host}:{settings.gateway_port}"
    say(f"ready: the gateway listens on {base}")
    if open_campus in (OpenCampus.START_SANDBOX, OpenCampus.SANDBOX):
        say(
            f"Open Campus is the local sandbox at {settings.open_campus_base_url} "
            "(faults and issued credentials under /_sandbox/, see services/sandbox/admin.py)"
        )
    else:
        say(f"Open Campus: {settings.open_campus_base_url}")
    say(
        "try:  .venv/bin/plaudit call POST /systems "
        '\'{"slug": "demo", "name": "Demo", "url": "https://demo.example.org"}\''
    )
    token = mint(
        settings.master_secret_value,
        method="GET",
        path="/systems",
        ttl_s=settings.auth_max_token_ttl_s,
    )
    say(f"or:   curl -H 'Authorization: JWT token=\"{token}\"' {base}/systems")
    say(f"      (a master token for GET /systems, valid {settings.auth_max_token_ttl_s} s)")
    say("stop with Ctrl-C")


def run(
    settings: Settings,
    wanted: dict[str, int],
    sandbox: Supervisor,
    services: Supervisor,
    stop: StopRequest,
) -> int:
    """Start everything, then keep it running until the user stops it; the exit code."""
    open_campus = open_campus_at(settings)
    open_campus_url = settings.open_campus_base_url
    if open_campus is OpenCampus.START_SANDBOX:
        assert open_campus_url is not None
        pid = sandbox.start(SANDBOX, SANDBOX)
        say(f"starting the Open Campus sandbox at {open_campus_url}: {SANDBOX} (pid {pid})")
        if not wait_sandbox(open_campus_url, sandbox, stop):
            return 0 if stop.requested else 1
    elif open_campus is OpenCampus.SANDBOX:
        say(f"an Open Campus sandbox already answers at {open_campus_url}: using it")
    elif open_campus is OpenCampus.OWN_SERVICE:
        say(
            f"something already answers at {open_campus_url} (not the sandbox): using it as "
            "Open Campus, without starting the sandbox"
        )
    started = [
        f"{replica.name} (pid {services.start(replica.name, replica.service)})"
        for replica in scale.replicas(wanted)
    ]
    say(f"starting {scale.describe(wanted)}: {', '.join(started)}")
    if not wait_ready(settings, (sandbox, services), stop):
        return 0 if stop.requested else 1
    greet(settings, open_campus)
    while not stop.requested:
        sandbox.heal()
        services.heal()
        time.sleep(POLL_S)
    return 0


def main() -> None:
    os.environ.setdefault("PLAUDIT_ENV", "development")
    try:
        wanted = scale.parse(os.environ.get("PLAUDIT_SCALE"))
    except scale.ScaleError as error:
        say(str(error))
        sys.exit(2)
    settings = load_settings()
    if settings.health_port is not None:
        # Every back-end process would try to take it: the second one could not start.
        say("HEALTH_PORT is for one process per container or pod; unset it for make run")
        sys.exit(2)
    say(f"database {redact_url(settings.database_url)}, broker {redact_url(settings.amqp_url)}")
    asyncio.run(ensure_database(settings.database_url))
    asyncio.run(check_broker(settings.amqp_url))
    stop = StopRequest()
    # The sandbox is started first and stopped last: the services may call it until they stop.
    sandbox, services = Supervisor(say), Supervisor(say)
    try:
        code = run(settings, wanted, sandbox, services, stop)
    finally:
        say("stopping")
        services.stop()
        sandbox.stop()
        say("stopped")
    sys.exit(code)


if __name__ == "__main__":
    main()
