"""Performance properties that are not timings: what a small scan imports, and that a
scan split across two processes gives exactly the result of one (issue 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scanner.engine.evaluate import EvaluationOptions
from scanner.parallel import FALLBACKS, can_fork, in_two_processes
from scanner.report import formatter
from scanner.scan import ScanOptions, load_all_policies, scan_paths
from scanner.sources.locate import YamlLocator

ROOT = Path(__file__).resolve().parent.parent.parent

# Heavy libraries (and the sources that need them) that a scan of one manifest must not
# load: the pre-commit case pays for every import at every commit.
HEAVY = ("azure", "kubernetes", "hcl2", "lark", "jsonschema")
LAZY_SOURCES = ("scanner.sources.live_azure", "scanner.sources.live_kubernetes", "scanner.sources.bicep",
                "scanner.sources.bicep_syntax", "scanner.sources.nearby",
                "scanner.sources.terraform_hcl", "scanner.sources.terraform_parse",
                "scanner.sources.terraform_eval", "scanner.sources.helm", "scanner.sources.kustomize",
                "scanner.sources.arm")


def test_single_file_scan_imports_no_heavy_module() -> None:
    code = ("import sys\nfrom scanner.cli import main\n"
            "try:\n    main(['scan', sys.argv[1], '--format', 'json', '--output', '/dev/null'])\n"
            "except SystemExit:\n    pass\n"
            f"heavy = {HEAVY!r}\nlazy = {LAZY_SOURCES!r}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in lazy))\n")
    manifest = ROOT / "examples" / "odoo-on-aks" / "kubernetes" / "odoo-web.yaml"
    done = subprocess.run([sys.executable, "-c", code, str(manifest)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


def _report(options: ScanOptions, paths: list[Path]) -> tuple[str, str]:
    loaded = load_all_policies(options)
    result = scan_paths(paths, options, loaded)
    return formatter("json")(result, loaded[0]), formatter("sarif")(result, loaded[0], category="t")


def test_two_processes_give_the_one_process_result() -> None:
    paths = [ROOT / "examples", ROOT / "fixtures" / "kubernetes", ROOT / "fixtures" / "arm",
             ROOT / "fixtures" / "hostile"]
    one = ScanOptions(root=ROOT, evaluation=EvaluationOptions(keep_passing=True, parallel_min_resources=10**9),
                      parallel_min_files=10**9)
    two = ScanOptions(root=ROOT, evaluation=EvaluationOptions(keep_passing=True, parallel_min_resources=2),
                      parallel_min_files=2)
    sequential = _report(one, paths)
    assert '"outcome": "fail"' in sequential[0] and '"status": "error"' in sequential[0]
    FALLBACKS.clear()
    assert _report(two, paths) == sequential
    assert FALLBACKS == []  # every child's half came back (none was recomputed here)


def test_the_second_half_runs_in_a_child_where_forking_is_possible() -> None:
    here, there = in_two_processes(os.getpid, os.getpid)
    assert here == os.getpid()
    assert (there != here) is can_fork()


def test_a_failing_child_falls_back_to_this_process() -> None:
    # A lambda cannot be pickled, so the child cannot send it: this process computes it.
    FALLBACKS.clear()
    here, there = in_two_processes(lambda: 1, lambda: (lambda: 2))
    assert here == 1
    assert there() == 2
    expected = ["child exited with 1"] if can_fork() else []
    assert expected == FALLBACKS


def test_yaml_positions_of_keys_items_and_aliases() -> None:
    text = ("---\n"
            "a: &x\n"
            "  b: 1\n"
            "c:\n"
            "  - one\n"
            "  - {d: 2}\n"
            "  - *x\n"
            "---\n"
            "e: 3\n")
    locator = YamlLocator(text)
    at = {path: locator.locate(doc, path) for doc, path in [
        (0, ()), (0, ("a",)), (0, ("a", "b")), (0, ("c", 0)), (0, ("c", 1, "d")), (0, ("c", 2)),
        (0, ("c", 2, "b")), (0, ("missing", "x")), (1, ("e",))]}
    assert {path: (pos.line, pos.column, found) for path, (pos, found) in at.items()} == {
        (): (2, 1, ()),
        ("a",): (2, 1, ("a",)),
        ("a", "b"): (3, 3, ("a", "b")),
        ("c", 0): (5, 5, ("c", 0)),
        ("c", 1, "d"): (6, 6, ("c", 1, "d")),
        ("c", 2): (7, 5, ("c", 2)),  # the alias itself, not the anchored mapping
        ("c", 2, "b"): (7, 5, ("c", 2)),
        ("missing", "x"): (2, 1, ()),
        ("e",): (9, 1, ("e",)),
    }
    locator.release()  # dropping the index only costs a rebuild
    assert locator.locate(1, ("e",))[0].line == 9
