"""Static evaluation of ARM template expressions (`"[concat(parameters('x'), '-pg')]"`).

Only what can be known before deployment is evaluated. Anything else (reference(),
resourceGroup(), uniqueString(), a parameter without a default) becomes `Unresolved`,
which propagates through every function that receives it, so a policy never mistakes
an unknown value for a compliant one.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# ARM's own limit on copy loops; a larger count is a template error, and capping it
# keeps a hostile template from exhausting memory.
MAX_COPY = 800


@dataclass(frozen=True)
class Unresolved:
    expression: str

    def __str__(self) -> str:
        return self.expression


def as_text(value: Any) -> str:
    """A value as it appears in a resource name: unknown values as `<expression>`."""
    if isinstance(value, str):
        return value
    if isinstance(value, Unresolved):
        return f"<{value.expression}>"
    return str(value)


class ExpressionError(ValueError):
    pass


_TOKEN = re.compile(r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<name>[A-Za-z_][\w]*)"
                    r"|(?P<punct>[()\[\],.]))")


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[") and value.endswith("]") \
        and not value.startswith("[[")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unexpected character at {pos}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


# AST: ("call", name, args, accessors) | ("lit", value); accessors: ("prop", name) | ("index", ast)
Node = tuple[Any, ...]


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ExpressionError(f"expected {value or 'a token'}, found {tok[1] if tok else 'end'}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()}")
        return node

    def expr(self) -> Node:
        kind, value = self.take()
        node: Node
        if kind == "num":
            node = ("lit", float(value) if "." in value else int(value))
        elif kind == "str":
            node = ("lit", value[1:-1].replace("''", "'"))
        elif kind == "name":
            self.take("(")
            args: list[Node] = []
            while self.peek() and self.peek() != ("punct", ")"):
                args.append(self.expr())
                if self.peek() == ("punct", ","):
                    self.take(",")
            self.take(")")
            node = ("call", value.lower(), args)
        else:
            raise ExpressionError(f"unexpected {value!r}")
        accessors: list[tuple[str, Any]] = []
        while self.peek() in (("punct", "."), ("punct", "[")):
            if self.take()[1] == ".":
                accessors.append(("prop", self.take()[1]))
            else:
                accessors.append(("index", self.expr()))
                self.take("]")
        return ("access", node, accessors) if accessors else node


class Evaluator:
    """Evaluates expressions against a template's parameters and variables."""

    def __init__(self, parameters: dict[str, Any], variables: dict[str, Any]) -> None:
        self.parameter_values = parameters  # name (lower) -> value or Unresolved
        self.variable_sources = dict(variables)  # name (lower) -> raw (unevaluated) value
        # Variable copy loops (`"variables": {"copy": [{name, count, input}]}`) each
        # define one array variable.
        copies = self.variable_sources.pop("copy", None)
        if isinstance(copies, list):
            for loop in copies:
                if isinstance(loop, dict) and isinstance(loop.get("name"), str):
                    self.variable_sources[loop["name"].lower()] = _VariableCopy(loop)
        self._variables: dict[str, Any] = {}
        self._placeholders = False  # see name_with_placeholders
        self._evaluating: set[str] = set()
        self._lambda_scopes: list[dict[str, Any]] = []
        self.copy_index: dict[str | None, int] = {}
        self._functions: dict[str, Callable[[list[Any]], Any]] = {
            "parameters": self._parameters, "variables": self._variables_fn,
            "concat": _concat, "format": _format, "if": _if, "equals": _equals,
            "not": lambda a: not a[0], "and": lambda a: all(a), "or": lambda a: any(a),
            "tolower": lambda a: str(a[0]).lower(), "toupper": lambda a: str(a[0]).upper(),
            "union": _union, "createarray": lambda a: list(a),
            "array": lambda a: a[0] if isinstance(a[0], list) else [a[0]],
            "createobject": lambda a: {a[i]: a[i + 1] for i in range(0, len(a) - 1, 2)},
            "string": lambda a: a[0] if isinstance(a[0], str) else json.dumps(a[0]),
            "int": lambda a: int(a[0]), "bool": _bool, "length": lambda a: len(a[0]),
            "contains": _contains, "replace": lambda a: str(a[0]).replace(a[1], a[2]),
            "split": lambda a: str(a[0]).split(a[1]) if isinstance(a[1], str) else str(a[0]).split(a[1][0]),
            "first": lambda a: a[0][0], "last": lambda a: a[0][-1], "trim": lambda a: str(a[0]).strip(),
            "substring": lambda a: str(a[0])[a[1]: (a[1] + a[2]) if len(a) > 2 else None],
            "true": lambda a: True, "false": lambda a: False, "null": lambda a: None,
            "json": lambda a: json.loads(a[0]), "coalesce": lambda a: next((x for x in a if x is not None), None),
            "greater": lambda a: a[0] > a[1], "less": lambda a: a[0] < a[1],
            "greaterorequals": lambda a: a[0] >= a[1], "lessorequals": lambda a: a[0] <= a[1],
            "min": lambda a: min(a[0] if len(a) == 1 else a), "max": lambda a: max(a[0] if len(a) == 1 else a),
            "take": lambda a: a[0][: a[1]], "skip": lambda a: a[0][a[1]:],
            "range": lambda a: list(range(a[0], a[0] + a[1])),
            "add": lambda a: a[0] + a[1], "sub": lambda a: a[0] - a[1], "mul": lambda a: a[0] * a[1],
            "div": lambda a: a[0] // a[1], "mod": lambda a: a[0] % a[1],
            "startswith": lambda a: str(a[0]).lower().startswith(str(a[1]).lower()),
            "endswith": lambda a: str(a[0]).lower().endswith(str(a[1]).lower()),
            "resourceid": _resource_id, "subscriptionresourceid": _resource_id,
            "tenantresourceid": _resource_id, "extensionresourceid": lambda a: _resource_id(a[1:]),
            "copyindex": self._copy_index,
            "join": lambda a: str(a[1]).join(str(x) for x in a[0]),
            "indexof": _index_of, "lastindexof": _last_index_of,
            "padleft": lambda a: str(a[0]).rjust(a[1], str(a[2]) if len(a) > 2 else " "),
            "objectkeys": lambda a: list(a[0]), "items": _items,
            "intersection": _intersection, "shallowmerge": _shallow_merge,
            "tryget": _try_get, "empty": _empty,
            # Lambda functions (what Bicep's `map(xs, x => ...)` compiles to).
            "map": self._map, "filter": self._filter, "reduce": self._reduce, "sort": self._sort,
            "toobject": self._to_object, "mapvalues": self._map_values,
        }

    # --- public -------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Evaluate every expression inside a JSON value; unknowns become Unresolved."""
        if isinstance(value, str):
            if is_expression(value):
                return self.evaluate(value)
            if value.startswith("[["):
                return value[1:]
            return value
        if isinstance(value, dict):
            loops = value.get("copy")
            if isinstance(loops, list) and _is_property_copy(loops):
                return self._expand_property_copy(value, loops)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    @contextmanager
    def copy_scope(self, loop: str | None, index: int, *, resource_loop: bool = False) -> Iterator[None]:
        """Evaluate with `copyIndex(loop)` = index. A resource loop also answers
        `copyIndex()` without a name; property and variable loops must be named."""
        keys: list[str | None] = [loop.lower() if loop else None]
        if resource_loop and loop:
            keys.append(None)
        saved = {k: self.copy_index[k] for k in keys if k in self.copy_index}
        for k in keys:
            self.copy_index[k] = index
        try:
            yield
        finally:
            for k in keys:
                if k in saved:
                    self.copy_index[k] = saved[k]
                else:
                    del self.copy_index[k]

    def copy_count(self, raw: Any) -> int | Unresolved:
        """A copy loop's count, if it is known statically (capped at ARM's limit)."""
        count = self.resolve(raw)
        if isinstance(count, bool) or not isinstance(count, int):
            return count if isinstance(count, Unresolved) else Unresolved(str(raw))
        return max(0, min(count, MAX_COPY))

    def _expand_property_copy(self, value: dict[str, Any], loops: list[dict[str, Any]]) -> dict[str, Any]:
        """`"properties": {"copy": [{"name": "dataDisks", "count": 2, "input": {...}}]}`
        becomes `"dataDisks": [input(0), input(1)]`."""
        out = {k: self.resolve(v) for k, v in value.items() if k != "copy"}
        for loop in loops:
            name = loop["name"]
            count = self.copy_count(loop.get("count", 0))
            if isinstance(count, Unresolved):
                out[name] = count
                continue
            items = []
            for i in range(count):
                with self.copy_scope(name, i):
                    items.append(self.resolve(loop["input"]))
            out[name] = items
        return out

    def evaluate(self, text: str) -> Any:
        try:
            ast = _Parser(_tokens(text[1:-1])).parse()
            return self._eval(ast, text)
        except _Unknown:
            return Unresolved(text)
        except (ExpressionError, TypeError, ValueError, KeyError, IndexError, ZeroDivisionError,
                RecursionError, AttributeError):
            return Unresolved(text)

    # --- evaluation ---------------------------------------------------------------
    def _eval(self, node: Node, text: str) -> Any:
        if node[0] == "lit":
            return node[1]
        if node[0] == "access":
            value = self._eval(node[1], text)
            for kind, arg in node[2]:
                key = arg if kind == "prop" else self._eval(arg, text)
                value = _access(value, key)
            return value
        name, args = node[1], node[2]
        if name == "if":  # lazy: only the chosen branch must be known
            cond = self._eval(args[0], text)
            return self._eval(args[1] if cond else args[2], text)
        if name == "lambda":  # its body is evaluated per item by map(), filter(), ...
            return _Lambda(tuple(str(self._eval(a, text)).lower() for a in args[:-1]), args[-1], text)
        if name == "lambdavariables":
            key = str(self._eval(args[0], text)).lower()
            for scope in reversed(self._lambda_scopes):
                if key in scope:
                    return scope[key]
            raise _Unknown(key)
        fn = self._functions.get(name)
        if fn is None:
            raise _Unknown(name)  # reference(), resourceGroup(), uniqueString(), ...
        values = [self._eval(a, text) for a in args]
        if any(isinstance(v, Unresolved) for v in values):
            raise _Unknown(name)
        return fn(values)

    def _call(self, fn: Any, *values: Any) -> Any:
        if not isinstance(fn, _Lambda):
            raise _Unknown("lambda")
        self._lambda_scopes.append(dict(zip(fn.params, values, strict=False)))
        try:
            result = self._eval(fn.body, fn.text)
        finally:
            self._lambda_scopes.pop()
        if isinstance(result, Unresolved):
            raise _Unknown("lambda")
        return result

    def _map(self, args: list[Any]) -> list[Any]:
        return [self._call(args[1], item, i) for i, item in enumerate(args[0])]

    def _filter(self, args: list[Any]) -> list[Any]:
        return [item for i, item in enumerate(args[0]) if self._call(args[1], item, i)]

    def _reduce(self, args: list[Any]) -> Any:
        value = args[1]
        for i, item in enumerate(args[0]):
            value = self._call(args[2], value, item, i)
        return value

    def _sort(self, args: list[Any]) -> list[Any]:
        def compare(a: Any, b: Any) -> int:
            return -1 if self._call(args[1], a, b) else (1 if self._call(args[1], b, a) else 0)
        return sorted(args[0], key=functools.cmp_to_key(compare))

    def _to_object(self, args: list[Any]) -> dict[str, Any]:
        return {str(self._call(args[1], item)): self._call(args[2], item) if len(args) > 2 else item
                for item in args[0]}

    def _map_values(self, args: list[Any]) -> dict[str, Any]:
        return {k: self._call(args[1], v) for k, v in args[0].items()}

    def _parameters(self, args: list[Any]) -> Any:
        value = self.parameter_values.get(str(args[0]).lower(), Unresolved(f"parameters('{args[0]}')"))
        if isinstance(value, Unresolved):
            if self._placeholders:
                return f"<{args[0]}>"
            raise _Unknown(args[0])
        return value

    def name_with_placeholders(self, value: Any) -> str | None:
        """A resource name with each unknown parameter written as `<name>`.

        A parent named `[parameters('account')]` and its child named
        `[format('{0}/{1}', parameters('account'), 'default')]` become `<account>` and
        `<account>/default`, so relations between them still hold when the account
        name is only known at deployment (common in compiled Bicep modules).
        """
        saved = (self._placeholders, self._variables)
        self._placeholders, self._variables = True, {}
        try:
            result = self.resolve(value)
        finally:
            self._placeholders, self._variables = saved
        return result if isinstance(result, str) else None

    def _variables_fn(self, args: list[Any]) -> Any:
        name = str(args[0]).lower()
        if name not in self._variables:
            if name not in self.variable_sources or name in self._evaluating:
                raise _Unknown(name)
            self._evaluating.add(name)
            try:
                source = self.variable_sources[name]
                if isinstance(source, _VariableCopy):
                    self._variables[name] = self._variable_copy(source.loop)
                else:
                    self._variables[name] = self.resolve(source)
            finally:
                self._evaluating.discard(name)
        value = self._variables[name]
        if isinstance(value, Unresolved):
            raise _Unknown(name)
        return value

    def _variable_copy(self, loop: dict[str, Any]) -> Any:
        count = self.copy_count(loop.get("count", 0))
        if isinstance(count, Unresolved):
            return count
        items = []
        for i in range(count):
            with self.copy_scope(loop["name"], i):
                item = self.resolve(loop.get("input"))
            if isinstance(item, Unresolved):
                return item
            items.append(item)
        return items

    def _copy_index(self, args: list[Any]) -> Any:
        loop = next((a for a in args if isinstance(a, str)), None)
        offset = next((a for a in args if isinstance(a, int)), 0)
        key = loop.lower() if loop else None
        if key not in self.copy_index:
            raise _Unknown("copyIndex")
        return self.copy_index[key] + offset


