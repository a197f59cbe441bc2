"""The benchmark harness still runs: a 3-app Kubernetes corpus and a 2-app ARM + Terraform
corpus, one repetition, nothing timed against a target. Keeps bench/run.py and
bench/gen_iac_corpus.py from rotting between real benchmark runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED

GENERATOR = SHARED / "bench" / "gen-k8s-corpus"


@pytest.mark.skipif(not GENERATOR.is_file(), reason="needs ../shared/bench/gen-k8s-corpus")
def test_bench_harness_runs_at_a_tiny_size(tmp_path: Path) -> None:
    results, table = tmp_path / "results.json", tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--sizes", "3", "--iac-sizes", "2", "--repeat", "1",
         "--corpus-dir", str(tmp_path / "corpus"), "--json", str(results), "--output", str(table),
         "--no-bytecode-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(results.read_text())

    [corpus] = report["corpora"]
    # The generator is seeded: 3 apps are 3 files holding 22 documents, every one a resource.
    assert (corpus["apps"], corpus["files"], corpus["documents"], corpus["resources"]) == (3, 3, 22, 22)
    for measured in (corpus["floor"], corpus["tierscan"]):
        assert measured["exit_codes"] == [0]
        assert measured["median_s"] > 0 and measured["peak_rss_mb"] > 0
    assert corpus["ratio"] == round(corpus["tierscan"]["median_s"] / corpus["floor"]["median_s"], 2)
    assert corpus["checkov"] is None
    assert report["repeat"] == 1 and report["policies"] > 0

    single = report["single_file"]
    assert single["file"] == "k8s-3/app00000/manifests.yaml"
    assert sorted(single) == ["file", "floor", "python_startup", "tierscan"]
    assert single["tierscan"]["exit_codes"] == [0]

    text = table.read_text()
    assert text == done.stdout
    assert "| corpus | files | documents | resources | parse floor | tierscan | ratio to floor |" in text
    assert f"| 3 apps | 3 | 22 | 22 | {corpus['floor']['median_s']:.2f} s | {corpus['tierscan']['median_s']:.2f} s |" \
        in text
    assert "| `tierscan scan FILE` |" in text
    assert (tmp_path / "corpus" / "k8s-3" / ".complete").is_file()

    # The IaC generator is seeded too: 2 apps are 2 ARM templates and 2 Terraform files;
    # app 0 has 4 resource kinds in ARM, app 1 has 3, and the storage account's blobServices
    # and the registry's geo-replications are resources of their own.
    [iac] = report["iac_corpora"]
    assert (iac["apps"], iac["arm_files"], iac["tf_files"]) == (2, 2, 2)
    assert (iac["resources"], iac["arm_resources"], iac["tf_resources"]) == (16, 7, 9)
    assert iac["scan_errors"] == 0
    assert iac["findings_passing"] > 0 and iac["findings_failing"] > 0  # a mix, by design
    for measured in (iac["floor"], iac["tierscan"]):
        assert measured["exit_codes"] == [0]
        assert measured["median_s"] > 0 and measured["peak_rss_mb"] > 0
    assert iac["ratio"] == round(iac["tierscan"]["median_s"] / iac["floor"]["median_s"], 2)
    corpus_dir = tmp_path / "corpus" / "iac-2"
    assert sorted(p.relative_to(corpus_dir).as_posix() for p in corpus_dir.rglob("*") if p.is_file()) == [
        ".complete", "app00000/main.tf", "app00000/template.json", "app00001/main.tf", "app00001/template.json"]
    assert json.loads((corpus_dir / ".complete").read_text()) == {
        "apps": 2, "arm_files": 2, "tf_files": 2, "arm_resources": 7, "tf_resources": 9}
    assert "| IaC corpus | ARM files | Terraform files | resources (ARM + Terraform) | pass | fail |" in text
    assert (f"| 2 apps | 2 | 2 | 16 (7 + 9) | {iac['findings_passing']} | {iac['findings_failing']} | 0 | "
            f"{iac['floor']['median_s']:.2f} s | {iac['tierscan']['median_s']:.2f} s |") in text


def test_iac_generator_is_deterministic_and_parsed_without_errors(tmp_path: Path) -> None:
    """Same seed, same bytes; and tierscan reads every generated file, with a mix of outcomes."""
    for name in ("a", "b"):
        subprocess.run([sys.executable, "bench/gen_iac_corpus.py", str(tmp_path / name), "4"], cwd=ROOT,
                       check=True, capture_output=True)
    files = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 8
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel

    report_path = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "scanner.cli", "scan", str(tmp_path / "a"), "--format", "json",
                    "--output", str(report_path), "--fail-on", "none"], cwd=ROOT, check=True, timeout=60)
    report = json.loads(report_path.read_text())
    assert report["errors"] == []
    assert {(f["kind"], f["status"]) for f in report["files"]} == {("arm", "scanned"), ("terraform", "scanned")}
    types = {f["resource"]["type"] for f in report["findings"]}
    assert {"Microsoft.DBforPostgreSQL/flexibleServers", "Microsoft.Storage/storageAccounts",
            "Microsoft.KeyVault/vaults", "Microsoft.Cache/redis", "Microsoft.RecoveryServices/vaults",
            "Microsoft.ContainerService/managedClusters", "Microsoft.ContainerRegistry/registries"} <= types
    outcomes = report["summary"]["outcomes"]
    assert outcomes["pass"] > 0 and outcomes["fail"] > 0 and outcomes["error"] == 0


@pytest.mark.skipif(not GENERATOR.is_file(), reason="needs ../shared/bench/gen-k8s-corpus")
def test_schema_engine_comparison_runs_and_agrees(tmp_path: Path) -> None:
    """bench/schema_engines.py on tiny corpora, without fastjsonschema (no venv, no network):
    tierscan's compiled conditions give jsonschema's verdict on every pair the engine
    validated."""
    k8s, iac = tmp_path / "k8s-3", tmp_path / "iac-2"
    subprocess.run([sys.executable, str(GENERATOR), str(k8s), "3"], check=True, capture_output=True)
    subprocess.run([sys.executable, "bench/gen_iac_corpus.py", str(iac), "2"], cwd=ROOT, check=True,
                   capture_output=True)
    results = tmp_path / "engines.json"
    done = subprocess.run(
        [sys.executable, "bench/schema_engines.py", "--corpus", str(k8s), "--corpus", str(iac), "--repeat", "1",
         "--no-fastjsonschema", "--json", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(results.read_text())
    assert report["corpora"] == ["k8s-3", "iac-2"]
    assert report["resources"] == 22 + 16 and report["scan_errors"] == 0
    assert report["fastjsonschema_skipped"] == "--no-fastjsonschema"
    assert report["pairs"] > 0 and report["schemas"] > 0
    jsonschema_run, tierscan_run = report["engines"]
    assert jsonschema_run["name"] == "jsonschema Draft202012Validator"
    assert tierscan_run["name"] == "tierscan compiled closures"
    for run in (jsonschema_run, tierscan_run):
        assert run["compiled"] == report["schemas"] and run["failed"] == {}
        assert run["timed_pairs"] == report["pairs"]
        assert run["disagreements"] == 0 and run["raised"] == 0
    assert "| tierscan compiled closures |" in done.stdout
