"""One scan, start to end: load policies, read inputs, resolve tiers, evaluate.

This is the only module that wires the stages together; the CLI and the tests call it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.engine.evaluate import Engine, EvaluationOptions
from scanner.engine.loader import builtin_policy_dir, load_policies
from scanner.engine.policy import Policy
from scanner.engine.tiers import TierSettings, resolve_tiers
from scanner.model import FileRecord, FileStatus, Outcome, Resource, ScanError, ScanResult, Severity
from scanner.parallel import in_two_processes
from scanner.sources.files import (
    DEFAULT_MAX_FILE_SIZE,
    FileScan,
    discover,
    display_path,
    find_units,
    lift_to_units,
    pack_scans,
    scan_file,
    scan_units,
    unpack_scans,
)
from scanner.sources.options import SourceOptions

if TYPE_CHECKING:  # the live sources load only when a live scan runs
    from scanner.sources.live_azure import AzureLiveOptions
    from scanner.sources.live_kubernetes import KubernetesLiveOptions


@dataclass
class ScanOptions:
    policy_dirs: list[Path] = field(default_factory=list)  # extra (user) policy directories
    builtin_policies: bool = True
    tiers: TierSettings = field(default_factory=TierSettings)
    evaluation: EvaluationOptions = field(default_factory=EvaluationOptions)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    root: Path | None = None  # paths in reports are relative to this (default: cwd)
    exclude: Callable[[str], bool] | None = None  # config `exclude` globs, on the shown path
    sources: SourceOptions = field(default_factory=SourceOptions)  # input kind, parameters, Helm values
    # Plans of at least this many files are read in two processes (see _read_files).
    parallel_min_files: int = 64


def load_all_policies(options: ScanOptions) -> tuple[list[Policy], list[ScanError]]:
    dirs = ([builtin_policy_dir()] if options.builtin_policies else []) + list(options.policy_dirs)
    return load_policies(dirs)


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration of a scan.

    A scan builds millions of small dicts and lists (parsed bodies, subjects, findings)
    that all stay alive until the report is written, and creates almost no reference
    cycles. CPython's collector is triggered by allocation counts, so it would walk the
    ever-growing live heap again and again: measured at ~20 % of a 1000-app scan, and
    growing with the corpus. Reference counting still frees everything acyclic at once.
    Afterwards the survivors (the result, about to be reported) are frozen, i.e. moved
    out of the collector's sight, so rendering the report does not walk them again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def scan_paths(paths: list[Path], options: ScanOptions,
               loaded: tuple[list[Policy], list[ScanError]] | None = None) -> ScanResult:
    with no_cycle_collection():
        return _scan_paths(paths, options, loaded)


def _scan_paths(paths: list[Path], options: ScanOptions,
                loaded: tuple[list[Policy], list[ScanError]] | None = None) -> ScanResult:
    result = ScanResult()
    policies, policy_errors = loaded if loaded is not None else load_all_policies(options)
    result.errors.extend(policy_errors)
    result.policies_loaded = len(policies)
    root = options.root or Path.cwd()

    resources: list[Resource] = []
    for path in paths:
        if not path.exists() and not path.is_symlink():
            result.errors.append(ScanError("no such file or directory; check the path", file=str(path)))
    existing = [p for p in paths if p.exists() or p.is_symlink()]
    if options.sources is None or options.sources.input_kind == "auto":
        existing = lift_to_units(existing)
    # Helm charts and Kustomize directories are rendered/built as units; their files
    # are listed as part of the unit, not scanned one by one.
    units = find_units(existing, options.sources)
    claimed = {member for unit in units for member in unit.members}
    # Either an excluded file's record, or a file to read: (path, shown path, named).
    plan: list[FileRecord | tuple[Path, str, bool]] = []
    for path, named in discover(existing):
        if claimed and path.resolve() in claimed:
            continue
        shown = display_path(path, root)
        if options.exclude is not None and options.exclude(shown):
            plan.append(FileRecord(shown, FileStatus.SKIPPED, "", "excluded by the config's `exclude`"))
            continue
        plan.append((path, shown, named))
    # The sources read with a copy that knows which files this scan reads (a Terraform or
    # Bicep module is read through its caller only when the caller is read too, not
    # excluded by the config) and has its own memo.
    read_paths = tuple(step[0] for step in plan if isinstance(step, tuple))
    options = replace(options, sources=replace(options.sources or SourceOptions(), scan_paths=read_paths))
    for step in _read_files(plan, options):
        if isinstance(step, FileRecord):
            result.files.append(step)
            continue
        result.files.append(step.record)
        result.errors.extend(step.errors)
        resources.extend(step.resources)
    for scanned in scan_units(units, root, options.sources):
        result.files.append(scanned.record)
        result.errors.extend(scanned.errors)
        resources.extend(scanned.resources)
    evaluate_resources(resources, policies, options, result)
    return result


def _read_files(plan: list[FileRecord | tuple[Path, str, bool]],
                options: ScanOptions) -> list[FileRecord | FileScan]:
    """Read every planned file, in plan order. Each file is read on its own, so a large
    plan is cut in two and the second half read in a forked child (scanner.parallel);
    the result is the same list either way."""
    def read(part: list[FileRecord | tuple[Path, str, bool]]) -> list[FileRecord | FileScan]:
        return [step if isinstance(step, FileRecord) else
                scan_file(step[0], step[1], step[2], options.max_file_size, sources=options.sources)
                for step in part]

    if len(plan) < max(2, options.parallel_min_files):
        return read(plan)
    half = len(plan) // 2
    first, second = in_two_processes(lambda: read(plan[:half]), lambda: pack_scans(read(plan[half:])))
    return first + unpack_scans(second)


def evaluate_resources(resources: list[Resource], policies: list[Policy], options: ScanOptions,
                       result: ScanResult) -> None:
    resolve_tiers(resources, options.tiers)
    engine = Engine(policies, options.evaluation)
    findings, errors = engine.evaluate(resources)
    result.resources.extend(resources)
    result.findings.extend(findings)
    result.errors.extend(errors)
    result.outcome_counts = dict(engine.counts)


@dataclass
class LiveScan:
    """What a live scan reads: Azure, Kubernetes clusters, or a saved snapshot."""

    azure: AzureLiveOptions | None = None
    kubernetes: KubernetesLiveOptions | None = None
    snapshot: Path | None = None  # rescan this snapshot instead of reading live
    save_snapshot: Path | None = None


def scan_live(live: LiveScan, options: ScanOptions,
              loaded: tuple[list[Policy], list[ScanError]] | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> ScanResult:
    """Read live state (or a snapshot of it) and evaluate it like files. Each scope (a
    cluster, the Azure tenant) is evaluated on its own, so relations never cross clusters."""
    from scanner.sources.live_azure import LiveRead, read_azure
    from scanner.sources.live_kubernetes import read_kubernetes
    from scanner.sources.live_links import link_sources
    from scanner.sources.snapshot import load_snapshot, save_snapshot

    result = ScanResult()
    policies, policy_errors = loaded if loaded is not None else load_all_policies(options)
    result.errors.extend(policy_errors)
    result.policies_loaded = len(policies)
    read = LiveRead()
    if live.snapshot is not None:
        try:
            read = load_snapshot(live.snapshot)
        except ValueError as exc:
            result.errors.append(ScanError(str(exc)))
    else:
        for part in ((read_azure(live.azure, policies, progress) if live.azure is not None else None),
                     (read_kubernetes(live.kubernetes, policies, progress) if live.kubernetes else None)):
            if part is None:
                continue
            for scope, resources in part.groups.items():
                read.add(scope, resources)
            read.errors.extend(part.errors)
            read.notes.extend(part.notes)
            read.requests += part.requests
        if live.save_snapshot is not None:
            save_snapshot(read, live.save_snapshot)
    result.errors.extend(read.errors)
    result.files.extend(FileRecord(path="(live)", status=FileStatus.SKIPPED, kind="live", reason=note)
                        for note in read.notes)
    counts: dict[str, int] = {}
    for _scope, resources in sorted(read.groups.items()):
        link_sources(resources)
        part_result = ScanResult()
        evaluate_resources(resources, policies, options, part_result)
        result.resources.extend(part_result.resources)
        result.findings.extend(part_result.findings)
        result.errors.extend(part_result.errors)
        for key, value in part_result.outcome_counts.items():
            counts[key] = counts.get(key, 0) + value
    result.outcome_counts = counts
    return result


def exit_code(result: ScanResult, fail_on: str) -> int:
    """0 clean; 1 findings at or above `fail_on`; 2 anything not scanned (wins)."""
    if result.errors or any(f.status is FileStatus.ERROR for f in result.files):
        return 2
    if fail_on == "none":
        return 0
    threshold = Severity(fail_on).rank
    failing = any(f.outcome is Outcome.FAIL and f.severity.rank >= threshold for f in result.findings)
    return 1 if failing else 0
