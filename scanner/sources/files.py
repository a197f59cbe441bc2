"""Find input files under the given paths, recognise each by content and name, and
turn it into resources.

Every file found is accounted for in a `FileRecord`: scanned, skipped with a reason,
or an error with a one-line message naming the file (and line). Nothing is dropped
silently, and one bad file never stops the scan.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.model import FileRecord, FileStatus, Origin, Platform, Resource, ScanError

# Only the sources every plain YAML/JSON file needs are imported here. ARM, Bicep,
# Helm, Kustomize and Terraform load inside the functions that use them, so the
# pre-commit case (one manifest) does not pay for them at start-up.
from scanner.sources import jsonc, kubernetes_yaml, safe_yaml
from scanner.sources.locate import JsonLocator, RecordedYamlLocator, YamlLocator
from scanner.sources.options import SourceOptions

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

YAML_SUFFIXES = {".yaml", ".yml"}
JSON_SUFFIXES = {".json"}
# Infrastructure-as-code kinds with their own sources (Terraform, Bicep): see scan_iac_file.
IAC_SUFFIXES = {".tf", ".tfvars", ".bicep", ".bicepparam"}
SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".terraform",
             ".mypy_cache", ".ruff_cache", ".pytest_cache", ".tox"}
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024


@dataclass
class FileScan:
    record: FileRecord
    resources: list[Resource] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)


def pack_scans(scans: list[FileRecord | FileScan]) -> list[tuple[Any, ...]]:
    """Plain tuples for sending file scans between processes (scanner.parallel): pickle
    spends more on dataclasses and enums than on the bodies themselves (measured: half
    of the 0.7 s a 10,000-app scan spent moving its second half's resources)."""
    return [(_pack_record(scan), None, None) if isinstance(scan, FileRecord) else
            (_pack_record(scan.record), [_pack_resource(r) for r in scan.resources], scan.errors)
            for scan in scans]


def unpack_scans(packed: list[tuple[Any, ...]]) -> list[FileRecord | FileScan]:
    statuses = {s.value: s for s in FileStatus}
    platforms = {p.value: p for p in Platform}
    out: list[FileRecord | FileScan] = []
    for (path, status, kind, reason, count), resources, errors in packed:
        record = FileRecord(path, statuses[status], kind, reason, count)
        if resources is None:
            out.append(record)
            continue
        out.append(FileScan(record, [
            Resource(platforms[platform], rtype, name, body, Origin(file, document, base_path, locator, live_id, remap),
                     namespace, api_version, unresolved, tier, environment, tier_source, environment_source)
            for (platform, rtype, name, body, file, document, base_path, locator, live_id, remap, namespace,
                 api_version, unresolved, tier, environment, tier_source, environment_source) in resources], errors))
    return out


def _pack_record(record: FileRecord) -> tuple[Any, ...]:
    return record.path, record.status.value, record.kind, record.reason, record.resources


def _pack_resource(r: Resource) -> tuple[Any, ...]:
    o = r.origin
    return (r.platform.value, r.type, r.name, r.body, o.file, o.document, o.base_path, o.locator, o.live_id,
            o.remap, r.namespace, r.api_version, r.unresolved, r.tier, r.environment, r.tier_source,
            r.environment_source)


def discover(paths: list[Path]) -> Iterator[tuple[Path, bool]]:
    """Yield (file, named_explicitly). Directories are walked in sorted order; hidden
    and tool directories are not descended into; symlinked directories are not followed
    (no loops)."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                # os.walk lists symlinked directories but does not enter them; hand them
                # on so that they are reported as not followed, not silently dropped.
                linked = [d for d in dirs if (Path(root) / d).is_symlink()]
                dirs[:] = [d for d in dirs if d not in linked]
                for name in sorted([*files, *linked]):
                    yield Path(root) / name, False
        else:
            yield path, True


def display_path(path: Path, root: Path) -> str:
    """The path as users will click it: relative to the scan root when inside it."""
    # abspath, not resolve(): a symlink is shown as the link the user sees, and a
    # symlink loop cannot make the display itself fail.
    # Plain string work: pathlib's relative_to was most of the time of listing 10,000 files.
    shown, base = os.path.abspath(path), os.path.abspath(root)  # noqa: PTH100
    if shown == base:
        return "."
    prefix = base if base.endswith(os.sep) else base + os.sep
    if not shown.startswith(prefix):
        return path.as_posix()
    relative = shown[len(prefix):]
    return relative.replace(os.sep, "/") if os.sep != "/" else relative


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
        line = data.count(b"\n", 0, exc.start) + 1
        return None, f"not valid UTF-8 (line {line}, byte {exc.start}); save the file as UTF-8", False


def failed(shown: str, kind: str, message: str, line: int | None = None) -> FileScan:
    """A file that could not be read: its record and the one-line error, together."""
    return FileScan(FileRecord(shown, FileStatus.ERROR, kind, message),
                    errors=[ScanError(message, file=shown, line=line)])


def _invalid_json(shown: str, exc: jsonc.JsoncError) -> FileScan:
    return failed(shown, "json", f"invalid JSON: {exc} at column {exc.column}; fix the syntax", exc.line)


def _in_helm_chart(path: Path) -> bool:
    return any((parent / "Chart.yaml").is_file() for parent in path.parents[:4])


def scan_file(path: Path, shown: str, named: bool, max_size: int = DEFAULT_MAX_FILE_SIZE,
              sources: SourceOptions | None = None) -> FileScan:
    if path.is_symlink() and path.is_dir():
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "",
                                   "symbolic link to a directory; not followed (scan its target directly)"))
    suffix = path.suffix.lower()
    forced = sources.input_kind if sources is not None and sources.input_kind in FORCED_FILE_KINDS else None
    if forced is not None and suffix not in FORCED_FILE_KINDS[forced]:
        if not named or forced in _FORCED_BY_NAME_ONLY:
            return _outside_forced_kind(forced, shown, named)
        # else: named on the command line, read as the forced kind below, whatever its name
    elif suffix in IAC_SUFFIXES:
        return scan_iac_file(path, shown, max_size, sources)
    if suffix not in YAML_SUFFIXES | JSON_SUFFIXES and not (forced and named):
        reason = "not an infrastructure file type (.yaml, .yml, .json, .bicep, .tf)"
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "", reason))
    text, problem, is_skip = read_text(path, max_size)
    if text is None:
        status = FileStatus.SKIPPED if is_skip else FileStatus.ERROR
        scan = FileScan(FileRecord(shown, status, "", problem or ""))
        if not is_skip:
            scan.errors.append(ScanError(problem or "unreadable", file=shown))
        return scan
    if forced is not None and sources is not None:
        return _scan_forced(forced, path, text, shown, sources)
    if suffix in JSON_SUFFIXES:
        return _scan_json(text, shown, path, sources)
    return _scan_yaml(path, text, shown)


def _scan_yaml(path: Path, text: str, shown: str) -> FileScan:
    if "{{" in text and path.parent.name == "templates" and _in_helm_chart(path):
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "helm-template",
                                   "Helm template: scan the chart directory to render it"))
    try:
        docs, positions = safe_yaml.load_documents_with_positions(text)
    except safe_yaml.UnsafeYamlError as exc:
        message = f"refused YAML: {exc.problem}"
        return failed(shown, "yaml", message, exc.line)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = str(getattr(exc, "problem", None) or exc).split("\n")[0]
        message = _yaml_problem(exc, problem, line, text)
        return failed(shown, "yaml", message, line)
    except RecursionError:
        message = "invalid YAML: nested too deeply to read"
        return failed(shown, "yaml", message)
    locator = YamlLocator(text) if positions is None else RecordedYamlLocator(docs, positions, text)
    resources, _notes = kubernetes_yaml.resources_from_documents(docs, shown, locator)
    if not resources:
        reason = kubernetes_yaml.classify_non_k8s(shown, docs)
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "yaml", reason))
    return FileScan(FileRecord(shown, FileStatus.SCANNED, "kubernetes", resources=len(resources)), resources)


def _yaml_problem(exc: yaml.YAMLError, problem: str, line: int | None, text: str) -> str:
    """One line a user can act on, for each way YAML goes wrong."""
    if "could not determine a constructor for the tag" in problem:
        tag = problem.rsplit("'", 2)[-2] if problem.count("'") >= 2 else "?"
        return (f"refused YAML: the tag '{tag.replace('tag:yaml.org,2002:', '!!')}' would construct "
                "a program object; tierscan reads plain data only")
    if problem.startswith("found duplicate key"):
        return f"invalid YAML: {problem}; keep one (tools disagree on which one wins)"
    if problem.startswith("found character that cannot start any token") and line is not None:
        source = text.splitlines()[line - 1] if line <= len(text.splitlines()) else ""
        if "\t" in source[: len(source) - len(source.lstrip())]:
            return "invalid YAML: a tab indents this line; YAML indentation must use spaces"
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark.line + 1 != line:
        # Unclosed quotes and brackets fail at the end; say where they started.
        problem += f" ({context} that starts at line {context_mark.line + 1})"
    return f"invalid YAML: {problem}; fix the syntax"


def _scan_json(text: str, shown: str, path: Path | None = None, sources: SourceOptions | None = None) -> FileScan:
    from scanner.sources import arm, terraform_plan

    try:
        doc = jsonc.loads(text)
    except jsonc.JsoncError as exc:
        return _invalid_json(shown, exc)
    if terraform_plan.is_plan(doc):
        return _scan_terraform_plan(doc, text, shown)
    if arm.is_arm_template(doc):
        return _scan_arm(doc, text, path, shown, sources)
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


# --- ARM templates with their parameter files, and forced input kinds ---------------------

# `--input-kind` values that force how files are read, each with the file names read as
# that kind inside a directory. A file named on the command line is read as the forced
# kind whatever its name (a plan saved as `plan.out`), except Terraform and Bicep, which
# their own tools also recognise by name only.
FORCED_FILE_KINDS: dict[str, frozenset[str]] = {
    "kubernetes": frozenset(YAML_SUFFIXES | JSON_SUFFIXES),
    "arm": frozenset(JSON_SUFFIXES),
    "terraform-plan": frozenset(JSON_SUFFIXES),
    "terraform": frozenset({".tf", ".tfvars"}),
    "bicep": frozenset({".bicep", ".bicepparam"}),
}
_FORCED_BY_NAME_ONLY = {"terraform": ".tf", "bicep": ".bicep"}


def _scan_arm(doc: dict[str, Any], text: str, path: Path | None, shown: str,
              sources: SourceOptions | None) -> FileScan:
    """An ARM template with its parameters: the files given with `--parameters`, else
    `<template>.parameters.json` beside it, else the defaults."""
    from scanner.sources import arm

    files = list(sources.parameter_files) if sources is not None and sources.parameter_files else []
    if not files and path is not None:
        beside = arm.parameter_file_for(path)
        files = [beside] if beside is not None else []
    supplied: dict[str, Any] = {}
    errors: list[ScanError] = []
    for parameter_file in files:
        values, problem = arm.load_parameter_file(parameter_file)
        if values is None:
            errors.append(ScanError(problem or f"cannot use parameter file {parameter_file}", file=shown))
        else:
            supplied.update(values)
    resources, notes = arm.resources_from_template(doc, shown, JsonLocator(text), supplied, source_path=path)
    used = [f"parameters from {', '.join(f.name if path and f.parent == path.parent else str(f) for f in files)}"]
    reason = "; ".join((used if files else []) + notes)
    status = FileStatus.ERROR if errors else FileStatus.SCANNED
    return FileScan(FileRecord(shown, status, "arm", reason, len(resources)), resources, errors)


def _outside_forced_kind(kind: str, shown: str, named: bool) -> FileScan:
    """A file whose name is not of the `--input-kind` the user forced: skipped inside a
    directory (listed, with why), an error when named on the command line."""
    suffixes = ", ".join(sorted(FORCED_FILE_KINDS[kind]))
    if named:
        return failed(shown, kind, f"--input-kind {kind} reads only {suffixes} files; "
                                   f"rename it to {_FORCED_BY_NAME_ONLY[kind]} or drop --input-kind")
    return FileScan(FileRecord(shown, FileStatus.SKIPPED, "",
                               f"not read: --input-kind {kind} reads only {suffixes} files in a directory"))


def _scan_forced(kind: str, path: Path, text: str, shown: str, sources: SourceOptions) -> FileScan:
    """`--input-kind kubernetes|arm|terraform-plan`: read the file as that kind, whatever
    it looks like."""
    if kind == "kubernetes" and path.suffix.lower() not in JSON_SUFFIXES:
        return _scan_yaml(path, text, shown)
    try:
        doc = jsonc.loads(text)
    except jsonc.JsoncError as exc:
        return _invalid_json(shown, exc)
    if kind == "arm" and isinstance(doc, dict) and isinstance(doc.get("resources"), (list, dict)):
        return _scan_arm(doc, text, path, shown, sources)
    if kind == "terraform-plan":
        from scanner.sources import terraform_plan

        if terraform_plan.is_plan(doc):
            return _scan_terraform_plan(doc, text, shown)
        return failed(shown, kind, "--input-kind terraform-plan: this file is not a Terraform plan in JSON "
                                   "(make one with `terraform show -json PLANFILE > plan.json`)")
    if kind == "kubernetes":
        resources, _ = kubernetes_yaml.resources_from_documents([doc], shown, JsonLocator(text))
        if resources:
            return FileScan(FileRecord(shown, FileStatus.SCANNED, "kubernetes", resources=len(resources)),
                            resources)
    what = "an ARM template (no `resources`)" if kind == "arm" else "a Kubernetes object"
    message = f"--input-kind {kind}: this file is not {what}"
    return failed(shown, kind, message)


# --- scan units: Helm charts and Kustomize directories -----------------------------------
# A chart or kustomization directory is scanned as one unit: rendered or built by the
# real tool. Its own files are not scanned one by one (a template is not a manifest,
# a base is not what is deployed); each is listed as part of the unit instead.


@dataclass
class ScanUnit:
    kind: str  # "helm", "kustomize", or "arm" (a template and the templates it links)
    directory: Path  # for "arm": the linking template
    members: list[Path] = field(default_factory=list)  # resolved paths of the files it reads
    engine_missing: bool = False  # Kustomize unavailable: its files are scanned raw instead
    component: bool = False  # a Kustomize Component no kustomization here uses: scanned raw
    top: Path | None = None  # the path given on the command line it was found under


_UNIT_MARKERS = ("Chart.yaml", "kustomization.yaml", "kustomization.yml", "Kustomization")


def lift_to_units(paths: list[Path]) -> list[Path]:
    """Replace a named file that belongs to a Helm chart or a Kustomize directory by that
    directory, so that it is scanned as part of its unit (pre-commit passes changed
    files one by one: a changed template must render its chart, not be read raw).
    The search stops at a repository root (`.git`) and never goes above it.

    A named Terraform or Bicep file of a local module brings the files that call the
    module along: the module is then read through them, with the values they pass, not
    on its own with every input unknown."""
    lifted: list[Path] = []
    callers_of: dict[Path, list[Path]] = {}  # per Terraform directory: pre-commit may name many of its files
    for path in paths:
        target = path
        suffix = path.suffix.lower()
        if path.is_file() and suffix in YAML_SUFFIXES | {".tpl", ".txt", ".json"}:
            for parent in list(path.resolve().parents)[:6]:
                if any((parent / marker).is_file() for marker in _UNIT_MARKERS):
                    target = Path(os.path.relpath(parent)) if not path.is_absolute() else parent
                    break
                if (parent / ".git").exists():
                    break
        callers: list[Path] = []
        if path.is_file() and suffix in (".tf", ".bicep"):
            key = path.parent if suffix == ".tf" else path
            if key not in callers_of:
                callers_of[key] = _module_callers(path)
            callers = callers_of[key]
        for found in [target, *(c if path.is_absolute() else Path(os.path.relpath(c)) for c in callers)]:
            if found not in lifted:
                lifted.append(found)
    return lifted


def _module_callers(path: Path) -> list[Path]:
    """The files on disk that use the Terraform directory or Bicep file `path` belongs to
    as a local module."""
    if path.suffix.lower() == ".tf":
        from scanner.sources import terraform_modules

        return terraform_modules.callers_on_disk(path.parent)
    from scanner.sources import bicep

    return bicep.module_users(path)


def find_units(paths: list[Path], sources: SourceOptions | None = None) -> list[ScanUnit]:
    """Chart and kustomization directories under `paths`, recognised by their
    `Chart.yaml` / `kustomization.yaml` (content and name, wherever they sit).

    A kustomization that another one found here builds on (a base) is part of that
    build, not a unit of its own, unless it was named on the command line.
    `--input-kind helm|kustomize` makes each named directory a unit of that kind;
    any other forced kind scans raw files only.
    """
    kind = sources.input_kind if sources is not None else "auto"
    if kind not in ("auto", "helm", "kustomize"):
        return []
    named = [p for p in paths if p.is_dir()]
    if not named:  # only files named: no unit (and no kustomize/kubectl lookup on PATH)
        return []
    from scanner.sources import helm, kustomize

    charts: list[Path] = []
    kustomizations: list[Path] = []
    if kind == "helm":
        charts = [p.resolve() for p in named]
    elif kind == "kustomize":
        kustomizations = [p.resolve() for p in named]
    else:
        for top in named:
            for root, dirs, files in os.walk(top):
                # Look at a directory only when the listing has a marker's name: a stat
                # per marker per directory was a tenth of a 10,000-directory scan.
                names = set(files)
                if helm.CHART_FILE in names and helm.is_chart_dir(Path(root)):
                    charts.append(Path(root).resolve())
                    dirs[:] = []  # subcharts are rendered with their parent
                    continue
                if not names.isdisjoint(kustomize.KUSTOMIZATION_FILES) and \
                        kustomize.kustomization_file(Path(root)) is not None:
                    kustomizations.append(Path(root).resolve())
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
    explicit = {p.resolve() for p in named}
    bases = {base for k in kustomizations for base in kustomize.closure(k)[1:]}
    units = [ScanUnit("helm", chart, _files_under(chart, stop=set())) for chart in charts]
    engine = kustomize.available_engine()
    unit_dirs = set(charts) | set(kustomizations)
    for directory in kustomizations:
        if directory in bases and directory not in explicit:
            continue
        if kustomize.is_component(directory):
            # Components cannot be built alone; only the kustomizations that list them can.
            units.append(ScanUnit("kustomize", directory, [], component=True))
            continue
        if engine is None:
            # Patches are fragments, not manifests: read raw they would look like
            # half-empty objects; they are listed instead.
            units.append(ScanUnit("kustomize", directory, kustomize.patch_files(directory), engine_missing=True))
            continue
        members: list[Path] = []
        for part in kustomize.closure(directory):
            members.extend(_files_under(part, stop=(unit_dirs | set(charts)) - {part}))
        units.append(ScanUnit("kustomize", directory, sorted(set(members))))
    units += _linked_arm_templates(named)
    for unit in units:  # remembered so that reports show paths the way the user gave them
        unit.top = next((p for p in named if unit.directory.is_relative_to(p.resolve())), None)
    return units


def _linked_arm_templates(directories: list[Path]) -> list[ScanUnit]:
    """ARM templates that another template in the scan deploys through
    `templateLink.relativePath`: they are expanded there, with the parameters it
    passes, so they are not scanned again on their own (with unknown parameters)."""
    from scanner.sources import arm

    units: list[ScanUnit] = []
    for top in directories:
        for root, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(files):
                if not name.lower().endswith(".json"):
                    continue
                path = Path(root) / name
                try:
                    if path.stat().st_size > DEFAULT_MAX_FILE_SIZE:
                        continue
                    text = path.read_text(encoding="utf-8-sig")
                    if '"relativePath"' not in text:
                        continue
                    doc = jsonc.loads(text)
                except (OSError, UnicodeDecodeError, jsonc.JsoncError):
                    continue  # the file's own scan reports it
                if not arm.is_arm_template(doc):
                    continue
                linked = sorted({(path.parent / rel).resolve() for rel in arm.linked_relative_paths(doc)
                                 if (path.parent / rel).is_file()})
                if linked:
                    units.append(ScanUnit("arm", path.resolve(), linked))
    return units


def _files_under(directory: Path, stop: set[Path]) -> list[Path]:
    out: list[Path] = []
    for root, dirs, files in os.walk(directory):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")
                         and (here / d).resolve() not in stop)
        out.extend((here / name).resolve() for name in sorted(files))
    return out


def scan_units(units: list[ScanUnit], root: Path, sources: SourceOptions | None = None) -> list[FileScan]:
    """Render or build each unit. The unit's directory gets a record (scanned, or an
    error naming it); each member file gets one saying which unit it is part of."""
    if not units:
        return []
    from scanner.sources import helm, kustomize

    sources = sources or SourceOptions()
    out: list[FileScan] = []
    members: dict[str, FileRecord] = {}

    tops = sorted({u.top for u in units if u.top is not None}, key=lambda p: -len(p.resolve().parts))

    def show(path: Path) -> str:
        # Unit paths are resolved; give them back in the form of the path the user named.
        for top in tops:
            if path.is_relative_to(top.resolve()):
                return display_path(top / path.relative_to(top.resolve()), root)
        return display_path(path, root)

    for unit in units:
        shown_dir = show(unit.directory)
        if unit.kind == "arm":
            for member in unit.members:
                part = f"linked template: scanned through {shown_dir}, with the parameters it passes"
                if show(member) in members:
                    members[show(member)].reason += f"; {part}"
                else:
                    members[show(member)] = FileRecord(show(member), FileStatus.SCANNED, "arm", part)
                    out.append(FileScan(members[show(member)]))
            continue
        if unit.component:
            out.append(FileScan(FileRecord(
                shown_dir, FileStatus.SKIPPED, "kustomize",
                "Kustomize component: built only by the kustomizations that list it under `components` "
                "(none in this scan); its files are scanned as plain manifests")))
            continue
        if unit.kind == "helm":
            chart = helm.scan_chart(unit.directory, shown_dir, sources)
            counts = {t: sum(1 for r in chart.resources if r.origin.file == t) for t in chart.templates}
            done = not chart.errors
            detail = (f"Helm chart rendered with {chart.engine} (release {sources.helm_release}"
                      f"{', namespace ' + sources.helm_namespace if sources.helm_namespace else ''})")
            resources, errors, label = chart.resources, chart.errors, f"Helm chart {shown_dir}"
        elif unit.engine_missing:
            out.append(FileScan(FileRecord(
                shown_dir, FileStatus.SKIPPED, "kustomize",
                "Kustomize is not installed (neither kustomize nor kubectl): its files are scanned raw, "
                "without bases, patches or overlays applied")))
            for member in unit.members:
                if show(member) not in members:
                    members[show(member)] = FileRecord(show(member), FileStatus.SKIPPED, "kustomize",
                                                       "Kustomize patch: applied only when the overlay is built")
                    out.append(FileScan(members[show(member)]))
            continue
        else:
            built = kustomize.build(unit.directory, shown_dir, show)
            counts, done = built.origins, not built.errors
            detail = f"Kustomize build with {built.engine}"
            resources, errors, label = built.resources, built.errors, f"Kustomize build {shown_dir}"
        status = FileStatus.SCANNED if done else FileStatus.ERROR
        reason = detail if done else errors[0].message
        out.append(FileScan(FileRecord(shown_dir, status, unit.kind, reason, len(resources)), resources, errors))
        for member in unit.members:
            shown = show(member)
            part = f"part of {label}" + ("" if done else ", which failed (see errors)")
            record = members.get(shown)
            if record is None:
                record = members[shown] = FileRecord(shown, FileStatus.SCANNED if done else FileStatus.SKIPPED,
                                                     unit.kind, part)
                out.append(FileScan(record))
            elif part not in record.reason:
                record.reason += f"; {part}"
            record.resources += counts.get(shown, 0)
    return out


# --- Terraform and Bicep ---------------------------------------------------------------
# A Terraform directory is one module: every .tf file is read with its siblings (for
# variables, locals and references), and each file reports the resources it declares and
# those of the local modules its `module` blocks call. A directory that a .tf file of the
# scan calls as a local module is read through that file, with the values it passes.
# Bicep files expand their local modules; a file used as a module is scanned through
# the file that uses it, with the parameters that file passes.

def _shown_from(path: Path, shown: str) -> Callable[[Path], str]:
    """Display paths for files next to (or near) `path`, in the same style as `shown`."""
    base = posixpath.dirname(shown)

    def show(other: Path) -> str:
        # Both sides resolved: sources resolve the modules they follow, and a repository
        # reached through a symbolic link (a symlinked home, macOS's /tmp) would otherwise
        # show them as a walk up to / and down again.
        try:
            relative = Path(os.path.relpath(other.resolve(), path.parent.resolve())).as_posix()
        except (ValueError, OSError):
            return other.as_posix()
        return posixpath.normpath(posixpath.join(base, relative))
    return show


def scan_iac_file(path: Path, shown: str, max_size: int = DEFAULT_MAX_FILE_SIZE,
                  sources: SourceOptions | None = None) -> FileScan:
    suffix = path.suffix.lower()
    if suffix == ".tfvars":
        calls = _terraform_module_calls(sources)
        if calls is not None and calls.callers_of(path.parent):
            # Terraform reads .tfvars for the root module only; a module gets its callers' values.
            return FileScan(FileRecord(shown, FileStatus.SKIPPED, "terraform-variables",
                                       "Terraform variables file in a local module's directory: not applied "
                                       "(the module gets the values its callers pass)"))
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "terraform-variables",
                                   "Terraform variables file (applied with the configuration in its directory)"))
    if suffix == ".bicepparam":
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, "bicep-parameters",
                                   "Bicep parameters file (applied to the template its `using` names)"))
    try:
        size = path.stat().st_size
    except OSError as exc:
        message = f"cannot read: {exc.strerror or exc}"
        return failed(shown, suffix.lstrip("."), message)
    if size > max_size:
        return FileScan(FileRecord(shown, FileStatus.SKIPPED, suffix.lstrip("."),
                                   f"larger than --max-file-size ({size} > {max_size} bytes); not scanned"))
    if suffix == ".tf":
        # `var_files` (`--var-file`) is read when SourceOptions carries it.
        var_files = list(getattr(sources, "var_files", None) or [])
        return _scan_terraform(path, shown, var_files, sources)
    parameter_files = sources.parameter_files if sources is not None else []
    return _scan_bicep(path, shown, parameter_files[0] if parameter_files else None, sources)


def _scan_terraform(path: Path, shown: str, var_files: list[Path], sources: SourceOptions | None = None) -> FileScan:
    from scanner.sources import terraform_hcl

    show = _shown_from(path, shown)
    calls = _terraform_module_calls(sources)
    callers = calls.callers_of(path.parent) if calls is not None else []
    if callers:
        # Read through its callers (terraform_hcl expands local modules); only its own
        # syntax is checked here, so that a broken module file still names itself.
        try:
            terraform_hcl.parse_file(path)
        except terraform_hcl.HclError as exc:
            return failed(shown, "terraform", str(exc), exc.line)
        except OSError as exc:
            return failed(shown, "terraform", f"cannot read: {exc.strerror or exc}")
        names = ", ".join(dict.fromkeys(show(c) for c in callers))
        return FileScan(FileRecord(shown, FileStatus.SCANNED, "terraform-module",
                                   f"local module of {names}: scanned through it, with the variables it passes"))
    result = terraform_hcl.scan_tf_file(path, show, var_files)
    errors = [ScanError(message, file=file, line=line) for file, message, line in result.module_errors]
    # A child module's broken file that this scan reads on its own reports itself there.
    errors += [ScanError(message, file=file, line=line) for file, message, line, where in result.child_errors
               if calls is None or where not in calls.files]
    if result.error is not None:
        message, line = result.error
        return FileScan(FileRecord(shown, FileStatus.ERROR, "terraform", message),
                        errors=[*errors, ScanError(message, file=shown, line=line)])
    reason = "; ".join(_unmapped_reason(result.unmapped) + result.notes)
    if not reason and not result.resources:
        reason = "declares no resources (variables, outputs or providers, used by the module's other files)"
    return FileScan(FileRecord(shown, FileStatus.SCANNED, "terraform", reason, len(result.resources)),
                    result.resources, errors)


def _terraform_module_calls(sources: SourceOptions | None) -> Any:
    """The local module calls of this scan's .tf files (a terraform_modules.ModuleCalls),
    read once per scan; None when the scan's paths are not known (a file scanned alone)."""
    if sources is None or not sources.scan_paths:
        return None
    calls = sources.scan_memo.get("terraform-module-calls")
    if calls is None:
        from scanner.sources import terraform_modules

        tf_files = [p for p in _files_in_scan(sources, ".tf") if p.is_file()]
        calls = sources.scan_memo["terraform-module-calls"] = terraform_modules.index_calls(tf_files)
    return calls


