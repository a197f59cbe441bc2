"""Kustomize overlays scan as built by the real Kustomize (`kustomize build`, or
`kubectl kustomize`): what production deploys, with findings pointing at the file that
defines each resource (or the overlay patch that sets the property). Without
Kustomize, the scan says so and reads the raw files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from scanner.sources import kustomize
from tests.conftest import FIXTURES, ROOT
from tests.e2e.cli_runner import scan_json as scan_with_builtin_policies

needs_kustomize = pytest.mark.skipif(
    kustomize.available_engine() is None,
    reason="Kustomize is not installed here (neither `kustomize` nor `kubectl` is on PATH)")

# Test policies with fixed wording (tests/source_policies), so that these assertions
# follow the sources, not the catalogue's messages.
POLICIES = ("--no-builtin-policies", "--policy-dir", str(ROOT / "tests" / "source_policies"))
PRIVILEGED = ("SEC-K8S-901", "fail", "kustomize/base/deployment.yaml", 15,
              "Container 'odoo' of Deployment 'prod-odoo' runs privileged "
              "(spec.template.spec.containers[0].securityContext.privileged is true).")
REPLICAS = ("HA-K8S-901", "fail", "kustomize/overlays/production/replicas.yaml", 6,
            "Deployment 'prod-odoo' runs 2 replica(s); tier critical needs at least 3.")


def scan_json(*args: str) -> tuple[int, dict[str, Any], str]:
    return scan_with_builtin_policies(*args, *POLICIES, cwd=FIXTURES)


def outcomes(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted((f["policy"], f["outcome"], f["location"]["file"], f["location"]["line"], f["message"])
                  for f in report["findings"])


@needs_kustomize
def test_overlay_scans_what_production_deploys() -> None:
    code, report, stderr = scan_json("kustomize/overlays/production", "--all-outcomes")
    assert (code, stderr) == (1, "")
    assert report["summary"]["resources"] == 3
    # Built: the overlay's prefix, namespace and tier label, and its patched replicas
    # (the finding points at the patch that sets them).
    assert {f["resource"]["id"] for f in report["findings"]} == {"Deployment/odoo-prod/prod-odoo"}
    assert outcomes(report) == sorted([REPLICAS, PRIVILEGED])
    files = {f["path"]: (f["status"], f["kind"], f["resources"], f["reason"]) for f in report["files"]}
    engine = " ".join(kustomize.available_engine() or [])
    assert files == {
        "kustomize/overlays/production": ("scanned", "kustomize", 3, f"Kustomize build with {engine}"),
        "kustomize/overlays/production/kustomization.yaml": (
            "scanned", "kustomize", 0, "part of Kustomize build kustomize/overlays/production"),
        "kustomize/overlays/production/pdb.yaml": (
            "scanned", "kustomize", 1, "part of Kustomize build kustomize/overlays/production"),
        "kustomize/overlays/production/replicas.yaml": (
            "scanned", "kustomize", 0, "part of Kustomize build kustomize/overlays/production"),
        "kustomize/base/kustomization.yaml": (
            "scanned", "kustomize", 0, "part of Kustomize build kustomize/overlays/production"),
        "kustomize/base/deployment.yaml": (
            "scanned", "kustomize", 1, "part of Kustomize build kustomize/overlays/production"),
        "kustomize/base/service.yaml": (
            "scanned", "kustomize", 1, "part of Kustomize build kustomize/overlays/production"),
    }


@needs_kustomize
def test_scanning_the_parent_builds_overlays_not_bases() -> None:
    code, report, _ = scan_json("kustomize")
    assert code == 1
    assert outcomes(report) == sorted([REPLICAS, PRIVILEGED])
    assert [f["path"] for f in report["files"] if f["kind"] == "kustomize" and f["resources"] == 3] == [
        "kustomize/overlays/production"]


@needs_kustomize
def test_input_kind_kubernetes_scans_the_raw_files() -> None:
    _, report, _ = scan_json("kustomize", "--input-kind", "kubernetes")
    assert ("HA-K8S-901", "fail", "kustomize/base/deployment.yaml", 6,
            "Deployment 'odoo' runs 1 replica(s); tier high needs at least 2.") in outcomes(report)


def test_without_kustomize_the_raw_files_are_scanned_and_the_scan_says_so(tmp_path: Path) -> None:
    # A PATH with only this Python on it: no kustomize, no kubectl.
    env_path = Path(sys.executable).parent
    assert not (env_path / "kubectl").exists() and not (env_path / "kustomize").exists()
    previous = os.environ["PATH"]
    os.environ["PATH"] = str(env_path)
    try:
        code, report, _ = scan_json("kustomize")
    finally:
        os.environ["PATH"] = previous
    files = {f["path"]: (f["status"], f["reason"]) for f in report["files"]}
    assert files["kustomize/overlays/production"] == (
        "skipped", "Kustomize is not installed (neither kustomize nor kubectl): its files are scanned raw, "
                   "without bases, patches or overlays applied")
    assert files["kustomize/base/deployment.yaml"] == ("scanned", "")
    assert files["kustomize/overlays/production/replicas.yaml"] == (
        "skipped", "Kustomize patch: applied only when the overlay is built")
    assert code == 1
    assert outcomes(report) == sorted([
        ("HA-K8S-901", "fail", "kustomize/base/deployment.yaml", 6,
         "Deployment 'odoo' runs 1 replica(s); tier high needs at least 2."),
        ("SEC-K8S-901", "fail", "kustomize/base/deployment.yaml", 15,
         "Container 'odoo' of Deployment 'odoo' runs privileged "
         "(spec.template.spec.containers[0].securityContext.privileged is true)."),
    ])
