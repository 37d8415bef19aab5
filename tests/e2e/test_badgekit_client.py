"""Mozilla's Python client, `badgekit-api-client` 0.5.1 from PyPI, unmodified, drives Plaudit
for everything it supports (ping, version, list, get, create), signing with requests-jwt and
sending form bodies. It runs in a virtualenv of its own: it needs PyJWT < 2 and requests-jwt 0.4
(0.6 crashes on every GET), which the project's own environment must not have."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

Results = dict[str, dict[str, Any]]
ROOT = Path(__file__).parents[2]
CLIENT_PACKAGES = ("badgekit-api-client==0.5.1", "requests-jwt==0.4", "PyJWT==1.7.1")
VENV = ROOT / ".cache" / ("badgekit-client-" + "-".join(p.split("==")[1] for p in CLIENT_PACKAGES))
SCRIPT = ROOT / "tests" / "compat" / "badgekit_client_script.py"


@pytest.fixture(scope="session")
def client_python() -> Path:
    python = VENV / "bin" / "python"
    if not (VENV / ".complete").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *CLIENT_PACKAGES,
            ],
            check=True,
            timeout=600,
        )
        (VENV / ".complete").touch()
    return python


@pytest.fixture(scope="module")
def results(client_python: Path, stack: Stack) -> Results:
    done = subprocess.run(
        [
            str(client_python),
            str(SCRIPT),
            stack.base_url,
            stack.settings.master_secret_value,
            uuid.uuid4().hex[:8],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    parsed: Results = json.loads(done.stdout)
    return parsed


def ok(results: Results, name: str) -> Any:
    assert "ok" in results[name], results[name]
    return results[name]["ok"]


def test_ping_and_version(results: Results) -> None:
    assert results["ping"] == {"ok": True}
    assert isinstance(results["version"]["ok"], str)


def test_creates_through_form_bodies(results: Results) -> None:
    assert ok(results, "create_system")["status"] == "created"
    assert ok(results, "create_issuer")["status"] == "created"
    assert ok(results, "create_program")["status"] == "created"
    badge = ok(results, "create_badge")["badge"]
    assert badge["unique"] == 1
    assert [tag["value"] for tag in badge["tags"]] == ["one", "two"]


def test_errors_map_to_the_clients_exceptions(results: Results) -> None:
    assert results["create_duplicate_system"]["error"] == "ResourceConflict"
    invalid = results["create_invalid_system"]
    assert invalid["error"] == "ValidationError"
    assert {d["field"] for d in invalid["info"]["details"]} == {"name", "url"}
    assert results["get_missing_badge"]["error"] == "ResourceNotFound"


def test_lists_and_gets(results: Results) -> None:
    system = ok(results, "get_system")["system"]
    assert [i["slug"] for i in system["issuers"]] == [
        ok(results, "create_issuer")["issuer"]["slug"]
    ]
    assert any(s["slug"] == system["slug"] for s in ok(results, "list_systems")["systems"])
    assert len(ok(results, "list_issuers")["issuers"]) == 1
    assert ok(results, "get_program")["program"]["slug"].startswith("bk-prog-")
    assert len(ok(results, "list_badges")["badges"]) == 1
    assert ok(results, "list_archived_badges")["badges"] == []
    assert ok(results, "get_badge")["badge"]["name"] == "Client badge"


def test_awards(results: Results) -> None:
    assert ok(results, "award")["status"] == "created"
    assert len(ok(results, "list_instances")["instances"]) == 1