def _bicep_files_in_scan(sources: SourceOptions | None) -> set[Path] | None:
    """The .bicep files this scan reads (resolved), listed once per scan; None when the
    scan's paths are not known (a file scanned alone)."""
    if sources is None or not sources.scan_paths:
        return None
    files: set[Path] | None = sources.scan_memo.get("bicep-files")
    if files is None:
        files = sources.scan_memo["bicep-files"] = {p.resolve() for p in _files_in_scan(sources, ".bicep")}
    return files


def _files_in_scan(sources: SourceOptions, suffix: str) -> list[Path]:
    """The files with `suffix` among those the scan reads (`scan_paths`, where a directory
    stands for the files under it)."""
    return [p for p, _named in discover(list(sources.scan_paths)) if p.suffix.lower() == suffix]


def _unmapped_reason(unmapped: list[str]) -> list[str]:
    if not unmapped:
        return []
    return [f"not checked, no mapping to a policy shape: {', '.join(unmapped)}"]


def _scan_terraform_plan(doc: dict[str, Any], text: str, shown: str) -> FileScan:
    from scanner.sources import terraform_plan

    resources, unmapped = terraform_plan.resources_from_plan(doc, shown, text)
    reason = "; ".join(_unmapped_reason(unmapped))
    return FileScan(FileRecord(shown, FileStatus.SCANNED, "terraform-plan", reason, len(resources)), resources)


