"""Static evaluation of ARM template expressions (`"[concat(parameters('x'), '-pg')]"`).

Only what can be known before deployment is evaluated. Anything else (reference(),
resourceGroup(), uniqueString(), a parameter without a default) becomes `Unresolved`,
which propagates through every function that receives it, so a policy never mistakes
an unknown value for a compliant one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Unresolved:
    expression: str

    def __str__(self) -> str:
        return self.expression


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
        self.variable_sources = variables  # name (lower) -> raw (unevaluated) value
        self._variables: dict[str, Any] = {}
        self._evaluating: set[str] = set()
        self.copy_index: dict[str | None, int] = {}
        self._functions: dict[str, Callable[[list[Any]], Any]] = {
            "parameters": self._parameters, "variables": self._variables_fn,
            "concat": _concat, "format": _format, "if": _if, "equals": _equals,
            "not": lambda a: not a[0], "and": lambda a: all(a), "or": lambda a: any(a),
            "tolower": lambda a: str(a[0]).lower(), "toupper": lambda a: str(a[0]).upper(),
            "union": _union, "createarray": lambda a: list(a), "array": lambda a: a[0] if isinstance(a[0], list) else [a[0]],
            "createobject": lambda a: {a[i]: a[i + 1] for i in range(0, len(a) - 1, 2)},
            "string": lambda a: a[0] if isinstance(a[0], str) else json.dumps(a[0]),
            "int": lambda a: int(a[0]), "bool": _bool, "length": lambda a: len(a[0]),
            "empty": lambda a: not a[0], "contains": _contains, "replace": lambda a: str(a[0]).replace(a[1], a[2]),
            "split": lambda a: str(a[0]).split(a[1]) if isinstance(a[1], str) else str(a[0]).split(a[1][0]),
            "first": lambda a: a[0][0], "last": lambda a: a[0][-1], "trim": lambda a: str(a[0]).strip(),
            "substring": lambda a: str(a[0])[a[1]: (a[1] + a[2]) if len(a) > 2 else None],
            "true": lambda a: True, "false": lambda a: False, "null": lambda a: None,
            "json": lambda a: json.loads(a[0]), "coalesce": lambda a: next((x for x in a if x is not None), None),
            "greater": lambda a: a[0] > a[1], "less": lambda a: a[0] < a[1],
            "greaterorequals": lambda a: a[0] >= a[1], "lessorequals": lambda a: a[0] <= a[1],
            "min": lambda a: min(a[0] if len(a) == 1 else a), "max": lambda a: max(a[0] if len(a) == 1 else a),
            "take": lambda a: a[0][: a[1]], "skip": lambda a: a[0][a[1]:], "range": lambda a: list(range(a[0], a[0] + a[1])),
            "add": lambda a: a[0] + a[1], "sub": lambda a: a[0] - a[1], "mul": lambda a: a[0] * a[1],
            "div": lambda a: a[0] // a[1], "mod": lambda a: a[0] % a[1],
            "startswith": lambda a: str(a[0]).lower().startswith(str(a[1]).lower()),
            "endswith": lambda a: str(a[0]).lower().endswith(str(a[1]).lower()),
            "resourceid": _resource_id, "subscriptionresourceid": _resource_id,
            "tenantresourceid": _resource_id, "extensionresourceid": lambda a: _resource_id(a[1:]),
            "copyindex": self._copy_index,
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
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

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
        fn = self._functions.get(name)
        if fn is None:
            raise _Unknown(name)  # reference(), resourceGroup(), uniqueString(), ...
        values = [self._eval(a, text) for a in args]
        if any(isinstance(v, Unresolved) for v in values):
            raise _Unknown(name)
        return fn(values)

    def _parameters(self, args: list[Any]) -> Any:
        value = self.parameter_values.get(str(args[0]).lower(), Unresolved(f"parameters('{args[0]}')"))
        if isinstance(value, Unresolved):
            raise _Unknown(args[0])
        return value

    def _variables_fn(self, args: list[Any]) -> Any:
        name = str(args[0]).lower()
        if name not in self._variables:
            if name not in self.variable_sources or name in self._evaluating:
                raise _Unknown(name)
            self._evaluating.add(name)
            try:
                self._variables[name] = self.resolve(self.variable_sources[name])
            finally:
                self._evaluating.discard(name)
        value = self._variables[name]
        if isinstance(value, Unresolved):
            raise _Unknown(name)
        return value

    def _copy_index(self, args: list[Any]) -> Any:
        loop = next((a for a in args if isinstance(a, str)), None)
        offset = next((a for a in args if isinstance(a, int)), 0)
        key = loop.lower() if loop else None
        if key not in self.copy_index:
            raise _Unknown("copyIndex")
        return self.copy_index[key] + offset


class _Unknown(Exception):
    pass


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
