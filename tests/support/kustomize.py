"""Render a Kustomize directory: with ``kubectl kustomize`` (or ``kustomize build``) when
one is installed, else with the small resolver below.

The resolver covers the parts of Kustomize that ``deploy/k8s`` uses: ``resources``
(files and directories), ``namespace``, ``labels`` (metadata only), ``images``,
``replicas`` and ``patches`` given as strategic-merge files. Where a real Kustomize is
installed, a test renders every overlay both ways and requires the same objects, so the
resolver cannot drift from Kustomize unnoticed.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "StorageClass", "ClusterRole"}


def kustomize_command() -> list[str] | None:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def render_with_tool(directory: Path) -> list[Manifest]:
    command = kustomize_command()
    assert command is not None
    done = subprocess.run(
        [*command, str(directory)], capture_output=True, text=True, timeout=120, check=True
    )
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def render(directory: Path) -> list[Manifest]:
    """The manifests a Kustomize directory produces."""
    return render_with_tool(directory) if kustomize_command() else build(directory)


def build(directory: Path) -> list[Manifest]:
    """The resolver: what Kustomize would produce, for the features listed above."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - {
        "apiVersion", "kind", "namespace", "labels", "resources", "patches", "images",
        "replicas",
    }  # fmt: skip
    if unknown:
        raise NotImplementedError(f"{directory}: the resolver does not handle {sorted(unknown)}")
    objects: list[Manifest] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects.extend(build(path))
        else:
            objects.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for patch in spec.get("patches", []):
        for doc in yaml.safe_load_all((directory / patch["path"]).read_text()):
            target = find(objects, doc["kind"], doc["metadata"]["name"])
            merged = strategic_merge(target, doc)
            target.clear()
            target.update(merged)
    for item in spec.get("replicas", []):
        matches = [
            o for o in objects
            if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] == item["name"]
        ]  # fmt: skip
        assert matches, f"replicas: no workload named {item['name']}"
        for o in matches:
            o["spec"]["replicas"] = item["count"]
    for image in spec.get("images", []):
        for container in _containers(objects):
            name, _, tag = container["image"].partition(":")
            if name == image["name"]:
                new_name = image.get("newName", name)
                new_tag = image.get("newTag", tag)
                container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name
    for group in spec.get("labels", []):
        for o in objects:
            o["metadata"].setdefault("labels", {}).update(group["pairs"])
    if "namespace" in spec:
        for o in objects:
            if o["kind"] not in CLUSTER_SCOPED:
                o["metadata"]["namespace"] = spec["namespace"]
            elif o["kind"] == "Namespace":
                o["metadata"]["name"] = spec["namespace"]
    return objects


def find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    for o in objects:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    raise KeyError(f"no {kind} named {name}")


def strategic_merge(base: Any, patch: Any) -> Any:
    """Maps merge key by key; lists of named items merge by name; other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = strategic_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in base + patch)
    ):
        out_list = copy.deepcopy(base)
        for item in patch:
            same = next((i for i in out_list if i["name"] == item["name"]), None)
            if same is None:
                out_list.append(copy.deepcopy(item))
            else:
                out_list[out_list.index(same)] = strategic_merge(same, item)
        return out_list
    return copy.deepcopy(patch)


def _containers(objects: list[Manifest]) -> list[Manifest]:
    found = []
    for o in objects:
        pod = o.get("spec", {}).get("template", {}).get("spec", {})
        found.extend(pod.get("containers", []) + pod.get("initContainers", []))
    return found
