"""Bicep files as ARM-shaped resources, each property pointing at its `.bicep` line.

Bicep is parsed directly, with the grammar of the `pycep-parser` package (optional
extra `tierscan[bicep]`), and evaluated statically like ARM expressions: parameters
take values from a `--parameters` file (ARM parameters JSON or `.bicepparam`), then a
`.bicepparam` next to the file that names it in `using`, then defaults. Variables,
string interpolation, conditions, a few pure functions and the lambda functions (`map`,
`filter`, `reduce`, `sort`, `toObject`, `groupBy`, `mapValues`, over known arrays),
spreads (`{ ...base, a: 1 }`, `[...more]`), reverse indexes (`zones[^1]`), `parent:` and
nested child resources, loops over known lists and local modules (`module x './m.bicep'`,
expanded with the parameters the caller passes) are resolved. Everything else stays
unknown, recorded in `Resource.unresolved`, never taken as compliant. An object that
spreads an unknown value keeps known only the properties after the spread (any before
may be replaced by it); its path is recorded as unresolved. `assert` statements change
no resource: one known to be false is reported as a note. Resources whose name is not
known are named as the ARM source names them (`<parameter>`), so one template has the same
resource names whether it is scanned as Bicep or compiled to ARM JSON.

Reading the text into a tree (the pycep grammar, corrected where it rejects valid Bicep,
and Bicep's operator precedence) is `scanner.sources.bicep_syntax`'s job; this module gives
the tree its meaning.

A file the parser cannot read is reported as an error naming the file and line, with the
advice to install the `bicep` CLI; it never stops the scan.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from scanner.model import JsonPath, Origin, Platform, Position, Resource
from scanner.sources.arm_expressions import Unresolved, as_text
from scanner.sources.bicep_syntax import _HIDDEN_BREAK, _parse_readable, _pos, _quoted, _readable, _trees
from scanner.sources.bicep_syntax import BicepError as BicepError
from scanner.sources.bicep_syntax import parse as parse
from scanner.sources.line_table import LineTableLocator
from scanner.sources.terraform_block import walk_unresolved

_MAX_MODULE_DEPTH = 8
_MAX_LOOP = 50
_MODULE_REF = re.compile(r"^\s*module\s+\w+\s+'([^']+)'", re.MULTILINE)
_USING = re.compile(r"^\s*using\s+'([^']+)'", re.MULTILINE)


@dataclass
class _ResourceRef:
    """A symbolic resource name used as a value (`parent: pg`, `scope: pg`, `pg.name`)."""

    type: str
    name: Any
    label: str = ""  # the name as resource names show it (`<param>` for unknown parameters)


@dataclass
class _Module:
    file: str
    path: Path
    text: str
    elements: list[Any]
    params: dict[str, Any] = field(default_factory=dict)
    params_raw: dict[str, Any] = field(default_factory=dict)
    vars_raw: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    symbols: dict[str, _ResourceRef] = field(default_factory=dict)
    iterators: dict[str, Any] = field(default_factory=dict)
    resolving: set[str] = field(default_factory=set)


@dataclass
class BicepScan:
    resources: list[Resource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Evaluator:
    def __init__(self, module: _Module) -> None:
        self.m = module
        self.placeholders = False
        self.module_text = module.text  # `m.text` is swapped while `${...}` is read

    def name(self, node: Any) -> Any:
        """A resource name, each parameter with no known value written `<parameter>`.

        The ARM source names resources the same way (`name_with_placeholders`), so one
        template gives the same resource names, finding text and fingerprints whether it
        is scanned as Bicep or as the ARM JSON it compiles to: `name: '${prefix}-pg'`
        becomes `<prefix>-pg` in both. Anything else unknown leaves the name unresolved.
        """
        saved = self.placeholders
        self.placeholders = True
        try:
            return self.value(node)
        finally:
            self.placeholders = saved

    def source(self, node: Any) -> str:
        meta = getattr(node, "meta", None)
        start, end = getattr(meta, "start_pos", None), getattr(meta, "end_pos", None)
        if isinstance(start, int) and isinstance(end, int):
            return " ".join(_HIDDEN_BREAK.sub(" ", self.m.text[start:end]).split())
        return str(node)

    def value(self, node: Any) -> Any:
        from lark import Token
        if isinstance(node, Token):
            return self._identifier(str(node), str(node))
        try:
            return self._value(node)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError):
            return Unresolved(self.source(node))

    def _value(self, node: Any) -> Any:
        kind = node.data
        kids = _trees(node)
        if kind == "null":
            return None
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "int_type":
            return int(str(node.children[-1]))
        if kind == "string":
            token = node.children[-1]
            if getattr(token, "type", "") == "STRING":
                return self._identifier(str(token), str(token))
            return self._interpolate(str(token), node)
        if kind == "multi_line_string":
            return str(node.children[-1])[3:-3].lstrip("\n")
        if kind == "array":
            items: list[Any] = []
            for item in kids:
                if item.data != "spread":
                    items.append(self.value(item))
                    continue
                spread = self.value(_trees(item)[0])
                if not isinstance(spread, list):  # unknown: so are the length and every position
                    return Unresolved(self.source(node))
                items.extend(spread)
            return items
        if kind == "object":
            return self._object(kids)
        if kind == "operator":
            return self.value(kids[0])
        if kind == "function":
            return self._call(node)
        if kind in ("property_accessor", "safe_property_accessor"):
            base = self.value(kids[0])
            name = str(kids[1].children[-1]) if kids[1].data == "string" else self.source(kids[1])
            if kind == "safe_property_accessor" and (base is None or (
                    isinstance(base, dict) and not isinstance(base, _Partial) and name not in base)):
                return None
            return self._access(base, name, node)
        if kind == "index_accessor":
            return self._index(node, kids)
        if kind == "conditional":
            condition = self.value(kids[0])
            if isinstance(condition, bool):
                return self.value(kids[1] if condition else kids[2])
            return Unresolved(self.source(node))
        if kind == "coalesce":
            left = self.value(kids[0])
            if isinstance(left, Unresolved):
                return Unresolved(self.source(node))
            return left if left is not None else self.value(kids[1])
        if kind == "not_op":
            operand = self.value(kids[0])
            return not operand if isinstance(operand, bool) else Unresolved(self.source(node))
        if kind == "minus" and len(kids) == 1:
            operand = self.value(kids[0])
            return -operand if isinstance(operand, int) else Unresolved(self.source(node))
        binary = _BINARY.get(kind)
        if binary is not None and len(kids) == 2:
            left, right = self.value(kids[0]), self.value(kids[1])
            if not _known(left) or not _known(right):
                return Unresolved(self.source(node))
            return binary(left, right)
        return Unresolved(self.source(node))

    def _identifier(self, name: str, text: str) -> Any:
        m = self.m
        if name in m.iterators:
            return m.iterators[name]
        if name in m.params or name in m.params_raw:
            # A default may name a parameter declared further down: evaluated when used.
            if name not in m.params and name not in m.resolving:
                m.params[name] = self._resolve(name, m.params_raw[name])
            value = m.params.get(name, Unresolved(text))
            if self.placeholders and isinstance(value, Unresolved):
                return f"<{name}>"
            return value
        if self.placeholders and name in m.vars_raw and name not in m.resolving:
            # Evaluated afresh: the cached value has no placeholders in it.
            return self._resolve(name, m.vars_raw[name])
        if name in m.vars:
            return m.vars[name]
        if name in m.vars_raw and name not in m.resolving:
            m.vars[name] = self._resolve(name, m.vars_raw[name])
            return m.vars[name]
        if name in m.symbols:
            return m.symbols[name]
        return Unresolved(text)

    def _resolve(self, name: str, node: Any) -> Any:
        """The value of a parameter default or variable, guarded against cycles. Its node
        belongs to the module's text even when it is first needed inside a `${...}`."""
        self.m.resolving.add(name)
        saved, self.m.text = self.m.text, self.module_text
        # Declared at module scope: a loop or lambda variable of the same name is not it.
        iterators, self.m.iterators = self.m.iterators, {}
        try:
            return self.value(node)
        finally:
            self.m.text = saved
            self.m.iterators = iterators
            self.m.resolving.discard(name)

    def _access(self, base: Any, name: str, node: Any) -> Any:
        if isinstance(base, _ResourceRef):
            if name == "name":
                return base.label if self.placeholders and isinstance(base.name, Unresolved) else base.name
            if name == "type":
                return base.type
            return Unresolved(self.source(node))
        if isinstance(base, dict) and name in base:
            return base[name]
        return Unresolved(self.source(node))

    def _object(self, items: list[Any]) -> Any:
        """An object literal. Spreads merge in order, a later property replacing an earlier
        one (Bicep compiles `{ a: 1, ...b }` to `shallowMerge([{a: 1}, b])`).

        A spread whose value is unknown may hold any property, so every property before
        it is unknown too: the result is a `_Partial` with only what is written (or spread
        from known objects) after the last unknown spread. A key made of an unknown
        `${...}` counts as such a spread.
        """
        out: dict[str, Any] = {}
        unknown: str | None = None
        for item in items:
            if item.data == "pair":
                key = self._key(item)
                if isinstance(key, str):
                    out[key] = self.value(item.children[-1])
                    continue
                out, unknown = {}, key.expression
            elif item.data == "spread":
                spread = self.value(_trees(item)[0])
                if isinstance(spread, _Partial):
                    out, unknown = dict(spread), spread.unknown
                elif isinstance(spread, dict):
                    out.update(spread)
                else:  # unknown, or not an object (which Bicep rejects)
                    out, unknown = {}, self.source(_trees(item)[0])
        return out if unknown is None else _Partial(out, unknown)

    def _key(self, pair: Any) -> Any:
        """A property name, its `${...}` evaluated (`'${id}': {}`); Unresolved if unknown."""
        token = _key_token(pair)
        if token.startswith("'") and "${" in token:
            key = self._interpolate(token, pair)
            return key if isinstance(key, str) else Unresolved(token)
        return _quoted(token) if token.startswith("'") else token

    def _index(self, node: Any, kids: list[Any]) -> Any:
        """`base[index]`, `base[?index]` (null when missing) and `base[^n]` (the n-th item
        from the end, `^1` the last)."""
        from lark import Token
        marks = {str(c) for c in node.children if isinstance(c, Token)}
        safe, from_end = "?" in marks, "^" in marks
        base, index = self.value(kids[0]), self.value(kids[1])
        if isinstance(base, (Unresolved, _ResourceRef)) or not _known(index, deep=False):
            return Unresolved(self.source(node))
        if isinstance(base, list) and isinstance(index, int) and not isinstance(index, bool):
            position = len(base) - index if from_end else index
            if (index >= 1 if from_end else index >= 0) and 0 <= position < len(base):
                return base[position]
        elif isinstance(base, dict) and isinstance(index, str) and not from_end:
            if index in base:
                return base[index]
            if isinstance(base, _Partial):  # it may be in the unknown part
                return Unresolved(self.source(node))
        elif base is None and safe:
            return None
        # Missing: a safe index gives null, anything else fails the deployment.
        return None if safe else Unresolved(self.source(node))

    def _interpolate(self, token: str, node: Any) -> Any:
        text = _quoted(token) if not token.startswith("'''") else token[3:-3]
        if "${" not in text:
            return text
        out: list[str] = []
        i = 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            depth, j = 1, start + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            inner = self._expression(text[start + 2:j - 1])
            if isinstance(inner, bool):
                inner = "true" if inner else "false"
            if not isinstance(inner, (str, int)):
                return Unresolved(token.strip("'"))
            out.append(str(inner))
            i = j
        return "".join(out)

    def _expression(self, text: str) -> Any:
        """Evaluate the expression inside `${...}` by parsing it as a variable's value."""
        readable = _readable(f"var __interpolation = {text}\n")
        try:
            tree = _parse_readable(readable)
        except BicepError:
            return Unresolved(text)
        element = _trees(tree)[0]
        saved = self.m.text
        self.m.text = readable
        try:
            return self.value(element.children[-1])
        finally:
            self.m.text = saved

    def _call(self, node: Any) -> Any:
        name = str(node.children[0]).rstrip("(").strip().lower().removeprefix("sys.")
        arguments = _trees(node)
        if name in _LAMBDA_FUNCTIONS:
            return self._call_with_lambdas(name, arguments, node)
        args = [self.value(a) for a in arguments]
        if not all(_known(a, deep=name in _DEEP_ARGUMENTS) for a in args):
            return Unresolved(self.source(node))
        function = _FUNCTIONS.get(name)
        if function is None:
            return Unresolved(self.source(node))
        return function(*args)

    def _call_with_lambdas(self, name: str, arguments: list[Any], node: Any) -> Any:
        """`map`, `filter`, `reduce`, `sort`, `toObject`, `groupBy` and `mapValues` over a
        known array or object. The lambdas are pure, so they run here, their variables
        bound like loop variables; whatever they cannot decide makes the result unknown."""
        args = [_Lambda(self, a) if a.data == "lambda_expression" else self.value(a) for a in arguments]
        subject = args[0] if args else None
        if not isinstance(subject, dict if name == "mapvalues" else list) or isinstance(subject, _Partial) \
                or len(subject) > _MAX_LAMBDA_ITEMS:
            return Unresolved(self.source(node))
        try:
            return _LAMBDA_FUNCTIONS[name](*args)
        except _UnknownResult:
            return Unresolved(self.source(node))


