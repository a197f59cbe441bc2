"""`tierscan recovery` through the real command line: the service table on the example
platform, JSON for nightly history, SARIF that GitHub accepts, and the HTML posture
report rendered by headless Chromium."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, SHARED
from tests.e2e.cli_runner import tierscan

EXAMPLE = ROOT / "examples" / "odoo-on-aks"
COMPLIANT = FIXTURES / "recovery" / "compliant"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_example_prints_the_service_table_and_the_evidence_of_each_gap() -> None:
    done = tierscan("recovery", "examples/odoo-on-aks")
    assert done.returncode == 1, done.stderr  # critical gaps, default --fail-on high
    out = done.stdout
    assert out.startswith("Recovery objectives: 2 services, 0 meet the targets of their tier.\n")
    assert ("service erp-prod/odoo  tier critical (RPO ≤ 15 min, RTO ≤ 60 min)  production  hosts: "
            "erp.contoso.example\n") in out
    assert (
        "  failure scope                RPO achievable / target  RTO achievable / target\n"
        "  ---------------------------  -----------------------  -----------------------\n"
        "  pod/node loss                0 min / 15 min           10 min / 60 min\n"
        "  zone loss                    6 h / 15 min  ✗          12 h / 60 min  ✗\n"
        "  region loss                  unbounded / 15 min  ✗    unbounded / 60 min  ✗\n"
        "  data corruption or deletion  unbounded / 15 min  ✗    unbounded / 60 min  ✗\n") in out
    assert ("    DR-SVC-RPO [critical] service erp-prod/odoo (critical, RPO ≤ 15 min): region loss → PostgreSQL "
            "pg-erp-prod has geo-redundant backup disabled and no read replica in another region → RPO unbounded.\n"
            "      at examples/odoo-on-aks/azure/platform.json:78 (properties.backup.geoRedundantBackup)\n") in out
    assert ("    DR-SVC-RTO [high] service erp-prod/odoo (critical, RTO ≤ 60 min): zone loss → PostgreSQL pg-erp-prod "
            "has high availability SameZone (not ZoneRedundant): it is recovered by a point-in-time restore into "
            "another zone → RTO 12 h.\n"
            "      at examples/odoo-on-aks/azure/platform.json:75 (properties.highAvailability.mode)\n") in out
    # After a corruption the HA standby does not help, and the filestore's backups expire first.
    assert ("    DR-SVC-RPO [critical] service erp-prod/odoo (critical, RPO ≤ 15 min): data corruption or deletion → "
            "PersistentVolumeClaim odoo-filestore uses the AKS storage class azurefile-csi-premium (Premium_LRS); only "
            "a backup helps, and Velero schedule erp-prod-every-6h keeps backups for 7 days (ttl 168h0m0s), less than "
            "the 14 days it can take to notice a corruption → RPO unbounded (assumption: "
            "corruption_detection_minutes).\n"
            "      at examples/odoo-on-aks/kubernetes/backup.yaml:12 (spec.template.ttl)\n") in out
    assert "  corruption_detection_minutes = 14 days: assumption: No documented figure" in out
    assert ("  pg_restore_minutes = 12 h: https://learn.microsoft.com/azure/postgresql/flexible-server/"
            "concepts-business-continuity\n") in out


def test_compliant_platform_exits_zero() -> None:
    done = tierscan("recovery", COMPLIANT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Recovery objectives: 1 service, 1 meets the targets of its tier.\n")
    assert "  region loss                  15 min / 15 min          60 min / 60 min\n" in done.stdout
    assert "  data corruption or deletion  5 min / 15 min           50 min / 60 min\n" in done.stdout


def test_sarif_output_passes_the_github_ingestion_checks(tmp_path: Path) -> None:
    out = tmp_path / "recovery.sarif"
    done = tierscan("recovery", "examples/odoo-on-aks", "--format", "sarif", "--output", out)
    assert done.returncode == 1, done.stderr
    log = json.loads(out.read_text(encoding="utf-8"))
    [run] = log["runs"]
    assert run["automationDetails"]["id"] == "tierscan-recovery/"
    assert sorted({r["ruleId"] for r in run["results"]}) == ["DR-SVC-RPO", "DR-SVC-RTO"]
    validator = SHARED / "tools" / "sarif-validate"
    checked = subprocess.run([sys.executable, str(validator), str(out)], capture_output=True, text=True, timeout=300)
    if checked.returncode == 2:
        pytest.skip(f"sarif-validate could not run here: {checked.stderr.strip() or checked.stdout.strip()}")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _html_report(tmp_path: Path) -> Path:
    history = tmp_path / "history"
    history.mkdir()
    for name, target in (("2026-11-20.json", EXAMPLE), ("2026-11-21.json", COMPLIANT)):
        done = tierscan("recovery", target, "--format", "json", "--output", history / name)
        assert done.returncode in (0, 1), done.stderr
    (history / "notes.json").write_text('{"not": "a report"}', encoding="utf-8")  # ignored
    report = tmp_path / "posture.html"
    done = tierscan("recovery", "examples/odoo-on-aks", "--format", "html", "--history", history, "--output", report)
    assert done.returncode == 1, done.stderr
    return report


def test_html_report_is_self_contained_with_all_sections(tmp_path: Path) -> None:
    html = _html_report(tmp_path).read_text(encoding="utf-8")
    for section in ("summary", "tier-compliance", "service-map", "gap-bars", "findings", "trend", "figures"):
        assert f'<section id="{section}">' in html
    # No external assets: no scripts, stylesheets or images fetched from anywhere.
    assert "<script" not in html and "<link" not in html and "<img" not in html and "src=" not in html
    # Two services, four failure scopes, RPO and RTO each.
    assert html.count('class="gap-chart"') == 2 and html.count('class="target-marker"') == 16
    # odoo: zone, region and corruption RPO/RTO; redis: region RTO.
    assert html.count('class="gap-bar over"') == 7
    assert "data corruption or deletion · RPO" in html
    # The trend: the two earlier reports (example, then compliant variant) and this run.
    assert html.count('class="trend-gaps"') == 1
    assert html.count("<td>2</td><td>0</td><td>10</td></tr>") == 2 and "<td>1</td><td>1</td><td>0</td></tr>" in html


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                             "(apt-get update && apt-get install -y chromium)")
def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    report = _html_report(tmp_path)
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # The browser parsed the page into the expected document: sections, charts, evidence.
    assert "<h1>Recovery posture</h1>" in dom.stdout
    assert dom.stdout.count("<svg") == 6  # tier bar, 2 service maps, 2 gap charts, trend
    assert "pg-erp-prod has geo-redundant backup disabled" in dom.stdout
    shot = tmp_path / "posture.png"
    done = subprocess.run([*flags, "--window-size=1200,2400", f"--screenshot={shot}", report.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert _png_size(data) == (1200, 2400)
    # A blank page compresses to a few kilobytes; charts and text do not.
    assert len(data) > 100_000


def test_an_unknown_figure_override_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # stop the config search here
    (tmp_path / ".tierscan.yaml").write_text("recovery:\n  figures:\n    cluster_rebuild: 30\n", encoding="utf-8")
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n", encoding="utf-8")
    done = tierscan("recovery", tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("tierscan: error: recovery.figures.cluster_rebuild: no such figure (known: ")
