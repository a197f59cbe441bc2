"""Kubernetes manifests (YAML or JSON): objects, multi-document files and `List` kinds.

Files that parse but hold no Kubernetes object (kustomization.yaml, Helm values, CI
workflows, ...) are recognised and skipped with a reason, never silently dropped.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from scanner.model import Locator, Origin, Platform, Resource

# Objects that look like Kubernetes (apiVersion + kind) but are build-time configuration.
_NOT_CLUSTER_OBJECTS = {
    "kustomize.config.k8s.io": "Kustomize configuration (scan the built overlay instead)",
    "config.kubernetes.io": "KRM function configuration",
}


def is_k8s_object(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("apiVersion"), str)
            and isinstance(doc.get("kind"), str))


def build_time_reason(doc: dict[str, Any]) -> str | None:
    group = doc["apiVersion"].split("/")[0]
    return _NOT_CLUSTER_OBJECTS.get(group)


def classify_non_k8s(path: str, docs: list[Any]) -> str:
    """Why a parsed YAML file holds nothing to scan, in words a user recognises."""
    name = PurePath(path).name.lower()
    parts = {p.lower() for p in PurePath(path).parts}
    first = next((d for d in docs if d is not None), None)
    if name in ("kustomization.yaml", "kustomization.yml", "kustomization"):
        return "Kustomize configuration (scan the built overlay instead)"
    if name == "chart.yaml":
        return "Helm chart metadata"
    if name.startswith("values") or (isinstance(first, dict) and "image" in first and "kind" not in first):
        return "Helm values file"
    if ".github" in parts or name in (".gitlab-ci.yml", "azure-pipelines.yml"):
        return "CI pipeline definition"
    if name in (".pre-commit-config.yaml", ".pre-commit-hooks.yaml", ".tierscan.yaml"):
        return "tool configuration"
    if name in ("docker-compose.yml", "docker-compose.yaml", "compose.yaml"):
        return "Docker Compose file"
    if first is None:
        return "empty document (nothing to scan)"
    return "not a Kubernetes manifest (no document has apiVersion and kind)"


def resources_from_documents(
    docs: list[Any], file: str, locator: Locator | None
) -> tuple[list[Resource], list[str]]:
    """Resources from parsed documents, and notes on documents that were not objects."""
    resources: list[Resource] = []
    notes: list[str] = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        if not is_k8s_object(doc):
            notes.append(f"document {index + 1} is not a Kubernetes object")
            continue
        reason = build_time_reason(doc)
        if reason:
            notes.append(f"document {index + 1}: {reason}")
            continue
        if doc["kind"].endswith("List") and isinstance(doc.get("items"), list):
            for item_index, item in enumerate(doc["items"]):
                if is_k8s_object(item):
                    resources.append(make_resource(item, Origin(file, index, ("items", item_index), locator)))
                else:
                    notes.append(f"document {index + 1} item {item_index + 1} is not a Kubernetes object")
            continue
        resources.append(make_resource(doc, Origin(file, index, (), locator)))
    return resources, notes


def make_resource(doc: dict[str, Any], origin: Origin) -> Resource:
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("name") or meta.get("generateName") or "(unnamed)"
    namespace = meta.get("namespace")
    return Resource(
        platform=Platform.KUBERNETES,
        type=doc["kind"],
        name=str(name),
        body=doc,
        origin=origin,
        namespace=str(namespace) if namespace is not None else None,
        api_version=doc["apiVersion"],
    )