def _key_token(pair: Any) -> str:
    return str(pair.children[0].children[0]) if _trees(pair) and _trees(pair)[0].data == "key" else ""


def _key(pair: Any) -> str:
    """A property name as written (where a property is, not what it evaluates to)."""
    token = _key_token(pair)
    return _quoted(token) if token.startswith("'") else token


class _Partial(dict[str, Any]):
    """An object only some of whose properties are known: those written after a spread
    (or `${...}` key) whose value is unknown. `unknown` is that expression. Policies see
    the known properties; the object's path is recorded in `Resource.unresolved`; and
    nothing that needs the whole object (a function, a comparison, `.?` of a missing
    property) treats it as known."""

    def __init__(self, known: dict[str, Any], unknown: str) -> None:
        super().__init__(known)
        self.unknown = unknown


def _known(value: Any, deep: bool = True) -> bool:
    """Whether `value` is wholly known: not Unresolved, a partial object or a resource
    reference (and, `deep`, nothing inside it is)."""
    if isinstance(value, (Unresolved, _Partial, _ResourceRef)):
        return False
    if deep and isinstance(value, list):
        return all(_known(v) for v in value)
    if deep and isinstance(value, dict):
        return all(_known(v) for v in value.values())
    return True


class _UnknownResult(Exception):
    """A lambda gave a value its function cannot use (an unknown condition or key)."""


