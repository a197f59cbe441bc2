"""Bicep files as ARM-shaped resources, each property pointing at its `.bicep` line.

Bicep is parsed directly, with the grammar of the `pycep-parser` package (optional
extra `tierscan[bicep]`), and evaluated statically like ARM expressions: parameters
take values from a `--parameters` file (ARM parameters JSON or `.bicepparam`), then a
`.bicepparam` next to the file that names it in `using`, then defaults. Variables,
string interpolation, conditions, a few pure functions, `parent:` and nested child
resources, loops over known lists and local modules (`module x './m.bicep'`, expanded
with the parameters the caller passes) are resolved. Everything else stays unknown,
recorded in `Resource.unresolved`, never taken as compliant.

A file the parser cannot read is reported as an error naming the file and line, with the
advice to install the `bicep` CLI; it never stops the scan.
"""

from __future__ import annotations

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
from scanner.sources.line_table import LineTableLocator
from scanner.sources.terraform_block import walk_unresolved

_MAX_MODULE_DEPTH = 8
_MAX_LOOP = 50
_MAX_INDEXED_FILES = 2000
_MODULE_REF = re.compile(r"^\s*module\s+\w+\s+'([^']+)'", re.MULTILINE)
_USING = re.compile(r"^\s*using\s+'([^']+)'", re.MULTILINE)


class BicepError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@lru_cache(maxsize=1)
def _parser() -> Any:
    try:
        from importlib.resources import files

        from lark import Lark
        grammar = (files("pycep") / "bicep.lark").read_text()
    except (ImportError, ModuleNotFoundError, FileNotFoundError) as exc:
        raise BicepError("the Bicep parser is not installed: `pip install tierscan[bicep]`, "
                         "or install the bicep CLI") from exc
    return Lark(grammar=grammar, parser="lalr", propagate_positions=True, regex=True)


def parse(text: str) -> Any:
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        return _parser().parse(text if text.endswith("\n") else text + "\n")
    except UnexpectedInput as exc:
        raise BicepError(f"Bicep syntax the built-in parser does not support near line {exc.line}, "
                         f"column {exc.column}; install the bicep CLI to compile it", exc.line) from exc
    except LarkError as exc:
        raise BicepError(f"cannot parse Bicep: {str(exc).splitlines()[0]}") from exc


def _trees(node: Any) -> list[Any]:
    from lark import Tree
    return [c for c in node.children if isinstance(c, Tree)]


def _pos(node: Any) -> Position:
    meta = getattr(node, "meta", None)
    line = getattr(meta, "line", None) or getattr(node, "line", None) or 1
    column = getattr(meta, "column", None) or getattr(node, "column", None) or 1
    return Position(int(line), int(column))


def _quoted(token: str) -> str:
    """Text of a Bicep '...' literal, with its escapes undone."""
    inner = token[1:-1] if len(token) >= 2 and token[0] == token[-1] == "'" else token
    return inner.replace("\\'", "'").replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


@dataclass
class _ResourceRef:
    """A symbolic resource name used as a value (`parent: pg`, `scope: pg`, `pg.name`)."""

    type: str
    name: Any


