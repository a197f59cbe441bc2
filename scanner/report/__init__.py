"""Report formatters. Each takes a ScanResult (and the policies) and returns text.

The mapping from format name to formatter is explicit here, not built by import side
effects; formatters are imported lazily so that a run only loads the one it needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

FORMATS: dict[str, str] = {
    "text": "scanner.report.text",
    "json": "scanner.report.json_report",
    "sarif": "scanner.report.sarif",
    "junit": "scanner.report.junit",
    "markdown": "scanner.report.markdown",
    "github": "scanner.report.github",
}


def formatter(name: str) -> Callable[..., str]:
    module: Any = importlib.import_module(FORMATS[name])
    render: Callable[..., str] = module.render
    return render
