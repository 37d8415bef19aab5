"""docker-compose.yml and deploy/Dockerfile checked against the code they run.

Nothing here starts a container: the files are parsed, their variables interpolated the way
Compose does, and the result compared with the services, settings and console script of the code.
"""

from __future__ import annotations

import importlib
import re
import shlex
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError

from services.sandbox.app import create_app as create_sandbox_app
from services.sandbox.server import api_keys, listen_address
from services.sandbox.server import parse_args as sandbox_args
from shared import topology
from shared.cli import parser as cli_parser
from shared.config import DEV_OPEN_CAMPUS_API_KEY, is_loopback_host
from shared.probes import CHECK_TIMEOUT_S, READINESS_PATH
from tests.deploy.support import (
    DOCKERFILE,
    DUMMY_SECRET,
    ROOT,
    SERVICES,
    SETTINGS_NAMES,
    code_services,
    dockerfile_instructions,
    exec_form,
    gateway_paths,
    health_paths,
    last_stage,
    production_required,
    pyproject,
    secret_settings,
    settings_from,
)

COMPOSE_FILE = ROOT / "docker-compose.yml"
# The Open Campus sandbox: the same image, under the `dev` profile only.
SANDBOX = "sandbox"

# ---------------------------------------------------------------------------------------------
# Reading the files


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), "docker-compose.yml is not a mapping"
    return loaded


def compose_services() -> dict[str, dict[str, Any]]:
    services = compose()["services"]
    assert isinstance(services, dict)
    return services


def plaudit_services() -> dict[str, dict[str, Any]]:
    """The compose services built from the Plaudit image."""
    return {
        name: service
        for name, service in compose_services().items()
        if isinstance(service.get("build"), dict)
        and service["build"].get("dockerfile") == "deploy/Dockerfile"
    }


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment as raw (not yet interpolated) strings, in either Compose form;
    None marks a variable passed through from the host as it is."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {key: None if value is None else str(value) for key, value in raw.items()}


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>.*))?$")


class MissingVariable(Exception):
    """Compose would refuse to run: a `${VAR:?message}` without a value."""


def interpolate(text: str, host: dict[str, str]) -> str:
    """Compose's variable substitution, for the forms this project uses."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return host.get(match["named"], "")
        parts = _BRACED.match(match["braced"])
        assert parts is not None, f"unsupported interpolation ${{{match['braced']}}}"
        name, op, arg = parts["name"], parts["op"], parts["arg"]
        value = host.get(name)
        if op in (":-", ":?"):
            value = value or None  # the colon forms treat empty like unset
        if value is not None:
            return value
        if op in (":?", "?"):
            raise MissingVariable(f"{name}: {arg}")
        return arg if op in (":-", "-") else ""

    return _VARIABLE.sub(substitute, text)


def resolved_environment(name: str, host: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment after interpolation; the secrets Compose requires get dummies."""
    if host is None:
        host = {"MASTER_SECRET": DUMMY_SECRET, "PLAUDIT_ENCRYPTION_KEY": DUMMY_SECRET}
    service = compose_services()[name]
    resolved = {}
    for key, value in environment(service).items():
        if value is not None:
            resolved[key] = interpolate(value, host)
        elif key in host:  # passed through only when the host has it
            resolved[key] = host[key]
    return resolved


def published(service: dict[str, Any]) -> list[tuple[str | None, int, int]]:
    """(host ip, host port, container port) of each short-syntax port mapping."""
    mappings = []
    for entry in service.get("ports", []):
        *host, container = str(entry).split(":")
        ip = host[0] if len(host) == 2 else None
        host_port = int(host[-1]) if host else int(container)
        mappings.append((ip, host_port, int(container.split("/")[0])))
    return mappings


# ---------------------------------------------------------------------------------------------
# Services and commands


def test_the_interpolation_helper_follows_compose() -> None:
    host = {"SET": "value", "EMPTY": ""}
    assert interpolate("${SET:-d} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d}", host) == "value d d "
    assert interpolate("$$SET $SET ${SET:?m}", host) == "$SET value value"
    with pytest.raises(MissingVariable, match="UNSET: say so"):
        interpolate("${UNSET:?say so}", host)
    with pytest.raises(MissingVariable):
        interpolate("${EMPTY:?say so}", host)


