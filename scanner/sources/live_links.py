"""Trace a live resource back to the IaC file it was deployed from, when it says so.

A live finding is most useful when it points at the line a user can change. Live
objects carry no file, but some name one:

- Kubernetes: the annotation `tierscan.io/source` (a repository-relative path), or
  Kustomize's `config.kubernetes.io/origin` (`path: ...`, written when the
  kustomization sets `buildMetadata: [originAnnotations]`).
- Azure: the tag `tierscan-source` or `iac-source` (tag names cannot contain '/').

Only a plain relative path is accepted (no scheme, no absolute path, no `..`), so a
tag cannot make a report point outside the repository.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from scanner.model import Platform, Resource

K8S_SOURCE_ANNOTATION = "tierscan.io/source"
KUSTOMIZE_ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
AZURE_SOURCE_TAGS = ("tierscan-source", "iac-source")


def safe_relative_path(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().replace("\\", "/")
    if not text or ":" in text or text.startswith("/") or "\n" in text:
        return None
    path = PurePosixPath(text)
    if ".." in path.parts:
        return None
    return path.as_posix()


def _kustomize_origin(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "path":
            return safe_relative_path(value)
    return None


def source_file(resource: Resource) -> str | None:
    """The repository file a live resource names as its source, if any."""
    if resource.platform is Platform.KUBERNETES:
        annotations = resource.annotations
        return (safe_relative_path(annotations.get(K8S_SOURCE_ANNOTATION))
                or _kustomize_origin(annotations.get(KUSTOMIZE_ORIGIN_ANNOTATION)))
    tags = resource.labels
    for key in AZURE_SOURCE_TAGS:
        found = safe_relative_path(tags.get(key))
        if found:
            return found
    return None


def link_sources(resources: list[Resource]) -> None:
    """Point each traceable live resource's origin at its source file (no line: the
    live body is not that file's text)."""
    for resource in resources:
        if resource.origin.file is None:
            resource.origin.file = source_file(resource)
