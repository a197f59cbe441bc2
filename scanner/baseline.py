"""Baselines: record today's findings, then report only what is new.

The key of a finding is its fingerprint: policy + resource identity + file (+ the
container for container-level findings), never a line number, so moving code up or
down a file neither hides a finding nor brings a known one back. Baselined findings
are dropped from the report; fixed ones are listed as resolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.model import Finding, Outcome, ScanResult
from scanner.report.common import fingerprint

BASELINE_VERSION = 1


@dataclass
class BaselineDiff:
    new: int = 0
    existing: int = 0
    resolved: list[dict[str, Any]] = field(default_factory=list)


def _entry(f: Finding) -> dict[str, Any]:
    return {"fingerprint": fingerprint(f), "policy": f.policy_id, "resource": f.resource.identity,
            "file": f.location.file or f.location.live_id}


def write_baseline(result: ScanResult, path: Path) -> int:
    entries = sorted((_entry(f) for f in result.findings if f.outcome is Outcome.FAIL),
                     key=lambda e: (e["policy"], e["resource"], e["file"] or "", e["fingerprint"]))
    path.write_text(json.dumps({"version": BASELINE_VERSION, "tool": "tierscan", "findings": entries},
                               indent=2) + "\n", encoding="utf-8")
    return len(entries)


class BaselineError(ValueError):
    pass


def read_baseline(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc}; write one with --write-baseline") from None
    if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION:
        raise BaselineError(f"{path}: not a tierscan baseline (version {BASELINE_VERSION})")
    return {e["fingerprint"]: e for e in data.get("findings", [])}


def apply_baseline(result: ScanResult, known: dict[str, dict[str, Any]]) -> BaselineDiff:
    """Drop failing findings that are in the baseline; list baseline entries now fixed."""
    diff = BaselineDiff()
    seen: set[str] = set()
    kept: list[Finding] = []
    for f in result.findings:
        if f.outcome is Outcome.FAIL:
            key = fingerprint(f)
            seen.add(key)
            if key in known:
                diff.existing += 1
                continue
            diff.new += 1
        kept.append(f)
    result.findings = kept
    diff.resolved = [entry for key, entry in sorted(known.items()) if key not in seen]
    return diff
