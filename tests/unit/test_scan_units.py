"""Helm charts and Kustomize directories become scan units, recognised by their
`Chart.yaml` / `kustomization.yaml` wherever they sit; `--input-kind` overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.sources import kustomize
from scanner.sources.files import find_units
from scanner.sources.options import SourceOptions

KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def units(paths: list[Path], root: Path, kind: str = "auto") -> list[tuple[str, str, list[str]]]:
    return [(u.kind, u.directory.relative_to(root.resolve()).as_posix(),
             [m.relative_to(root.resolve()).as_posix() for m in u.members])
            for u in find_units(paths, SourceOptions(input_kind=kind))]


@pytest.mark.skipif(kustomize.available_engine() is None,
                    reason="Kustomize is not installed here: without it kustomization files are scanned raw")
def test_units_are_found_by_content_not_directory_names(tmp_path: Path) -> None:
    tree(tmp_path, {
        "deploy/erp/Chart.yaml": "apiVersion: v2\nname: erp\nversion: 1.0.0\n",
        "deploy/erp/templates/d.yaml": "kind: {{ .Values.kind }}\n",
        "deploy/erp/charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
        "deploy/not-a-chart/Chart.yaml": "- a list, not chart metadata\n",
        "k/common/kustomization.yaml": KUSTOMIZATION + "resources: [cm.yaml]\n",
        "k/common/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        "k/prod/kustomization.yaml": KUSTOMIZATION + "resources: [../common, https://example.com/x.yaml]\n",
        "k/prod/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e}\n",
        "plain.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p}\n",
    })
    assert units([tmp_path], tmp_path) == [
        ("helm", "deploy/erp", ["deploy/erp/Chart.yaml", "deploy/erp/charts/sub/Chart.yaml",
                                "deploy/erp/templates/d.yaml"]),
        # k/common is the base of k/prod: part of that build, not a unit of its own
        ("kustomize", "k/prod", ["k/common/cm.yaml", "k/common/kustomization.yaml", "k/prod/extra.yaml",
                                 "k/prod/kustomization.yaml"]),
    ]
    # Named on the command line, a base is built on its own.
    assert units([tmp_path / "k/common"], tmp_path) == [
        ("kustomize", "k/common", ["k/common/cm.yaml", "k/common/kustomization.yaml"])]


def test_input_kind_overrides_detection(tmp_path: Path) -> None:
    tree(tmp_path, {"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
                    "odd/kustomization.yaml": KUSTOMIZATION, "odd/x.yaml": ""})
    assert units([tmp_path / "chart", tmp_path / "odd"], tmp_path, "kubernetes") == []
    assert [u[:2] for u in units([tmp_path / "odd"], tmp_path, "helm")] == [("helm", "odd")]
    assert [u[:2] for u in units([tmp_path / "chart"], tmp_path, "kustomize")] == [("kustomize", "chart")]


def test_a_kustomize_component_is_not_built_on_its_own(tmp_path: Path) -> None:
    tree(tmp_path, {
        "components/np/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                            "resources: [np.yaml]\n",
        "components/np/np.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\n",
    })
    (unit,) = find_units([tmp_path])
    assert (unit.kind, unit.component, unit.members) == ("kustomize", True, [])
