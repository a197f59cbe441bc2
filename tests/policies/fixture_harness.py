"""Run one policy over its fixture folder and compare with `expected.yaml`.

Fixture folders (fixtures/<platform>/<slug>/) hold input files whose names start with
`pass`, `fail` or `na`, and an `expected.yaml`:

    policy: HA-K8S-001
    results:
      - file: fail.yaml
        resource: Deployment/odoo        # <type>/<name> as the scanner names it
        view: containers[odoo]           # container-view policies only
        outcome: fail                    # pass | fail | not-applicable | suppressed
        message: "Deployment 'odoo' can run as few as 1 replica(s); tier high needs at least 2."
        line: 9                          # optional

Every outcome the policy produces in the folder must be listed, and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scanner.engine.evaluate import EvaluationOptions
from scanner.engine.loader import builtin_policy_dir, load_policies
from scanner.engine.policy import Policy
from scanner.scan import ScanOptions, scan_paths

_POLICIES: dict[str, Policy] | None = None


def all_policies() -> dict[str, Policy]:
    global _POLICIES
    if _POLICIES is None:
        loaded, errors = load_policies([builtin_policy_dir()])
        assert not errors, [e.one_line() for e in errors]
        _POLICIES = {p.id: p for p in loaded}
    return _POLICIES


def run_fixture(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(actual results, expected results, scan errors) for one fixture folder."""
    expected_doc = yaml.safe_load((folder / "expected.yaml").read_text())
    policy = all_policies()[expected_doc["policy"]]
    options = ScanOptions(builtin_policies=False, evaluation=EvaluationOptions(keep_passing=True),
                          root=folder)
    inputs = sorted(p for p in folder.iterdir() if p.name != "expected.yaml")
    result = scan_paths(inputs, options, loaded=([policy], []))
    actual = []
    for f in result.findings:
        if f.policy_id != policy.id:
            continue
        row: dict[str, Any] = {"file": f.location.file or f.resource.origin.file,
                               "resource": f"{f.resource.type}/{f.resource.name}",
                               "outcome": f.outcome.value}
        if f.view_path:
            row["view"] = f.view_path
        row["message"] = f.message
        row["line"] = f.location.line
        actual.append(row)
    return actual, list(expected_doc["results"]), [e.one_line() for e in result.errors]


def key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return (row["file"], row["resource"], row.get("view", ""), row["outcome"])
