"""Developer aid: print the outcomes a fixture folder produces today, in expected.yaml
form, so a new fixture's expectations can be written down and then reviewed by eye.

    python -m tests.policies.regen_expected fixtures/kubernetes/workload-replicas

Never paste its output without reading it: the test is only honest if a human checked
that each outcome and message is the right one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tests.policies.fixture_harness import run_fixture

if __name__ == "__main__":
    folder = Path(sys.argv[1])
    actual, _expected, errors = run_fixture(folder)
    policy = yaml.safe_load((folder / "expected.yaml").read_text())["policy"]
    rows = sorted(actual, key=lambda r: (r["file"], r["resource"], r.get("view", ""), r["outcome"]))
    print(yaml.safe_dump({"policy": policy, "results": rows}, sort_keys=False, width=200))
    for e in errors:
        print("# error:", e, file=sys.stderr)
