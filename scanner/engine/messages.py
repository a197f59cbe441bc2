"""Render finding messages from policy templates, safely.

Policies are data: a template may only name fields (`{name}`, `{param.minReplicas}`),
never call or reach into Python objects, so `str.format` (which allows attribute
access) is not used. Secret values are redacted before they reach any template.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\}")
REDACTED = "<redacted>"
_MAX_VALUE = 80


def render(template: str, fields: dict[str, Any]) -> str:
    out: list[str] = []
    for literal, path, placeholder in _pieces(template):
        out.append(literal)
        if path:
            value: Any = fields
            for part in path:
                if isinstance(value, dict) and part in value:
                    value = value[part]
                else:  # an unknown field stays as written
                    out.append(placeholder)
                    break
            else:
                # Only the value found is bounded (a whole object can land there); names,
                # property paths and the policy's own parameter text are shown whole, since
                # a cut path or requirement leaves the reader unable to act.
                bounded = path[0] == "value"
                if type(value) is str and not (bounded and len(value) > _MAX_VALUE):
                    out.append(value)  # most fields: a name, a tier, a path (a large scan renders many)
                else:
                    out.append(show(value, bounded=bounded))
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def _pieces(template: str) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(literal text, field path, the placeholder as written) in order; parsed once per
    template, since a large scan renders each policy's message thousands of times."""
    pieces: list[tuple[str, tuple[str, ...], str]] = []
    start = 0
    for m in _FIELD.finditer(template):
        pieces.append((template[start:m.start()], tuple(m.group(1).split(".")), m.group(0)))
        start = m.end()
    pieces.append((template[start:], (), ""))
    return tuple(pieces)


def show(value: Any, bounded: bool = True, prose: bool = True) -> str:
    """A compact rendering of a value for a message, cut at 80 characters when `bounded`.
    A list of scalars reads as prose: the choices a policy's parameter allows with "or"
    ("ZoneRedundant or SameZone") when `prose`, else the items found with commas (a
    pool's zones `["1", "2"]` are both zones, "1, 2", not a choice of one)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value):
        return (" or " if prose else ", ").join(str(v) for v in value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if not bounded or len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out
