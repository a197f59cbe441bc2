"""A wheel (what `pip install .` and the GitHub Action install) carries every policy
and schema, not only the code."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import POLICIES, ROOT


def test_wheel_contains_every_policy_file(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("tierscan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"tierscan_policies/{p.relative_to(POLICIES).as_posix()}"
               for p in POLICIES.rglob("*") if p.is_file() and p.suffix in (".yaml", ".json")}
    assert shipped and shipped <= names, sorted(shipped - names)[:5]
    assert {"scanner/config.schema.json", "scanner/py.typed", "scanner/cli.py"} <= names
