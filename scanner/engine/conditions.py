"""Compiled JSON Schema conditions.

A condition answers "is this subject valid?" fast (closures compiled once by
`compiled_schema`), and, only when it is not, explains where: the instance path of the
most specific failure and, for `required`, the missing property. `jsonschema` is not
imported on the scan path at all: it costs more to import than a pre-commit run may
take (it stays the reference the compiler is tested against).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from scanner.engine.compiled_schema import Checks, Unsupported, compile_schema, explain
from scanner.model import JsonPath


class Violation(NamedTuple):
    path: JsonPath  # instance path of the offending value (or of the parent of a missing key)
    missing: str | None  # the missing property, for `required`
    keyword: str  # the failing JSON Schema keyword


class Condition:
    """A compiled condition. Every keyword must be one the compiler implements: a typo
    such as `requried` is an error at load time rather than a condition that silently
    accepts everything."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.is_valid: Callable[[Any], bool] = compile_schema(schema)
        self._checks = Checks()  # compiled sub-schema checks, reused by every explanation
        self._inspected: frozenset[JsonPath] | None = None

    @property
    def inspected(self) -> frozenset[JsonPath]:
        """Every instance path the condition looks at, `*` standing for any array item:
        a value there that is not known statically may decide the outcome."""
        if self._inspected is None:
            found: set[JsonPath] = set()
            _collect_inspected(self.schema, (), found)
            self._inspected = frozenset(found)
        return self._inspected

    def violation(self, instance: Any) -> Violation | None:
        found = explain(self.schema, instance, (), self._checks)
        if found is None:
            return None
        return Violation(found.path, found.missing, found.keyword)


# Keywords whose sub-schemas apply to the same instance, to each array item, or to each
# property value, for `inspected`.
_SAME_INSTANCE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else")
_EACH_ITEM = ("items", "contains", "prefixItems", "additionalItems")
_EACH_VALUE = ("additionalProperties", "patternProperties")


def _collect_inspected(schema: Any, path: JsonPath, found: set[JsonPath]) -> None:
    if not isinstance(schema, dict):
        return
    found.add(path)
    for name, sub in (schema.get("properties") or {}).items():
        _collect_inspected(sub, (*path, name), found)
    for name in schema.get("required") or ():
        if isinstance(name, str):
            found.add((*path, name))
    for keyword in _SAME_INSTANCE:
        subs = schema.get(keyword)
        for sub in subs if isinstance(subs, list) else [subs]:
            _collect_inspected(sub, path, found)
    for keyword in _EACH_ITEM + _EACH_VALUE:
        subs = schema.get(keyword)
        if keyword == "patternProperties" and isinstance(subs, dict):
            subs = list(subs.values())
        for sub in subs if isinstance(subs, list) else [subs]:
            _collect_inspected(sub, (*path, "*"), found)


def compile_condition(schema: dict[str, Any]) -> Condition:
    return Condition(schema)


def check_schema(schema: Any) -> str | None:
    """Return why `schema` is not a valid condition, or None."""
    return try_condition(schema)[1]


def try_condition(schema: Any) -> tuple[Condition | None, str | None]:
    """(the compiled condition, None), or (None, why `schema` is not a valid condition).
    The loader keeps the condition it checked, so each schema is compiled once."""
    try:
        return Condition(schema), None
    except Unsupported as exc:
        return None, f"{exc} is not supported in conditions"
    except (TypeError, ValueError, re.error, AttributeError, KeyError) as exc:
        return None, f"malformed schema: {exc}"