class _Lambda:
    """A lambda argument, called with as many values as it declares variables."""

    def __init__(self, evaluator: _Evaluator, node: Any) -> None:
        *names, self.body = _trees(node)
        if any(n.data != "string" for n in names):
            raise ValueError("a lambda variable is a name")
        self.names = [str(n.children[-1]) for n in names]
        self.evaluator = evaluator

    def __call__(self, *values: Any) -> Any:
        module = self.evaluator.m
        saved = module.iterators
        # `values` may offer more than the lambda takes (the index): the rest are unused.
        module.iterators = {**saved, **dict(zip(self.names, values, strict=False))}
        try:
            return self.evaluator.value(self.body)
        finally:
            module.iterators = saved

    def known(self, kind: type, *values: Any) -> Any:
        """The lambda's value, which must be a known `kind` (a condition, a key)."""
        result = self(*values)
        if not isinstance(result, kind) or not _known(result):
            raise _UnknownResult
        return result


def _sort(items: list[Any], before: _Lambda) -> list[Any]:
    """`sort(array, (a, b) => a < b)`: the lambda is true when `a` goes before `b`."""
    def compare(a: Any, b: Any) -> int:
        return -1 if before.known(bool, a, b) else 1 if before.known(bool, b, a) else 0
    return sorted(items, key=functools.cmp_to_key(compare))