def test_every_service_of_the_code_runs_in_compose() -> None:
    assert set(SERVICES) <= code_services()
    # Every runnable module has a compose service, and every service of the image runs one.
    assert set(plaudit_services()) == code_services()
    for name, service in plaudit_services().items():
        assert service["command"] == ["python", "-m", f"services.{name}"]


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_its_own_module(name: str) -> None:
    service = plaudit_services()[name]
    assert service["command"] == ["python", "-m", f"services.{name}"]
    assert (ROOT / "services" / name / "__main__.py").is_file()
    build = service["build"]
    assert (ROOT / build["context"]).resolve() == ROOT.resolve()
    assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE.resolve()
    assert service.get("restart") == "unless-stopped"


def test_the_image_runs_the_gateway_by_default() -> None:
    commands = [arguments for keyword, arguments in last_stage() if keyword == "CMD"]
    assert commands, "the Dockerfile has no CMD"
    assert exec_form(commands[-1]) == ["python", "-m", "services.gateway"]


# ---------------------------------------------------------------------------------------------
# Environment


@pytest.mark.parametrize("name", [*SERVICES, SANDBOX])
def test_environment_names_only_settings(name: str) -> None:
    unknown = set(environment(plaudit_services()[name])) - SETTINGS_NAMES
    assert not unknown, f"{name}: no setting reads {sorted(unknown)}"


def test_production_requires_what_the_design_says() -> None:
    # Guards the discovery below: were it to find nothing, the next test would prove nothing.
    assert production_required() == {
        "MASTER_SECRET",
        "PLAUDIT_ENCRYPTION_KEY",
        "PUBLIC_URL",
        "OPEN_CAMPUS_BASE_URL",
    }


@pytest.mark.parametrize("name", SERVICES)
def test_every_production_requirement_is_set(name: str) -> None:
    env = resolved_environment(name)
    missing = {key for key in production_required() if not env.get(key)}
    assert not missing, f"{name} lacks {sorted(missing)}"
    assert env["PLAUDIT_ENV"] == "production"


@pytest.mark.parametrize("name", SERVICES)
def test_secrets_come_from_the_host_or_the_service_refuses(name: str) -> None:
    secrets = production_required() & secret_settings()
    assert secrets == {"MASTER_SECRET", "PLAUDIT_ENCRYPTION_KEY"}
    raw = environment(plaudit_services()[name])
    host_values = {key: key.lower() * 2 for key in secrets}
    for key in secrets:
        assert raw[key] is None, f"{key} must pass through from the host, never defaulted"
        others = {other: value for other, value in host_values.items() if other != key}
        for host in (others, {**others, key: ""}):
            with (
                pytest.MonkeyPatch.context() as monkeypatch,
                pytest.raises(ValidationError, match=key),
            ):
                settings_from(resolved_environment(name, host=host), monkeypatch)
    env = resolved_environment(name, host=host_values)
    assert {key: env[key] for key in secrets} == host_values


