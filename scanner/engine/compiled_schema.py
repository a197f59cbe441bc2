"""Compile a JSON Schema (the subset policies use) into nested Python closures.

`jsonschema` interprets a schema on every call; for a scan that checks ~80 policies
against thousands of resources that interpretation dominates the run. Compiling each
keyword once into a closure makes `is_valid` several times faster, with no generated
source code and no `exec` (policies are data and must never become code).

Only keywords with clear semantics are compiled. A schema using anything else raises
`Unsupported`, and the caller falls back to `jsonschema` for that schema. The test
suite checks this compiler against `jsonschema` on every shipped policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords checked together with their partner keyword (if, contains), never alone.
_PARTNERS = {"then", "else", "minContains", "maxContains"}
# Keywords that only annotate; they never affect validity.
_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples",
                "format", "deprecated", "readOnly", "writeOnly", "$anchor"}


class Unsupported(ValueError):
    """The schema uses a keyword this compiler does not implement."""


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float))
    raise Unsupported(f"type {name!r}")


def _object(v: Any) -> bool:
    return isinstance(v, dict)


def _array(v: Any) -> bool:
    return isinstance(v, list)


def _string(v: Any) -> bool:
    return isinstance(v, str)


def _boolean(v: Any) -> bool:
    return isinstance(v, bool)


def _null(v: Any) -> bool:
    return v is None


def _integer(v: Any) -> bool:
    return not isinstance(v, bool) and (isinstance(v, int) or (isinstance(v, float) and v.is_integer()))


def _number_type(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# One check per JSON type name, equal to _is_type(v, name) (a `type` with one name).
_TYPE_CHECKS: dict[str, Check] = {"object": _object, "array": _array, "string": _string, "boolean": _boolean,
                                  "null": _null, "integer": _integer, "number": _number_type}


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers; 1 == 1.0; containers compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compile_schema(schema: Any) -> Check:
    if schema is True:
        return lambda _v: True
    if schema is False:
        return lambda _v: False
    if not isinstance(schema, dict):
        raise Unsupported("schema is not an object")
    checks: list[Check] = []
    for keyword, arg in schema.items():
        if keyword in _ANNOTATIONS or keyword in ("then", "else", "minContains", "maxContains"):
            continue  # handled together with their partner keyword, or annotations
        checks.append(_compile_keyword(keyword, arg, schema))
    if not checks:
        return lambda _v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    # Plain loops rather than all(<generator>): these run millions of times per scan,
    # and a generator costs a frame per call.
    def every(v: Any) -> bool:
        for check in checks:  # noqa: SIM110 - see above
            if not check(v):
                return False
        return True

    return every


_NUMERIC = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
_COUNTS = {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties",
           "minContains", "maxContains"}
_SCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}
_SCHEMA_MAPS = {"properties", "patternProperties"}


# A repeated group that starts with something repeatable and repeats inside: (a+)+,
# (\w+\s?)*, ([a-z]*x){2,}. Python's `re` backtracks exponentially on these, and a policy
# must not be able to hang a scan, so they are refused at load. A group that starts with
# a literal, like (-[a-z0-9]+)*, must consume that literal each time round and is fine.
_NESTED_QUANTIFIER = re.compile(
    r"\((?:\?:)?(?:\[|\.|\\[wWdDsS]|[a-zA-Z0-9][*+])(?:[^()\\]|\\.)*[*+}]?(?:[^()\\]|\\.)*\)(?:[*+]|\{\d*,)")


def check_regex(pattern: str) -> None:
    re.compile(pattern)
    if _NESTED_QUANTIFIER.search(pattern):
        raise ValueError(f"pattern {pattern!r} nests quantifiers (catastrophic backtracking); "
                         "rewrite it without a repeated group that itself repeats")


def _check_argument(keyword: str, arg: Any) -> None:
    """Reject malformed keyword arguments at compile time (what a meta-schema would)."""
    if keyword in _NUMERIC and not _number(arg):
        raise TypeError(f"'{keyword}' needs a number, not {arg!r}")
    if keyword in _COUNTS and not (isinstance(arg, int) and not isinstance(arg, bool) and arg >= 0):
        raise TypeError(f"'{keyword}' needs a non-negative integer, not {arg!r}")
    if keyword in _SCHEMA_LISTS and not (isinstance(arg, list) and arg):
        raise TypeError(f"'{keyword}' needs a non-empty list of schemas")
    if keyword in _SCHEMA_MAPS and not isinstance(arg, dict):
        raise TypeError(f"'{keyword}' needs a mapping of property names to schemas")
    if keyword == "required" and not (isinstance(arg, list) and all(isinstance(x, str) for x in arg)):
        raise TypeError(f"'required' needs a list of property names, not {arg!r}")
    if keyword == "enum" and not isinstance(arg, list):
        raise TypeError(f"'enum' needs a list, not {arg!r}")
    if keyword == "pattern":
        if not isinstance(arg, str):
            raise TypeError(f"'pattern' needs a string, not {arg!r}")
        check_regex(arg)
    if keyword == "patternProperties" and isinstance(arg, dict):
        for pattern in arg:
            check_regex(pattern)


def _compile_keyword(keyword: str, arg: Any, schema: dict[str, Any]) -> Check:
    _check_argument(keyword, arg)
    if keyword == "type":
        names = [arg] if isinstance(arg, str) else list(arg)
        for name in names:
            _is_type(None, name)  # validates the name
        if len(names) == 1:
            return _TYPE_CHECKS[names[0]]
        return lambda v: any(_is_type(v, n) for n in names)
    if keyword == "properties":
        compiled = [(name, compile_schema(sub)) for name, sub in arg.items()]

        def properties(v: Any) -> bool:
            if isinstance(v, dict):
                for n, c in compiled:
                    if n in v and not c(v[n]):
                        return False
            return True

        return properties
    if keyword == "required":
        names = list(arg)
        if len(names) == 1:
            only = names[0]
            return lambda v: not isinstance(v, dict) or only in v
        return lambda v: not isinstance(v, dict) or all(n in v for n in names)
    if keyword == "additionalProperties":
        known = set(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        sub = compile_schema(arg)
        return lambda v: not isinstance(v, dict) or all(
            sub(val) for k, val in v.items() if k not in known and not any(p.search(k) for p in patterns))
    if keyword == "patternProperties":
        compiled_pp = [(re.compile(p), compile_schema(sub)) for p, sub in arg.items()]
        return lambda v: not isinstance(v, dict) or all(
            c(val) for k, val in v.items() for p, c in compiled_pp if p.search(k))
    if keyword == "propertyNames":
        sub = compile_schema(arg)
        return lambda v: not isinstance(v, dict) or all(sub(k) for k in v)
    if keyword == "minProperties":
        return lambda v: not isinstance(v, dict) or len(v) >= arg
    if keyword == "maxProperties":
        return lambda v: not isinstance(v, dict) or len(v) <= arg
    if keyword == "items":
        sub = compile_schema(arg)
        skip = len(schema.get("prefixItems", []))

        def items(v: Any) -> bool:
            if isinstance(v, list):
                for x in (v[skip:] if skip else v):
                    if not sub(x):
                        return False
            return True

        return items
    if keyword == "prefixItems":
        prefix = [compile_schema(sub) for sub in arg]
        return lambda v: not isinstance(v, list) or all(c(x) for c, x in zip(prefix, v, strict=False))
    if keyword == "contains":
        sub = compile_schema(arg)
        low = schema.get("minContains", 1)
        high = schema.get("maxContains")
        if high is None:
            if low == 1:
                return lambda v: not isinstance(v, list) or any(sub(x) for x in v)
            return lambda v: not isinstance(v, list) or sum(1 for x in v if sub(x)) >= low
        return lambda v: not isinstance(v, list) or low <= sum(1 for x in v if sub(x)) <= high
    if keyword == "minItems":
        return lambda v: not isinstance(v, list) or len(v) >= arg
    if keyword == "maxItems":
        return lambda v: not isinstance(v, list) or len(v) <= arg
    if keyword == "uniqueItems":
        if not arg:
            return lambda _v: True
        return lambda v: not isinstance(v, list) or all(
            not json_equal(v[i], v[j]) for i in range(len(v)) for j in range(i + 1, len(v)))
    if keyword == "enum":
        options = list(arg)
        if options and all(type(o) is str for o in options):
            # json_equal with a string is "also exactly a str, and equal": a set lookup.
            strings = frozenset(options)
            return lambda v: type(v) is str and v in strings
        return lambda v: any(json_equal(v, o) for o in options)
    if keyword == "const":
        if type(arg) is str:
            return lambda v: type(v) is str and v == arg
        return lambda v: json_equal(v, arg)
    if keyword == "minimum":
        return lambda v: not _number(v) or v >= arg
    if keyword == "maximum":
        return lambda v: not _number(v) or v <= arg
    if keyword == "exclusiveMinimum":
        return lambda v: not _number(v) or v > arg
    if keyword == "exclusiveMaximum":
        return lambda v: not _number(v) or v < arg
    if keyword == "multipleOf":
        return lambda v: not _number(v) or (v / arg) == int(v / arg)
    if keyword == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= arg
    if keyword == "maxLength":
        return lambda v: not isinstance(v, str) or len(v) <= arg
    if keyword == "pattern":
        regex = re.compile(arg)
        return lambda v: not isinstance(v, str) or regex.search(v) is not None
    if keyword == "allOf":
        subs = [compile_schema(s) for s in arg]
        return lambda v: all(s(v) for s in subs)
    if keyword == "anyOf":
        subs = [compile_schema(s) for s in arg]
        return lambda v: any(s(v) for s in subs)
    if keyword == "oneOf":
        subs = [compile_schema(s) for s in arg]
        return lambda v: sum(1 for s in subs if s(v)) == 1
    if keyword == "not":
        sub = compile_schema(arg)
        return lambda v: not sub(v)
    if keyword == "if":
        cond = compile_schema(arg)
        then = compile_schema(schema.get("then", True))
        otherwise = compile_schema(schema.get("else", True))
        return lambda v: then(v) if cond(v) else otherwise(v)
    if keyword == "dependentRequired":
        deps = {k: list(v) for k, v in arg.items()}
        return lambda v: not isinstance(v, dict) or all(
            all(d in v for d in needed) for k, needed in deps.items() if k in v)
    raise Unsupported(f"keyword {keyword!r}")


# --- explaining a failure ---------------------------------------------------------

JsonPath = tuple[str | int, ...]


class Explanation:
    __slots__ = ("keyword", "missing", "path")

    def __init__(self, path: JsonPath, keyword: str, missing: str | None = None) -> None:
        self.path = path
        self.keyword = keyword
        self.missing = missing


class Checks:
    """Compiled checks for the sub-schemas `explain` visits, cached by identity: the
    condition owning the schema keeps every sub-schema alive, so ids stay valid."""

    def __init__(self) -> None:
        self._whole: dict[int, tuple[Any, Check]] = {}
        self._keyword: dict[tuple[int, str], tuple[Any, Check]] = {}
        self._keywords: dict[int, tuple[Any, list[tuple[str, Any, Check]]]] = {}

    def whole(self, schema: Any) -> Check:
        found = self._whole.get(id(schema))
        if found is None:
            found = (schema, compile_schema(schema))
            self._whole[id(schema)] = found
        return found[1]

    def keyword(self, schema: dict[str, Any], keyword: str) -> Check:
        key = (id(schema), keyword)
        found = self._keyword.get(key)
        if found is None:
            found = (schema, _compile_keyword(keyword, schema[keyword], schema))
            self._keyword[key] = found
        return found[1]

    def keywords(self, schema: dict[str, Any]) -> list[tuple[str, Any, Check]]:
        """(keyword, argument, check) for each keyword of `schema` that can fail, in
        schema order: one lookup per schema visited instead of one per keyword."""
        found = self._keywords.get(id(schema))
        if found is None:
            found = (schema, [(keyword, arg, self.keyword(schema, keyword)) for keyword, arg in schema.items()
                              if keyword not in _ANNOTATIONS and keyword not in _PARTNERS])
            self._keywords[id(schema)] = found
        return found[1]


def explain(schema: Any, instance: Any, path: JsonPath = (), checks: Checks | None = None) -> Explanation | None:
    """The most specific reason `instance` is invalid: the deepest failing location.

    Only called for subjects that already failed, so it favours clarity over speed.
    Where several keywords fail, the deepest location wins (ties: schema order), which
    is what a reader wants pointed at: the property, not the object that holds it.
    """
    if schema is False:
        return Explanation(path, "false")
    if not isinstance(schema, dict):
        return None
    checks = checks or Checks()
    best: Explanation | None = None
    for keyword, arg, check in checks.keywords(schema):
        if check(instance):
            continue
        candidate = _explain_keyword(keyword, arg, schema, instance, path, checks)
        if best is None or len(candidate.path) > len(best.path):
            best = candidate
    return best


def _explain_keyword(keyword: str, arg: Any, schema: dict[str, Any], instance: Any,
                     path: JsonPath, checks: Checks) -> Explanation:
    if keyword == "required" and isinstance(instance, dict):
        missing = next(name for name in arg if name not in instance)
        return Explanation(path, keyword, missing)
    if keyword == "properties" and isinstance(instance, dict):
        for name, sub in arg.items():
            # explain() is None exactly when `sub` accepts the value (it checks the same
            # keywords the compiled check does), so no separate validity check first.
            if name in instance:
                found_property = explain(sub, instance[name], (*path, name), checks)
                if found_property is not None:
                    return found_property
    if keyword in ("additionalProperties", "patternProperties") and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        for name, value in instance.items():
            subs = [s for p, s in schema.get("patternProperties", {}).items() if re.search(p, name)]
            if keyword == "additionalProperties" and name not in known and not subs:
                subs = [arg]
            for sub in subs:
                if not checks.whole(sub)(value):
                    return explain(sub, value, (*path, name), checks) or Explanation((*path, name), keyword)
    if keyword in ("items", "prefixItems") and isinstance(instance, list):
        prefix = schema.get("prefixItems", [])
        for index, value in enumerate(instance):
            sub = prefix[index] if index < len(prefix) else (schema.get("items", True))
            if not checks.whole(sub)(value):
                return explain(sub, value, (*path, index), checks) or Explanation((*path, index), keyword)
    if keyword in ("allOf", "anyOf", "oneOf"):
        candidates = [explain(sub, instance, path, checks) for sub in arg if not checks.whole(sub)(instance)]
        found = [c for c in candidates if c is not None]
        if found:
            return max(found, key=lambda c: len(c.path))
    if keyword == "if":
        branch = schema.get("then", True) if checks.whole(arg)(instance) else schema.get("else", True)
        found_branch = explain(branch, instance, path, checks)
        if found_branch is not None:
            return found_branch
    return Explanation(path, keyword)