def _to_object(items: list[Any], key: _Lambda, value: _Lambda | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name = key.known(str, item)
        if name in out:  # which one ARM keeps is not documented: unknown
            raise _UnknownResult
        out[name] = value(item) if value is not None else item
    return out


def _group_by(items: list[Any], key: _Lambda) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        out.setdefault(key.known(str, item), []).append(item)
    return out


def _reduce(items: list[Any], initial: Any, step: _Lambda) -> Any:
    current = initial
    for index, item in enumerate(items):
        current = step(current, item, index)
    return current


# The lambda functions of the Bicep reference, each with its arguments in Bicep's order;
# a lambda may also take the item's index (`(item, i) => ...`, `(cur, next, i) => ...`).
_LAMBDA_FUNCTIONS: dict[str, Any] = {
    "map": lambda items, f: [f(item, i) for i, item in enumerate(items)],
    "filter": lambda items, f: [item for i, item in enumerate(items) if f.known(bool, item, i)],
    "reduce": _reduce,
    "sort": _sort,
    "toobject": _to_object,
    "groupby": _group_by,
    "mapvalues": lambda obj, f: {k: f(v) for k, v in obj.items()},
}
# Lambdas run once per item (`sort` more): a bound keeps a huge `range()` from stalling a scan.
_MAX_LAMBDA_ITEMS = 1000
# Functions whose result depends on every item inside their arguments: an unknown item
# anywhere makes them unknown (`contains([unknown], 'a')` is not false).
_DEEP_ARGUMENTS = {"contains"}


def _format(fmt: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), fmt)


_FUNCTIONS: dict[str, Any] = {
    "tolower": lambda s: s.lower(), "toupper": lambda s: s.upper(),
    "concat": lambda *a: [x for item in a for x in item] if a and isinstance(a[0], list) else "".join(map(str, a)),
    "format": _format, "string": lambda v: v if isinstance(v, str) else json.dumps(v),
    "int": int, "bool": lambda v: v if isinstance(v, bool) else str(v).lower() == "true",
    "union": lambda *maps: {k: v for m in maps for k, v in m.items()} if isinstance(maps[0], dict)
    else list(dict.fromkeys(x for m in maps for x in _whole(m, list, deep=True))),
    "empty": lambda v: not v, "length": len, "contains": lambda c, v: v in c,
    "first": lambda v: v[0], "last": lambda v: v[-1], "min": min, "max": max,
    "range": lambda start, count: list(range(start, start + count)),
    "split": lambda s, d: s.split(d), "replace": lambda s, a, b: s.replace(a, b),
    "substring": lambda s, start, length=None: _substring(s, start, len(s) - start if length is None else length),
    "take": lambda v, n: v[:max(n, 0)], "skip": lambda v, n: v[max(n, 0):],
    "startswith": lambda s, p: s.lower().startswith(p.lower()),
    "endswith": lambda s, p: s.lower().endswith(p.lower()),
    "coalesce": lambda *v: next(x for x in v if x is not None),
    "flatten": lambda arrays: [x for array in arrays for x in _whole(array, list)],
    "shallowmerge": lambda objects: {k: v for o in objects for k, v in _whole(o, dict).items()},
}


