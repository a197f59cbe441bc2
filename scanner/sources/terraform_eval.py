"""What a Terraform HCL expression means inside one module: `Scope` holds the names
(variables, locals, literal resource attributes, the outputs of its `module` calls) and
`Evaluator` turns one expression tree into a value.

Its job is the static meaning of an expression, apart from parsing (`terraform_parse`)
and from reading a module's files and expanding its module calls (`terraform_hcl`), which
build the scope and ask it for values.

Values are evaluated statically: literals, `var.*` (the values the module reader puts in
the scope), `local.*`, attributes of other resources written literally in the
configuration, `module.<call>.<output>`, a few pure functions, conditionals.
Everything else (computed attributes, data sources, `each`/`count`, unset variables)
stays an `Unresolved` value, so a policy never mistakes it for compliant.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scanner.sources.arm_expressions import Unresolved
from scanner.sources.terraform_normalize import ModuleReference
from scanner.sources.terraform_parse import RawBlock, first_token, is_token, is_tree, name_of, trees

if TYPE_CHECKING:
    from lark import Tree  # lark comes with python-hcl2, imported only when a .tf file is read

    # Only for an annotation: `terraform_hcl` expands a module's calls and hands the scope
    # them; this module never imports it at run time (it imports this one).
    from scanner.sources.terraform_hcl import _Calls

_MAX_DEPTH = 64


class Scope:
    """What names mean inside one module: variables, locals and literal resource attributes."""

    def __init__(self, variables: dict[str, Any], locals_: dict[str, RawBlock | tuple[Tree[Any], str]],
                 resources: dict[tuple[str, str], RawBlock]) -> None:
        self.variables = variables
        self._locals_raw = locals_
        self._locals: dict[str, Any] = {}
        self._resources = resources
        self._resolving: set[str] = set()
        self.iterators: dict[str, Any] = {}
        self.calls: _Calls | None = None  # the module's `module` blocks, for `module.x.y`

    def local(self, name: str, text: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        raw = self._locals_raw.get(name)
        if raw is None or name in self._resolving or not isinstance(raw, tuple):
            return Unresolved(text)
        self._resolving.add(name)
        try:
            value = Evaluator(self, raw[1]).value(raw[0])
        finally:
            self._resolving.discard(name)
        self._locals[name] = value
        return value

    def module_output(self, keys: list[Any], text: str) -> tuple[Any, list[Any]]:
        """`module.<name>.<output>`: the value, and the keys after it left to walk."""
        expansion = self.calls.expansion(keys[0]) if self.calls is not None and isinstance(keys[0], str) else None
        if expansion is None or expansion.outputs is None:
            return Unresolved(text), []
        if expansion.instances:
            # `module.x[0].y`: outputs are per instance, and the one instance read stands
            # for all (its `count.index`, `each.key` unknown); say so on the module block.
            if text not in expansion.asked:
                expansion.asked.append(text)
            return Unresolved(text), []
        if len(keys) < 2 or not isinstance(keys[1], str) or keys[1] not in expansion.outputs:
            return Unresolved(text), []
        return expansion.outputs[keys[1]], keys[2:]

    def resource_attr(self, rtype: str, rname: str, attr: str, text: str) -> Any:
        raw = self._resources.get((rtype, rname))
        key = f"{rtype}.{rname}.{attr}"
        if raw is None or attr not in raw.attrs or key in self._resolving:
            return Unresolved(text)
        self._resolving.add(key)
        try:
            return Evaluator(self, raw.text).value(raw.attrs[attr][0])
        finally:
            self._resolving.discard(key)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "lower": lambda s: s.lower() if isinstance(s, str) else Unresolved("lower()"),
    "upper": lambda s: s.upper() if isinstance(s, str) else Unresolved("upper()"),
    "tostring": lambda v: v if isinstance(v, str) else (json.dumps(v) if isinstance(v, bool) else str(v)),
    "tonumber": lambda v: v if isinstance(v, (int, float)) else (float(v) if "." in str(v) else int(v)),
    "tobool": lambda v: v if isinstance(v, bool) else {"true": True, "false": False}[str(v)],
    "tolist": list,
    "toset": lambda v: list(dict.fromkeys(v)),
    "tomap": dict,
    "concat": lambda *lists: [x for item in lists for x in item],
    "merge": lambda *maps: {k: v for m in maps for k, v in m.items()},
    "coalesce": lambda *values: next(v for v in values if v not in (None, "")),
    "join": lambda sep, items: sep.join(str(i) for i in items),
    "format": lambda fmt, *args: fmt.replace("%%", "\0") % tuple(args) if "%s" in fmt or "%d" in fmt else fmt,
    "length": len,
    "min": min,
    "max": max,
}


class Evaluator:
    """Evaluates one expression tree; anything not statically known is `Unresolved`
    carrying the expression's source text."""

    def __init__(self, scope: Scope, text: str) -> None:
        self.scope = scope
        self.text = text
        self.depth = 0

    def source(self, node: Tree[Any]) -> str:
        meta = node.meta
        start, end = getattr(meta, "start_pos", None), getattr(meta, "end_pos", None)
        if isinstance(start, int) and isinstance(end, int):
            return " ".join(self.text[start:end].split())
        return node.data if isinstance(node.data, str) else "expression"

    def value(self, node: Any) -> Any:
        if is_token(node):
            return str(node)
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                return Unresolved(self.source(node))
            return self._value(node)
        except (KeyError, IndexError, TypeError, ValueError, StopIteration, AttributeError):
            return Unresolved(self.source(node))
        finally:
            self.depth -= 1

    def _value(self, node: Tree[Any]) -> Any:
        kind = node.data
        kids = trees(node)
        if kind == "expr_term":
            return self.value(kids[0]) if kids else Unresolved(self.source(node))
        if kind == "int_lit":
            return int(str(node.children[0]))
        if kind == "float_lit":
            return float(str(node.children[0]))
        if kind == "literal_value":
            return {"true": True, "false": False, "null": None}[str(node.children[0])]
        if kind == "string":
            return self._template(node)
        if kind in ("heredoc_template", "heredoc_template_trim"):
            return self._heredoc(str(node.children[0]), trim=kind.endswith("trim"))
        if kind == "tuple":
            return [self.value(k) for k in kids]
        if kind == "object":
            out: dict[str, Any] = {}
            for elem in kids:
                key_node, value_node = trees(elem)[0], trees(elem)[-1]
                key = self._object_key(key_node)
                if not isinstance(key, str):
                    return Unresolved(self.source(node))
                out[key] = self.value(value_node)
            return out
        if kind == "identifier":
            name = str(node.children[0])
            return self.scope.iterators.get(name, Unresolved(name))
        if kind == "conditional":
            condition = self.value(kids[0])
            if isinstance(condition, bool):
                return self.value(kids[1] if condition else kids[2])
            return Unresolved(self.source(node))
        if kind == "unary_op":
            operand = self.value(kids[0])
            op = str(node.children[0])
            if isinstance(operand, Unresolved):
                return Unresolved(self.source(node))
            return (not operand) if op == "!" else -operand
        if kind == "binary_op":
            return self._binary(node, kids)
        if kind == "function_call":
            return self._call(node, kids)
        if kind in ("get_attr_expr_term", "index_expr_term"):
            return self._traversal(node)
        return Unresolved(self.source(node))

    def _object_key(self, key_node: Tree[Any]) -> Any:
        inner = trees(key_node)
        target = inner[0] if inner else key_node
        while is_tree(target) and target.data == "expr_term" and trees(target):
            target = trees(target)[0]
        if is_tree(target) and target.data in ("identifier", "keyword"):
            return name_of(target)
        return self.value(target)

    def _template(self, node: Tree[Any]) -> Any:
        pieces: list[str] = []
        for part in trees(node):
            child: Any = part.children[0] if part.children else ""
            if is_token(child):
                if child.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                    pieces.append(str(child)[1:])  # `$${` is a literal `${`
                else:
                    pieces.append(_unescape(str(child)))
                continue
            if is_tree(child) and child.data == "interpolation":
                inner = self.value(trees(child)[0])
                if isinstance(inner, (str, int, float)) and not isinstance(inner, bool):
                    pieces.append(str(inner))
                    continue
                if isinstance(inner, bool):
                    pieces.append("true" if inner else "false")
                    continue
            # An unknown part, or a template directive: keep the template without its quotes.
            return Unresolved(self.source(node).strip('"'))
        return "".join(pieces)

    def _heredoc(self, raw: str, trim: bool) -> Any:
        lines = raw.split("\n")
        body = lines[1:-2] if len(lines) >= 3 else []
        if "${" in raw or "%{" in raw:
            return Unresolved(raw.split("\n", 1)[0] + " heredoc")
        if trim:
            indent = min((len(x) - len(x.lstrip()) for x in body if x.strip()), default=0)
            body = [x[indent:] for x in body]
        return "\n".join(body) + ("\n" if body else "")

    def _binary(self, node: Tree[Any], kids: list[Tree[Any]]) -> Any:
        left = self.value(kids[0])
        term = kids[1]
        term_kids = trees(term)
        op = str(first_token(term_kids[0]))
        right = self.value(term_kids[-1])
        if isinstance(left, Unresolved) or isinstance(right, Unresolved):
            return Unresolved(self.source(node))
        ops: dict[str, Callable[[Any, Any], Any]] = {
            "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "&&": lambda a, b: a and b,
            "||": lambda a, b: a or b, "+": lambda a, b: a + b, "-": lambda a, b: a - b,
            "*": lambda a, b: a * b, "/": lambda a, b: a / b, "%": lambda a, b: a % b,
            "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
        }
        return ops[op](left, right)

    def _call(self, node: Tree[Any], kids: list[Tree[Any]]) -> Any:
        name = name_of(kids[0])
        args_node = next((k for k in kids[1:] if k.data == "arguments"), None)
        args = [self.value(a) for a in trees(args_node)] if args_node is not None else []
        if name == "try":  # the first argument that is known
            return next((a for a in args if not isinstance(a, Unresolved)), Unresolved(self.source(node)))
        if name == "lookup" and len(args) >= 2:
            if isinstance(args[0], dict) and isinstance(args[1], str):
                if args[1] in args[0]:
                    return args[0][args[1]]
                if len(args) > 2:
                    return args[2]
            return Unresolved(self.source(node))
        function = _FUNCTIONS.get(name)
        if function is None or any(_contains_unresolved(a) for a in args):
            return Unresolved(self.source(node))
        return function(*args)

    def _traversal(self, node: Tree[Any]) -> Any:
        """`var.x.y`, `local.x["k"]`, `azurerm_x.y.attr`: walk from the root name."""
        steps: list[Any] = []
        cursor: Tree[Any] = node
        while True:
            if cursor.data in ("get_attr_expr_term", "index_expr_term"):
                base, accessor = trees(cursor)[0], trees(cursor)[-1]
                steps.append(accessor)
                cursor = base
            elif cursor.data == "expr_term" and len(trees(cursor)) == 1:
                cursor = trees(cursor)[0]
            else:
                break
        steps.reverse()
        text = self.source(node)
        keys: list[Any] = []
        for accessor in steps:
            if accessor.data == "get_attr":
                keys.append(name_of(trees(accessor)[0]))
            elif accessor.data == "short_index":
                keys.append(int(str(accessor.children[-1])))
            elif accessor.data == "braces_index":
                key = self.value(trees(accessor)[0])
                if isinstance(key, Unresolved):
                    return Unresolved(text)
                keys.append(key)
            else:
                return Unresolved(text)
        if cursor.data != "identifier":
            value = self.value(cursor)
        else:
            root = name_of(cursor)
            if root == "var" and keys and isinstance(keys[0], str):
                value = self.scope.variables.get(keys[0], Unresolved(text))
                keys = keys[1:]
            elif root == "local" and keys and isinstance(keys[0], str):
                value = self.scope.local(keys[0], text)
                keys = keys[1:]
            elif root == "module" and keys:
                value, keys = self.scope.module_output(keys, text)
            elif root in self.scope.iterators:
                value = self.scope.iterators[root]
            elif len(keys) >= 2 and root not in ("data", "module", "each", "count", "path", "self", "terraform") \
                    and isinstance(keys[0], str) and isinstance(keys[1], str):
                value = self.scope.resource_attr(root, keys[0], keys[1], text)
                keys = keys[2:]
            else:
                return Unresolved(text)
        for index, key in enumerate(keys):
            if isinstance(value, ModuleReference) and all(isinstance(k, str) for k in keys[index:]):
                # An attribute of a whole resource a module outputs (`value = azurerm_x.main`,
                # read as `module.pg.server.id`): still that resource's attribute.
                return ModuleReference(text, ".".join([value.target, *keys[index:]]))
            if isinstance(value, Unresolved):
                return Unresolved(text)
            in_map = isinstance(value, dict) and isinstance(key, str) and key in value
            in_list = isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value)
            if not (in_map or in_list):
                return Unresolved(text)
            value = value[key]
        if isinstance(value, ModuleReference):
            # What crossed a module boundary keeps what it points at, under the name read here.
            return ModuleReference(text, value.target)
        return Unresolved(text) if isinstance(value, Unresolved) else value


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    try:
        return str(json.loads(f'"{text}"'))
    except ValueError:
        return text


def _contains_unresolved(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, dict):
        return any(_contains_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unresolved(v) for v in value)
    return False
