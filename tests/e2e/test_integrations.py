"""Where users run tierscan: the GitHub Action's steps, run as a runner would, and the
pre-commit hook, run by real `pre-commit try-repo`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker

from tests.conftest import FIXTURES, ROOT, SHARED

BAD = (FIXTURES / "e2e" / "mixed-bad" / "good.yaml").read_text()  # one replica: fails HA-K8S-001
FIXED = BAD.replace("replicas: 1", "replicas: 2")
# These tests check the plumbing, so they pin the policy set to one policy.
ONLY_REPLICAS = "policies: {enable: [HA-K8S-001]}\n"


def _validator(name: str) -> Draft7Validator:
    schema = json.loads((SHARED / "schemas" / name).read_text())
    return Draft7Validator(schema, format_checker=FormatChecker())


def test_action_and_hook_manifests_validate() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert not list(_validator("github-action.json").iter_errors(action))
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert not list(_validator("pre-commit-hooks.json").iter_errors(hooks))
    pre_commit = Path(sys.executable).with_name("pre-commit")
    done = subprocess.run([str(pre_commit), "validate-manifest", ".pre-commit-hooks.yaml"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(action["inputs"]) == {"path", "config", "fail-on", "format", "output", "category",
                                     "upload-sarif", "baseline", "python-version"}
    assert set(action["outputs"]) == {"sarif-file", "findings", "exit-code"}


def _runner_env(tmp_path: Path, **inputs: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env.update({
        "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "contoso/erp-platform",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        # The cached-environment path of install.sh: the test's own virtual environment.
        "TIERSCAN_VENV": sys.prefix, "ACTION_PATH": str(ROOT),
    })
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    (tmp_path / "runner-temp").mkdir(exist_ok=True)
    return env


def test_action_steps_as_a_runner_runs_them(tmp_path: Path) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "web.yaml").write_text(BAD)
    (tmp_path / "tierscan.yaml").write_text(ONLY_REPLICAS)
    env = _runner_env(tmp_path, path="k8s", fail_on="high", format="sarif", output="tierscan.sarif",
                      category="tierscan-pr", config="tierscan.yaml", baseline="")
    install = subprocess.run(["bash", str(ROOT / "action" / "install.sh")], env=env, cwd=tmp_path,
                             capture_output=True, text=True)
    assert install.returncode == 0 and "using cached environment" in install.stdout, install.stderr
    scan = subprocess.run(["bash", str(ROOT / "action" / "scan.sh")], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert scan.returncode == 0, scan.stderr  # the step itself never fails; the last step does
    outputs = dict(line.split("=", 1) for line in (tmp_path / "output.txt").read_text().splitlines())
    assert outputs == {"sarif-file": "tierscan.sarif", "findings": "1", "exit-code": "1"}
    sarif = json.loads((tmp_path / "tierscan.sarif").read_text())
    assert sarif["runs"][0]["automationDetails"]["id"] == "tierscan-pr/"
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["HA-K8S-001"]
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("## tierscan\n")
    assert ("[`k8s/web.yaml:7`](https://github.com/contoso/erp-platform/blob/"
            "0123456789abcdef0123456789abcdef01234567/k8s/web.yaml#L7)") in summary
    # Fixed: exit code 0 and no findings.
    (tmp_path / "k8s" / "web.yaml").write_text(FIXED)
    (tmp_path / "output.txt").unlink()
    subprocess.run(["bash", str(ROOT / "action" / "scan.sh")], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    outputs = dict(line.split("=", 1) for line in (tmp_path / "output.txt").read_text().splitlines())
    assert (outputs["findings"], outputs["exit-code"]) == ("0", "0")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed for pre-commit")
def test_pre_commit_try_repo_fails_on_finding_and_passes_when_fixed(tmp_path: Path) -> None:
    repo = tmp_path / "platform"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "web.yaml").write_text(BAD)
    (repo / "README.md").write_text("not scanned: not an infrastructure file\n")
    (repo / ".tierscan.yaml").write_text(ONLY_REPLICAS)
    _git(repo, "add", ".")
    pre_commit = str(Path(sys.executable).with_name("pre-commit"))
    env = {**os.environ, "PRE_COMMIT_COLOR": "never"}
    first = subprocess.run([pre_commit, "try-repo", str(ROOT), "tierscan", "--all-files"], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=900)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "HA-K8S-001" in first.stdout and "Deployment 'web' can run as few as 1 replica(s)" in first.stdout
    (repo / "web.yaml").write_text(FIXED)
    _git(repo, "add", ".")
    second = subprocess.run([pre_commit, "try-repo", str(ROOT), "tierscan", "--all-files"], cwd=repo, env=env,
                            capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout + second.stderr
