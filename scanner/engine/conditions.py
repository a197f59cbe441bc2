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

    def violation(self, instance: Any) -> Violation | None:
        found = explain(self.schema, instance, (), self._checks)
        if found is None:
            return None
        return Violation(found.path, found.missing, found.keyword)


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
