"""A small `kustomize build` in Python, for what deploy/k8s uses and nothing more.

kustomize may be missing where the tests run, so the deployment tests render the kustomizations
with this; where `kubectl` is installed, test_k8s.py checks that both render the same objects.
Supported fields: `resources` (files and directories), `namespace`, `images`, `replicas`,
`patches` (strategic merge, by path), `configMapGenerator` and `secretGenerator` (literals and
env files; behaviours create and merge). Anything else in a kustomization is refused, so a new
field cannot be ignored silently. Generated names get kustomize's own hash suffix.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION = "kustomization.yaml"
SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "images",
    "replicas",
    "patches",
    "configMapGenerator",
    "secretGenerator",
}
# Kinds without a namespace, among those the manifests may hold.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
# Strategic merge: lists of objects merged by this key (their OpenAPI patchMergeKey); any other
# list is replaced whole.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
}


class UnsupportedKustomization(Exception):
    """The kustomization uses something this renderer does not do."""


@dataclass
class _Layer:
    resources: list[dict[str, Any]] = field(default_factory=list)
    # Generated ConfigMaps and Secrets, by (kind, name before the hash suffix).
    generated: set[tuple[str, str]] = field(default_factory=set)


def build(directory: Path, substitutes: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The objects `kustomize build directory` prints. `substitutes` names files to read in place
    of others (`{"secrets.env": "secrets.env.example"}`), for generators whose input is not
    committed."""
    layer = _assemble(directory, dict(substitutes or {}))
    renamed = {}
    for resource in layer.resources:
        key = (resource["kind"], resource["metadata"]["name"])
        if key in layer.generated:
            suffixed = f"{key[1]}-{_hash(resource)}"
            renamed[key] = suffixed
            resource["metadata"]["name"] = suffixed
    for resource in layer.resources:
        for pod in _pod_specs(resource):
            _rename_references(pod, renamed)
    return layer.resources


