"""deploy/k8s checked against the code it runs, the way test_compose.py checks docker-compose.yml.

Nothing here needs a cluster, Docker or the network: the kustomizations are rendered in Python
(tests/deploy/kustomize.py; where `kubectl` is installed, its own `kustomize` must agree), the
objects are validated against the Kubernetes JSON schemas that the `kubernetes-validate`
package ships, and compared with the services, settings, routes, console script, image and
measurements of the code.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from services.gateway.config import PROBE_TIMEOUT_S, READ_CACHE_BYTES, SHUTDOWN_TIMEOUT_S
from services.issuer.config import IMAGE_CACHE_BYTES
from shared import db, topology
from shared.bus import CONFIRM_TIMEOUT_S, Consumer
from shared.config import Settings, is_loopback_host
from shared.entrypoint import STARTUP_WAIT_S
from shared.probes import CHECK_TIMEOUT_S, LIVENESS_PATH, READINESS_PATH
from tests.deploy.kustomize import UnsupportedKustomization, build, documents
from tests.deploy.support import (
    DUMMY_SECRET,
    ROOT,
    SERVICES,
    SETTINGS_NAMES,
    code_services,
    gateway_paths,
    health_paths,
    image_user,
    last_stage,
    production_required,
    pyproject,
    secret_settings,
    settings_from,
)

K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
INFRA = K8S / "infra"
# The production overlay's secrets come from a file git never holds: its example stands in.
SECRETS_FILE = "secrets.env"
SECRETS_EXAMPLE = PRODUCTION / "secrets.env.example"
SUBSTITUTES = {SECRETS_FILE: SECRETS_EXAMPLE.name}
LAYERS = {"base": BASE, "production": PRODUCTION}
BENCHMARKS = ROOT / "docs" / "benchmarks.md"

# The Secret the operator creates (or the production overlay generates from secrets.env).
APP_SECRET = "plaudit"
# Variables that only build AMQP_URL (`$(RABBITMQ_USERNAME)`), from the RabbitMQ operator's Secret.
BROKER_CREDENTIALS = {"RABBITMQ_USERNAME", "RABBITMQ_PASSWORD"}
# Keys of the Secrets the operators write (cluster-operator internal/resource/
# default_user_secret.go; CloudNativePG's application user secret).
RABBITMQ_DEFAULT_USER_KEYS = {"username", "password", "host", "port", "provider", "type"}
CNPG_APP_SECRET_KEYS = {"username", "password", "host", "port", "dbname", "uri", "jdbc-uri"}
# The kinds that need their operator's CRDs: only in infra/, never in base or an overlay.
OPERATOR_KINDS = {("rabbitmq.com/v1beta1", "RabbitmqCluster"), ("postgresql.cnpg.io/v1", "Cluster")}
# Validated against the oldest Kubernetes the manifests claim (deploy/k8s/README.md) and the
# newest the package knows.
KUBERNETES_VERSIONS = ("1.27", kubernetes_validate.utils.latest_version())
# RSS of one `plaudit` command while it runs (docs/operations.md has operators run them in a
# gateway pod), measured with `/usr/bin/time -f %M .venv/bin/plaudit ping badges`: 62.5 MB three
# runs out of three. An exec probe would cost as much, each time it runs.
CLI_RSS_MB = 63.0
# A limit stays within this multiple of what the process may use: far above it, a leak goes
# unnoticed until the node runs short.
LIMIT_HEADROOM = 2.5
# The back ends' imports, before their event loop answers probes: 0.8-1.3 s measured on the
# loaded two-core machine (`/usr/bin/time python -c "import services.issuer.app"`).
IMPORT_S = 1.3
# The image has no ENTRYPOINT, so a container's `command` is the whole command line.
MI = 1024 * 1024
PROBE_KINDS = ("startupProbe", "livenessProbe", "readinessProbe")
# A probe's fields beside its handler.
PROBE_TIMINGS = {
    "initialDelaySeconds",
    "periodSeconds",
    "timeoutSeconds",
    "failureThreshold",
    "successThreshold",
    "terminationGracePeriodSeconds",
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The schemas ship with the package: nothing here may open a connection."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("test_k8s.py tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# ---------------------------------------------------------------------------------------------
# Reading the manifests


def render(layer: str) -> list[dict[str, Any]]:
    """The objects of a layer (a copy: each test may do as it likes with its own)."""
    return copy.deepcopy(_rendered(layer))


@functools.cache
def _rendered(layer: str) -> list[dict[str, Any]]:
    return build(LAYERS[layer], SUBSTITUTES)


def of_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def deployments(layer: str) -> dict[str, dict[str, Any]]:
    """The Deployments of a layer, by the service they run (their component label)."""
    found = {}
    for deployment in of_kind(render(layer), "Deployment").values():
        component = deployment["spec"]["template"]["metadata"]["labels"][
            "app.kubernetes.io/component"
        ]
        found[component] = deployment
    return found


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels selectors are checked here"
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def config_map(layer: str, deployment: dict[str, Any]) -> dict[str, str]:
    (source,) = container(deployment)["envFrom"]
    data: dict[str, str] = of_kind(render(layer), "ConfigMap")[source["configMapRef"]["name"]][
        "data"
    ]
    return data


def secret_refs(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variable name → its secretKeyRef."""
    return {
        variable["name"]: variable["valueFrom"]["secretKeyRef"]
        for variable in container(deployment)["env"]
        if "secretKeyRef" in variable.get("valueFrom", {})
    }


