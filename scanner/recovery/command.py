"""`tierscan recovery`: scan the paths, live state or a snapshot, assess recovery
objectives, write the report.

Kept out of scanner/cli.py so that the command there is only its options; nothing
here is imported unless the command runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.model import Outcome, ScanResult, Severity

if TYPE_CHECKING:
    from scanner.scan import LiveScan


@dataclass
class RecoveryRequest:
    paths: list[Path]
    fmt: str = "text"
    output: Path | None = None
    history: Path | None = None
    config_path: Path | None = None
    default_tier: str | None = None
    default_environment: str | None = None
    fail_on: str | None = None
    category: str = "tierscan-recovery"
    # Set for --azure/--kubernetes/--snapshot (then `paths` is empty): the resources come
    # from scan_live, exactly as for `tierscan scan`, and the assessment runs on them.
    live: LiveScan | None = None
    progress: Callable[[str, int, int], None] | None = None


class UsageError(ValueError):
    pass


def _failures_by_area(result: ScanResult, policies: list[Any]) -> dict[str, dict[str, int]]:
    areas = {p.id: p.area for p in policies}
    out: dict[str, dict[str, int]] = {}
    for f in result.findings:
        if f.outcome is Outcome.FAIL:
            bucket = out.setdefault(areas.get(f.policy_id, "other"), {})
            bucket[f.severity.value] = bucket.get(f.severity.value, 0) + 1
    return dict(sorted(out.items()))


def load_history(directory: Path) -> list[dict[str, Any]]:
    """Earlier JSON reports of `tierscan recovery --format json`, oldest first. Files that
    are not such reports are skipped: a nightly job's directory may hold other output."""
    runs = []
    for file in sorted(directory.glob("*.json")):
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("kind") == "tierscan-recovery" and isinstance(doc.get("summary"), dict):
            doc["_file"] = file.name
            runs.append(doc)
    return sorted(runs, key=lambda d: (str(d.get("generated_at", "")), d["_file"]))


def run(request: RecoveryRequest) -> tuple[str, int, list[str]]:
    """(report text, exit code, error lines)."""
    from scanner.config import ConfigError, apply_to_policies, find_config, load_config
    from scanner.recovery.assess import assess, sarif_rules
    from scanner.recovery.figures import ModelError, load_model
    from scanner.recovery.report import render_json, render_text, to_dict
    from scanner.scan import ScanOptions, exit_code, load_all_policies, scan_live, scan_paths

    targets = request.paths or [Path()]
    try:
        config = load_config(request.config_path or find_config(targets[0]))
        model = load_model(overrides=config.recovery_figures)
    except (ConfigError, ModelError) as exc:
        raise UsageError(str(exc)) from None
    tiers = config.tiers
    tiers.default_tier = request.default_tier or tiers.default_tier
    tiers.default_environment = request.default_environment or tiers.default_environment
    options = ScanOptions(tiers=tiers, policy_dirs=config.policy_dirs,
                          exclude=config.is_excluded if config.exclude else None)
    loaded, load_errors = load_all_policies(options)
    policies, config_errors = apply_to_policies(loaded, config)
    if request.live is not None:
        result = scan_live(request.live, options, (policies, load_errors + config_errors), request.progress)
    else:
        result = scan_paths(targets, options, (policies, load_errors + config_errors))
    assessment = assess(result.resources, model, config.services)
    areas = _failures_by_area(result, policies)
    if request.fmt == "json":
        text = render_json(assessment, areas)
    elif request.fmt == "html":
        from scanner.report.html import render_html

        history = load_history(request.history) if request.history is not None else []
        text = render_html(to_dict(assessment, areas), history)
    elif request.fmt == "sarif":
        from scanner.report import sarif

        only = ScanResult(findings=assessment.findings, files=result.files, errors=result.errors)
        text = sarif.render(only, [], category=request.category, extra_rules=sarif_rules())
    else:
        text = render_text(assessment)
    errors = [error.one_line() for error in result.errors]
    gate = ScanResult(findings=assessment.findings, files=result.files, errors=result.errors)
    threshold = request.fail_on or config.fail_on or Severity.HIGH.value
    return text, exit_code(gate, threshold), errors


def main(request: RecoveryRequest) -> int:
    try:
        text, code, errors = run(request)
    except UsageError as exc:
        print(f"tierscan: error: {exc}", file=sys.stderr)
        return 2
    if request.output is None:
        sys.stdout.write(text)
    else:
        request.output.write_text(text, encoding="utf-8")
    for line in errors:
        print(f"tierscan: error: {line}", file=sys.stderr)
    return code
