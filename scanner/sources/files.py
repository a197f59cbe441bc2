"""Find input files under the given paths, recognise each by content and name, and
turn it into resources.

Every file found is accounted for in a `FileRecord`: scanned, skipped with a reason,
or an error with a one-line message naming the file (and line). Nothing is dropped
silently, and one bad file never stops the scan.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.model import FileRecord, FileStatus, Resource, ScanError
from scanner.sources import arm, jsonc, kubernetes_yaml
from scanner.sources.locate import JsonLocator, YamlLocator

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

YAML_SUFFIXES = {".yaml", ".yml"}
JSON_SUFFIXES = {".json"}
# Recognised, handled by their own sources once available; reported, never dropped.
LATER_SUFFIXES = {
    ".bicep": "Bicep is not scanned yet: compile it with `az bicep build` and scan the JSON",
    ".bicepparam": "Bicep parameters file (used with its template)",
    ".tf": "Terraform is not scanned yet",
    ".tfvars": "Terraform variables file (used with its configuration)",
}
SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".terraform",
             ".mypy_cache", ".ruff_cache", ".pytest_cache", ".tox"}
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024


@dataclass
class FileScan:
    record: FileRecord
    resources: list[Resource] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)


def discover(paths: list[Path]) -> Iterator[tuple[Path, bool]]:
    """Yield (file, named_explicitly). Directories are walked in sorted order; hidden
    and tool directories are not descended into; symlinked directories are not followed
    (no loops)."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                for name in sorted(files):
                    yield Path(root) / name, False
        else:
            yield path, True


def display_path(path: Path, root: Path) -> str:
    """The path as users will click it: relative to the scan root when inside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_text(path: Path, max_size: int) -> tuple[str | None, str | None, bool]:
    """(text, problem, is_skip). Accepts UTF-8 (with or without BOM) and UTF-16 with BOM."""
    try:
        size = path.stat().st_size
        if size > max_size:
            return None, f"larger than --max-file-size ({size} > {max_size} bytes); not scanned", True
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}", False
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None, False
        except UnicodeDecodeError:
            return None, "invalid UTF-16", False
    if b"\x00" in data[:8192]:
        return None, "binary file, not text; not scanned", False
    try:
        return data.decode("utf-8-sig"), None, False
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 (byte {exc.start}); save it as UTF-8", False


def _in_helm_chart(path: Path) -> bool:
    return any((parent / "Chart.yaml").is_file() for parent in path.parents[:4])


def scan_file(path: Path, shown: str, named: bool, max_size: int = DEFAULT_MAX_FILE_SIZE) -> FileScan:
    suffix = path.suffix.lower()
    if suffix in LATER_SUFFIXES:
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, suffix.lstrip("."), LATER_SUFFIXES[suffix]))
    if suffix not in YAML_SUFFIXES | JSON_SUFFIXES:
        reason = "not an infrastructure file type (.yaml, .yml, .json, .bicep, .tf)"
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "", reason))
    text, problem, is_skip = read_text(path, max_size)
    if text is None:
        status = FileStatus.SKIPPED if is_skip else FileStatus.ERROR
        scan = FileScan(FileRecord(shown, status, "", problem or ""))
        if not is_skip:
            scan.errors.append(ScanError(problem or "unreadable", file=shown))
        return scan
    if suffix in JSON_SUFFIXES:
        return _scan_json(text, shown)
    return _scan_yaml(path, text, shown)


def _scan_yaml(path: Path, text: str, shown: str) -> FileScan:
    if "{{" in text and path.parent.name == "templates" and _in_helm_chart(path):
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "helm-template",
                                   "Helm template: scan the chart directory to render it"))
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = str(getattr(exc, "problem", None) or exc).split("\n")[0]
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None and context_mark.line + 1 != line:
            # Unclosed quotes and brackets fail at the end; say where they started.
            problem += f" ({context} that starts at line {context_mark.line + 1})"
        message = f"invalid YAML: {problem}; fix the syntax"
        return FileScan(FileRecord(shown, FileStatus.ERROR, "yaml", message),
                        errors=[ScanError(message, file=shown, line=line)])
    except RecursionError:
        message = "invalid YAML: nested too deeply to read"
        return FileScan(FileRecord(shown, FileStatus.ERROR, "yaml", message),
                        errors=[ScanError(message, file=shown)])
    resources, _notes = kubernetes_yaml.resources_from_documents(docs, shown, YamlLocator(text))
    if not resources:
        reason = kubernetes_yaml.classify_non_k8s(shown, docs)
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "yaml", reason))
    return FileScan(FileRecord(shown, FileStatus.SCANNED, "kubernetes", resources=len(resources)), resources)


def _scan_json(text: str, shown: str) -> FileScan:
    try:
        doc = jsonc.loads(text)
    except jsonc.JsoncError as exc:
        message = f"invalid JSON: {exc} at column {exc.column}; fix the syntax"
        return FileScan(FileRecord(shown, FileStatus.ERROR, "json", message),
                        errors=[ScanError(message, file=shown, line=exc.line)])
    if arm.is_arm_template(doc):
        resources, _notes = arm.resources_from_template(doc, shown, JsonLocator(text))
        return FileScan(FileRecord(shown, FileStatus.SCANNED, "arm", resources=len(resources)), resources)
    if arm.is_arm_parameters(doc):
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "arm-parameters",
                                   "ARM parameters file (applied with its template)"))
    if kubernetes_yaml.is_k8s_object(doc):
        resources, _ = kubernetes_yaml.resources_from_documents([doc], shown, JsonLocator(text))
        if resources:
            return FileScan(FileRecord(shown, FileStatus.SCANNED, "kubernetes", resources=len(resources)),
                            resources)
    if isinstance(doc, dict) and "responses" in doc and "parameters" in doc:
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "json",
                                   "Azure REST API example (not a template)"))
    return FileScan(FileRecord(shown, FileStatus.SKIPPED, "json",
                               "JSON that is neither an ARM template nor a Kubernetes object"))