def _substring(text: str, start: int, length: int) -> str:
    if not 0 <= start <= start + length <= len(text):  # past the end: the deployment fails
        raise ValueError("substring out of range")
    return text[start:start + length]


def _whole(value: Any, kind: type, deep: bool = False) -> Any:
    """`value`, a known `kind` (a partial object is not a known object; `deep`, nor is
    an array with an unknown item, which `union` could not tell from a known one)."""
    if not isinstance(value, kind) or not _known(value, deep=deep):
        raise TypeError(f"not a known {kind.__name__}")
    return value


_BINARY: dict[str, Any] = {
    "equals": lambda a, b: a == b, "not_equals": lambda a, b: a != b,
    "equals_case_insens": lambda a, b: str(a).lower() == str(b).lower(),
    "not_equals_case_insens": lambda a, b: str(a).lower() != str(b).lower(),
    "and_op": lambda a, b: a and b, "or_op": lambda a, b: a or b,
    "greater_than": lambda a, b: a > b, "greater_than_or_equals": lambda a, b: a >= b,
    "less_than": lambda a, b: a < b, "less_than_or_equals": lambda a, b: a <= b,
    "add": lambda a, b: a + b, "substract": lambda a, b: a - b, "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a // b, "modulo": lambda a, b: a % b,
}


# --- parameters ------------------------------------------------------------------------

def parameters_from_file(path: Path) -> dict[str, Any]:
    """An ARM parameters JSON file or a `.bicepparam` file."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        params = data.get("parameters", {}) if isinstance(data, dict) else {}
        return {k: v.get("value") for k, v in params.items() if isinstance(v, dict) and "value" in v}
    # `.bicepparam`: `using '...'` then `param name = value`; read the values as variables.
    body = _USING.sub("", text)
    body = re.sub(r"^(\s*)param(\s+\w+\s*=)", r"\1var\2", body, flags=re.MULTILINE)
    body = _readable(body)
    module = _Module(str(path), path, body, list(_trees(_parse_readable(body))))
    evaluator = _Evaluator(module)
    values: dict[str, Any] = {}
    for element in module.elements:
        if element.data == "var":
            values[str(element.children[1])] = evaluator.value(element.children[-1])
    return values


def _bicepparam_for(path: Path) -> Path | None:
    for candidate in sorted(path.parent.glob("*.bicepparam")):
        try:
            match = _USING.search(candidate.read_text(encoding="utf-8-sig"))
        except OSError:
            continue
        if match and (candidate.parent / match.group(1)).resolve() == path.resolve():
            return candidate
    return None


def module_users(path: Path) -> list[Path]:
    """Bicep files that use `path` as a local module, searched near it (see
    scanner.sources.nearby: from the grandparent down, never above the repository root,
    bounded)."""
    from scanner.sources import nearby

    target = path.resolve()
    return [user for user in _module_index(str(nearby.search_root(target.parent))).get(str(target), [])
            if user.resolve() != target]


@lru_cache(maxsize=64)
def _module_index(root: str) -> dict[str, list[Path]]:
    """Local module target -> the files that use it, for the .bicep files under `root`."""
    from scanner.sources import nearby

    index: dict[str, list[Path]] = {}
    for candidate in nearby.files_under(Path(root), ".bicep"):
        try:
            text = candidate.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        for ref in _MODULE_REF.findall(text):
            if not ref.startswith(("br:", "br/", "ts:", "ts/")):
                index.setdefault(str((candidate.parent / ref).resolve()), []).append(candidate)
    return index


def check_syntax(path: Path) -> None:
    """Raise BicepError when the file cannot be read or parsed (for module files, which
    are evaluated through their users but must still report their own errors)."""
    try:
        parse(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BicepError(f"cannot read: {exc}") from exc


# --- resources -------------------------------------------------------------------------

def scan_bicep_file(path: Path, shown: str, show: Any, parameters_file: Path | None = None) -> BicepScan:
    """Resources of a Bicep file, its local modules expanded. Raises BicepError."""
    supplied: dict[str, Any] = {}
    param_file = parameters_file or _bicepparam_for(path)
    if param_file is not None:
        try:
            supplied = parameters_from_file(param_file)
        except (OSError, ValueError) as exc:
            raise BicepError(f"parameters file {param_file.name} not usable: {exc}") from exc
    scan = BicepScan()
    compiled = compile_with_cli(path)
    if compiled is not None:
        return _from_compiled(compiled, path, shown, supplied)
    _load(path, shown, show, supplied, scan, depth=0)
    return scan


def bicep_cli() -> list[str] | None:
    """The command that compiles Bicep: `bicep build`, else `az bicep build`."""
    if shutil.which("bicep"):
        return [str(shutil.which("bicep")), "build", "--stdout"]
    if shutil.which("az"):
        return [str(shutil.which("az")), "bicep", "build", "--stdout", "--file"]
    return None


def compile_with_cli(path: Path) -> dict[str, Any] | None:
    """The ARM template the real compiler makes, or None when no compiler is installed.
    A failed build is an error, never a silent fallback to the built-in parser."""
    command = bicep_cli()
    if command is None:
        return None
    try:
        done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BicepError(f"bicep build could not run: {exc}") from exc
    if done.returncode != 0:
        first = next((line for line in done.stderr.splitlines() if line.strip()), "no output")
        raise BicepError(f"bicep build failed: {first.strip()}")
    try:
        template = json.loads(done.stdout)
    except ValueError as exc:
        raise BicepError(f"bicep build printed no ARM template: {exc}") from exc
    return template if isinstance(template, dict) else None


def _from_compiled(template: dict[str, Any], path: Path, shown: str, supplied: dict[str, Any]) -> BicepScan:
    """Resources of the compiled template, located at the .bicep line that declares them:
    the built-in parser's property lines when it can read the file, else the line of the
    resource's type string."""
    from scanner.sources import arm

    resources, notes = arm.resources_from_template(template, shown, None, supplied)
    text = path.read_text(encoding="utf-8-sig")
    parsed: dict[tuple[str, str], Any] = {}
    try:
        own = BicepScan()
        _load(path, shown, lambda p: shown if p == path else p.as_posix(), supplied, own, depth=0)
        parsed = {(r.type.lower(), r.name): r.origin.locator for r in own.resources if r.origin.file == shown}
    except BicepError:
        pass
    for resource in resources:
        locator = parsed.get((resource.type.lower(), resource.name))
        if locator is None:
            offset = text.find(f"'{resource.type}@")
            line = text.count("\n", 0, offset) + 1 if offset >= 0 else 1
            locator = LineTableLocator(default=Position(line, 1))
        resource.origin = Origin(shown, 0, (), locator)
    return BicepScan(resources, notes)


