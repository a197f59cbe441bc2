"""Run the real `tierscan` entry point in a subprocess, as users and CI do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def tierscan(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def scan_json(*args: str | Path, cwd: Path = ROOT) -> tuple[int, dict[str, Any], str]:
    done = tierscan("scan", *args, "--format", "json", cwd=cwd)
    return done.returncode, json.loads(done.stdout), done.stderr
