"""`tierscan scan CHART` renders the chart with the real Helm engine, with the values,
release and namespace given on the command line; a chart that cannot render is exit 2."""

from __future__ import annotations

import pytest

from scanner.sources import helm
from tests.conftest import FIXTURES, ROOT
from tests.e2e.cli_runner import scan_json, tierscan

# Test policies with fixed wording (tests/source_policies).
POLICIES = ("--no-builtin-policies", "--policy-dir", str(ROOT / "tests" / "source_policies"))

pytestmark = pytest.mark.skipif(
    helm.available_engine() is None, reason="no Helm engine here: neither the helm CLI nor helm-python-sdk "
                                            "(pip install tierscan[helm]) is installed")


def test_chart_with_production_values_release_and_namespace() -> None:
    code, report, stderr = scan_json(
        "helm/odoo", "--helm-values", "helm/odoo/values-production.yaml", "--helm-set", "image.tag=17.0.1",
        "--helm-release", "erp", "--helm-namespace", "odoo-prod", "--all-outcomes", *POLICIES, cwd=FIXTURES)
    assert (code, stderr, report["errors"]) == (0, "", [])
    assert sorted((f["policy"], f["outcome"], f["resource"]["id"], f["location"]["file"])
                  for f in report["findings"]) == [
        ("HA-K8S-901", "pass", "Deployment/odoo-prod/erp-odoo", "helm/odoo/templates/deployment.yaml"),
        ("SEC-K8S-901", "pass", "Deployment/odoo-prod/erp-odoo", "helm/odoo/templates/deployment.yaml"),
    ]
    (chart,) = [f for f in report["files"] if f["path"] == "helm/odoo"]
    engine = helm.available_engine()
    assert (chart["status"], chart["resources"], chart["reason"]) == (
        "scanned", 3, f"Helm chart rendered with {engine} (release erp, namespace odoo-prod)")


def test_broken_chart_is_exit_2_naming_the_chart() -> None:
    done = tierscan("scan", "helm/broken", cwd=FIXTURES)
    assert done.returncode == 2
    assert ('helm/broken: Helm chart helm/broken could not be rendered: parse error at '
            '(broken/templates/deployment.yaml:6): function "noSuchFunction" not defined') in done.stdout


def test_values_rejected_by_the_schema_are_exit_2() -> None:
    code, report, stderr = scan_json("helm/odoo", "--helm-set", "replicaCount=zero", *POLICIES, cwd=FIXTURES)
    assert code == 2
    assert stderr == (
        "tierscan: error: helm/odoo: Helm chart helm/odoo could not be rendered: values don't meet the "
        "specifications of the schema(s) in the following chart(s): odoo: - at '/replicaCount': "
        "got string, want integer\n")
    assert [e["file"] for e in report["errors"]] == ["helm/odoo"]


def test_a_changed_template_named_alone_renders_its_chart() -> None:
    # What pre-commit does: it passes only the changed file.
    code, report, _ = scan_json("helm/odoo/templates/deployment.yaml", "--all-outcomes", *POLICIES, cwd=FIXTURES)
    assert code == 1  # the chart's default values run one replica: HA-K8S-901 fails
    assert report["errors"] == []
    (chart,) = [f for f in report["files"] if f["path"] == "helm/odoo"]
    assert chart["status"] == "scanned"
    assert {(f["policy"], f["outcome"], f["resource"]["id"], f["location"]["file"]) for f in report["findings"]} == {
        ("HA-K8S-901", "fail", "Deployment/-/release-name-odoo", "helm/odoo/templates/deployment.yaml"),
        ("SEC-K8S-901", "pass", "Deployment/-/release-name-odoo", "helm/odoo/templates/deployment.yaml")}
