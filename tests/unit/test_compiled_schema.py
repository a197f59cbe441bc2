"""The closure compiler agrees with jsonschema (the reference) on every schema we ship
and on generated instances for every keyword it implements."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from scanner.engine.compiled_schema import Unsupported, compile_schema
from tests.policies.fixture_harness import all_policies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-5, 5, allow_nan=False) | st.sampled_from(
        ["", "a", "ZoneRedundant", "Enabled", "Disabled", "latest", "odoo:17", "x" * 12]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["a", "b", "mode", "spec", "replicas", "name", "x-1"]), children, max_size=4),
    max_leaves=12,
)

SCHEMAS: list[Any] = [
    True, False, {},
    {"type": "integer"}, {"type": ["string", "null"]}, {"type": "number", "minimum": 1, "exclusiveMaximum": 4},
    {"enum": [1, "a", None, True]}, {"const": 1}, {"const": [1, {"a": None}]},
    {"required": ["a", "b"], "properties": {"a": {"type": "string", "minLength": 1, "maxLength": 3}}},
    {"properties": {"a": {"const": False}}, "additionalProperties": {"type": "integer"}},
    {"patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False},
    {"propertyNames": {"pattern": "^[a-m]"}, "minProperties": 1, "maxProperties": 2},
    {"items": {"type": "integer"}, "minItems": 1, "maxItems": 3, "uniqueItems": True},
    {"prefixItems": [{"type": "string"}], "items": {"type": "integer"}},
    {"contains": {"type": "string"}}, {"contains": {"type": "integer"}, "minContains": 2, "maxContains": 3},
    {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 3}]},
    {"oneOf": [{"type": "integer"}, {"minimum": 2}]}, {"not": {"type": "object"}},
    {"allOf": [{"type": "object"}, {"required": ["mode"]}]},
    {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"maxProperties": 0}},
    {"pattern": "^odoo:\\d+"}, {"multipleOf": 2}, {"dependentRequired": {"a": ["b"]}},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(i) for i in range(len(SCHEMAS))])
@settings(max_examples=150, deadline=None)
@given(instance=json_values)
def test_compiler_matches_jsonschema(schema: Any, instance: Any) -> None:
    assert compile_schema(schema)(instance) == Draft202012Validator(schema).is_valid(instance)


def test_unknown_keywords_are_rejected() -> None:
    with pytest.raises(Unsupported):
        compile_schema({"$ref": "#/defs/x"})


@settings(max_examples=60, deadline=None)
@given(instance=json_values)
def test_shipped_policies_compile_and_agree(instance: Any) -> None:
    for policy in all_policies().values():
        for tier in policy.tiers:
            conditions = policy.conditions_for(tier)
            for condition in filter(None, (conditions.when, conditions.assert_)):
                reference = Draft202012Validator(condition.schema).is_valid(instance)
                assert condition.is_valid(instance) == reference, (policy.id, tier)