def _load(path: Path, shown: str, show: Any, supplied: dict[str, Any], scan: BicepScan, depth: int) -> None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BicepError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    text = _readable(text)  # node offsets index the text as the parser read it
    module = _Module(shown, path, text, _trees(_parse_readable(text)))
    evaluator = _Evaluator(module)
    for element in module.elements:
        if element.data == "param":
            name = str(element.children[1])
            default = element.children[-1]
            if name in supplied:
                module.params[name] = supplied[name]
            elif isinstance(supplied, _Partial):  # the caller may pass it in what is unknown
                module.params[name] = Unresolved(supplied.unknown)
            elif default is not None and not isinstance(default, str) and hasattr(default, "data") \
                    and default.data != "data_type":
                module.params_raw[name] = default
            elif _nullable(element):
                module.params[name] = None  # an omitted nullable parameter is null (as in ARM)
            else:
                module.params[name] = Unresolved(f"[parameters('{name}')]")  # as Bicep compiles it to ARM
        elif element.data == "var":
            module.vars_raw[str(element.children[1])] = element.children[-1]
    # Symbols first (names may refer to later resources), then bodies.
    declared = [e for e in module.elements if e.data == "resource"]
    for element in declared:
        rtype, _ = _type_api(element)
        value = _resource_value(element)
        name_node = _pair(value, "name") if value is not None and value.data == "object" else None
        known = evaluator.value(name_node) if name_node is not None else Unresolved("name")
        module.symbols[str(element.children[1])] = _ResourceRef(rtype, known, _label(evaluator, name_node, known))
    for element in declared:
        if element.children[3] is not None:  # `existing`: deployed elsewhere
            continue
        _emit_resource(element, evaluator, module, scan, parent=None)
    _check_assertions(module, evaluator, scan)
    for element in module.elements:
        if element.data == "module":
            _expand_module(element, evaluator, module, show, scan, depth)


def _check_assertions(module: _Module, evaluator: _Evaluator, scan: BicepScan) -> None:
    """`assert name = condition` is checked by the deployment, which stops when it is
    false; it changes no resource. Only an assertion known to be false is worth telling
    (the resources scanned would not be deployed with these parameters); an unknown one
    is the usual case and says nothing."""
    for element in module.elements:
        if element.data == "assertion" and evaluator.value(element.children[-1]) is False:
            scan.notes.append(f"{module.file}:{_pos(element).line}: assertion {element.children[-2]} is false"
                              " with these parameters: the deployment would stop")


def _nullable(param: Any) -> bool:
    """Whether a parameter's declared type ends in `?` (`param lock lockType?`)."""
    declared = next((c for c in _trees(param) if c.data == "data_type"), None)
    terms = _trees(declared) if declared is not None else []
    return len(terms) == 1 and any(s.data == "type_nullable" for s in _trees(terms[0])[-1:])


def _type_api(element: Any) -> tuple[str, str | None]:
    pair = next(c for c in element.children if getattr(c, "data", None) == "type_api_pair") \
        if element.data == "resource" else element.children[2]
    raw = _quoted(str(pair.children[0] if hasattr(pair, "children") else pair))
    rtype, _, api = raw.partition("@")
    return rtype, api or None