def _scan_bicep(path: Path, shown: str, parameters_file: Path | None,
                sources: SourceOptions | None = None) -> FileScan:
    from scanner.sources import bicep

    show = _shown_from(path, shown)
    # Only users this scan reads count: a module whose user is left out (pre-commit's
    # changed files, one directory named alone) is evaluated on its own, never skipped.
    in_scan = _bicep_files_in_scan(sources)
    users = [u for u in bicep.module_users(path) if in_scan is not None and u.resolve() in in_scan]
    try:
        if users and parameters_file is None:
            bicep.check_syntax(path)
            names = ", ".join(dict.fromkeys(show(u) for u in users))
            return FileScan(FileRecord(shown, FileStatus.SCANNED, "bicep-module",
                                       f"local module of {names}: scanned through it, with the parameters it passes"))
        result = bicep.scan_bicep_file(path, shown, show, parameters_file)
    except bicep.BicepError as exc:
        return FileScan(FileRecord(shown, FileStatus.ERROR, "bicep", str(exc)),
                        errors=[ScanError(str(exc), file=shown, line=exc.line)])
    mine = [r for r in result.resources if r.origin.file == shown]
    return FileScan(FileRecord(shown, FileStatus.SCANNED, "bicep", "; ".join(result.notes), len(mine)),
                    result.resources)