@pytest.mark.parametrize("name", SERVICES)
def test_settings_validate_from_the_compose_environment(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from(resolved_environment(name), monkeypatch)
    assert settings.is_production
    assert settings.base_url == "http://localhost:8080"
    assert settings.open_campus_base_url == "https://api.vc.staging.opencampus.xyz"
    assert settings.webhook_allow_private is False
    assert settings.development_defaults_in_use() == []
    assert not settings.open_campus_api_key  # unset on the host: empty, hence falsy


def test_host_values_override_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    host = {
        "MASTER_SECRET": DUMMY_SECRET,
        "PLAUDIT_ENCRYPTION_KEY": DUMMY_SECRET,
        "PLAUDIT_ENV": "development",
        "PUBLIC_URL": "https://badges.example.org/",
        "OPEN_CAMPUS_API_KEY": "real-key",
        "WEBHOOK_ALLOW_PRIVATE": "true",
    }
    settings = settings_from(resolved_environment("issuer", host=host), monkeypatch)
    assert not settings.is_production
    assert settings.base_url == "https://badges.example.org"
    assert settings.open_campus_api_key is not None
    assert settings.open_campus_api_key.get_secret_value() == "real-key"
    assert settings.webhook_allow_private is True


def test_the_gateway_listens_beyond_loopback_on_its_published_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = plaudit_services()["gateway"]
    settings = settings_from(resolved_environment("gateway"), monkeypatch)
    assert not is_loopback_host(settings.gateway_host)
    assert settings.gateway_host == "0.0.0.0"
    assert [container for _, _, container in published(gateway)] == [settings.gateway_port]
    exposed = [arguments for keyword, arguments in last_stage() if keyword == "EXPOSE"]
    assert str(settings.gateway_port) in " ".join(exposed).split()


@pytest.mark.parametrize("host", [{}, {"POSTGRES_PASSWORD": "s3cret"}])
def test_database_url_reaches_the_postgres_service(host: dict[str, str]) -> None:
    host = {**host, "MASTER_SECRET": "m", "PLAUDIT_ENCRYPTION_KEY": "k"}
    postgres = compose_services()["postgres"]
    postgres_env = {key: interpolate(value, host) for key, value in environment(postgres).items()}
    for name in SERVICES:
        url = urlsplit(resolved_environment(name, host=host)["DATABASE_URL"])
        assert url.scheme in ("postgresql", "postgres")
        assert url.hostname == "postgres"
        assert url.port in (None, 5432)
        assert url.path == "/" + postgres_env["POSTGRES_DB"]
        assert url.username == postgres_env.get("POSTGRES_USER", "postgres")
        if postgres_env.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
            assert url.password == postgres_env["POSTGRES_PASSWORD"]
    assert postgres["image"].startswith("postgres:")


@pytest.mark.parametrize("host", [{}, {"RABBITMQ_DEFAULT_PASS": "s3cret"}])
def test_amqp_url_reaches_the_rabbitmq_service(host: dict[str, str]) -> None:
    host = {**host, "MASTER_SECRET": "m", "PLAUDIT_ENCRYPTION_KEY": "k"}
    rabbitmq = compose_services()["rabbitmq"]
    rabbitmq_env = {key: interpolate(value, host) for key, value in environment(rabbitmq).items()}
    for name in SERVICES:
        url = urlsplit(resolved_environment(name, host=host)["AMQP_URL"])
        assert url.scheme == "amqp"
        assert url.hostname == "rabbitmq"
        assert url.port in (None, 5672)
        assert url.username == rabbitmq_env.get("RABBITMQ_DEFAULT_USER", "guest")
        assert url.password == rabbitmq_env.get("RABBITMQ_DEFAULT_PASS", "guest")
    assert rabbitmq["image"].startswith("rabbitmq:")


def test_infrastructure_ports_stay_clear_of_local_servers() -> None:
    services = compose_services()
    for name, container_port, host_port in (("postgres", 5432, 55432), ("rabbitmq", 5672, 55672)):
        mappings = {container: (ip, host) for ip, host, container in published(services[name])}
        assert container_port in mappings, f"{name} does not publish {container_port}"
        ip, host = mappings[container_port]
        assert host == host_port
        assert ip == "127.0.0.1"
        assert all(host not in (5432, 5672) for _, host, _ in published(services[name]))


def test_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for name, service in compose_services().items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source}"


# ---------------------------------------------------------------------------------------------
# The Open Campus sandbox


def test_the_sandbox_runs_only_under_the_dev_profile() -> None:
    services = compose_services()
    assert services[SANDBOX]["profiles"] == ["dev"]
    assert services[SANDBOX]["command"] == ["python", "-m", "services.sandbox"]
    assert SANDBOX in plaudit_services(), "the sandbox runs from the Plaudit image"
    # Everything else runs without a profile: `docker compose up` starts all of it but the sandbox.
    assert [name for name, service in services.items() if service.get("profiles")] == [SANDBOX]


def test_nothing_depends_on_the_sandbox() -> None:
    """A dependency would start it with the services (or fail without the `dev` profile)."""
    for name, service in compose_services().items():
        depends_on = service.get("depends_on") or {}
        assert SANDBOX not in depends_on, f"{name} depends on the sandbox"