def _resource_value(element: Any) -> Any:
    value = element.children[-1]
    if getattr(value, "data", None) == "deploy_condition":
        value = _trees(value)[-1]
    if getattr(value, "data", None) == "loop":
        value = _loop_body(value)[1]
    return value


def _loop_body(loop: Any) -> tuple[Any, Any]:
    """(condition or None, body) of `[for ...: if (condition) body]`. The grammar reads
    `if(` without a space as a function call, so that form is recognised here too."""
    rest = _trees(loop)[1:]
    body = rest[-1]
    if body.data == "deploy_condition":
        return _trees(body)[0], _trees(body)[-1]
    if len(rest) == 2 and rest[0].data == "function" and str(rest[0].children[0]).rstrip("(").strip() == "if":
        arguments = _trees(rest[0])
        return (arguments[0] if len(arguments) == 1 else None), body
    return None, body


def _label(evaluator: _Evaluator, node: Any, value: Any) -> str:
    """A resource name as resources are named: placeholders for unknown parameters."""
    if node is not None and not isinstance(value, str):
        named = evaluator.name(node)
        if isinstance(named, str):
            return named
    return as_text(value)


def _pair(obj: Any, key: str) -> Any:
    for pair in _trees(obj):
        if pair.data == "pair" and _key(pair) == key:
            return pair.children[-1]
    return None


def _emit_resource(element: Any, evaluator: _Evaluator, module: _Module, scan: BicepScan,
                   parent: Resource | None) -> None:
    if element.data == "child_resource":
        rtype, api = _quoted(str(element.children[1])).partition("@")[::2]
        value = element.children[-1]
    else:
        rtype, api_opt = _type_api(element)
        api = api_opt or ""
        value = element.children[-1]
    condition = None
    if getattr(value, "data", None) == "deploy_condition":
        condition, value = _trees(value)[0], _trees(value)[-1]
        known = evaluator.value(condition)
        if known is False:
            scan.notes.append(f"{module.file}:{_pos(element).line}: resource {element.children[0 if parent else 1]}"
                              " is not deployed (its condition is false)")
            return
    instances: list[dict[str, Any]] = [{}]
    each_condition = None
    if getattr(value, "data", None) == "loop":
        instances = _loop_instances(value, evaluator)
        each_condition, value = _loop_body(value)
    if getattr(value, "data", None) != "object":
        scan.notes.append(f"{module.file}:{_pos(element).line}: resource body is not an object; not scanned")
        return
    skipped = 0
    for bindings in instances:
        saved = dict(module.iterators)
        module.iterators.update(bindings)
        try:
            if each_condition is not None and evaluator.value(each_condition) is False:
                skipped += 1
                continue
            _emit_one(rtype, api, value, evaluator, module, scan, parent, element)
        finally:
            module.iterators = saved
    if skipped:
        scan.notes.append(f"{module.file}:{_pos(element).line}: resource {element.children[0 if parent else 1]}"
                          f" is not deployed for {skipped} of {len(instances)} loop items (its condition is false)")


def _loop_instances(loop: Any, evaluator: _Evaluator) -> list[dict[str, Any]]:
    header = _trees(loop)[0]
    names = [str(c) for c in header.children if not hasattr(c, "data")]
    source = evaluator.value(_trees(header)[-1])
    if isinstance(source, list) and source:
        items = source[:_MAX_LOOP]
        if header.data == "loop_array_index":
            return [{names[0]: item, names[1]: i} for i, item in enumerate(items)]
        return [{names[0]: item} for item in items]
    # Unknown list: one representative instance whose iterator values are unknown.
    return [{n: Unresolved(n) for n in names}]


