"""Bad user policies through the CLI (issue 8, item 2): each bad file gets one error line
naming the file and the offending keyword, the good policies (built-in and user) still
load and find what they find, and the scan exits 2.

The bad files are fixtures/bad-policies/ (also checked at the loader level by
tests/policies/test_meta.py) copied beside cases written here: a regex with catastrophic
backtracking, an ID that clashes with a built-in policy, YAML that does not parse. A
missing fixture for a built-in policy is a meta-test concern:
tests/policies/test_fixtures.py::test_every_policy_has_fixtures.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.model import ScanError

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "fixtures" / "bad-policies"
TARGET = ROOT / "fixtures" / "kubernetes" / "workload-replicas" / "fail.yaml"
HEADER = """id: {id}
slug: {slug}
title: Deployments have a spec in this bad-policy test
severity: high
area: high-availability
rationale: A loader test policy; only the one deliberate mistake in this file matters.
remediation: Nothing to remediate; this file exists to be rejected by the loader.
references:
  - https://kubernetes.io/docs/concepts/workloads/controllers/deployment/
match: {{platform: kubernetes, kinds: [Deployment]}}
message: "{{kind}} '{{name}}' has no usable spec."
"""
REGEX = HEADER.format(id="HA-K8S-905", slug="regex-backtracking") + """assert:
  properties:
    metadata:
      properties:
        name: {type: string, pattern: "^(a+)+$"}
"""
CLASH = HEADER.format(id="HA-K8S-001", slug="clashing-id") + "assert: {required: [spec]}\n"
GOOD = HEADER.format(id="HA-K8S-906", slug="good-policy") + "assert: {required: [spec]}\n"
BROKEN = "id: [HA-K8S-907\n"

EXPECTED_ERRORS = [
    "bad/broken.yaml: policy not loaded: not valid YAML at line 2: did not find expected ',' or ']'",
    f"bad/clashing-id.yaml: policy not loaded: duplicate policy id HA-K8S-001 (already defined in "
    f"{ROOT}/policies/kubernetes/high-availability/workload-replicas.yaml); IDs are permanent and unique, give "
    "this policy a new one",
    "bad/invalid-assert-schema.yaml: policy not loaded: 'assert' is not a valid JSON Schema: type 'integr' is not "
    "supported in conditions",
    "bad/regex-backtracking.yaml: policy not loaded: 'assert' is not a valid JSON Schema: malformed schema: pattern "
    "'^(a+)+$' nests quantifiers (catastrophic backtracking); rewrite it without a repeated group that itself "
    "repeats",
    "bad/second-policy.yaml: policy not loaded: duplicate policy id HA-K8S-904 (already defined in "
    "bad/first-policy.yaml); IDs are permanent and unique, give this policy a new one",
    "bad/undeclared-param.yaml: policy not loaded: 'assert' uses $param ['minReplicas'] not declared under 'params'",
    "bad/unknown-keyword.yaml: policy not loaded: unknown keyword 'remedy' (allowed: area, assert, description, "
    "environments, id, match, message, params, rationale, references, relations, remediation, sensitive, severity, "
    "slug, tags, tiers, title, when)",
]


def scan(*args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(main, ["scan", str(TARGET), "--format", "json", "--all-outcomes", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout), result.stderr


def findings(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return sorted((f["policy"], f["resource"]["name"], f["outcome"], f.get("message") or "")
                  for f in report["findings"])


@pytest.fixture()
def bad_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """bad/ (relative, as a user would pass it) holding every bad case and one good policy."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "bad"
    folder.mkdir()
    for case in sorted(BAD.iterdir()):
        for file in case.glob("*.yaml"):
            shutil.copy(file, folder / file.name)
    for name, text in (("regex-backtracking", REGEX), ("clashing-id", CLASH), ("good-policy", GOOD),
                       ("broken", BROKEN)):
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_bad_user_policies_are_named_and_the_rest_still_scan(bad_dir: Path) -> None:
    clean_code, clean, clean_stderr = scan()
    code, report, stderr = scan("--policy-dir", "bad")
    assert (clean_code, clean_stderr, clean["errors"]) == (1, "", [])
    assert code == 2
    assert stderr.splitlines() == [f"tierscan: error: {e}" for e in EXPECTED_ERRORS]
    assert [(e["file"], e["message"]) for e in report["errors"]] == [
        tuple(e.split(": ", 1)) for e in EXPECTED_ERRORS]
    # The built-in policies (HA-K8S-001 too, whose ID the user file tried to take) find
    # exactly what they find without the bad directory; the good user policy and the
    # first of the two duplicates load and run as well.
    extra = [f for f in findings(report) if f not in findings(clean)]
    assert [f for f in findings(clean) if f not in findings(report)] == []
    assert sorted({f[0] for f in extra}) == ["HA-K8S-904", "HA-K8S-906"]
    assert report["summary"]["policies"] == clean["summary"]["policies"] + 2


def test_each_bad_case_alone_exits_2_with_one_line(bad_dir: Path) -> None:
    for case in sorted(p.name for p in BAD.iterdir()):
        only = bad_dir.parent / case
        shutil.copytree(BAD / case, only)
        code, report, stderr = scan("--no-builtin-policies", "--policy-dir", case)
        lines = stderr.splitlines()
        assert code == 2, case
        assert len(lines) == 1 and lines[0].startswith(f"tierscan: error: {case}/"), lines
        assert [e["file"] for e in report["errors"]] == [lines[0].split(": ")[2]]


def test_a_missing_policy_directory_is_an_error_and_built_ins_still_run(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _clean_code, clean, _ = scan()
    code, report, stderr = scan("--policy-dir", "nope")
    assert code == 2
    assert stderr.splitlines() == ["tierscan: error: policy directory not found: nope"]
    assert findings(report) == findings(clean)


def test_policy_files_are_read_strictly(tmp_path: Path) -> None:
    from scanner.engine.loader import load_policy_file

    two_documents = tmp_path / "two.yaml"
    two_documents.write_text(GOOD + "---\n" + GOOD)
    duplicate_key = tmp_path / "duplicate.yaml"
    duplicate_key.write_text(GOOD + "severity: low\n")
    assert load_policy_file(two_documents)[1] == ScanError(
        "policy not loaded: a policy file must hold one mapping (id, title, match, assert, ...)",
        file=str(two_documents))
    error = load_policy_file(duplicate_key)[1]
    assert error is not None and error.message == (
        "policy not loaded: not valid YAML at line 13: found duplicate key 'severity'")
