"""Kustomize: build a kustomization directory with the real Kustomize and turn what it
builds into Kubernetes resources that point at the file that defines each one.

The engine is `kustomize build`, or `kubectl kustomize` (the same Kustomize, built into
kubectl) when only kubectl is installed. Scanning `overlays/production` therefore scans
what production deploys: bases, patches, name prefixes, namespaces and labels applied.

Locations: the directory is built through a throw-away wrapper kustomization (in a
temporary directory, never in the user's tree) that sets
`buildMetadata: [originAnnotations]`, so Kustomize itself records in the
`config.kubernetes.io/origin` annotation which file each resource came from. The
annotation is removed again before policies see the object.
Reference: https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/buildmetadata/
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.model import JsonPath, Locator, Origin, Position, Resource, ScanError
from scanner.sources import kubernetes_yaml
from scanner.sources.locate import YamlLocator

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
BUILD_TIMEOUT_SECONDS = 120
# Fields of a kustomization that name other kustomization directories it builds on.
_REFERENCE_FIELDS = ("resources", "bases", "components")


@dataclass
class BuildScan:
    resources: list[Resource] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    engine: str = ""
    origins: dict[str, int] = field(default_factory=dict)  # shown file -> resources it defines


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file of a directory, recognised by its name (any of the three
    Kustomize accepts)."""
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def is_component(directory: Path) -> bool:
    """A Kustomize Component (`kind: Component`): applied by the kustomizations that
    list it, never built on its own."""
    found = kustomization_file(directory)
    try:
        doc = yaml.safe_load(found.read_text(encoding="utf-8-sig")) if found else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and doc.get("kind") == "Component"


