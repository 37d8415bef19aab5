"""`make run` (`python -m services.devrun`) as a user runs it, with OPEN_CAMPUS_BASE_URL at a
local service of their own: it uses that service instead of starting the sandbox on its port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.infra import Isolation, Servers
from tests.support.stack import free_port, wait_for

pytestmark = pytest.mark.e2e

READY = "ready: the gateway listens on"


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
    servers: Servers, own_service: str, tmp_path: Path
) -> None:
    isolation = Isolation(servers).create()
    output = tmp_path / "devrun.log"
    env = {
        **os.environ,
        **isolation.env(
            PLAUDIT_ENV="development",
            GATEWAY_PORT=str(free_port()),
            OPEN_CAMPUS_BASE_URL=own_service,
        ),
    }
    with output.open("wb") as sink:
        run = subprocess.Popen(
            [sys.executable, "-m", "services.devrun"], env=env, stdout=sink, stderr=sink
        )
    try:
        wait_for(
            lambda: run.poll() is not None or READY in output.read_text(),
            timeout_s=60,
            what="make run to be ready",
        )
        text = output.read_text()
        assert run.poll() is None, text
        assert (
            f"something already answers at {own_service} (not the sandbox): using it as Open "
            "Campus, without starting the sandbox"
        ) in text
        assert "starting the Open Campus sandbox" not in text
        assert f"Open Campus: {own_service}" in text
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=30) == 0, output.read_text()
        assert "address already in use" not in output.read_text()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        isolation.drop()
