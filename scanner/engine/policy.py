"""The in-memory policy: metadata, matching rules and compiled conditions.

A policy file is data (YAML with JSON Schema conditions). Parameters are written in a
condition as `{"$param": NAME}` and replaced by the tier's value before compiling, so
each distinct set of parameter values is compiled exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.engine.conditions import Condition, compile_condition
from scanner.model import Platform, Severity

SECURITY_SEVERITY = {
    # GitHub maps security-severity to levels: >= 9.0 critical, 7.0-8.9 high,
    # 4.0-6.9 medium, 0.1-3.9 low.
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


@dataclass(frozen=True)
class RelationSpec:
    relation: str  # selects | namespace | in-namespace | children | parent | ...
    kind: str | None = None  # Kubernetes kind of the related objects
    type: str | None = None  # Azure (child) type of the related resources


@dataclass
class CompiledConditions:
    when: Condition | None
    assert_: Condition
    params: dict[str, Any]


@dataclass
class Policy:
    id: str
    slug: str
    title: str
    severity: Severity
    area: str
    rationale: str
    remediation: str
    references: list[str]
    platform: Platform
    view: str
    kinds: list[str]  # Kubernetes kinds, or full Azure types
    when: dict[str, Any] | None
    assert_: dict[str, Any]
    message: str
    file: Path
    tiers: list[str] = field(default_factory=lambda: ["critical", "high", "medium", "low"])
    environments: list[str] | None = None  # None: every environment
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    relations: dict[str, RelationSpec] = field(default_factory=dict)
    sensitive: bool = False
    tags: list[str] = field(default_factory=list)
    description: str = ""
    _compiled: dict[str, CompiledConditions] = field(default_factory=dict, repr=False)
    _by_tier: dict[str, CompiledConditions] = field(default_factory=dict, repr=False)

    def reset_compiled(self) -> None:
        """Forget compiled conditions (after parameters were overridden by config)."""
        self._compiled.clear()
        self._by_tier.clear()

    def adopt(self, params: dict[str, Any], when: Condition | None, assert_: Condition) -> None:
        """Take conditions already compiled (by the loader, while checking them) for
        this parameter set, so `conditions_for` does not compile them again."""
        key = json.dumps(params, sort_keys=True, default=str)
        self._compiled.setdefault(key, CompiledConditions(when=when, assert_=assert_, params=params))

    def params_for(self, tier: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, by_tier in self.params.items():
            out[name] = by_tier.get(tier, by_tier.get("default"))
        return out

    def conditions_for(self, tier: str) -> CompiledConditions:
        """Compiled conditions for a tier, shared by all tiers with equal parameters."""
        cached = self._by_tier.get(tier)
        if cached is not None:
            return cached
        params = self.params_for(tier)
        key = json.dumps(params, sort_keys=True, default=str)
        compiled = self._compiled.get(key)
        if compiled is None:
            when = substitute_params(self.when, params) if self.when is not None else None
            compiled = CompiledConditions(
                when=compile_condition(when) if when is not None else None,
                assert_=compile_condition(substitute_params(self.assert_, params)),
                params=params,
            )
            self._compiled[key] = compiled
        self._by_tier[tier] = compiled
        return compiled


def substitute_params(schema: Any, params: dict[str, Any]) -> Any:
    """Replace every `{"$param": NAME}` in a schema by the parameter's value."""
    if isinstance(schema, dict):
        if len(schema) == 1 and "$param" in schema:
            name = schema["$param"]
            if name not in params:
                raise KeyError(f"unknown parameter '{name}'")
            return params[name]
        return {k: substitute_params(v, params) for k, v in schema.items()}
    if isinstance(schema, list):
        return [substitute_params(v, params) for v in schema]
    return schema


def param_names(schema: Any) -> set[str]:
    """Every `$param` a schema refers to (checked against `params` at load)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        if len(schema) == 1 and isinstance(schema.get("$param"), str):
            found.add(schema["$param"])
        else:
            for value in schema.values():
                found |= param_names(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= param_names(value)
    return found
