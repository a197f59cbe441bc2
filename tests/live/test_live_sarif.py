"""SARIF from a live scan passes the same validator as file scans: resources with no
source file get a stable relative URI under tierscan-live/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from scanner.cli import main
from tests.conftest import SHARED


def test_live_kubernetes_sarif_validates(kubeconfig: Path, tmp_path: Path) -> None:
    out = tmp_path / "live.sarif"
    result = CliRunner().invoke(main, ["scan", "--kubeconfig", str(kubeconfig), "--kube-context", "loopback",
                                       "--format", "sarif", "--output", str(out), "--category", "nightly-k8s"])
    assert result.exit_code == 1, result.output
    log = json.loads(out.read_text())
    run = log["runs"][0]
    assert run["automationDetails"]["id"] == "nightly-k8s/"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert "tierscan-live/kubernetes/loopback/erp/Deployment/odoo-worker" in uris
    assert "apps/odoo/web-deployment.yaml" in uris  # a linked resource points at its source file
    checked = subprocess.run([sys.executable, str(SHARED / "tools" / "sarif-validate"), str(out)],
                             capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout + checked.stderr
