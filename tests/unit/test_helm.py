"""Helm charts rendered by the real Helm engine (the helm CLI, or helm-python-sdk which
binds Helm's Go SDK): values, --set, schema rejection, broken templates, and findings
that point at the template file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.engine.evaluate import EvaluationOptions
from scanner.model import FileStatus, Outcome, Position
from scanner.scan import ScanOptions, scan_paths
from scanner.sources import helm
from scanner.sources.options import SourceOptions
from tests.conftest import FIXTURES, ROOT

CHARTS = FIXTURES / "helm"
ENGINE = helm.available_engine()
needs_helm = pytest.mark.skipif(
    ENGINE is None, reason="no Helm engine here: neither the helm CLI nor helm-python-sdk "
                           "(pip install tierscan[helm]) is installed")


def chart_scan(name: str, **options: object) -> helm.ChartScan:
    return helm.scan_chart(CHARTS / name, f"helm/{name}", SourceOptions(**options))  # type: ignore[arg-type]


@needs_helm
def test_chart_renders_with_default_values() -> None:
    scanned = chart_scan("odoo")
    assert scanned.errors == []
    assert [(r.type, r.name, r.origin.file, r.body["metadata"]["labels"]["tierscan.io/tier"])
            for r in scanned.resources] == [
        ("Deployment", "release-name-odoo", "helm/odoo/templates/deployment.yaml", "critical"),
        ("Service", "release-name-odoo", "helm/odoo/templates/service.yaml", "critical"),
    ]  # pdb.yaml renders nothing with pdb.enabled=false; NOTES.txt and _helpers.tpl are not manifests


@needs_helm
def test_values_files_set_release_and_namespace() -> None:
    scanned = chart_scan("odoo", helm_values=[CHARTS / "odoo" / "values-production.yaml"],
                         helm_set=["image.tag=17.0.1", "replicaCount=4"], helm_release="erp",
                         helm_namespace="odoo-prod")
    assert scanned.errors == []
    deployment, pdb, _service = scanned.resources
    assert (deployment.name, deployment.namespace, deployment.body["spec"]["replicas"]) == ("erp-odoo", "odoo-prod", 4)
    assert deployment.body["spec"]["template"]["spec"]["containers"][0]["image"] == "odoo:17.0.1"
    assert (pdb.type, pdb.origin.file) == ("PodDisruptionBudget", "helm/odoo/templates/pdb.yaml")


@needs_helm
def test_findings_point_at_template_lines() -> None:
    (deployment, _service) = chart_scan("odoo").resources
    where = deployment.origin.position_of
    assert where(("spec", "replicas"))[:2] == ("helm/odoo/templates/deployment.yaml", Position(8, 3))
    assert where(("spec", "template", "spec", "containers", 0, "image"))[:2] == (
        "helm/odoo/templates/deployment.yaml", Position(20, 11))
    # A label written by an `include` points at the line that includes it.
    assert where(("metadata", "labels", "tierscan.io/tier"))[:2] == (
        "helm/odoo/templates/deployment.yaml", Position(5, 3))


@needs_helm
def test_schema_rejection_is_an_error_naming_the_chart() -> None:
    scanned = chart_scan("odoo", helm_set=["replicaCount=0"])
    assert scanned.resources == []
    assert [e.one_line() for e in scanned.errors] == [
        "helm/odoo: Helm chart helm/odoo could not be rendered: values don't meet the specifications of the "
        "schema(s) in the following chart(s): odoo: - at '/replicaCount': minimum: got 0, want 1"]


@needs_helm
def test_broken_template_fails_loudly_in_a_scan() -> None:
    result = scan_paths([CHARTS], ScanOptions(root=FIXTURES, evaluation=EvaluationOptions(keep_passing=True),
                                              builtin_policies=False, policy_dirs=[ROOT / "tests/source_policies"]))
    assert [e.one_line() for e in result.errors] == [
        'helm/broken: Helm chart helm/broken could not be rendered: parse error at '
        '(broken/templates/deployment.yaml:6): function "noSuchFunction" not defined']
    records = {f.path: (f.status, f.kind, f.resources) for f in result.files}
    assert records["helm/broken"] == (FileStatus.ERROR, "helm", 0)
    assert records["helm/broken/templates/deployment.yaml"] == (FileStatus.SKIPPED, "helm", 0)
    assert records["helm/odoo"] == (FileStatus.SCANNED, "helm", 2)
    assert records["helm/odoo/templates/deployment.yaml"] == (FileStatus.SCANNED, "helm", 1)
    assert records["helm/odoo/values.yaml"] == (FileStatus.SCANNED, "helm", 0)
    (replicas,) = [f for f in result.findings if f.policy_id == "HA-K8S-901"]
    assert (replicas.outcome, replicas.message) == (
        Outcome.FAIL, "Deployment 'release-name-odoo' runs 1 replica(s); tier critical needs at least 3.")
    assert (replicas.location.file, replicas.location.line) == ("helm/odoo/templates/deployment.yaml", 8)


def test_no_engine_is_an_error_not_a_skip() -> None:
    scanned = helm.scan_chart(CHARTS / "odoo", "helm/odoo", SourceOptions(), engine="")
    assert (scanned.resources, [e.one_line() for e in scanned.errors]) == ([], [
        "helm/odoo: Helm chart helm/odoo could not be rendered: no Helm engine: install the helm CLI, or "
        "`pip install tierscan[helm]` (helm-python-sdk); the chart's templates cannot be scanned without rendering"])


def test_split_sources_reads_helm_template_output() -> None:
    output = ("---\n# Source: odoo/templates/service.yaml\napiVersion: v1\nkind: Service\n"
              "---\n# Source: odoo/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\n"
              "---\n# Source: odoo/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n")
    assert helm.split_sources(output) == [
        ("odoo/templates/service.yaml", "apiVersion: v1\nkind: Service\n---\n"
                                        "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n"),
        ("odoo/templates/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\n"),
    ]


def test_values_merge_like_helm() -> None:
    assert helm.merge_values({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": 3}, "l": [2]}) == {
        "a": {"b": 3, "c": 2}, "l": [2]}


def test_chart_is_recognised_by_chart_yaml_content(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 0.1.0\n")
    assert helm.is_chart_dir(tmp_path) is True
    (tmp_path / "Chart.yaml").write_text("- not a chart\n")
    assert helm.is_chart_dir(tmp_path) is False


@needs_helm
def test_missing_dependencies_are_an_error_like_helm_template(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "Chart.yaml").write_text(
        "apiVersion: v2\nname: erp\nversion: 0.1.0\ndependencies:\n"
        "  - {name: postgresql, version: 15.0.0, repository: https://charts.example.com}\n")
    (tmp_path / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    scanned = helm.scan_chart(tmp_path, "erp", SourceOptions())
    assert scanned.resources == []
    if ENGINE == "helm-python-sdk":  # the CLI words it its own way
        assert [e.message for e in scanned.errors] == [
            "Helm chart erp could not be rendered: dependencies not in charts/: postgresql (missing); "
            "run `helm dependency build`"]
    else:
        assert len(scanned.errors) == 1


@needs_helm
def test_input_kind_helm_on_a_directory_that_is_not_a_chart(tmp_path: Path) -> None:
    scanned = helm.scan_chart(tmp_path, "plain", SourceOptions())
    assert scanned.resources == []
    assert [e.message.split(":")[0] for e in scanned.errors] == ["Helm chart plain could not be rendered"]
