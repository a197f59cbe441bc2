"""Helm charts: render a chart directory with the real Helm engine and turn the
rendered manifests into Kubernetes resources that point back at the template lines.

Engines, in order: the `helm` CLI when it is on PATH (`helm template`), else the
`helm-python-sdk` package (`pip install tierscan[helm]`), which binds Helm's own Go
SDK, so both render with Helm's template functions, values merging and
`values.schema.json` validation. A chart that cannot be rendered (template error,
values rejected by the schema, no engine at all) is an error naming the chart; it is
never skipped silently.

Locations: Helm names the template each manifest came from (`# Source:` comments from
the CLI, the template path from the SDK). A finding's line in the rendered manifest is
mapped to the template line that writes the same key (see `_TemplateLines`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.model import Position, Resource, ScanError
from scanner.sources import kubernetes_yaml
from scanner.sources.locate import YamlLocator
from scanner.sources.options import SourceOptions

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CHART_FILE = "Chart.yaml"
RENDER_TIMEOUT_SECONDS = 120
_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)
# The key a YAML line writes: `  replicas: 3`, `- name: odoo`, `image: "{{ ... }}"`.
_KEY = re.compile(r"^\s*(?:-\s+)*([A-Za-z0-9_.\-/\"']+)\s*:(?:\s|$)")


class HelmUnavailable(RuntimeError):
    """No Helm engine on this machine."""


class RenderError(RuntimeError):
    """Helm refused the chart; the message is Helm's own."""


@dataclass
class ChartScan:
    resources: list[Resource] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    engine: str = ""
    templates: list[str] = field(default_factory=list)  # shown paths of templates that produced objects


def is_chart_dir(path: Path) -> bool:
    """A chart by content and name: a `Chart.yaml` with a name and a version."""
    chart = path / CHART_FILE
    if not chart.is_file():
        return False
    try:
        doc = yaml.safe_load(chart.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True  # a broken Chart.yaml is still a chart; rendering will say what is wrong
    return isinstance(doc, dict) and "name" in doc


def available_engine() -> str | None:
    """'helm-cli', 'helm-python-sdk', or None."""
    if shutil.which("helm"):
        return "helm-cli"
    try:
        import helm_python  # noqa: F401  (optional extra)
    except (ImportError, OSError):
        return None
    return "helm-python-sdk"


def scan_chart(chart_dir: Path, shown_dir: str, options: SourceOptions, engine: str | None = None) -> ChartScan:
    """Render `chart_dir` and read what it renders. Every failure is a ScanError that
    names the chart (and, where Helm says it, the template and line)."""
    result = ChartScan()
    # None: use what is installed; "": no engine (how a machine without Helm behaves).
    engine = available_engine() if engine is None else (engine or None)
    try:
        if engine is None:
            raise HelmUnavailable(
                "no Helm engine: install the helm CLI, or `pip install tierscan[helm]` "
                "(helm-python-sdk); the chart's templates cannot be scanned without rendering")
        result.engine = engine
        rendered = _render_cli(chart_dir, options) if engine == "helm-cli" else _render_sdk(chart_dir, options)
    except (HelmUnavailable, RenderError) as exc:
        result.errors.append(ScanError(f"Helm chart {shown_dir} could not be rendered: {exc}", file=shown_dir))
        return result
    for source, text in rendered:
        _read_manifest(chart_dir, shown_dir, source, text, options, result)
    return result


# --- rendering ------------------------------------------------------------------------

def _render_cli(chart_dir: Path, options: SourceOptions) -> list[tuple[str, str]]:
    # An absolute path, so that Helm never takes the chart for a repository reference.
    command = ["helm", "template", options.helm_release, str(chart_dir.resolve())]
    if options.helm_namespace:
        command += ["--namespace", options.helm_namespace]
    for values in options.helm_values:
        command += ["--values", str(values)]
    for assignment in options.helm_set:
        command += ["--set", assignment]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RENDER_TIMEOUT_SECONDS,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"`helm template` did not run: {exc}") from exc
    if done.returncode != 0:
        raise RenderError(_one_message(done.stderr) or f"`helm template` exited {done.returncode}")
    return split_sources(done.stdout)


def split_sources(output: str) -> list[tuple[str, str]]:
    """`helm template` output -> [(template path, its rendered documents)], in order.
    A template that renders several documents appears once, its documents joined."""
    by_source: dict[str, list[str]] = {}
    marks = list(_SOURCE.finditer(output))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(output)
        chunk = output[mark.end():end]
        # Each chunk ends with the `---` that opens the next document.
        chunk = re.sub(r"\n---\s*$", "\n", chunk)
        by_source.setdefault(mark.group(1).strip(), []).append(chunk.strip("\n") + "\n")
    return [(source, "---\n".join(chunks)) for source, chunks in by_source.items()]


