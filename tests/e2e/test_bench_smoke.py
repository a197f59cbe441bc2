"""The benchmark harness still runs: a 3-app corpus, one repetition, nothing timed
against a target. Keeps bench/run.py from rotting between real benchmark runs."""

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
        [sys.executable, "bench/run.py", "--sizes", "3", "--repeat", "1", "--corpus-dir", str(tmp_path / "corpus"),
         "--json", str(results), "--output", str(table), "--no-bytecode-cache"],
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