def available_engine() -> list[str] | None:
    """The command that builds a directory (without the directory), or None."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def referenced_dirs(directory: Path) -> list[Path]:
    """Local kustomization directories that `directory`'s kustomization builds on
    (bases, components). Remote URLs and plain files are not directories."""
    found = kustomization_file(directory)
    if found is None:
        return []
    try:
        doc = yaml.safe_load(found.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    out: list[Path] = []
    if not isinstance(doc, dict):
        return out
    for key in _REFERENCE_FIELDS:
        entries = doc.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, str) or "://" in entry or entry.startswith(("git@", "github.com/")):
                continue
            target = (directory / entry).resolve()
            if target.is_dir():
                out.append(target)
    return out


def closure(directory: Path) -> list[Path]:
    """`directory` and every local kustomization directory it builds on, transitively."""
    seen: list[Path] = []
    stack = [directory.resolve()]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        stack.extend(referenced_dirs(current))
    return seen


def build(directory: Path, shown_dir: str, show: Callable[[Path], str],
          engine: list[str] | None = None) -> BuildScan:
    """Build `directory` and read the result. `show` turns a real path into the path
    reports print. A failed build is an error naming the directory."""
    result = BuildScan()
    engine = engine if engine is not None else available_engine()
    if engine is None:
        result.errors.append(ScanError(f"Kustomize directory {shown_dir} cannot be built: neither kustomize "
                                       "nor kubectl is installed", file=shown_dir))
        return result
    result.engine = " ".join(engine)
    with tempfile.TemporaryDirectory(prefix="tierscan-kustomize-") as wrapper:
        target = _wrap(Path(wrapper), directory)
        try:
            done = subprocess.run([*engine, str(target)], capture_output=True, text=True,
                                  timeout=BUILD_TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            result.errors.append(ScanError(f"Kustomize directory {shown_dir} could not be built: {exc}",
                                           file=shown_dir))
            return result
        if done.returncode != 0:
            result.errors.append(ScanError(
                f"Kustomize directory {shown_dir} could not be built: {_one_message(done.stderr)}", file=shown_dir))
            return result
        _read_build(done.stdout, target, directory, shown_dir, show, result)
    return result


def _wrap(wrapper: Path, directory: Path) -> Path:
    """A wrapper kustomization that only adds origin annotations. Kustomize accepts
    only relative paths to other kustomizations; where none exists (another drive on
    Windows), the directory is built as is and locations fall back to its file."""
    try:
        relative = os.path.relpath(directory.resolve(), wrapper)
    except ValueError:
        return directory
    (wrapper / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        # A JSON string is valid YAML and quotes any character a path may hold.
        f"resources:\n  - {json.dumps(Path(relative).as_posix())}\nbuildMetadata: [originAnnotations]\n",
        encoding="utf-8")
    return wrapper


def _one_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    text = " ".join(lines) or "the build failed without a message"
    marker = 'err="'
    if marker in text:  # kubectl wraps Kustomize's message in a klog line
        text = text.split(marker, 1)[1].rsplit('"', 1)[0]
    return text.removeprefix("Error: ")


def _read_build(output: str, built: Path, directory: Path, shown_dir: str, show: Callable[[Path], str],
                result: BuildScan) -> None:
    try:
        docs = list(yaml.load_all(output, Loader=_Loader))
    except yaml.YAMLError as exc:
        result.errors.append(ScanError(f"Kustomize directory {shown_dir} built invalid YAML: {exc}", file=shown_dir))
        return
    kustomization = kustomization_file(directory)
    fallback = show(kustomization) if kustomization else shown_dir
    files: dict[Path, _SourceFile] = {}
    patches = [(show(path), _SourceFile.read(path)) for path in patch_files(directory)]
    for doc in docs:
        if not kubernetes_yaml.is_k8s_object(doc):
            continue
        origin_path = _take_origin(doc, built)
        source = None
        if origin_path is not None:
            source = files.get(origin_path) or files.setdefault(origin_path, _SourceFile.read(origin_path))
        if source is not None and source.text is not None and source.locator is not None:
            shown = show(origin_path) if origin_path else fallback
            layers = [(patch_shown, patch.locator, index) for patch_shown, patch in patches
                      if patch.locator is not None and (index := patch.matching_document(doc)) is not None]
            locator = _LayeredLocator(layers, (shown, source.locator, source.document_for(doc)))
            origin = Origin(shown, 0, (), locator, remap=locator.remap)
        else:
            # Generated objects (configMapGenerator) and unreadable origins point at the
            # kustomization that configures them.
            shown = show(origin_path) if origin_path else fallback
            origin = Origin(shown)
        result.resources.append(kubernetes_yaml.make_resource(doc, origin))
        result.origins[shown] = result.origins.get(shown, 0) + 1


def _take_origin(doc: dict[str, Any], built: Path) -> Path | None:
    """Remove Kustomize's origin annotation (it is not deployed) and return the file
    it names, if it is a local file."""
    meta = doc.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
        return None
    raw = annotations.pop(ORIGIN_ANNOTATION)
    if not annotations and isinstance(meta, dict):
        del meta["annotations"]
    try:
        origin = yaml.safe_load(raw) if isinstance(raw, str) else None
    except yaml.YAMLError:
        return None
    if not isinstance(origin, dict) or origin.get("repo"):
        return None
    path = origin.get("path") or origin.get("configuredIn")
    return (built / path).resolve() if isinstance(path, str) else None


def patch_files(directory: Path) -> list[Path]:
    """Strategic-merge patch files of the build, outermost kustomization first (its
    patches are applied last, so they win)."""
    out: list[Path] = []
    for part in closure(directory):
        found = kustomization_file(part)
        try:
            doc = yaml.safe_load(found.read_text(encoding="utf-8-sig")) if found else None
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(doc, dict):
            continue
        entries: list[Any] = []
        for key in ("patches", "patchesStrategicMerge"):
            if isinstance(doc.get(key), list):
                entries.extend(doc[key])
        for entry in entries:
            name = entry.get("path") if isinstance(entry, dict) else entry
            # Inline patches (YAML text, not a file name) have no file of their own.
            if isinstance(name, str) and "\n" not in name and _is_file(part / name):
                out.append((part / name).resolve())
    return out


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a one-line inline patch, too long to be a file name
        return False


class _LayeredLocator(Locator):
    """Positions from the patches that set a property, else from the file that defines
    the resource: a finding on `spec.replicas` points at the overlay's patch that sets
    it, not at the base's value it replaced."""

    def __init__(self, patches: list[tuple[str, YamlLocator, int]], base: tuple[str, YamlLocator, int]) -> None:
        self._patches = patches
        self._base = base
        self._last = base[0]

    def locate(self, document: int, path: JsonPath) -> tuple[Position, JsonPath]:
        for shown, locator, index in self._patches:
            position, found = locator.locate(index, path)
            if found == path:
                self._last = shown
                return position, found
        shown, locator, index = self._base
        self._last = shown
        return locator.locate(index, path)

    def remap(self, position: Position) -> tuple[str, Position]:
        # Called right after locate() by Origin.position_of: the file of that answer.
        return self._last, position


@dataclass
class _SourceFile:
    text: str | None
    docs: list[Any]
    locator: YamlLocator | None

    @classmethod
    def read(cls, path: Path) -> _SourceFile:
        try:
            text = path.read_text(encoding="utf-8-sig")
            docs = list(yaml.load_all(text, Loader=_Loader))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return cls(None, [], None)
        return cls(text, docs, YamlLocator(text))

    def matching_document(self, built: dict[str, Any]) -> int | None:
        """The patch document aimed at `built`: same kind, and its name is contained
        in the built name (prefixes and suffixes are added after patching)."""
        name = str((built.get("metadata") or {}).get("name", ""))
        for index, doc in enumerate(self.docs):
            if not isinstance(doc, dict) or doc.get("kind") != built.get("kind"):
                continue
            original = str((doc.get("metadata") or {}).get("name", ""))
            if original and original in name:
                return index
        return None

    def document_for(self, built: dict[str, Any]) -> int:
        """The document of this file that the built object comes from: same kind, and
        the built name (after namePrefix/nameSuffix) contains the original name."""
        name = str((built.get("metadata") or {}).get("name", ""))
        best = 0
        for index, doc in enumerate(self.docs):
            if not isinstance(doc, dict) or doc.get("kind") != built.get("kind"):
                continue
            original = str((doc.get("metadata") or {}).get("name", ""))
            if original == name:
                return index
            if original and original in name:
                best = index
        return best