def _render_sdk(chart_dir: Path, options: SourceOptions) -> list[tuple[str, str]]:
    try:
        import helm_python
    except (ImportError, OSError) as exc:
        raise HelmUnavailable(f"helm-python-sdk cannot be loaded: {exc}") from exc
    values: dict[str, Any] = {}
    for path in options.helm_values:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise RenderError(f"values file {path} cannot be read: {str(exc).splitlines()[0]}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise RenderError(f"values file {path} is not a mapping")
        values = merge_values(values, loaded or {})
    try:
        for assignment in options.helm_set:
            values = merge_values(values, helm_python.parse_set_string(assignment))
        # Like `helm template`, refuse a chart whose declared dependencies are not in
        # charts/: rendering without them would silently drop their resources.
        missing = [f"{d.get('name')} ({d.get('status')})" for d in helm_python.dependency_list(str(chart_dir))
                   if d.get("status") not in ("ok", "unpacked")]
        if missing:
            raise RenderError(f"dependencies not in charts/: {', '.join(missing)}; run `helm dependency build`")
        with helm_python.Chart.load(str(chart_dir)) as chart:
            rendered = chart.render(values, name=options.helm_release,
                                    namespace=options.helm_namespace or "default",
                                    is_install=True)
    except helm_python.HelmError as exc:
        raise RenderError(_one_message(str(exc))) from exc
    # Helm's CLI leaves NOTES.txt out of `helm template`; so do we.
    return [(source, text) for source, text in sorted(rendered.items())
            if not source.endswith("NOTES.txt")]


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's values-file merge: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out


def _one_message(text: str) -> str:
    """Helm's error, on one line: `Error: ` prefixes dropped, schema lines joined."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    lines = [line[len("Error: "):] if line.startswith("Error: ") else line for line in lines]
    return " ".join(lines)


# --- reading the rendered manifests -------------------------------------------------

def _read_manifest(chart_dir: Path, shown_dir: str, source: str, text: str, options: SourceOptions,
                   result: ChartScan) -> None:
    if not text.strip():
        return
    # "odoo/templates/x.yaml" or "odoo/charts/sub/templates/x.yaml": relative to the chart.
    relative = source.split("/", 1)[1] if "/" in source else source
    shown = f"{shown_dir.rstrip('/')}/{relative}"
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (rendered line {mark.line + 1})" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or exc).split("\n")[0]
        result.errors.append(ScanError(
            f"Helm chart {shown_dir}: template {relative} renders invalid YAML{where}: {problem}", file=shown))
        return
    resources, _notes = kubernetes_yaml.resources_from_documents(docs, shown, YamlLocator(text))
    if not resources:
        return
    lines = _TemplateLines(chart_dir / relative, text)
    for resource in resources:
        resource.origin.remap = _remapper(shown, lines)
        if resource.namespace is None and options.helm_namespace:
            resource.namespace = options.helm_namespace  # where Helm installs it
    result.resources.extend(resources)
    result.templates.append(shown)


def _remapper(shown: str, lines: _TemplateLines) -> Callable[[Position], tuple[str, Position]]:
    return lambda position: (shown, lines.template_position(position))


class _TemplateLines:
    """Maps a line of a rendered manifest to the template line that wrote it.

    Templates and their output differ line by line (conditionals, includes, ranges),
    so lines are matched by the key they write: the n-th `replicas:` rendered comes
    from the n-th `replicas:` in the template (modulo the template's count, for keys
    written inside a `range`). A key the template does not spell out (it comes from
    an `include`) maps to the template's first line.
    """

    def __init__(self, template: Path, rendered: str) -> None:
        self._template_path = template
        self._rendered = rendered.splitlines()
        self._template: list[str] | None = None

    def _template_lines(self) -> list[str]:
        if self._template is None:
            try:
                self._template = self._template_path.read_text(encoding="utf-8-sig").splitlines()
            except (OSError, UnicodeDecodeError):
                self._template = []
        return self._template

    def template_position(self, position: Position) -> Position:
        index = position.line - 1
        if not 0 <= index < len(self._rendered):
            return Position(1, 1)
        # Try the line itself, then its parents (less indented lines above it): a key
        # written by an `include` maps to the template line that includes it.
        indent = len(self._rendered[index]) + 1
        for n in range(index, -1, -1):
            line = self._rendered[n]
            depth = len(line) - len(line.lstrip(" -"))
            if not line.strip() or depth >= indent:
                continue
            indent = depth
            found = self._match(n)
            if found is not None:
                return found
        return Position(1, 1)

    def _match(self, index: int) -> Position | None:
        key = _key_of(self._rendered[index])
        if key is None:
            return None
        ordinal = sum(1 for line in self._rendered[:index] if _key_of(line) == key)
        matches = [(n, line) for n, line in enumerate(self._template_lines()) if _key_of(line) == key]
        if not matches:
            return None
        number, line = matches[ordinal % len(matches)]
        return Position(number + 1, line.find(key) + 1)


def _key_of(line: str) -> str | None:
    match = _KEY.match(line)
    return match.group(1).strip("\"'") if match else None
