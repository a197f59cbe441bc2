"""Render finding messages from policy templates, safely.

Policies are data: a template may only name fields (`{name}`, `{param.minReplicas}`),
never call or reach into Python objects, so `str.format` (which allows attribute
access) is not used. Secret values are redacted before they reach any template.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\}")
REDACTED = "<redacted>"
_MAX_VALUE = 80


def render(template: str, fields: dict[str, Any]) -> str:
    def lookup(m: re.Match[str]) -> str:
        value: Any = fields
        for part in m.group(1).split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            else:
                return m.group(0)
        return show(value)

    return _FIELD.sub(lookup, template)


def show(value: Any) -> str:
    """A compact, bounded rendering of a value for a message."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value):
        # Parameter lists read better as prose: "ZoneRedundant or SameZone".
        return " or ".join(str(v) for v in value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out
