"""Derived facts: values a JSON Schema cannot compute, computed once per resource in
code and shown to conditions as `context.derived`.

Examples: the maximum interval between runs of a cron schedule (in minutes), the
settings inside an `odoo.conf` held in a ConfigMap. The table below is explicit: one
entry per (platform, type), no registration by import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scanner.model import Platform, Resource

Deriver = Callable[[Resource], dict[str, Any]]

# (platform, type) -> deriver. Azure types are lower case. Add entries here.
DERIVERS: dict[tuple[Platform, str], list[Deriver]] = {}


def derive(resource: Resource) -> dict[str, Any] | None:
    key = resource.type.lower() if resource.platform is Platform.AZURE else resource.type
    derivers = DERIVERS.get((resource.platform, key))
    if not derivers:
        return None
    out: dict[str, Any] = {}
    for deriver in derivers:
        out.update(deriver(resource))
    return out