def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def _assemble(directory: Path, substitutes: dict[str, str]) -> _Layer:
    kustomization = yaml.safe_load((directory / KUSTOMIZATION).read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise UnsupportedKustomization(f"{directory}: {sorted(unknown)}")
    layer = _Layer()
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            inner = _assemble(path, substitutes)
            layer.resources += inner.resources
            layer.generated |= inner.generated
        else:
            layer.resources += documents(path)
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in kustomization.get(key, []):
            _generate(layer, directory, kind, generator, substitutes)
    for entry in kustomization.get("patches", []):
        if set(entry) != {"path"}:
            raise UnsupportedKustomization(f"{directory}: a patch other than by path: {entry}")
        for patch in documents(directory / entry["path"]):
            _apply_patch(layer.resources, patch)
    for entry in kustomization.get("replicas", []):
        (target,) = [
            r
            for r in layer.resources
            if r["kind"] == "Deployment" and r["metadata"]["name"] == entry["name"]
        ]
        target["spec"]["replicas"] = entry["count"]
    for entry in kustomization.get("images", []):
        for resource in layer.resources:
            for pod in _pod_specs(resource):
                for container in pod.get("containers", []) + pod.get("initContainers", []):
                    container["image"] = _new_image(container["image"], entry)
    if "namespace" in kustomization:
        for resource in layer.resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = kustomization["namespace"]
    return layer


def _generate(
    layer: _Layer,
    directory: Path,
    kind: str,
    generator: dict[str, Any],
    substitutes: dict[str, str],
) -> None:
    unknown = set(generator) - {"name", "literals", "envs", "behavior", "type"}
    if unknown:
        raise UnsupportedKustomization(f"{directory}: generator fields {sorted(unknown)}")
    data: dict[str, str] = {}
    for literal in generator.get("literals", []):
        name, _, value = literal.partition("=")
        data[name] = value
    for env_file in generator.get("envs", []):
        data.update(_env_file(directory / substitutes.get(env_file, env_file)))
    if kind == "Secret":
        data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    name = generator["name"]
    behavior = generator.get("behavior", "create")
    existing = [r for r in layer.resources if (r["kind"], r["metadata"]["name"]) == (kind, name)]
    if behavior == "merge":
        (target,) = existing
        target["data"] = {**target.get("data", {}), **data}
        return
    if behavior != "create" or existing:
        raise UnsupportedKustomization(f"{directory}: {behavior} of {kind} {name}")
    resource: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    resource["data"] = data
    if kind == "Secret":
        resource["type"] = generator.get("type", "Opaque")
    layer.resources.append(resource)
    layer.generated.add((kind, name))


def _env_file(path: Path) -> dict[str, str]:
    """kustomize's env file: KEY=VALUE lines; blank lines and # comments skipped."""
    data = {}
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition("=")
        if not sep:
            raise UnsupportedKustomization(f"{path}: {line!r} is not KEY=VALUE")
        data[name] = value
    return data


def _hash(resource: dict[str, Any]) -> str:
    """kustomize's name suffix (api/hasher): the first ten hex digits of a SHA-256 of the object
    as Go's encoding/json writes it, with 0, 1, 3, a and e replaced. kustomize looks the name up
    under a path that does not exist, so it hashes an empty name; the hash follows the data."""
    if resource["kind"] == "ConfigMap":
        encoded: dict[str, Any] = {"kind": "ConfigMap", "name": "", "data": resource["data"]}
    else:
        encoded = {
            "kind": "Secret",
            "type": resource["type"],
            "name": "",
            "data": resource["data"],
        }
    text = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _pod_specs(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if resource["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        yield resource["spec"]["template"]["spec"]


def _rename_references(pod: dict[str, Any], renamed: dict[tuple[str, str], str]) -> None:
    def new(kind: str, name: str) -> str:
        return renamed.get((kind, name), name)

    for container in pod.get("containers", []) + pod.get("initContainers", []):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                source["configMapRef"]["name"] = new("ConfigMap", source["configMapRef"]["name"])
            if "secretRef" in source:
                source["secretRef"]["name"] = new("Secret", source["secretRef"]["name"])
        for variable in container.get("env", []):
            value_from = variable.get("valueFrom", {})
            if "configMapKeyRef" in value_from:
                ref = value_from["configMapKeyRef"]
                ref["name"] = new("ConfigMap", ref["name"])
            if "secretKeyRef" in value_from:
                ref = value_from["secretKeyRef"]
                ref["name"] = new("Secret", ref["name"])
    for volume in pod.get("volumes", []):
        if "configMap" in volume:
            volume["configMap"]["name"] = new("ConfigMap", volume["configMap"]["name"])
        if "secret" in volume:
            volume["secret"]["secretName"] = new("Secret", volume["secret"]["secretName"])


def _new_image(image: str, entry: dict[str, Any]) -> str:
    name, tag = _split_image(image)
    if name != entry["name"]:
        return image
    unknown = set(entry) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise UnsupportedKustomization(f"images: {sorted(unknown)}")
    name = entry.get("newName", name)
    if "digest" in entry:
        return f"{name}@{entry['digest']}"
    tag = entry.get("newTag", tag)
    return f"{name}:{tag}" if tag else name


def _split_image(image: str) -> tuple[str, str | None]:
    """(name, tag) of an image reference; a registry's port is not a tag."""
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, None
    return name, tag


def _apply_patch(resources: list[dict[str, Any]], patch: dict[str, Any]) -> None:
    targets = [
        r
        for r in resources
        if r["kind"] == patch["kind"] and r["metadata"]["name"] == patch["metadata"]["name"]
    ]
    if len(targets) != 1:
        raise UnsupportedKustomization(
            f"patch of {patch['kind']} {patch['metadata']['name']}: {len(targets)} targets"
        )
    merged = _merge(targets[0], patch)
    targets[0].clear()
    targets[0].update(merged)


def _merge(target: Any, patch: Any, field_name: str = "") -> Any:
    """A strategic merge: maps merged key by key (null deletes), keyed lists merged by key."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(target)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = _merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    key = MERGE_KEYS.get(field_name)
    if key and isinstance(target, list) and isinstance(patch, list):
        merged_list = copy.deepcopy(target)
        for item in patch:
            found = [i for i, old in enumerate(merged_list) if old.get(key) == item.get(key)]
            if found:
                merged_list[found[0]] = _merge(merged_list[found[0]], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)
