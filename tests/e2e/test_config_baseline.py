"""Living with findings: config, config suppressions, baselines and the extra formats."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from scanner.config import STARTER, ConfigError, find_config, load_config
from tests.conftest import FIXTURES
from tests.e2e.cli_runner import scan_json, tierscan

APP = (FIXTURES / "e2e" / "mixed-bad" / "good.yaml").read_text()
TWO = APP + "---\n" + APP.replace("name: web", "name: api").replace("app: web", "app: api")


def test_starter_config_is_valid_and_init_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / ".tierscan.yaml"
    path.write_text(STARTER)
    config = load_config(path)
    assert config.tiers.default_tier == "high" and config.fail_on == "high"
    done = tierscan("init", "--path", path)
    assert done.returncode == 2 and "exists; use --force" in done.stderr
    assert tierscan("init", "--path", path, "--force").returncode == 0


def test_config_is_found_upward_and_stops_at_repo_root(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "k8s" / "apps").mkdir(parents=True)
    (tmp_path / ".tierscan.yaml").write_text("fail_on: low\n")  # outside the repo: ignored
    assert find_config(tmp_path / "repo" / "k8s" / "apps") is None
    (tmp_path / "repo" / ".tierscan.yaml").write_text("fail_on: low\n")
    assert find_config(tmp_path / "repo" / "k8s" / "apps") == (tmp_path / "repo" / ".tierscan.yaml").resolve()


def test_bad_config_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".tierscan.yaml").write_text("defaults:\n  tier: gold\n")
    with pytest.raises(ConfigError, match=r"\.tierscan\.yaml: 'defaults\.tier': 'gold' is not one of"):
        load_config(tmp_path / ".tierscan.yaml")
    (tmp_path / "app.yaml").write_text(APP)
    done = tierscan("scan", "app.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("tierscan: error: ") and "'defaults.tier'" in done.stderr


def test_config_disable_severity_params_exclude_and_suppress(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "app.yaml").write_text(TWO)
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "third-party.yaml").write_text(APP.replace("name: web", "name: vendored"))
    (tmp_path / ".tierscan.yaml").write_text(
        "defaults: {tier: medium}\n"
        "policies:\n  severity: {HA-K8S-001: low}\n  params: {HA-K8S-001: {minReplicas: {medium: 1}}}\n"
        "exclude: ['vendor/*']\n")
    code, report, _ = scan_json(".", "--all-outcomes", cwd=tmp_path)
    files = {f["path"]: (f["status"], f["reason"]) for f in report["files"]}
    assert files["vendor/third-party.yaml"] == ("skipped", "excluded by the config's `exclude`")
    # HA-K8S-001 covers critical/high only: at tier medium it is not applicable.
    outcomes = {(f["policy"], f["resource"]["name"]): f["outcome"] for f in report["findings"]}
    assert outcomes[("HA-K8S-001", "web")] == "not-applicable"
    (tmp_path / ".tierscan.yaml").write_text(
        "policies:\n  enable: [HA-K8S-001]\n  severity: {HA-K8S-001: low}\n"
        "suppressions:\n  - {policy: HA-K8S-001, resource: 'Deployment/shop/api', reason: 'batch API, one replica'}\n")
    code, report, _ = scan_json("app.yaml", cwd=tmp_path)
    by_name = {f["resource"]["name"]: f for f in report["findings"] if f["policy"] == "HA-K8S-001"}
    assert (by_name["web"]["outcome"], by_name["web"]["severity"]) == ("fail", "low")
    assert (by_name["api"]["outcome"], by_name["api"]["justification"]) == ("suppressed", "batch API, one replica")
    assert code == 0  # the only failure is now low, below the default fail-on (high)
    (tmp_path / ".tierscan.yaml").write_text("policies:\n  disable: [area:high-availability]\n")
    _, report, _ = scan_json("app.yaml", cwd=tmp_path)
    assert not [f for f in report["findings"] if f["policy"].startswith("HA-")]


def test_unknown_policy_or_param_in_config_is_reported(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / ".tierscan.yaml").write_text(
        "policies:\n  severity: {HA-K8S-999: low}\n  params: {HA-K8S-001: {minReplica: {default: 1}}}\n")
    code, report, _ = scan_json("app.yaml", cwd=tmp_path)
    messages = sorted(e["message"] for e in report["errors"])
    assert messages == ["config names unknown policy HA-K8S-999; see `tierscan policies list`",
                        "config sets unknown parameter 'minReplica' of HA-K8S-001 (it has: minReplicas)"]
    assert code == 2


def test_inline_comment_suppression(tmp_path: Path) -> None:
    text = APP.replace("  replicas: 1", "  # tierscan:ignore HA-K8S-001 canary runs a single pod\n  replicas: 1")
    (tmp_path / "app.yaml").write_text(text)
    _, report, _ = scan_json("app.yaml", cwd=tmp_path)
    [finding] = [f for f in report["findings"] if f["policy"] == "HA-K8S-001"]
    assert (finding["outcome"], finding["justification"]) == ("suppressed", "canary runs a single pod")
    sarif = json.loads(tierscan("scan", "app.yaml", "--format", "sarif", cwd=tmp_path).stdout)
    [result] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "HA-K8S-001"]
    assert result["suppressions"] == [{"kind": "inSource", "status": "accepted",
                                       "justification": "canary runs a single pod"}]


def test_baseline_survives_line_moves_and_reports_resolved(tmp_path: Path) -> None:
    # Only HA-K8S-001, so that the new and resolved counts don't depend on other policies.
    (tmp_path / ".git").mkdir()
    (tmp_path / ".tierscan.yaml").write_text("policies: {enable: [HA-K8S-001]}\n")
    (tmp_path / "app.yaml").write_text(TWO)
    done = tierscan("scan", "app.yaml", "--write-baseline", "base.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 2 findings to baseline base.json" in done.stderr
    (tmp_path / "app.yaml").write_text("# moved\n\n\n" + TWO)  # every line moves
    code, report, _ = scan_json("app.yaml", "--baseline", "base.json", cwd=tmp_path)
    assert report["summary"]["baseline"] == {"file": "base.json", "new": 0, "existing": 2, "resolved": []}
    assert [f for f in report["findings"] if f["outcome"] == "fail"] == []
    assert code == 0
    fixed = TWO.replace("name: api\n  namespace: shop\nspec:\n  replicas: 1",
                        "name: api\n  namespace: shop\nspec:\n  replicas: 2")
    (tmp_path / "app.yaml").write_text(fixed + "---\n" + APP.replace("name: web", "name: new"))
    code, report, _ = scan_json("app.yaml", "--baseline", "base.json", cwd=tmp_path)
    baseline = report["summary"]["baseline"]
    assert (baseline["new"], baseline["existing"]) == (1, 1)
    assert [(r["policy"], r["resource"]) for r in baseline["resolved"]] == [("HA-K8S-001", "Deployment/shop/api")]
    assert [f["resource"]["name"] for f in report["findings"] if f["outcome"] == "fail"] == ["new"]
    assert code == 1


def test_junit_markdown_and_github_formats(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".tierscan.yaml").write_text("policies: {enable: [HA-K8S-001]}\n")
    (tmp_path / "app.yaml").write_text(TWO)
    junit = tierscan("scan", "app.yaml", "--format", "junit", "--all-outcomes", cwd=tmp_path).stdout
    root = ET.fromstring(junit)
    suite = next(s for s in root if s.get("name", "").startswith("HA-K8S-001 "))
    assert (suite.get("tests"), suite.get("failures")) == ("2", "2")
    names = sorted(case.get("name") for case in suite)
    assert names == ["Deployment shop/api", "Deployment shop/web"]
    markdown = tierscan("scan", "app.yaml", "--format", "markdown", cwd=tmp_path).stdout
    assert markdown.startswith("## tierscan\n")
    assert "| high | HA-K8S-001 | Deployment shop/api | `app.yaml:20` |" in markdown
    github = tierscan("scan", "app.yaml", "--format", "github", cwd=tmp_path).stdout.splitlines()
    assert github[0] == ("::error file=app.yaml,line=7,col=3,title=HA-K8S-001 (high)::"
                         "Deployment 'web' can run as few as 1 replica(s); tier high needs at least 2.")
