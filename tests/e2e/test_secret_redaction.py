"""Planted fake secrets never reach a report, whatever the format.

The fixtures of SEC-K8S-007 (env vars), SEC-K8S-008 (ConfigMaps) and a Secret next to
SEC-K8S-009A's hold fake credentials that all start with `tierscan-fake-`. They are
scanned through the real command line with every policy and every outcome kept; the
findings must be there, and the values must not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.e2e.cli_runner import tierscan

PLANTED = {
    FIXTURES / "kubernetes/no-secret-env-literals/fail.yaml": ["tierscan-fake-db-password-71",
                                                               "tierscan-fake-api-key-72"],
    FIXTURES / "kubernetes/no-credentials-in-configmaps/fail.yaml": ["tierscan-fake-master-password-81",
                                                                     "tierscan-fake-db-password-82",
                                                                     "tierscan-fake-db-password-83"],
    FIXTURES / "kubernetes/odoo-list-db-disabled/na.yaml": ["tierscan-fake-db-password-91"],
}


def test_the_fixtures_really_hold_the_planted_values() -> None:
    for path, values in PLANTED.items():
        text = path.read_text(encoding="utf-8")
        assert all(value in text for value in values), path


@pytest.mark.parametrize("fmt", ["json", "text", "sarif", "junit", "markdown", "github"])
def test_planted_secrets_never_appear_in_reports(fmt: str) -> None:
    done = tierscan("scan", *PLANTED, "--format", fmt, "--all-outcomes", "--fail-on", "none")
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "tierscan-fake-" not in output
    # The findings that sit on those values are reported (redacted), so the check is not vacuous.
    if fmt == "json":
        report = json.loads(done.stdout)
        failed = {(f["policy"], f["resource"]["name"]) for f in report["findings"] if f["outcome"] == "fail"}
        assert {("SEC-K8S-007", "odoo-web"), ("SEC-K8S-008", "odoo-config"), ("SEC-K8S-008", "edi-settings"),
                ("SEC-K8S-008", "report-settings")} <= failed
        messages = [f["message"] for f in report["findings"] if f["policy"] == "SEC-K8S-007"]
        assert ("Container 'odoo' of Deployment 'odoo-web' sets a secret-looking environment variable to a "
                "literal value at spec.template.spec.containers[0].env[1].value (<redacted>); reference a Secret "
                "with valueFrom.secretKeyRef.") in messages
    elif fmt == "sarif":
        rules = {r["ruleId"] for run in json.loads(done.stdout)["runs"] for r in run["results"]}
        assert {"SEC-K8S-007", "SEC-K8S-008"} <= rules
    else:  # text, junit, markdown and GitHub annotations all name the failing policies
        assert "SEC-K8S-007" in done.stdout and "SEC-K8S-008" in done.stdout


def test_planted_secrets_never_appear_in_recovery_reports_or_the_baseline(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    tierscan("scan", *PLANTED, "--write-baseline", baseline, "--fail-on", "none")
    assert "tierscan-fake-" not in baseline.read_text()
    for fmt in ("text", "json", "html"):
        done = tierscan("recovery", *PLANTED, "--format", fmt, "--fail-on", "none")
        assert "tierscan-fake-" not in done.stdout + done.stderr, fmt