def _emit_one(rtype: str, api: str, obj: Any, evaluator: _Evaluator, module: _Module, scan: BicepScan,
              parent: Resource | None, element: Any) -> None:
    locator = LineTableLocator(default=_pos(element))
    locator.record((), _pos(element))
    children = [item for item in _trees(obj) if item.data == "child_resource"]
    evaluated = evaluator.value(obj)  # spreads merged as in any object
    body: dict[str, Any] = dict(evaluated) if isinstance(evaluated, dict) else {}
    unknown_rest = evaluated.unknown if isinstance(evaluated, _Partial) else \
        evaluated.expression if isinstance(evaluated, Unresolved) else None
    name_node = None
    for item in _trees(obj):
        if item.data == "pair":
            key = _key(item)
            name_node = item.children[-1] if key == "name" else name_node
            _record_positions(item, (key,), locator, evaluator)
    _record_spreads(obj, (), locator, evaluator)
    if unknown_rest is not None and "name" not in body:
        body["name"], name_node = Unresolved(unknown_rest), None  # the spread may name it
    parent_ref = body.pop("parent", None)
    body.pop("dependsOn", None)
    scope = body.get("scope")
    if isinstance(scope, _ResourceRef):
        body["scope"] = f"{scope.type}/{scope.label}"
    name = body.get("name")
    full_type, full_name = rtype, _label(evaluator, name_node, name)
    if parent is not None and "/" not in rtype:
        full_type, full_name = f"{parent.type}/{rtype}", f"{parent.name}/{full_name}"
    elif isinstance(parent_ref, _ResourceRef):
        full_name = f"{parent_ref.label}/{full_name}"
        if "/" not in rtype:
            full_type = f"{parent_ref.type}/{rtype}"
    body["type"], body["name"] = full_type, full_name
    if api:
        body["apiVersion"] = api
    body = _plain(body)
    unresolved: dict[JsonPath, str] = {}
    if isinstance(name, Unresolved):
        unresolved[("name",)] = name.expression  # as the ARM source records a name it cannot know
    if unknown_rest is not None:
        # Any property may come from the spread: the whole body is partly unknown.
        unresolved[()] = unknown_rest
        scan.notes.append(f"{module.file}:{_pos(element).line}: resource {element.children[0 if parent else 1]}"
                          f" spreads {unknown_rest}, which is not known: only the properties after it are")
    _record_partials(body, (), unresolved)
    body = walk_unresolved(body, (), unresolved)
    resource = Resource(platform=Platform.AZURE, type=full_type, name=full_name, body=body,
                        origin=Origin(module.file, 0, (), locator), api_version=api or None,
                        unresolved=unresolved)
    scan.resources.append(resource)
    for child in children:
        _emit_resource(child, evaluator, module, scan, parent=resource)


def _record_spreads(obj: Any, path: JsonPath, locator: LineTableLocator, evaluator: _Evaluator) -> None:
    """The properties a known spread brings into `obj`, at the spread's line (after the
    written ones, which keep their own line)."""
    for item in _trees(obj):
        if item.data == "spread":
            spread = evaluator.value(_trees(item)[0])
            for key in spread if isinstance(spread, dict) else ():
                locator.record((*path, key), _pos(item))


def _record_positions(node: Any, path: JsonPath, locator: LineTableLocator, evaluator: _Evaluator) -> None:
    """Every property of an object literal, at the line of its key (or of the spread that
    brings it)."""
    locator.record(path, _pos(node))
    value = node.children[-1]
    if getattr(value, "data", None) == "object":
        for pair in _trees(value):
            if pair.data == "pair":
                _record_positions(pair, (*path, _key(pair)), locator, evaluator)
        _record_spreads(value, path, locator, evaluator)
    elif getattr(value, "data", None) == "array":
        for index, item in enumerate(_trees(value)):
            if item.data == "spread":  # later items move by its length: at the array's line
                break
            locator.record((*path, index), _pos(item))
            if item.data == "object":
                for pair in _trees(item):
                    if pair.data == "pair":
                        _record_positions(pair, (*path, index, _key(pair)), locator, evaluator)



def _record_partials(value: Any, path: JsonPath, unresolved: dict[JsonPath, str]) -> None:
    """The path of every partly known object inside `value`, with the unknown spread."""
    if isinstance(value, _Partial) and path:
        unresolved[path] = value.unknown
    if isinstance(value, dict):
        for key, item in value.items():
            _record_partials(item, (*path, key), unresolved)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _record_partials(item, (*path, index), unresolved)


def _plain(value: Any) -> Any:
    """Resource references left inside a body become unknown values."""
    if isinstance(value, _ResourceRef):
        return Unresolved(f"reference to {value.type}")
    if isinstance(value, _Partial):
        return _Partial({k: _plain(v) for k, v in value.items()}, value.unknown)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _expand_module(element: Any, evaluator: _Evaluator, module: _Module, show: Any, scan: BicepScan,
                   depth: int) -> None:
    ref = _quoted(str(element.children[2].children[0]))
    line = _pos(element).line
    if ref.startswith(("br:", "br/", "ts:", "ts/")):
        scan.notes.append(f"{module.file}:{line}: module {ref} comes from a registry and is not expanded")
        return
    target = (module.path.parent / ref).resolve()
    if depth >= _MAX_MODULE_DEPTH or not target.is_file():
        scan.notes.append(f"{module.file}:{line}: module {ref} not found (or nested too deeply); not expanded")
        return
    value = _resource_value(element)
    params_node = _pair(value, "params") if getattr(value, "data", None) == "object" else None
    params = evaluator.value(params_node) if params_node is not None else {}
    if not isinstance(params, dict):  # unknown: so is every parameter, never its default
        params = _Partial({}, params.expression if isinstance(params, Unresolved) else "params")
    try:
        _load(target, show(target), show, _plain(params), scan, depth + 1)
    except BicepError as exc:
        scan.notes.append(f"{module.file}:{line}: module {ref} could not be read: {exc}")
