"""Report formatters. Each takes a ScanResult (and the policies) and returns text;
the JSON and SARIF ones can also write it piece by piece (`render_to`).

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


def streaming_formatter(name: str) -> Callable[..., None] | None:
    """The format's `render_to(result, policies, write, ...)`, for formats that can write
    a large report piece by piece instead of building it whole (json, sarif); else None."""
    module: Any = importlib.import_module(FORMATS[name])
    render_to: Callable[..., None] | None = getattr(module, "render_to", None)
    return render_to
