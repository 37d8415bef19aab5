"""What the deployment tests (Compose, Kubernetes) check the files against: the code's services,
settings, routes, console script and image, read from the code itself."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from pydantic import SecretStr, ValidationError

from services.gateway.route_table import setup_routes
from shared import probes, topology
from shared.config import Settings

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PYPROJECT = ROOT / "pyproject.toml"

SETTINGS_NAMES = {name.upper() for name in Settings.model_fields}
# The four services of DESIGN.md (Processes): the gateway and those behind the broker.
SERVICES = ("gateway", *topology.SERVICES)
# Values for the secrets production requires, where a test needs some.
DUMMY_SECRET = "a-dummy-value-of-at-least-thirty-two-characters"


def code_services() -> set[str]:
    """Every runnable service of the code: a package under services/ with a __main__.py."""
    return {path.parent.name for path in (ROOT / "services").glob("*/__main__.py")}


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as the container builds them: from exactly this environment and nothing else."""
    for name in SETTINGS_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def production_required() -> set[str]:
    """Settings fields production refuses to start without, found by leaving each one out."""
    complete = {
        "PLAUDIT_ENV": "production",
        "MASTER_SECRET": DUMMY_SECRET,
        "PLAUDIT_ENCRYPTION_KEY": DUMMY_SECRET,
        "PUBLIC_URL": "https://badges.example.org",
        "OPEN_CAMPUS_BASE_URL": "https://api.example.org",
        "OPEN_CAMPUS_API_KEY": "key",
    }
    required = set()
    with pytest.MonkeyPatch.context() as monkeypatch:
        settings_from(complete, monkeypatch)  # complete enough to validate
        for name in SETTINGS_NAMES - {"PLAUDIT_ENV"}:
            if Settings.model_fields[name.lower()].default is not None:
                continue  # a field with a real default cannot be missing
            try:
                settings_from({k: v for k, v in complete.items() if k != name}, monkeypatch)
            except ValidationError:
                required.add(name)
    return required


def secret_settings() -> set[str]:
    """The settings typed as secrets (never logged, never shown)."""
    return {
        name.upper()
        for name, field in Settings.model_fields.items()
        if SecretStr in getattr(field.annotation, "__args__", ())
    }


def gateway_paths() -> set[str]:
    """Every path of the gateway's route table."""
    app = web.Application()
    setup_routes(app)
    return {
        resource.canonical for resource in app.router.resources() if hasattr(resource, "canonical")
    }


def health_paths() -> set[str]:
    """Every path the back ends' health listener serves (shared/probes.py)."""
    app = probes.create_app(probes.Health())
    return {resource.canonical for resource in app.router.resources()}


def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text())


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def last_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


def exec_form(arguments: str) -> list[str]:
    parsed = yaml.safe_load(arguments)  # a JSON array is valid YAML
    assert isinstance(parsed, list), f"not in exec form: {arguments}"
    return [str(item) for item in parsed]


def image_user() -> tuple[int, int | None]:
    """The numeric user (and group) the image runs as: its last USER."""
    users = [arguments for keyword, arguments in last_stage() if keyword == "USER"]
    assert users, "the image runs as root"
    user, _, group = users[-1].partition(":")
    return int(user), int(group) if group else None