def secret_keys(layer: str, name: str) -> set[str] | None:
    """The keys of a Secret the layer generates; None for a Secret it expects to exist."""
    for secret in of_kind(render(layer), "Secret").values():
        if secret["metadata"]["name"] == name:
            return set(secret["data"])
    return None


def infra(kind: str) -> dict[str, Any]:
    (found,) = [r for r in build(INFRA) if r["kind"] == kind]
    return found


@functools.cache
def measured_rss_mb() -> dict[str, float]:
    return _measured_rss_mb()


_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def environment(layer: str, name: str) -> dict[str, str]:
    """A container's environment as the kubelet builds it: the ConfigMap (envFrom) first, then
    `env` in order, `$(VAR)` expanded from what is defined before it. Secrets take stand-in
    values: the application Secret's keys a dummy each, the operators' a URL-safe token."""
    deployment = deployments(layer)[name]
    env = dict(config_map(layer, deployment))
    for variable in container(deployment)["env"]:
        if "value" in variable:
            value = _REFERENCE.sub(lambda m: env[m[1]], variable["value"])
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            if ref["key"] == "uri":
                value = "postgresql://plaudit:token@plaudit-db-rw:5432/plaudit"
            elif ref["key"] in documents_env(SECRETS_EXAMPLE):
                value = DUMMY_SECRET if ref["key"] != "OPEN_CAMPUS_API_KEY" else "key"
            else:
                value = f"{ref['key']}-token_x"
        env[variable["name"]] = value
    return env


def python_files(*roots: str, leaving_out: tuple[str, ...] = ()) -> Iterator[Path]:
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not any(relative.startswith(prefix) for prefix in leaving_out):
                yield path


def _measured_rss_mb() -> dict[str, float]:
    """The highest RSS docs/benchmarks.md recorded for each service, in MB: every table under a
    heading about memory or RSS with a row per process (its growth column left out), and every
    column headed by a service's name under `peak RSS`."""
    highest: dict[str, float] = {}

    def note(service: str, cell: str) -> None:
        number = re.search(r"\d+(?:\.\d+)?", cell.replace("**", "").replace(",", ""))
        if service in SERVICES and number:
            highest[service] = max(highest.get(service, 0.0), float(number[0]))

    heading = ""
    lines = BENCHMARKS.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith("#"):
            heading = line.lower()
        if not line.startswith("|") or (index and lines[index - 1].startswith("|")):
            continue  # not the header line of a table
        header = [cell.strip() for cell in line.strip("|").split("|")]
        rows = []
        for row in lines[index + 2 :]:
            if not row.startswith("|"):
                break
            rows.append([cell.strip() for cell in row.strip("|").split("|")])
        if header[0] == "process" and ("rss" in heading or "memory" in heading):
            columns = [i for i, name in enumerate(header) if i and "growth" not in name]
            for row in rows:
                for i in columns:
                    note(row[0], row[i])
        if any("peak RSS" in name for name in header):
            start = next(i for i, name in enumerate(header) if "peak RSS" in name)
            for i in range(start, len(header)):
                service = header[i].replace("peak RSS:", "").strip()
                for row in rows:
                    note(service, row[i])
    return highest


