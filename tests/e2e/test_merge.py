"""`tierscan merge` on the reports of a repository scanned in two parts, as a CI matrix
would with `--shard`: the merged report must be the report of one scan of everything.

For a file scan the parts are two halves of examples/ (the Azure templates and the
workflows; the Kubernetes manifests and the README), so no relation crosses them. The
merged JSON and SARIF are compared byte for byte with a single scan's, including the
summary (outcome counts summed from the shards' summaries, even for passes that are not
listed without --all-outcomes) and the baseline section.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from tests.conftest import ROOT, SHARED

HALF_A = ["examples/odoo-on-aks/azure", "examples/workflows"]
HALF_B = ["examples/odoo-on-aks/kubernetes", "examples/odoo-on-aks/README.md"]


def tierscan(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def scan_to(out: Path, paths: list[str], *extra: str) -> Path:
    code, _stdout, stderr = tierscan("scan", *paths, *extra, "--output", out)
    assert code == 1 and stderr == "", stderr  # the example fails high-severity policies
    return out


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # report paths are relative to where the scan runs


@pytest.mark.parametrize("extra", [(), ("--all-outcomes",)], ids=["failures-only", "all-outcomes"])
def test_merged_json_is_the_single_scan_report(tmp_path: Path, extra: tuple[str, ...]) -> None:
    args = ("--format", "json", *extra)
    a = scan_to(tmp_path / "a.json", HALF_A, *args)
    b = scan_to(tmp_path / "b.json", HALF_B, *args)
    whole = scan_to(tmp_path / "whole.json", ["examples"], *args)
    merged = tmp_path / "merged.json"
    # Shard order does not matter: B comes first here.
    assert tierscan("merge", b, a, "--output", merged) == (0, "", "")
    assert merged.read_text(encoding="utf-8") == whole.read_text(encoding="utf-8")
    summary = json.loads(merged.read_text(encoding="utf-8"))["summary"]
    assert summary == {
        "outcomes": {"pass": 89, "fail": 63, "not-applicable": 23, "suppressed": 0, "error": 0},
        "failures_by_severity": {"critical": 2, "high": 27, "low": 1, "medium": 33},
        "files": {"scanned": 9, "skipped": 3, "error": 0}, "resources": 22, "policies": 85, "errors": 0}
    # To stdout, with the format named, it is the same text.
    assert tierscan("merge", a, b, "--format", "json") == (0, whole.read_text(encoding="utf-8"), "")


def test_baseline_sections_are_combined(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    code, _out, _err = tierscan("scan", "examples", "--write-baseline", baseline, "--format", "json")
    assert code == 0
    doc = json.loads(baseline.read_text(encoding="utf-8"))
    # Keep half the entries, and add one that no shard sees: new, existing and resolved all occur.
    gone = {"fingerprint": "0" * 32, "policy": "HA-K8S-001", "resource": "Deployment/gone/odoo", "file": "gone.yaml"}
    doc["findings"] = [*doc["findings"][::2], gone]
    baseline.write_text(json.dumps(doc), encoding="utf-8")
    args = ("--format", "json", "--baseline", str(baseline))
    a = scan_to(tmp_path / "a.json", HALF_A, *args)
    b = scan_to(tmp_path / "b.json", HALF_B, *args)
    whole = scan_to(tmp_path / "whole.json", ["examples"], *args)
    code, merged, _err = tierscan("merge", a, b)
    assert code == 0
    assert merged == whole.read_text(encoding="utf-8")
    assert json.loads(merged)["summary"]["baseline"] == {
        "file": str(baseline), "new": 31, "existing": 32, "resolved": [gone]}


def test_merged_sarif_is_the_single_scan_log_and_validates(tmp_path: Path) -> None:
    args = ("--format", "sarif", "--category", "nightly/azure")
    a = scan_to(tmp_path / "a.sarif", HALF_A, *args)
    b = scan_to(tmp_path / "b.sarif", HALF_B, *args)
    whole = scan_to(tmp_path / "whole.sarif", ["examples"], *args)
    merged = tmp_path / "merged.sarif"
    assert tierscan("merge", b, a, "--format", "sarif", "-o", merged) == (0, "", "")
    assert merged.read_text(encoding="utf-8") == whole.read_text(encoding="utf-8")
    [run] = json.loads(merged.read_text(encoding="utf-8"))["runs"]
    assert run["automationDetails"] == {"id": "nightly/azure/"}
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    validator = SHARED / "tools" / "sarif-validate"
    checked = subprocess.run([sys.executable, str(validator), str(merged)], capture_output=True, text=True,
                             timeout=300)
    if checked.returncode == 2:
        pytest.skip(f"sarif-validate could not run here: {checked.stderr.strip() or checked.stdout.strip()}")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_rule_union_remaps_rule_indexes(tmp_path: Path) -> None:
    """Shards that loaded different rules: the union keeps first appearance, results point at it."""
    a = scan_to(tmp_path / "a.sarif", HALF_A, "--format", "sarif")
    b = scan_to(tmp_path / "b.sarif", HALF_B, "--format", "sarif")
    log_b = json.loads(b.read_text(encoding="utf-8"))
    run_b = log_b["runs"][0]
    # Keep only the rules shard B's results use, in reverse order, so every index moves.
    used = sorted({r["ruleId"] for r in run_b["results"]}, reverse=True)
    old = [r["id"] for r in run_b["tool"]["driver"]["rules"]]
    run_b["tool"]["driver"]["rules"] = [run_b["tool"]["driver"]["rules"][old.index(i)] for i in used]
    for result in run_b["results"]:
        result["ruleIndex"] = used.index(result["ruleId"])
    b.write_text(json.dumps(log_b), encoding="utf-8")
    code, out, _err = tierscan("merge", b, a)
    assert code == 0
    [run] = json.loads(out)["runs"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    a_rules = [r["id"] for r in json.loads(a.read_text(encoding="utf-8"))["runs"][0]["tool"]["driver"]["rules"]]
    assert rules == used + [i for i in a_rules if i not in used]
    assert [(r["ruleId"], rules[r["ruleIndex"]]) for r in run["results"]] == [
        (r["ruleId"], r["ruleId"]) for r in run["results"]]
    assert len(run["results"]) == len(run_b["results"]) + len(
        json.loads(a.read_text(encoding="utf-8"))["runs"][0]["results"])


def test_mixed_or_unknown_inputs_are_refused(tmp_path: Path) -> None:
    a = scan_to(tmp_path / "a.json", HALF_A, "--format", "json")
    b = scan_to(tmp_path / "b.sarif", HALF_B, "--format", "sarif")
    c = scan_to(tmp_path / "c.sarif", HALF_A, "--format", "sarif", "--category", "pr")
    other = tmp_path / "other.json"
    other.write_text('{"version": 1, "findings": []}', encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert tierscan("merge", a, b) == (
        2, "", f"tierscan: error: {b}: is a SARIF log, but {a} is a JSON report; merge reports of one format\n")
    assert tierscan("merge", a, other) == (
        2, "", f"tierscan: error: {other}: not a tierscan JSON report or SARIF log\n")
    assert tierscan("merge", broken) == (
        2, "", f"tierscan: error: {broken}: not JSON: Expecting property name enclosed in double quotes: "
               "line 1 column 2 (char 1)\n")
    assert tierscan("merge", b, c) == (
        2, "", f"tierscan: error: {c}: automationDetails (the --category) differs from {b} ({{'id': 'pr/'}} vs "
               "{'id': 'tierscan/'}); shards must be run alike\n")
    assert tierscan("merge", a, "--format", "sarif") == (
        2, "", f"tierscan: error: {a}: is a JSON report; --format sarif would need a conversion, which merge does "
               "not do\n")


def test_errors_every_shard_reports_appear_once_sorted(tmp_path: Path) -> None:
    a = json.loads(scan_to(tmp_path / "a.json", HALF_A, "--format", "json").read_text(encoding="utf-8"))
    b = json.loads(scan_to(tmp_path / "b.json", HALF_B, "--format", "json").read_text(encoding="utf-8"))
    broken = {"message": "policy file is not valid YAML", "file": "policies/x.yaml", "line": 3, "policy": None}
    a["errors"] = [{"message": "cannot read", "file": "z.yaml", "line": None, "policy": None}, broken]
    b["errors"] = [broken]
    for doc, name in ((a, "a.json"), (b, "b.json")):
        (tmp_path / name).write_text(json.dumps(doc), encoding="utf-8")
    code, out, _err = tierscan("merge", tmp_path / "a.json", tmp_path / "b.json")
    assert code == 0
    merged = json.loads(out)
    assert merged["errors"] == [broken, {"message": "cannot read", "file": "z.yaml", "line": None, "policy": None}]
    assert merged["summary"]["errors"] == 2
