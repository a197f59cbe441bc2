"""One scan, start to end: load policies, read inputs, resolve tiers, evaluate.

This is the only module that wires the stages together; the CLI and the tests call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scanner.engine.evaluate import Engine, EvaluationOptions
from scanner.engine.loader import builtin_policy_dir, load_policies
from scanner.engine.policy import Policy
from scanner.engine.tiers import TierSettings, resolve_tiers
from scanner.model import FileStatus, Outcome, Resource, ScanError, ScanResult, Severity
from scanner.sources.files import DEFAULT_MAX_FILE_SIZE, discover, display_path, scan_file


@dataclass
class ScanOptions:
    policy_dirs: list[Path] = field(default_factory=list)  # extra (user) policy directories
    builtin_policies: bool = True
    tiers: TierSettings = field(default_factory=TierSettings)
    evaluation: EvaluationOptions = field(default_factory=EvaluationOptions)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    root: Path | None = None  # paths in reports are relative to this (default: cwd)


def load_all_policies(options: ScanOptions) -> tuple[list[Policy], list[ScanError]]:
    dirs = ([builtin_policy_dir()] if options.builtin_policies else []) + list(options.policy_dirs)
    return load_policies(dirs)


def scan_paths(paths: list[Path], options: ScanOptions,
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
    for path, named in discover([p for p in paths if p.exists() or p.is_symlink()]):
        scanned = scan_file(path, display_path(path, root), named, options.max_file_size)
        result.files.append(scanned.record)
        result.errors.extend(scanned.errors)
        resources.extend(scanned.resources)
    evaluate_resources(resources, policies, options, result)
    return result


def evaluate_resources(resources: list[Resource], policies: list[Policy], options: ScanOptions,
                       result: ScanResult) -> None:
    resolve_tiers(resources, options.tiers)
    engine = Engine(policies, options.evaluation)
    findings, errors = engine.evaluate(resources)
    result.resources.extend(resources)
    result.findings.extend(findings)
    result.errors.extend(errors)
    result.outcome_counts = dict(engine.counts)


def exit_code(result: ScanResult, fail_on: str) -> int:
    """0 clean; 1 findings at or above `fail_on`; 2 anything not scanned (wins)."""
    if result.errors or any(f.status is FileStatus.ERROR for f in result.files):
        return 2
    if fail_on == "none":
        return 0
    threshold = Severity(fail_on).rank
    failing = any(f.outcome is Outcome.FAIL and f.severity.rank >= threshold for f in result.findings)
    return 1 if failing else 0