@dataclass
class _Module:
    file: str
    path: Path
    text: str
    elements: list[Any]
    params: dict[str, Any] = field(default_factory=dict)
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

    def source(self, node: Any) -> str:
        meta = getattr(node, "meta", None)
        start, end = getattr(meta, "start_pos", None), getattr(meta, "end_pos", None)
        if isinstance(start, int) and isinstance(end, int):
            return " ".join(self.m.text[start:end].split())
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
            return [self.value(k) for k in kids]
        if kind == "object":
            out: dict[str, Any] = {}
            for pair in kids:
                if pair.data != "pair":
                    continue
                key = _key(pair)
                out[key] = self.value(pair.children[-1])
            return out
        if kind == "operator":
            return self.value(kids[0])
        if kind == "function":
            return self._call(node)
        if kind == "property_accessor":
            base = self.value(kids[0])
            name = str(kids[1].children[-1]) if kids[1].data == "string" else self.source(kids[1])
            return self._access(base, name, node)
        if kind == "index_accessor":
            base, index = self.value(kids[0]), self.value(kids[1])
            if isinstance(base, Unresolved) or isinstance(index, Unresolved):
                return Unresolved(self.source(node))
            return base[index]
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
            if isinstance(left, Unresolved) or isinstance(right, Unresolved) \
                    or isinstance(left, _ResourceRef) or isinstance(right, _ResourceRef):
                return Unresolved(self.source(node))
            return binary(left, right)
        return Unresolved(self.source(node))

    def _identifier(self, name: str, text: str) -> Any:
        m = self.m
        if name in m.iterators:
            return m.iterators[name]
        if name in m.params:
            return m.params[name]
        if name in m.vars:
            return m.vars[name]
        if name in m.vars_raw and name not in m.resolving:
            m.resolving.add(name)
            try:
                m.vars[name] = self.value(m.vars_raw[name])
            finally:
                m.resolving.discard(name)
            return m.vars[name]
        if name in m.symbols:
            return m.symbols[name]
        return Unresolved(text)

    def _access(self, base: Any, name: str, node: Any) -> Any:
        if isinstance(base, _ResourceRef):
            if name == "name":
                return base.name
            if name == "type":
                return base.type
            return Unresolved(self.source(node))
        if isinstance(base, dict) and name in base:
            return base[name]
        return Unresolved(self.source(node))

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
        try:
            tree = parse(f"var __interpolation = {text}\n")
        except BicepError:
            return Unresolved(text)
        element = _trees(tree)[0]
        saved = self.m.text
        self.m.text = f"var __interpolation = {text}\n"
        try:
            return self.value(element.children[-1])
        finally:
            self.m.text = saved

    def _call(self, node: Any) -> Any:
        name = str(node.children[0]).rstrip("(").strip()
        args = [self.value(a) for a in _trees(node)]
        if any(isinstance(a, (Unresolved, _ResourceRef)) for a in args):
            return Unresolved(self.source(node))
        function = _FUNCTIONS.get(name.lower())
        if function is None:
            return Unresolved(self.source(node))
        return function(*args)


def _key(pair: Any) -> str:
    token = str(pair.children[0].children[0]) if _trees(pair) and _trees(pair)[0].data == "key" else ""
    return _quoted(token) if token.startswith("'") else token


def _format(fmt: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), fmt)


_FUNCTIONS: dict[str, Any] = {
    "tolower": lambda s: s.lower(), "toupper": lambda s: s.upper(),
    "concat": lambda *a: [x for item in a for x in item] if a and isinstance(a[0], list) else "".join(map(str, a)),
    "format": _format, "string": lambda v: v if isinstance(v, str) else json.dumps(v),
    "int": int, "bool": lambda v: v if isinstance(v, bool) else str(v).lower() == "true",
    "union": lambda *maps: {k: v for m in maps for k, v in m.items()} if isinstance(maps[0], dict)
    else list(dict.fromkeys(x for m in maps for x in m)),
    "empty": lambda v: not v, "length": len, "contains": lambda c, v: v in c,
    "first": lambda v: v[0], "last": lambda v: v[-1], "min": min, "max": max,
    "range": lambda start, count: list(range(start, start + count)),
    "split": lambda s, d: s.split(d), "replace": lambda s, a, b: s.replace(a, b),
    "coalesce": lambda *v: next(x for x in v if x is not None),
}

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
    module = _Module(str(path), path, body, list(_trees(parse(body))))
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
    """Bicep files that use `path` as a local module: searched from the module's
    grandparent directory down (modules usually sit in `./modules` or a sibling folder)."""
    target = path.resolve()
    return [user for user in _module_index(str(path.parent.parent.resolve())).get(str(target), [])
            if user.resolve() != target]