@pytest.mark.parametrize(
    "host", [{}, {"PLAUDIT_ENV": "development"}, {"OPEN_CAMPUS_API_KEY": "sandbox-api-key"}]
)
@pytest.mark.parametrize("name", SERVICES)
def test_the_services_never_target_the_sandbox_by_default(
    name: str, host: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = {**host, "MASTER_SECRET": DUMMY_SECRET, "PLAUDIT_ENCRYPTION_KEY": DUMMY_SECRET}
    settings = settings_from(resolved_environment(name, host=host), monkeypatch)
    assert settings.open_campus_base_url is not None
    target = urlsplit(settings.open_campus_base_url)
    assert target.scheme == "https"
    assert target.hostname not in (SANDBOX, "0.0.0.0")
    assert not is_loopback_host(target.hostname or "")


def test_the_sandbox_listens_inside_its_container_on_its_published_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox = compose_services()[SANDBOX]
    settings = settings_from(resolved_environment(SANDBOX), monkeypatch)
    assert not settings.is_production, "the sandbox refuses to run in production"
    host, port, base_path = listen_address(settings, sandbox_args([]))
    assert (host, port, base_path) == ("0.0.0.0", 8090, "")
    # Published to the host on loopback only: its admin API has no authentication.
    mappings = published(sandbox)
    assert [container for _, _, container in mappings] == [port]
    assert all(ip == "127.0.0.1" for ip, _, _ in mappings)


@pytest.mark.parametrize(
    ("host", "accepted"),
    [({}, DEV_OPEN_CAMPUS_API_KEY), ({"OPEN_CAMPUS_API_KEY": "a-key-of-ours"}, "a-key-of-ours")],
)
def test_the_sandbox_accepts_the_key_the_services_send(
    host: dict[str, str], accepted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = settings_from(resolved_environment(SANDBOX, host=host), monkeypatch)
    assert api_keys(sandbox, sandbox_args([])) == [accepted]
    # The services under development settings send the same key.
    host = {
        **host,
        "PLAUDIT_ENV": "development",
        "MASTER_SECRET": "m",
        "PLAUDIT_ENCRYPTION_KEY": "k",
    }
    issuer = settings_from(resolved_environment("issuer", host=host), monkeypatch)
    assert issuer.open_campus_api_key is not None
    assert issuer.open_campus_api_key.get_secret_value() == accepted


def test_sandbox_healthcheck_fetches_its_health_route(monkeypatch: pytest.MonkeyPatch) -> None:
    test = compose_services()[SANDBOX]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "<healthcheck>", "exec")
    settings = settings_from(resolved_environment(SANDBOX), monkeypatch)
    _, port, _ = listen_address(settings, sandbox_args([]))
    assert f"http://127.0.0.1:{port}/_sandbox/health" in test[3]
    app = create_sandbox_app([])
    paths = {
        resource.canonical for resource in app.router.resources() if hasattr(resource, "canonical")
    }
    assert "/_sandbox/health" in paths


# ---------------------------------------------------------------------------------------------
# Health and start order


def test_every_service_has_a_healthcheck() -> None:
    for name, service in compose_services().items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable", False)
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert len(check["test"]) > 1, name


@pytest.mark.parametrize("name", SERVICES)
def test_services_wait_for_healthy_infrastructure(name: str) -> None:
    depends_on = plaudit_services()[name]["depends_on"]
    for dependency in ("postgres", "rabbitmq"):
        assert depends_on[dependency]["condition"] == "service_healthy", (name, dependency)
        assert "healthcheck" in compose_services()[dependency]


@pytest.mark.parametrize("name", topology.SERVICES)
def test_backend_healthcheck_asks_the_container_its_readiness(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its own process's /readyz (shared/probes.py), where that process listens: never a
    request through the broker, which any replica of the service might answer."""
    check = plaudit_services()[name]["healthcheck"]
    test = check["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = test[3]
    compile(code, "<healthcheck>", "exec")
    settings = settings_from(resolved_environment(name), monkeypatch)
    assert settings.health_port is not None, f"{name} answers no probes"
    # Asked from inside the container: the default loopback address serves, and no port of the
    # listener is published.
    assert is_loopback_host(settings.health_host)
    assert f"'http://127.0.0.1:{settings.health_port}{READINESS_PATH}'" in code
    assert READINESS_PATH in health_paths()
    assert not published(plaudit_services()[name])
    # The readiness check gives up after CHECK_TIMEOUT_S; urlopen waits a little longer, and
    # Compose longer still.
    timeout = re.search(r"timeout=(\d+(?:\.\d+)?)\)", code)
    assert timeout, code
    assert CHECK_TIMEOUT_S < float(timeout[1]) < float(check["timeout"].rstrip("s"))


def test_the_gateway_has_no_health_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    """It answers /healthz and /readyz on its own port; HEALTH_PORT would only mislead."""
    assert "HEALTH_PORT" not in environment(plaudit_services()["gateway"])
    assert settings_from(resolved_environment("gateway"), monkeypatch).health_port is None


def test_the_cli_still_pings_every_service() -> None:
    """`plaudit ping` is an operator's check of a service (any replica), no longer compose's."""
    for name in SERVICES:
        args = cli_parser().parse_args(["ping", name])  # exits on a name the CLI does not know
        assert args.service == name
    assert "plaudit" in pyproject()["project"]["scripts"]


def test_gateway_healthcheck_fetches_healthz(monkeypatch: pytest.MonkeyPatch) -> None:
    test = plaudit_services()["gateway"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = test[3]
    compile(code, "<healthcheck>", "exec")
    port = settings_from(resolved_environment("gateway"), monkeypatch).gateway_port
    assert f"http://127.0.0.1:{port}/healthz" in code
    assert "/healthz" in gateway_paths()


def test_postgres_and_rabbitmq_healthchecks() -> None:
    services = compose_services()
    postgres = services["postgres"]["healthcheck"]["test"]
    assert "pg_isready" in postgres
    assert services["postgres"]["environment"]["POSTGRES_DB"] in postgres
    assert services["rabbitmq"]["healthcheck"]["test"] == [
        "CMD",
        "rabbitmq-diagnostics",
        "-q",
        "ping",
    ]


# ---------------------------------------------------------------------------------------------
# The image


def test_base_image_matches_requires_python() -> None:
    bases = [arguments for keyword, arguments in last_stage() if keyword == "FROM"]
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim(?:\s+AS\s+\S+)?", bases[0], re.IGNORECASE)
    assert match, f"unexpected base image {bases[0]}"
    lower = re.search(r">=\s*(\d+)\.(\d+)", pyproject()["project"]["requires-python"])
    assert lower
    assert match.groups() == lower.groups()


def test_image_runs_as_non_root() -> None:
    users = [arguments for keyword, arguments in last_stage() if keyword == "USER"]
    assert users, "the image runs as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    keywords = [keyword for keyword, _ in last_stage()]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")


def test_image_installs_the_project_without_dev_dependencies() -> None:
    runs = " && ".join(arguments for keyword, arguments in last_stage() if keyword == "RUN")
    installs = [
        shlex.split(command)
        for command in re.split(r"&&|;", runs)
        if re.search(r"\bpip\b.*\binstall\b", command)
    ]
    assert installs, "nothing is installed with pip"
    targets = [word for words in installs for word in words[words.index("install") + 1 :]]
    assert "." in targets, "the project itself is not installed"
    assert not any("[dev" in word or "dev]" in word for word in targets)
    assert not any(word in ("-e", "--editable") for word in targets)
    assert not any(word.startswith("pytest") or word.startswith("ruff") for word in targets)


def test_image_copies_every_package_of_the_project() -> None:
    copies = [shlex.split(a) for keyword, a in dockerfile_instructions() if keyword == "COPY"]
    sources = {
        source.rstrip("/")
        for words in copies
        for source in words[:-1]
        if not source.startswith("--")
    }
    assert "pyproject.toml" in sources
    for pattern in pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert package in sources, f"{package}/ is not copied into the image"
    for source in sources:
        if not any(char in source for char in "*?["):
            assert (ROOT / source).exists(), f"COPY {source}: no such file"


def test_image_environment() -> None:
    env = " ".join(arguments for keyword, arguments in last_stage() if keyword == "ENV")
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)
    assert not set(re.findall(r"\b([A-Z_]+)=", env)) & SETTINGS_NAMES, "settings belong in compose"


def test_console_script_exists() -> None:
    target = pyproject()["project"]["scripts"]["plaudit"]
    module_name, _, function = target.partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, function))
