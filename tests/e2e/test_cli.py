"""The `plaudit` command, installed with the package, against the running stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.test_systems_api import new_slug
from tests.support.factories import badge_body
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

PLAUDIT = os.path.join(os.path.dirname(sys.executable), "plaudit")


def plaudit(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MASTER_SECRET": stack.settings.master_secret_value,
        "AMQP_URL": stack.isolation.amqp_url,
    }
    return subprocess.run(
        [PLAUDIT, "--url", stack.base_url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_call_prints_the_json_answer(stack: Stack) -> None:
    slug = new_slug()
    body = json.dumps({"slug": slug, "name": "From the CLI", "url": "https://cli.example.org"})
    done = plaudit(stack, "call", "POST", "/systems", body)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "created"
    assert answer["system"]["slug"] == slug
    got = plaudit(stack, "call", "GET", f"/systems/{slug}")
    assert json.loads(got.stdout)["system"]["name"] == "From the CLI"


def test_call_exits_non_zero_on_an_error_answer(stack: Stack) -> None:
    done = plaudit(stack, "call", "GET", "/systems/no-such-system")
    assert done.returncode == 1
    assert json.loads(done.stdout)["code"] == "ResourceNotFound"


def test_a_bad_body_is_refused_before_sending(stack: Stack) -> None:
    done = plaudit(stack, "call", "POST", "/systems", "{not json")
    assert done.returncode != 0
    assert "not valid JSON" in done.stderr


def test_token_signs_a_request_another_client_sends(stack: Stack) -> None:
    done = plaudit(stack, "token", "GET", "/systems?page=1&count=1")
    assert done.returncode == 0
    token = done.stdout.strip()
    request = urllib.request.Request(
        f"{stack.base_url}/systems?page=1&count=1",
        headers={"Authorization": f'JWT token="{token}"'},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["pageData"]["count"] == 1


def test_create_system_and_consumer_then_use_the_key(stack: Stack) -> None:
    slug = new_slug()
    system = plaudit(
        stack, "create-system", slug, "--name", "CLI", "--system-url", "https://c.example.org"
    )
    assert system.returncode == 0, system.stdout + system.stderr
    made = plaudit(stack, "create-consumer", slug, "--description", "site")
    assert made.returncode == 0
    consumer = json.loads(made.stdout)["consumer"]
    as_consumer = subprocess.run(
        [
            PLAUDIT,
            "--url",
            stack.base_url,
            # `=`: a secret may begin with "-", which argparse would take for an option.
            f"--key={consumer['apiKey']}",
            f"--secret={consumer['apiSecret']}",
            "call",
            "GET",
            f"/systems/{slug}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert as_consumer.returncode == 0, as_consumer.stdout
    assert json.loads(as_consumer.stdout)["system"]["slug"] == slug


@pytest.mark.parametrize("service", ["gateway", "badges", "issuer", "webhooks"])
def test_ping(stack: Stack, service: str) -> None:
    done = plaudit(stack, "ping", service)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == f"{service}: ok"


def test_unreachable_gateway_says_what_to_do(stack: Stack) -> None:
    done = subprocess.run(
        [PLAUDIT, "--url", "http://127.0.0.1:9", "call", "GET", "/systems"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "cannot reach the gateway" in done.stderr


def _system_and_badge(stack: Stack) -> str:
    """A new system and badge made through the CLI; the badge's path."""
    slug = new_slug()
    body = json.dumps({"slug": slug, "name": "Imports", "url": "https://cli.example.org"})
    assert plaudit(stack, "call", "POST", "/systems", body).returncode == 0
    badge = json.dumps(badge_body(slug="reader"))
    made = plaudit(stack, "call", "POST", f"/systems/{slug}/badges", badge)
    assert made.returncode == 0, made.stdout
    return f"/systems/{slug}/badges/reader"


def test_import_follows_the_job_and_writes_the_results(stack: Stack, tmp_path: Path) -> None:
    badge = _system_and_badge(stack)
    file = tmp_path / "awards.csv"
    file.write_text("email,name\nada@example.org,Ada\nbob@example.org,Bob\nnot-an-email,X\n")
    results = tmp_path / "results.csv"

    done = plaudit(stack, "import", str(file), "--badge", badge, "--results", str(results))

    assert done.returncode == 0, done.stderr
    assert "2 awarded, 0 skipped, 1 failed of 3 rows" in done.stdout
    assert f"results: {results.resolve()}" in done.stdout
    assert "100% 3/3 rows" in done.stderr
    lines = results.read_text().splitlines()
    assert lines[0] == "row,email,outcome,slug,assertionUrl,openBadgeCredentialUrl,error"
    assert [line.split(",")[2] for line in lines[1:]] == ["awarded", "awarded", "failed"]


def test_import_dry_run_prints_the_problems_as_a_table(stack: Stack, tmp_path: Path) -> None:
    badge = _system_and_badge(stack)
    file = tmp_path / "awards.csv"
    file.write_text("email;issuedOn\nada@example.org;2024-05-01\nnope;2024-05-01T10:00\n")

    done = plaudit(stack, "import", str(file), "--badge", badge, "--dry-run")

    assert done.returncode == 1
    header, *rows = [line.split() for line in done.stdout.splitlines()[:3]]
    assert header == ["row", "column", "value", "message"]
    assert sorted(row[:2] for row in rows) == [["2", "email"], ["2", "issuedOn"]]
    assert "dry run: 2 rows, 1 with problems; nothing was awarded" in done.stdout
    listed = plaudit(stack, "call", "GET", f"{badge.rsplit('/badges', 1)[0]}/imports")
    assert [job["state"] for job in json.loads(listed.stdout)["imports"]] == ["validated"]