def quantity_bytes(quantity: str) -> float:
    units = {"Ki": 1024, "Mi": MI, "Gi": 1024 * MI, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", str(quantity))
    assert match, quantity
    return float(match[1]) * units.get(match[2], 1)


def cpu_millicores(quantity: str) -> float:
    text = str(quantity)
    return float(text[:-1]) if text.endswith("m") else float(text) * 1000


# ---------------------------------------------------------------------------------------------
# Rendering and schemas


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (its kustomize) not installed")
@pytest.mark.parametrize("layer", ["base", "production", "infra"])
def test_the_python_rendering_is_kustomizes(layer: str, tmp_path: Path) -> None:
    """What the other tests read is what `kubectl apply -k` would apply, to the byte."""
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns(SECRETS_FILE))
    (tree / "overlays" / "production" / SECRETS_FILE).write_text(SECRETS_EXAMPLE.read_text())
    directory = {"base": "base", "production": "overlays/production", "infra": "infra"}[layer]
    printed = subprocess.run(
        ["kubectl", "kustomize", str(tree / directory)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    theirs = [d for d in yaml.safe_load_all(printed) if d]
    ours = build(K8S / directory, SUBSTITUTES)

    def keyed(resources: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
        return {
            (r["kind"], r["metadata"].get("namespace", ""), r["metadata"]["name"]): r
            for r in resources
        }

    assert keyed(ours) == keyed(theirs)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("layer", ["base", "production"])
def test_every_object_is_valid_kubernetes(layer: str, version: str) -> None:
    """Strict schemas: an unknown or misspelt field fails, not only a wrong type."""
    for resource in render(layer):
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            pytest.fail(f"{resource['kind']} {resource['metadata']['name']}: {path}: {error}")


def test_base_and_overlays_need_no_operator() -> None:
    """Their kinds are all built in (a schema exists for each), so they apply on any cluster;
    the operators' kinds live in infra/ and nowhere else."""
    for layer in LAYERS:
        for resource in render(layer):
            assert (resource["apiVersion"], resource["kind"]) not in OPERATOR_KINDS
            kubernetes_validate.validate(resource, KUBERNETES_VERSIONS[0])  # no SchemaNotFound
    infra_kinds = {(r["apiVersion"], r["kind"]) for r in build(INFRA)}
    assert infra_kinds == OPERATOR_KINDS
    assert "infra" not in str(yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text()))


def test_the_renderer_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("commonLabels: {a: b}\n")
    with pytest.raises(UnsupportedKustomization, match="commonLabels"):
        build(tmp_path)


# ---------------------------------------------------------------------------------------------
# Services and commands


@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_service_of_the_code_has_a_deployment(layer: str) -> None:
    assert set(SERVICES) <= code_services()
    # The Open Campus sandbox is for development only: every other service runs, it never does.
    assert set(deployments(layer)) == code_services() - {"sandbox"} == set(SERVICES)
    for deployment in deployments(layer).values():
        assert "services.sandbox" not in container(deployment)["command"]


@pytest.mark.parametrize("name", SERVICES)
def test_each_deployment_runs_its_service_as_compose_does(name: str) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for layer in LAYERS:
        deployment = deployments(layer)[name]
        assert deployment["metadata"]["name"] == f"plaudit-{name}"
        command = container(deployment)["command"]
        assert command == compose[name]["command"] == ["python", "-m", f"services.{name}"]
        assert "args" not in container(deployment)
        assert (ROOT / "services" / name / "__main__.py").is_file()


def test_one_image_runs_everything_and_production_pins_it() -> None:
    base = {container(d)["image"] for d in deployments("base").values()}
    assert base == {"plaudit"}
    production = {container(d)["image"] for d in deployments("production").values()}
    assert len(production) == 1
    (image,) = production
    assert "@sha256:" in image or ":" in image.rsplit("/", 1)[-1], f"{image} is not pinned"
    tag = image.rsplit(":", 1)[-1]
    assert tag not in ("latest", "")
    # The tag is the released version: bumping one without the other fails here.
    assert tag == pyproject()["project"]["version"]


# ---------------------------------------------------------------------------------------------
# Environment and secrets


@pytest.mark.parametrize("layer", list(LAYERS))
def test_environment_names_only_settings(layer: str) -> None:
    for name, deployment in deployments(layer).items():
        names = set(config_map(layer, deployment)) | {
            v["name"] for v in container(deployment)["env"]
        }
        unknown = names - SETTINGS_NAMES - BROKER_CREDENTIALS
        assert not unknown, f"{name}: no setting reads {sorted(unknown)}"
        # The broker's credentials only ever reach a setting through AMQP_URL.
        for variable in container(deployment)["env"]:
            for reference in _REFERENCE.findall(variable.get("value", "")):
                assert reference in BROKER_CREDENTIALS
                assert variable["name"] == "AMQP_URL"


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("name", SERVICES)
def test_settings_validate_from_the_rendered_environment(
    layer: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(layer, name)
    assert env["PLAUDIT_ENV"] == "production"
    missing = {key for key in production_required() if not env.get(key)}
    assert not missing, f"{name} lacks {sorted(missing)}"
    settings = settings_from(env, monkeypatch)
    assert settings.is_production
    assert settings.development_defaults_in_use() == []
    assert settings.webhook_allow_private is False
    assert settings.open_campus_base_url is not None
    target = urlsplit(settings.open_campus_base_url)
    assert target.scheme == "https"
    assert not is_loopback_host(target.hostname or "")


def test_production_uses_production_open_campus_and_a_public_https_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from(environment("production", "gateway"), monkeypatch)
    assert settings.open_campus_base_url is not None
    # docs/open-campus.md gives production's address.
    assert settings.open_campus_base_url in (ROOT / "docs" / "open-campus.md").read_text()
    assert "staging" not in settings.open_campus_base_url
    public = urlsplit(settings.base_url)
    assert public.scheme == "https"
    assert not is_loopback_host(public.hostname or "")


@pytest.mark.parametrize("layer", list(LAYERS))
def test_secrets_come_only_from_secret_objects(layer: str) -> None:
    secrets = secret_settings()
    assert secrets == {"MASTER_SECRET", "PLAUDIT_ENCRYPTION_KEY", "OPEN_CAMPUS_API_KEY"}
    for name, deployment in deployments(layer).items():
        refs = secret_refs(deployment)
        assert not (secrets | {"DATABASE_URL", "AMQP_URL"}) & set(config_map(layer, deployment))
        for key in secrets | {"DATABASE_URL"}:
            assert key in refs, f"{name}: {key} is not from a Secret"
        # What production needs may not be missing; the default Open Campus key may.
        for key in secrets:
            assert refs[key].get("optional", False) == (key not in production_required()), key
        # AMQP_URL names its credentials only as references to Secret-backed variables.
        (amqp,) = [v for v in container(deployment)["env"] if v["name"] == "AMQP_URL"]
        url = urlsplit(amqp["value"])
        for part in (url.username, url.password):
            assert part is not None
            match = _REFERENCE.fullmatch(part)
            assert match, f"{name}: AMQP_URL holds a credential: {part}"
            assert match[1] in refs


@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_secret_key_referenced_exists_where_it_comes_from(layer: str) -> None:
    example = set(documents_env(SECRETS_EXAMPLE))
    rabbitmq = infra("RabbitmqCluster")["metadata"]["name"]
    postgres = infra("Cluster")["metadata"]["name"]
    expected = {
        f"{rabbitmq}-default-user": RABBITMQ_DEFAULT_USER_KEYS,
        f"{postgres}-app": CNPG_APP_SECRET_KEYS,
    }
    used: set[str] = set()
    for deployment in deployments(layer).values():
        for ref in secret_refs(deployment).values():
            name, key = ref["name"], ref["key"]
            generated = secret_keys(layer, name)
            if generated is not None:  # the overlay's secretGenerator, from secrets.env
                assert name.startswith(APP_SECRET + "-")
                assert key in generated
                used.add(key)
            elif name == APP_SECRET:  # the base expects the operator's Secret
                assert key in example, f"{key} is not in {SECRETS_EXAMPLE.name}"
                used.add(key)
            else:
                assert name in expected, f"no operator writes the Secret {name}"
                assert key in expected[name], f"{name} has no key {key}"
    # Every key the example lists is used: no stale secret to fill in.
    assert used == example
    if layer == "production":
        (secret,) = of_kind(render(layer), "Secret").values()
        assert set(secret["data"]) == example


def documents_env(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value
    return pairs


def test_no_real_secret_is_committed() -> None:
    assert all(value == "" for value in documents_env(SECRETS_EXAMPLE).values())
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(PRODUCTION / SECRETS_FILE)], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, f"git does not ignore {PRODUCTION / SECRETS_FILE}"
    for path in K8S.rglob("*.yaml"):
        for resource in documents(path):
            assert resource.get("kind") != "Secret", f"{path} holds a Secret"


@pytest.mark.parametrize("layer", list(LAYERS))
def test_amqp_url_reaches_the_rabbitmq_cluster(layer: str) -> None:
    cluster = infra("RabbitmqCluster")
    for name in SERVICES:
        url = urlsplit(environment(layer, name)["AMQP_URL"])
        assert url.scheme == "amqp"
        # The operator's client Service has the cluster's name.
        assert url.hostname == cluster["metadata"]["name"]
        assert url.port in (None, 5672)
        assert url.path == "/", "vhost /"


def test_the_database_is_the_one_the_services_migrate() -> None:
    cluster = infra("Cluster")
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    assert initdb["database"]
    assert initdb["owner"]
    # Synchronous replication: a failover never loses a transaction whose reply has left.
    synchronous = cluster["spec"]["postgresql"]["synchronous"]
    assert synchronous["number"] >= 1
    assert synchronous.get("dataDurability", "required") == "required"
    assert cluster["spec"]["instances"] >= synchronous["number"] + 1


def test_infrastructure_versions_follow_compose() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert infra("RabbitmqCluster")["spec"]["image"] == compose["rabbitmq"]["image"]
    postgres_major = compose["postgres"]["image"].split(":")[1].split(".")[0]
    assert infra("Cluster")["spec"]["imageName"].rsplit(":", 1)[1].split(".")[0] == postgres_major
    # A quorum queue needs a majority of its replicas: an odd count of nodes.
    assert infra("RabbitmqCluster")["spec"]["replicas"] % 2 == 1


def test_postgres_has_connections_for_every_pool() -> None:
    """Each back-end process opens at most POOL_SIZE connections (the gateway none); with one
    surge pod per service in a rollout."""
    processes = 0
    for name in topology.SERVICES:
        deployment = deployments("production")[name]
        surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        processes += deployment["spec"]["replicas"] + surge
    needed = processes * db.POOL_SIZE
    max_connections = int(infra("Cluster")["spec"]["postgresql"]["parameters"]["max_connections"])
    assert max_connections >= needed + 10  # room for the superuser and an operator's psql


def test_the_gateway_listens_on_its_container_port(monkeypatch: pytest.MonkeyPatch) -> None:
    for layer in LAYERS:
        settings = settings_from(environment(layer, "gateway"), monkeypatch)
        assert settings.gateway_host == "0.0.0.0"
        (port,) = container(deployments(layer)["gateway"])["ports"]
        assert port["containerPort"] == settings.gateway_port
        (service,) = of_kind(render(layer), "Service").values()
        (service_port,) = service["spec"]["ports"]
        assert service_port["targetPort"] in (port["name"], port["containerPort"])
    exposed = " ".join(arguments for keyword, arguments in last_stage() if keyword == "EXPOSE")
    assert str(settings.gateway_port) in exposed.split()


# ---------------------------------------------------------------------------------------------
# Probes


def test_gateway_probes_fetch_real_routes() -> None:
    paths = gateway_paths()
    for layer in LAYERS:
        gateway = container(deployments(layer)["gateway"])
        probes = {
            kind: gateway[kind]["httpGet"]
            for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        }
        assert probes["livenessProbe"]["path"] == "/healthz"
        assert probes["startupProbe"]["path"] == "/healthz"
        assert probes["readinessProbe"]["path"] == "/readyz"
        port_names = {port["name"] for port in gateway["ports"]}
        for probe in probes.values():
            assert probe["path"] in paths
            assert probe["port"] in port_names
        # /readyz waits up to PROBE_TIMEOUT_S for the services' answers.
        assert gateway["readinessProbe"]["timeoutSeconds"] > PROBE_TIMEOUT_S


def test_the_gateway_survives_its_wait_for_the_broker() -> None:
    """It listens only once RabbitMQ answers, after up to STARTUP_WAIT_S: the startup probe
    must allow that long before the liveness probe may restart it."""
    for layer in LAYERS:
        probe = container(deployments(layer)["gateway"])["startupProbe"]
        budget = (
            probe.get("initialDelaySeconds", 0) + probe["periodSeconds"] * probe["failureThreshold"]
        )
        assert budget > STARTUP_WAIT_S


@pytest.mark.parametrize("name", topology.SERVICES)
def test_back_ends_are_probed_on_their_own_health_listener(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Liveness and readiness of each pod, from the process itself (shared/probes.py): the
    listener's real routes, on the port the process listens on, where the kubelet reaches it."""
    paths = health_paths()
    for layer in LAYERS:
        backend = container(deployments(layer)[name])
        settings = settings_from(environment(layer, name), monkeypatch)
        assert settings.health_port is not None, f"{name} answers no probes"
        # The kubelet probes the pod's address, not its loopback.
        assert settings.health_host == "0.0.0.0"
        ports = {port["name"]: port["containerPort"] for port in backend["ports"]}
        probes = {kind: backend[kind] for kind in ("livenessProbe", "readinessProbe")}
        assert probes["livenessProbe"]["httpGet"]["path"] == LIVENESS_PATH
        assert probes["readinessProbe"]["httpGet"]["path"] == READINESS_PATH
        for probe in probes.values():
            assert set(probe) - {"httpGet"} <= PROBE_TIMINGS, "exec probes cost a process each"
            assert probe["httpGet"]["path"] in paths
            assert ports[probe["httpGet"]["port"]] == settings.health_port
        # The two checks of /readyz run together, each for at most CHECK_TIMEOUT_S.
        assert probes["readinessProbe"]["timeoutSeconds"] > CHECK_TIMEOUT_S
        # No startup probe: the listener answers from before the waits for Postgres and
        # RabbitMQ (tests/e2e/test_probes.py), so only the imports come before it, and the
        # liveness probe's failures leave them ample time.
        assert "startupProbe" not in backend
        liveness = probes["livenessProbe"]
        budget = liveness.get("initialDelaySeconds", 0) + liveness["periodSeconds"] * (
            liveness["failureThreshold"] - 1
        )
        assert budget >= 10 * IMPORT_S


@pytest.mark.parametrize("layer", list(LAYERS))
def test_only_the_back_ends_have_a_health_listener(
    layer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway answers /healthz and /readyz on its own port: a HEALTH_PORT would only
    mislead. No probe of any container runs a command."""
    settings = settings_from(environment(layer, "gateway"), monkeypatch)
    assert settings.health_port is None
    for name, deployment in deployments(layer).items():
        for kind in PROBE_KINDS:
            assert "exec" not in container(deployment).get(kind, {}), (name, kind)


# ---------------------------------------------------------------------------------------------
# Resources


def test_the_benchmarks_give_every_service_an_rss() -> None:
    measured = measured_rss_mb()
    assert set(measured) == set(SERVICES)
    assert all(50 < rss < 1000 for rss in measured.values()), measured


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("name", SERVICES)
def test_memory_covers_what_was_measured(layer: str, name: str) -> None:
    """The request holds the highest RSS docs/benchmarks.md recorded; the limit holds that, the
    in-process caches at their bound, and any `plaudit` command run beside the service: an exec
    probe's, or an operator's in a gateway pod (docs/operations.md); without more than
    LIMIT_HEADROOM times that."""
    deployment = deployments(layer)[name]
    resources = container(deployment)["resources"]
    measured = measured_rss_mb()[name] * 1e6
    assert quantity_bytes(resources["requests"]["memory"]) >= measured
    needed = measured + {"gateway": READ_CACHE_BYTES, "issuer": IMAGE_CACHE_BYTES}.get(name, 0)
    probes = [container(deployment).get(kind, {}) for kind in PROBE_KINDS]
    if name == "gateway" or any("exec" in probe for probe in probes):
        needed += CLI_RSS_MB * 1e6
    limit = quantity_bytes(resources["limits"]["memory"])
    assert needed <= limit <= needed * LIMIT_HEADROOM
    assert limit >= quantity_bytes(resources["requests"]["memory"])


@pytest.mark.parametrize("layer", list(LAYERS))
def test_cpu_is_requested_and_bounded(layer: str) -> None:
    for name, deployment in deployments(layer).items():
        resources = container(deployment)["resources"]
        request = cpu_millicores(resources["requests"]["cpu"])
        limit = cpu_millicores(resources["limits"]["cpu"])
        assert 0 < request <= limit, name
        # One event loop per process: it never uses more than a core, so a lower limit would
        # only throttle it.
        assert limit >= 1000, name


# ---------------------------------------------------------------------------------------------
# Security


@pytest.mark.parametrize("layer", list(LAYERS))
def test_pods_run_as_the_image_user_with_nothing_more(layer: str) -> None:
    user, group = image_user()
    for name, deployment in deployments(layer).items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == user
        assert pod["securityContext"]["runAsGroup"] == group
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert pod["enableServiceLinks"] is False, f"{name}: service links reach Settings"
        context = container(deployment)["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["readOnlyRootFilesystem"] is True
        assert "privileged" not in context


# Writing calls: a path method, the `open` builtin or method in a writing mode, tempfile.
_WRITING_METHODS = {"write_text", "write_bytes", "mkdir", "touch", "mkdtemp", "mkstemp"}
_WRITING_MODULES = {"tempfile", "shutil"}


def _writes(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            if any(module.split(".")[0] in _WRITING_MODULES for module in modules):
                lines.append(node.lineno)
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        called = (
            function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        )
        if called in _WRITING_METHODS:
            lines.append(node.lineno)
        if called == "open":
            keyword = [k.value for k in node.keywords if k.arg == "mode"]
            if isinstance(function, ast.Attribute):
                # Path.open(mode); other objects' open (PIL's Image.open(buffer)) take no mode.
                positional = [a for a in node.args[:1] if isinstance(a, ast.Constant)]
            else:
                positional = node.args[1:2]
            for mode in [*positional, *keyword]:
                if not isinstance(mode, ast.Constant) or set(str(mode.value)) & set("wax+"):
                    lines.append(node.lineno)
    return lines


def test_the_services_write_nothing_to_disk() -> None:
    """What makes readOnlyRootFilesystem safe. Left out: the sandbox (never deployed), the dev
    runner, and `plaudit import`, which writes its results file on an operator's machine."""
    offending = []
    for path in python_files(
        "services",
        "shared",
        leaving_out=("services/sandbox/", "services/devrun.py", "shared/cli_import.py"),
    ):
        for line in _writes(ast.parse(path.read_text())):
            offending.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offending, "writes to disk: " + ", ".join(offending)
    # Python itself writes no bytecode in the image.
    env = " ".join(arguments for keyword, arguments in last_stage() if keyword == "ENV")
    assert re.search(r"\bPYTHONDONTWRITEBYTECODE=1\b", env)


def test_the_disk_check_finds_writes() -> None:
    found = _writes(
        ast.parse(
            "import tempfile\n"
            "open('x', 'w')\n"
            "open('x')\n"
            "path.open('ab')\n"
            "path.open()\n"
            "path.write_text('x')\n"
            "open('x', mode=m)\n"
            "Image.open(io.BytesIO(data))\n"
            "open('x', m)\n"
        )
    )
    assert found == [1, 2, 4, 6, 7, 9]


# ---------------------------------------------------------------------------------------------
# Disruptions, scaling, stopping


@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_deployment_has_a_disruption_budget_of_its_own(layer: str) -> None:
    budgets = of_kind(render(layer), "PodDisruptionBudget")
    for name, deployment in deployments(layer).items():
        mine = [
            b for b in budgets.values() if selects(b["spec"]["selector"], pod_labels(deployment))
        ]
        assert len(mine) == 1, f"{name}: {len(mine)} disruption budgets"
        (budget,) = mine
        assert budget["spec"]["selector"] == deployment["spec"]["selector"]
        # Never blocks a drain, whatever the replica count: one pod may always go.
        assert budget["spec"].get("maxUnavailable", 0) >= 1
        assert "minAvailable" not in budget["spec"]
        assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert len(budgets) == len(deployments(layer))


@pytest.mark.parametrize("layer", list(LAYERS))
def test_selectors_select_their_own_pods_only(layer: str) -> None:
    for name, deployment in deployments(layer).items():
        selector = deployment["spec"]["selector"]
        for other, other_deployment in deployments(layer).items():
            assert selects(selector, pod_labels(other_deployment)) == (other == name)
        for constraint in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]:
            assert constraint["labelSelector"] == selector
    (service,) = of_kind(render(layer), "Service").values()
    selected = [
        name
        for name, d in deployments(layer).items()
        if selects({"matchLabels": service["spec"]["selector"]}, pod_labels(d))
    ]
    assert selected == ["gateway"]


@pytest.mark.parametrize("layer", list(LAYERS))
def test_the_gateway_scales_on_cpu(layer: str) -> None:
    (autoscaler,) = of_kind(render(layer), "HorizontalPodAutoscaler").values()
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    target = autoscaler["spec"]["scaleTargetRef"]
    gateway = deployments(layer)["gateway"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        gateway["apiVersion"],
        "Deployment",
        gateway["metadata"]["name"],
    )
    (metric,) = autoscaler["spec"]["metrics"]
    assert metric["type"] == "Resource"
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    # Utilisation is a share of the request, which must exist.
    assert container(gateway)["resources"]["requests"]["cpu"]
    # The autoscaler owns the count: a `replicas` in the Deployment would reset it at each apply.
    assert "replicas" not in gateway["spec"]
    assert 1 <= autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]


def test_production_runs_every_service_at_least_twice() -> None:
    (autoscaler,) = of_kind(render("production"), "HorizontalPodAutoscaler").values()
    scaled = autoscaler["spec"]["scaleTargetRef"]["name"]
    for name, deployment in deployments("production").items():
        if deployment["metadata"]["name"] == scaled:
            assert autoscaler["spec"]["minReplicas"] >= 2, name
        else:
            assert deployment["spec"]["replicas"] >= 2, name


@pytest.mark.parametrize("layer", list(LAYERS))
def test_rollouts_keep_every_service_running(layer: str) -> None:
    for name, deployment in deployments(layer).items():
        update = deployment["spec"]["strategy"]["rollingUpdate"]
        assert update["maxUnavailable"] == 0, name
        assert update["maxSurge"] >= 1, name


def _sleep_s(command: list[str]) -> float:
    """Seconds a preStop command sleeps: `sleep N`, or Python's time.sleep(N)."""
    if command[0] == "sleep":
        return float(command[1])
    assert command[:2] == ["python", "-c"], command
    compile(command[2], "<preStop>", "exec")
    match = re.fullmatch(r"import time; time\.sleep\((\d+(?:\.\d+)?)\)", command[2])
    assert match, command
    return float(match[1])


@pytest.mark.parametrize("layer", list(LAYERS))
def test_grace_periods_cover_the_graceful_stop(layer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer_wait = inspect.signature(Consumer.stop).parameters["timeout_s"].default
    for name, deployment in deployments(layer).items():
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        settings: Settings = settings_from(environment(layer, name), monkeypatch)
        if name == "gateway":
            pause = _sleep_s(container(deployment)["lifecycle"]["preStop"]["exec"]["command"])
            # The pause, the requests in flight, then the app's cleanup.
            assert grace >= pause + SHUTDOWN_TIMEOUT_S + 5
            continue
        assert "lifecycle" not in container(deployment)
        # Messages in hand: each consumer waits this long at most.
        assert grace >= consumer_wait, name
        calls = {
            "issuer": settings.open_campus_timeout_s,
            "webhooks": settings.webhook_timeout_s,
        }.get(name, 0.0)
        # Calls in flight end within their timeout; then the outbox's confirms.
        assert grace >= calls + CONFIRM_TIMEOUT_S + 5, name


# ---------------------------------------------------------------------------------------------
# Documentation


def test_the_operators_find_their_way() -> None:
    readme = (K8S / "README.md").read_text()
    for key in documents_env(SECRETS_EXAMPLE):
        assert key in readme, f"deploy/k8s/README.md does not mention {key}"
    assert "docs/operations.md" in readme
    assert "(docs/operations.md)" in (ROOT / "README.md").read_text()
    operations = (ROOT / "docs" / "operations.md").read_text()
    for queue in topology.durable_queues():
        assert f"`{queue}`" in operations, f"docs/operations.md does not name {queue}"
    for path in (BASE, PRODUCTION, INFRA):
        assert path.relative_to(K8S).as_posix() in readme
