"""The issue-2 acceptance checks, run through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, FIXTURES, ROOT, SHARED
from tests.e2e.cli_runner import scan_json, tierscan


def test_malformed_yaml_among_good_files_is_one_line_error_and_exit_2() -> None:
    code, report, stderr = scan_json(FIXTURES / "e2e" / "mixed-bad", "--all-outcomes")
    assert code == 2
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert files["broken.yaml"]["status"] == "error"
    assert files["good.yaml"]["status"] == "scanned"
    assert files["also-good.json"]["status"] == "scanned"
    [error] = report["errors"]
    assert error["file"].endswith("mixed-bad/broken.yaml")
    assert error["line"] == 8
    assert error["message"] == ("invalid YAML: found unexpected end of stream (while scanning a quoted "
                                "scalar that starts at line 6); fix the syntax")
    # The error is one line on stderr, naming the file and the line.
    error_lines = [line for line in stderr.splitlines() if "broken.yaml" in line]
    assert len(error_lines) == 1 and "broken.yaml:8: invalid YAML" in error_lines[0]
    # The good files were still evaluated.
    outcomes = {(f["policy"], f["resource"]["name"]): f["outcome"] for f in report["findings"]}
    assert outcomes[("HA-K8S-001", "web")] == "fail"
    assert outcomes[("HA-AZ-004", "pg")] == "fail"


def test_exit_codes_follow_fail_on() -> None:
    good = FIXTURES / "e2e" / "mixed-bad" / "good.yaml"
    assert tierscan("scan", good).returncode == 1  # HA-K8S-001 is high, default --fail-on high
    assert tierscan("scan", good, "--fail-on", "critical").returncode == 0
    assert tierscan("scan", good, "--fail-on", "none").returncode == 0
    assert tierscan("scan", "no/such/path.yaml").returncode == 2
    assert tierscan("scan", good, "--format", "yaml").returncode == 2  # usage error


def test_report_destination_checked_before_scanning(tmp_path: Path) -> None:
    good = FIXTURES / "e2e" / "mixed-bad" / "good.yaml"
    missing = tmp_path / "no-such-dir" / "out.sarif"
    for args in (("--output", missing), ("--report", f"json={missing}")):
        done = tierscan("scan", good, *args)
        assert done.returncode == 2
        assert done.stderr == (f"tierscan: error: {args[0]} {missing}: directory {missing.parent} does not exist; "
                               "create it or choose another path\n")
    # Streamed to a file, the JSON report is the same document as on stdout.
    written = tmp_path / "out.json"
    assert tierscan("scan", good, "--format", "json", "--output", written).stdout == ""
    assert json.loads(written.read_text()) == scan_json(good)[1]


def test_suppression_with_reason_suppresses_and_expired_does_not() -> None:
    code, report, _ = scan_json(FIXTURES / "e2e" / "suppressed")
    by_name = {f["resource"]["name"]: f for f in report["findings"] if f["policy"] == "HA-K8S-001"}
    assert by_name["batch"]["outcome"] == "suppressed"
    assert by_name["batch"]["justification"] == "single replica by design, the queue tolerates restarts"
    assert by_name["expired"]["outcome"] == "fail"
    assert by_name["expired"]["message"].endswith("(Suppression expired on 2020-01-01.)")
    assert code == 1


@pytest.mark.parametrize("corpus", ["kubernetes", "arm"])
def test_corpus_every_file_accounted_for(corpus: str) -> None:
    code, report, stderr = scan_json(CORPUS / corpus, "--fail-on", "none")
    assert "Traceback" not in stderr
    on_disk = sorted(p for p in (CORPUS / corpus).rglob("*") if p.is_file())
    reported = {f["path"] for f in report["files"]}
    for path in on_disk:
        shown = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else None
        assert any(r.endswith(path.relative_to(CORPUS).as_posix()) for r in reported), (shown, path)
    for record in report["files"]:
        assert record["status"] in ("scanned", "skipped", "error")
        if record["status"] != "scanned":
            assert record["reason"], record
    assert code in (0, 2)


def test_sarif_of_example_validates(tmp_path: Path) -> None:
    out = tmp_path / "example.sarif"
    done = tierscan("scan", "examples/odoo-on-aks", "--format", "sarif", "--output", out)
    assert done.returncode == 1, done.stderr
    log = json.loads(out.read_text())
    run = log["runs"][0]
    assert len(log["runs"]) == 1
    assert run["automationDetails"]["id"] == "tierscan/"
    results = run["results"]
    assert results, "the example has findings"
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert location["region"]["startLine"] >= 1
    validator = SHARED / "tools" / "sarif-validate"
    checked = subprocess.run([sys.executable, str(validator), str(out)], capture_output=True, text=True,
                             timeout=600)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_sarif_fingerprints_stable_when_lines_move(tmp_path: Path) -> None:
    source = (FIXTURES / "e2e" / "mixed-bad" / "good.yaml").read_text()
    (tmp_path / "app.yaml").write_text(source)
    first = json.loads(tierscan("scan", "app.yaml", "--format", "sarif", cwd=tmp_path).stdout)
    (tmp_path / "app.yaml").write_text("# a comment\n# and another\n\n" + source)
    second = json.loads(tierscan("scan", "app.yaml", "--format", "sarif", cwd=tmp_path).stdout)
    [r1] = [r for r in first["runs"][0]["results"] if r["ruleId"] == "HA-K8S-001"]
    [r2] = [r for r in second["runs"][0]["results"] if r["ruleId"] == "HA-K8S-001"]
    assert r2["locations"][0]["physicalLocation"]["region"]["startLine"] == \
        r1["locations"][0]["physicalLocation"]["region"]["startLine"] + 3
    assert r1["partialFingerprints"] == r2["partialFingerprints"]


def test_help_has_examples() -> None:
    for command in (["--help"], ["scan", "--help"], ["policies", "list", "--help"], ["policies", "show", "--help"]):
        out = tierscan(*command).stdout
        assert "tierscan" in out and ("Example" in out or "Start with" in out), command


def test_policies_list_json_and_show() -> None:
    listed = json.loads(tierscan("policies", "list", "--format", "json").stdout)
    ids = [p["id"] for p in listed]
    assert "HA-K8S-001" in ids and ids == sorted(ids)
    shown = tierscan("policies", "show", "ha-k8s-001")
    assert shown.returncode == 0 and "minReplicas: critical=3, default=2" in shown.stdout.replace("parameter ", "")
    assert tierscan("policies", "show", "NOPE-K8S-999").returncode == 2