@lru_cache(maxsize=64)
def _module_index(root: str) -> dict[str, list[Path]]:
    """Local module target -> the files that use it, for the .bicep files under `root`
    (bounded, so a huge tree never slows a scan down)."""
    index: dict[str, list[Path]] = {}
    for count, candidate in enumerate(sorted(Path(root).rglob("*.bicep"))):
        if count >= _MAX_INDEXED_FILES:
            break
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
    tree = parse(text)
    module = _Module(shown, path, text, _trees(tree))
    evaluator = _Evaluator(module)
    for element in module.elements:
        if element.data == "param":
            name = str(element.children[1])
            default = element.children[-1]
            if name in supplied:
                module.params[name] = supplied[name]
            elif default is not None and not isinstance(default, str) and hasattr(default, "data") \
                    and default.data != "data_type":
                module.params[name] = evaluator.value(default)
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
        module.symbols[str(element.children[1])] = _ResourceRef(
            rtype, evaluator.value(name_node) if name_node is not None else Unresolved("name"))
    for element in declared:
        if element.children[3] is not None:  # `existing`: deployed elsewhere
            continue
        _emit_resource(element, evaluator, module, scan, parent=None)
    for element in module.elements:
        if element.data == "module":
            _expand_module(element, evaluator, module, show, scan, depth)


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
        value = _trees(value)[-1]
    return value


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
    if getattr(value, "data", None) == "loop":
        instances, value = _loop_instances(value, evaluator), _trees(value)[-1]
    if getattr(value, "data", None) != "object":
        scan.notes.append(f"{module.file}:{_pos(element).line}: resource body is not an object; not scanned")
        return
    for bindings in instances:
        saved = dict(module.iterators)
        module.iterators.update(bindings)
        try:
            _emit_one(rtype, api, value, evaluator, module, scan, parent, element)
        finally:
            module.iterators = saved


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
    body: dict[str, Any] = {}
    children: list[Any] = []
    for item in _trees(obj):
        if item.data == "child_resource":
            children.append(item)
            continue
        key = _key(item)
        body[key] = evaluator.value(item.children[-1])
        _record_positions(item, (key,), locator)
    parent_ref = body.pop("parent", None)
    body.pop("dependsOn", None)
    scope = body.get("scope")
    if isinstance(scope, _ResourceRef):
        body["scope"] = f"{scope.type}/{as_text(scope.name)}"
    name = body.get("name")
    full_type, full_name = rtype, as_text(name)
    if parent is not None and "/" not in rtype:
        full_type, full_name = f"{parent.type}/{rtype}", f"{parent.name}/{full_name}"
    elif isinstance(parent_ref, _ResourceRef):
        full_name = f"{as_text(parent_ref.name)}/{full_name}"
        if "/" not in rtype:
            full_type = f"{parent_ref.type}/{rtype}"
    body["type"], body["name"] = full_type, full_name
    if api:
        body["apiVersion"] = api
    body = _plain(body)
    unresolved: dict[JsonPath, str] = {}
    body = walk_unresolved(body, (), unresolved)
    resource = Resource(platform=Platform.AZURE, type=full_type, name=full_name, body=body,
                        origin=Origin(module.file, 0, (), locator), api_version=api or None,
                        unresolved=unresolved)
    scan.resources.append(resource)
    for child in children:
        _emit_resource(child, evaluator, module, scan, parent=resource)


def _record_positions(node: Any, path: JsonPath, locator: LineTableLocator) -> None:
    """Every property of an object literal, at the line of its key."""
    locator.record(path, _pos(node))
    value = node.children[-1]
    if getattr(value, "data", None) == "object":
        for pair in _trees(value):
            if pair.data == "pair":
                _record_positions(pair, (*path, _key(pair)), locator)
    elif getattr(value, "data", None) == "array":
        for index, item in enumerate(_trees(value)):
            locator.record((*path, index), _pos(item))
            if item.data == "object":
                for pair in _trees(item):
                    if pair.data == "pair":
                        _record_positions(pair, (*path, index, _key(pair)), locator)



def _plain(value: Any) -> Any:
    """Resource references left inside a body become unknown values."""
    if isinstance(value, _ResourceRef):
        return Unresolved(f"reference to {value.type}")
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
    if not isinstance(params, dict):
        params = {}
    try:
        _load(target, show(target), show, _plain(params), scan, depth + 1)
    except BicepError as exc:
        scan.notes.append(f"{module.file}:{line}: module {ref} could not be read: {exc}")
