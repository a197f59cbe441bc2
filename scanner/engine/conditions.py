"""Compiled JSON Schema conditions.

A condition answers "is this subject valid?" fast (closures compiled once by
`compiled_schema`; `jsonschema` for schemas using a keyword the compiler lacks), and,
only when it is not, explains where with `jsonschema`: the instance path of the most
specific error and what was wrong there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from scanner.engine.compiled_schema import Unsupported, compile_schema
from scanner.model import JsonPath


@dataclass(frozen=True)
class Violation:
    path: JsonPath  # instance path of the offending value (or of the parent of a missing key)
    missing: str | None  # the missing property, for `required`
    reason: str  # the validator's own explanation


class Condition:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._validator: Draft202012Validator | None = None
        try:
            self.is_valid: Callable[[Any], bool] = compile_schema(schema)
            self.compiled = True
        except Unsupported:
            self.is_valid = self._interpreted_is_valid
            self.compiled = False

    def _jsonschema(self) -> Draft202012Validator:
        if self._validator is None:
            self._validator = Draft202012Validator(self.schema)
        return self._validator

    def _interpreted_is_valid(self, instance: Any) -> bool:
        return bool(self._jsonschema().is_valid(instance))

    def violation(self, instance: Any) -> Violation | None:
        errors = list(self._jsonschema().iter_errors(instance))
        if not errors:
            return None
        error = _most_specific(errors)
        missing = None
        if error.validator == "required" and isinstance(error.validator_value, list):
            present = error.instance if isinstance(error.instance, dict) else {}
            missing = next((k for k in error.validator_value if k not in present), None)
        return Violation(tuple(error.absolute_path), missing, error.message)


def _most_specific(errors: list[ValidationError]) -> ValidationError:
    """Prefer the deepest error, descending into anyOf/oneOf branches' best match."""
    best = max(errors, key=lambda e: len(e.absolute_path))
    if best.context:
        deeper = _most_specific(list(best.context))
        if len(deeper.absolute_path) >= len(best.absolute_path):
            return deeper
    return best


def compile_condition(schema: dict[str, Any]) -> Condition:
    return Condition(schema)


def check_schema(schema: Any) -> str | None:
    """Return why `schema` is not a valid JSON Schema (2020-12), or None."""
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"{exc.message} (at '{where or '<root>'}')"
    return None
