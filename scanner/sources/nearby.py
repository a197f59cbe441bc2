"""Files near a module, on disk: where to look for the Terraform or Bicep files that use a
local module when the scan itself did not name them (pre-commit names only the changed
files).

The search starts at the module's grandparent (modules sit in `./modules` or a sibling
folder, or are a repository root that its own `examples/` call), never goes above the
repository root (`.git`), skips hidden and tool directories (`.terraform` holds downloaded
copies of modules), and is bounded, so that a module in a shallow path such as `/tmp/x`
never walks the whole disk.
"""

from __future__ import annotations

import os
from pathlib import Path

# The directories the scan's own walk skips are skipped here too.
from scanner.sources.files import SKIP_DIRS

MAX_FILES = 2000
MAX_DIRECTORIES = 5000


def search_root(directory: Path) -> Path:
    """The module directory's grandparent, or the repository root when that is nearer."""
    directory = directory.resolve()
    for candidate in (directory, directory.parent):
        if (candidate / ".git").exists():
            return candidate
    return directory.parent.parent


def files_under(root: Path, suffix: str) -> list[Path]:
    """The files ending in `suffix` under `root`, in sorted walk order, within the bounds."""
    found: list[Path] = []
    for visited, (current, dirs, files) in enumerate(os.walk(root), 1):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        found.extend(Path(current) / name for name in sorted(files) if name.endswith(suffix))
        if len(found) >= MAX_FILES or visited >= MAX_DIRECTORIES:
            break
    return found[:MAX_FILES]