class _Unknown(Exception):
    pass


@dataclass(frozen=True)
class _Lambda:
    params: tuple[str, ...]
    body: Node
    text: str


@dataclass(frozen=True)
class _VariableCopy:
    loop: dict[str, Any]


def _is_property_copy(loops: Any) -> bool:
    """A property-level copy is an array of {name, count, input}; a resource-level one
    is a single object and never reaches `resolve`."""
    return isinstance(loops, list) and bool(loops) and all(
        isinstance(loop, dict) and isinstance(loop.get("name"), str) and "input" in loop for loop in loops)


def _index_of(args: list[Any]) -> int:
    container, item = args
    if isinstance(container, str):
        return container.lower().find(str(item).lower())
    return container.index(item) if item in container else -1


def _last_index_of(args: list[Any]) -> int:
    container, item = args
    if isinstance(container, str):
        return container.lower().rfind(str(item).lower())
    matches = [i for i, x in enumerate(container) if x == item]
    return matches[-1] if matches else -1


def _items(args: list[Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in sorted(args[0].items())]


def _intersection(args: list[Any]) -> Any:
    if all(isinstance(a, dict) for a in args):
        first = args[0]
        return {k: v for k, v in first.items() if all(k in a and a[k] == v for a in args[1:])}
    return [x for x in args[0] if all(x in a for a in args[1:])]


def _shallow_merge(args: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in args[0]:
        out.update(item)
    return out


def _try_get(args: list[Any]) -> Any:
    value = args[0]
    for key in args[1:]:
        if isinstance(value, dict) and isinstance(key, str):
            value = next((v for k, v in value.items() if k.lower() == key.lower()), None)
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def _empty(args: list[Any]) -> bool:
    return args[0] is None or not args[0]


def _access(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        if isinstance(key, str):
            for k, v in value.items():  # ARM property access is case-insensitive
                if k.lower() == key.lower():
                    return v
        raise _Unknown(key)
    if isinstance(value, list) and isinstance(key, int):
        return value[key]
    raise _Unknown(key)


def _concat(args: list[Any]) -> Any:
    if args and all(isinstance(a, list) for a in args):
        return [x for a in args for x in a]
    return "".join(a if isinstance(a, str) else json.dumps(a) if not isinstance(a, (int, float)) else str(a)
                   for a in args)


def _format(args: list[Any]) -> str:
    template = str(args[0])
    return re.sub(r"\{(\d+)(?::[^}]*)?\}", lambda m: str(args[int(m.group(1)) + 1]), template)


def _if(args: list[Any]) -> Any:  # pragma: no cover - `if` is evaluated lazily in _eval
    return args[1] if args[0] else args[2]


def _equals(args: list[Any]) -> bool:
    return bool(args[0] == args[1])


def _bool(args: list[Any]) -> bool:
    value = args[0]
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _contains(args: list[Any]) -> bool:
    container, item = args
    if isinstance(container, str):
        return str(item).lower() in container.lower()
    if isinstance(container, dict):
        return any(k.lower() == str(item).lower() for k in container)
    return item in container


def _union(args: list[Any]) -> Any:
    if all(isinstance(a, dict) for a in args):
        out: dict[str, Any] = {}
        for a in args:
            for k, v in a.items():
                out[k] = _union([out[k], v]) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
        return out
    seen: list[Any] = []
    for a in args:
        for x in a:
            if x not in seen:
                seen.append(x)
    return seen


def _resource_id(args: list[Any]) -> str:
    """A resource ID with the scope left symbolic: the type and names are what matter."""
    parts = [str(a) for a in args]
    type_index = next((i for i, p in enumerate(parts) if "/" in p and "." in p.split("/")[0]), None)
    if type_index is None:
        raise _Unknown("resourceId")
    rtype = parts[type_index]
    names = parts[type_index + 1:]
    segments = rtype.split("/")
    path = f"/providers/{segments[0]}"
    for seg_type, seg_name in zip(segments[1:], names, strict=False):
        path += f"/{seg_type}/{seg_name}"
    return path
