"""Terraform HCL configurations: one directory of `.tf` files is one module, read
together, with variables resolved, and its resources turned into normalized resources.

- Local child modules (`module "x" { source = "./modules/pg" }`) are expanded: the child
  directory is read as a module whose variables are the arguments the block passes,
  evaluated in the caller's scope. Its resources keep their own file and line and carry
  the module path in their address (`module.x.azurerm_...`), as Terraform shows them.
  Registry, git and URL sources are noted, not fetched. The child's `output` blocks are
  evaluated in its scope, so `module.x.y` reads them in the caller; references crossing the
  boundary keep pointing at their resource (see `ModuleReference`).

- Parsing uses python-hcl2's grammar (the raw Lark tree, which keeps positions), so every
  attribute and nested block keeps its line for findings.
- Values are evaluated statically: literals, `var.*` (from `-var-file` files, then
  `*.auto.tfvars` / `terraform.tfvars`, then defaults), `local.*`, attributes of other
  resources written literally in the configuration, a few pure functions, conditionals.
  Everything else (computed attributes, data sources, `each`/`count`, unset variables)
  stays an `Unresolved` value, so a policy never mistakes it for compliant.
- `azurerm_*` and `kubernetes_*` resources are mapped by `azurerm_mapping`; any other
  resource type is listed by the caller, never silently passed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.model import Position, Resource
from scanner.sources.arm_expressions import Unresolved
from scanner.sources.terraform_block import TfBlock
from scanner.sources.terraform_normalize import ModuleReference, TfInput, from_caller, from_child, normalize

if TYPE_CHECKING:  # lark comes with python-hcl2, imported only when a .tf file is read
    from lark import Tree

TF_SUFFIX = ".tf"
TFVARS_SUFFIXES = (".tfvars", ".tfvars.json")
_MAX_DEPTH = 64
_MAX_DYNAMIC = 50
# Module calls nested deeper than this are noted, not expanded: real configurations stay
# within a few levels, and the limit keeps a pathological tree from exhausting the scan.
MAX_MODULE_DEPTH = 10
# Arguments of a `module` block that Terraform itself reads; every other argument is an
# input variable of the child module.
_META_ARGUMENTS = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
# Terraform reads a module source as a local directory only with one of these prefixes;
# anything else (`Azure/avm-res-x/azurerm`, `git::`, `https://`) is fetched by `terraform init`.
_LOCAL_PREFIXES = ("./", "../", ".\\", "..\\")


class HclError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class _RawBlock:
    """A parsed, not yet evaluated block."""

    type: str
    labels: list[str]
    attrs: dict[str, tuple[Tree[Any], Position]]
    blocks: list[_RawBlock]
    pos: Position
    file: str
    text: str


@dataclass
class TfResource:
    mode: str  # managed | data
    type: str
    name: str
    file: str  # the .tf file that declares it (path as shown to users)
    body: TfBlock
    count_zero: bool = False
    module: str = ""  # the module path (`module.app.module.pg`); "" in the module being read
    via: str = ""  # for a child module's resource: the file whose `module` block brought it in

    @property
    def address(self) -> str:
        prefix = "data." if self.mode == "data" else ""
        own = f"{prefix}{self.type}.{self.name}"
        return f"{self.module}.{own}" if self.module else own

    @property
    def reported_in(self) -> str:
        """The file whose record lists it: its own, or the file of the module call."""
        return self.via or self.file


# (path, mtime_ns, size) of a file an evaluation read, to tell when a cached one is stale.
FileStamp = tuple[str, int, int]


@dataclass
class TfModule:
    resources: list[TfResource] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file whose record shows it, text)
    # (file as shown, message, line, path): this module's own files and its variable files.
    errors: list[tuple[str, str, int | None, str]] = field(default_factory=list)
    # (calling file, file as shown, message, line, path): files of the child modules it expands.
    module_errors: list[tuple[str, str, str, int | None, str]] = field(default_factory=list)
    idle: list[tuple[str, str]] = field(default_factory=list)  # (calling file, address): count = 0 modules
    depends: set[FileStamp] = field(default_factory=set)  # every file read, child modules' too
    complete: bool = True  # False when a cycle or the depth limit cut an expansion short
    # A child module's `output` values, relative to the child (what `module.<call>.<name>`
    # gives its caller through `from_child`); a root module's are not evaluated.
    outputs: dict[str, Any] = field(default_factory=dict)


# --- parsing -------------------------------------------------------------------------

def _position(node: Any) -> Position:
    if _is_token(node):
        return Position(node.line or 1, node.column or 1)
    meta = node.meta
    return Position(getattr(meta, "line", 1) or 1, getattr(meta, "column", 1) or 1)


def _trees(node: Tree[Any]) -> list[Tree[Any]]:
    return [c for c in node.children if _is_tree(c) and c.data != "new_line_or_comment"]


def _is_tree(node: Any) -> bool:
    return hasattr(node, "data") and hasattr(node, "children")


def _is_token(node: Any) -> bool:
    return isinstance(node, str) and hasattr(node, "type")


def _name_of(node: Any) -> str:
    """Text of an identifier, keyword, literal or quoted-label node."""
    if _is_token(node):
        return str(node)
    if node.data == "string":
        return "".join(str(_first_token(p)) for p in _trees(node))
    return "".join(str(t) for t in node.scan_values(lambda v: _is_token(v)))


def _first_token(node: Tree[Any]) -> Any:
    for child in node.children:
        if _is_token(child):
            return child
        return _first_token(child)
    return ""


@lru_cache(maxsize=256)
def _parse_cached(path: str, mtime_ns: int, size: int) -> tuple[str, Tree[Any]]:
    import hcl2  # deferred: only Terraform scans pay for the grammar (and pre-commit starts fast)

    text = Path(path).read_text(encoding="utf-8-sig")
    return text, hcl2.parses_to_tree(text)


def parse_file(path: Path) -> tuple[str, Tree[Any]]:
    try:
        from lark.exceptions import LarkError, UnexpectedInput
    except ImportError as exc:
        raise HclError("the Terraform parser is not installed: `pip install python-hcl2`") from exc
    stat = path.stat()
    try:
        return _parse_cached(str(path), stat.st_mtime_ns, stat.st_size)
    except UnexpectedInput as exc:
        line = exc.line if isinstance(exc.line, int) and exc.line > 0 else None
        raise HclError(f"invalid HCL near line {exc.line}, column {exc.column}; fix the syntax", line) from exc
    except LarkError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HclError(f"invalid HCL: {first}") from exc
    except UnicodeDecodeError as exc:
        raise HclError(f"not valid UTF-8 (byte {exc.start}); save it as UTF-8") from exc


def _raw_blocks(body: Tree[Any], file: str, text: str) -> tuple[dict[str, tuple[Tree[Any], Position]], list[_RawBlock]]:
    attrs: dict[str, tuple[Tree[Any], Position]] = {}
    blocks: list[_RawBlock] = []
    for child in _trees(body):
        if child.data == "attribute":
            parts = _trees(child)
            name = _name_of(parts[0])
            attrs[name] = (parts[-1], _position(child))
        elif child.data == "block":
            parts = _trees(child)
            inner = parts[-1]
            header = parts[:-1]
            block_attrs, block_children = _raw_blocks(inner, file, text)
            blocks.append(_RawBlock(_name_of(header[0]), [_name_of(h) for h in header[1:]],
                                    block_attrs, block_children, _position(child), file, text))
    return attrs, blocks


def _top_body(tree: Tree[Any]) -> Tree[Any]:
    bodies = _trees(tree)
    if bodies:
        return bodies[0]
    from lark import Tree
    return Tree("body", [])


# --- evaluation ----------------------------------------------------------------------

class Scope:
    """What names mean inside one module: variables, locals and literal resource attributes."""

    def __init__(self, variables: dict[str, Any], locals_: dict[str, _RawBlock | tuple[Tree[Any], str]],
                 resources: dict[tuple[str, str], _RawBlock]) -> None:
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
        if _is_token(node):
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
        kids = _trees(node)
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
                key_node, value_node = _trees(elem)[0], _trees(elem)[-1]
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
        inner = _trees(key_node)
        target = inner[0] if inner else key_node
        while _is_tree(target) and target.data == "expr_term" and _trees(target):
            target = _trees(target)[0]
        if _is_tree(target) and target.data in ("identifier", "keyword"):
            return _name_of(target)
        return self.value(target)

    def _template(self, node: Tree[Any]) -> Any:
        pieces: list[str] = []
        for part in _trees(node):
            child: Any = part.children[0] if part.children else ""
            if _is_token(child):
                if child.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                    pieces.append(str(child)[1:])  # `$${` is a literal `${`
                else:
                    pieces.append(_unescape(str(child)))
                continue
            if _is_tree(child) and child.data == "interpolation":
                inner = self.value(_trees(child)[0])
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
        term_kids = _trees(term)
        op = str(_first_token(term_kids[0]))
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
        name = _name_of(kids[0])
        args_node = next((k for k in kids[1:] if k.data == "arguments"), None)
        args = [self.value(a) for a in _trees(args_node)] if args_node is not None else []
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
                base, accessor = _trees(cursor)[0], _trees(cursor)[-1]
                steps.append(accessor)
                cursor = base
            elif cursor.data == "expr_term" and len(_trees(cursor)) == 1:
                cursor = _trees(cursor)[0]
            else:
                break
        steps.reverse()
        text = self.source(node)
        keys: list[Any] = []
        for accessor in steps:
            if accessor.data == "get_attr":
                keys.append(_name_of(_trees(accessor)[0]))
            elif accessor.data == "short_index":
                keys.append(int(str(accessor.children[-1])))
            elif accessor.data == "braces_index":
                key = self.value(_trees(accessor)[0])
                if isinstance(key, Unresolved):
                    return Unresolved(text)
                keys.append(key)
            else:
                return Unresolved(text)
        if cursor.data != "identifier":
            value = self.value(cursor)
        else:
            root = _name_of(cursor)
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


# --- variables -----------------------------------------------------------------------

def _tfvars(path: Path) -> dict[str, Any]:
    """Values from one .tfvars (HCL) or .tfvars.json file; expressions there must be literal."""
    if path.name.endswith(".json"):
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        return data if isinstance(data, dict) else {}
    text, tree = parse_file(path)
    attrs, _ = _raw_blocks(_top_body(tree), str(path), text)
    evaluator = Evaluator(Scope({}, {}, {}), text)
    return {name: evaluator.value(node) for name, (node, _pos) in attrs.items()}


def variable_files(directory: Path) -> list[Path]:
    """Terraform's automatic variable files, in the order Terraform applies them."""
    auto = sorted(p for p in directory.iterdir() if p.is_file()
                  and (p.name.endswith(".auto.tfvars") or p.name.endswith(".auto.tfvars.json")))
    plain = [directory / n for n in ("terraform.tfvars", "terraform.tfvars.json") if (directory / n).is_file()]
    return plain + auto


# --- the module ----------------------------------------------------------------------

def module_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix == TF_SUFFIX)


def is_local_source(source: str) -> bool:
    return source.startswith(_LOCAL_PREFIXES)


def module_directory(caller: Path, source: str) -> Path:
    """The directory a local `source` names, relative to the calling module's directory
    (normalized, not resolved, so that it is shown the way the configuration writes it)."""
    return Path(os.path.normpath(caller / source.replace("\\", "/")))


def _stamps(paths: list[Path]) -> set[FileStamp]:
    stamps: set[FileStamp] = set()
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.add((str(path), stat.st_mtime_ns, stat.st_size))
    return stamps


def load_module(directory: Path, show: Callable[[Path], str], var_files: list[Path] | None = None,
                inputs: dict[str, Any] | None = None, stack: tuple[str, ...] = ()) -> TfModule:
    """Read every .tf file of `directory` as one module and evaluate its resources.

    A root module (`inputs` None) takes its variables from `var_files`, the automatic
    variable files and the defaults. A child module takes them from `inputs`, the arguments
    its caller passes, then the defaults: Terraform reads no .tfvars file for a child.
    `stack` holds the resolved directories of the modules being expanded around this one.
    """
    module = TfModule()
    stack = stack or (str(directory.resolve()),)
    raw_by_file: list[tuple[str, list[_RawBlock]]] = []
    own_files = module_files(directory)
    for path in own_files:
        shown = show(path)
        try:
            text, tree = parse_file(path)
        except HclError as exc:
            module.errors.append((shown, str(exc), exc.line, str(path)))
            continue
        except OSError as exc:
            module.errors.append((shown, f"cannot read: {exc.strerror or exc}", None, str(path)))
            continue
        _attrs, blocks = _raw_blocks(_top_body(tree), shown, text)
        raw_by_file.append((shown, blocks))

    supplied: dict[str, Any] = dict(inputs or {})
    read_var_files = [*variable_files(directory), *(var_files or [])] if inputs is None else []
    for path in read_var_files:
        try:
            supplied.update(_tfvars(path))
        except (HclError, OSError, ValueError) as exc:
            module.errors.append((show(path), f"variables file not usable: {exc}", getattr(exc, "line", None),
                                  str(path)))
    module.depends = _stamps([*own_files, *read_var_files])

    variables: dict[str, Any] = {}
    locals_raw: dict[str, _RawBlock | tuple[Tree[Any], str]] = {}
    resources_raw: dict[tuple[str, str], _RawBlock] = {}
    declared: list[tuple[str, _RawBlock]] = []
    calls: list[_RawBlock] = []
    outputs: list[_RawBlock] = []
    for _shown, blocks in raw_by_file:
        for block in blocks:
            if block.type == "variable" and block.labels:
                name = block.labels[0]
                if name in supplied and not (supplied[name] is None and _null_takes_default(block)):
                    variables[name] = supplied[name]
                elif "default" in block.attrs:
                    node = block.attrs["default"][0]
                    variables[name] = Evaluator(Scope({}, {}, {}), block.text).value(node)
                else:
                    variables[name] = Unresolved(f"var.{name}")
            elif block.type == "locals":
                for name, (node, _pos) in block.attrs.items():
                    locals_raw[name] = (node, block.text)
            elif block.type == "resource" and len(block.labels) == 2:
                resources_raw[(block.labels[0], block.labels[1])] = block
                declared.append(("managed", block))
            elif block.type == "module" and block.labels:
                calls.append(block)
            elif block.type == "output" and block.labels and "value" in block.attrs:
                outputs.append(block)
    for name, value in supplied.items():
        variables.setdefault(name, value)

    scope = Scope(variables, locals_raw, resources_raw)
    scope.calls = _Calls(calls, scope, directory, show, stack)
    try:
        for mode, raw in declared:
            body = _evaluate_block(raw, scope)
            count = body.attrs.get("count")
            module.resources.append(TfResource(mode, raw.labels[0], raw.labels[1], raw.file, body,
                                               count_zero=count == 0 or body.attrs.get("for_each") in ({}, [])))
        if inputs is not None:
            # Only a child's outputs are read (by its caller). They are evaluated here, once per
            # evaluation, so the cache that holds the child holds them too. `sensitive = true`
            # only hides a value in Terraform's own display: the caller still gets the value,
            # and it is shown nowhere but where a policy's message shows the attribute it lands
            # in, which the policies that read secrets (`sensitive: true`) redact.
            for block in outputs:
                module.outputs[block.labels[0]] = Evaluator(scope, block.text).value(block.attrs["value"][0])
        # Merged in the order the blocks are written, whichever was expanded first.
        for index, call in enumerate(calls):
            _merge(module, call, scope.calls.expanded(index))
    finally:
        # The scope and its calls refer to each other; the scan pauses the cyclic garbage
        # collector, so the cycle is broken here or every module's parse would stay in memory
        # until the scan ends (measured: +43 MB on the 1000-app IaC benchmark corpus).
        scope.calls = None
    return module


def _null_takes_default(variable: _RawBlock) -> bool:
    """A caller passing `null` gets the default only where the variable says `nullable = false`
    (Terraform's rule; by default null is a value that replaces the default)."""
    if "default" not in variable.attrs or "nullable" not in variable.attrs:
        return False
    return Evaluator(Scope({}, {}, {}), variable.text).value(variable.attrs["nullable"][0]) is False


@dataclass
class _Expansion:
    """One `module` block, expanded: what it adds to its caller (`part`), and its outputs
    as the caller reads them."""

    part: TfModule = field(default_factory=TfModule)
    outputs: dict[str, Any] | None = None  # None: not read (not a local module, not expanded)
    instances: str = ""  # "count" or "for_each": outputs are per instance, and not read
    asked: list[str] = field(default_factory=list)  # reads of such outputs, for the note


class _Calls:
    """The `module` blocks of one module, each expanded on first use: a resource, a local
    or another block's argument may read `module.x.y` before block x is reached."""

    def __init__(self, calls: list[_RawBlock], scope: Scope, directory: Path, show: Callable[[Path], str],
                 stack: tuple[str, ...]) -> None:
        self._calls = calls
        self._scope = scope
        self._directory = directory
        self._show = show
        self._stack = stack
        self._first: dict[str, int] = {}  # name -> index of its block (Terraform rejects a name used twice)
        for index, call in enumerate(calls):
            self._first.setdefault(call.labels[0], index)
        self._done: dict[int, _Expansion] = {}
        self._active: set[int] = set()

    def expansion(self, name: str) -> _Expansion | None:
        index = self._first.get(name)
        if index is None or index in self._active:
            return None  # no such block, or one whose arguments read its own outputs (a cycle)
        return self.expanded(index)

    def expanded(self, index: int) -> _Expansion:
        found = self._done.get(index)
        if found is None:
            self._active.add(index)
            try:
                found = _expand(self._calls[index], self._scope, self._directory, self._show, self._stack)
            finally:
                self._active.discard(index)
            self._done[index] = found
        return found


def _merge(module: TfModule, call: _RawBlock, expansion: _Expansion) -> None:
    part = expansion.part
    module.resources.extend(part.resources)
    module.notes.extend(part.notes)
    if expansion.asked:
        module.notes.append((call.file, f'{call.file}:{call.pos.line}: module "{call.labels[0]}" has '
                                        f"{expansion.instances}, so its outputs are per instance and not read: "
                                        f"{', '.join(expansion.asked)} stays unknown"))
    module.idle.extend(part.idle)
    module.module_errors.extend(part.module_errors)
    module.depends |= part.depends
    module.complete = module.complete and part.complete


def _expand(call: _RawBlock, scope: Scope, directory: Path, show: Callable[[Path], str],
            stack: tuple[str, ...]) -> _Expansion:
    """Expand one `module` block: a local source is read as a child module with the
    arguments evaluated here; any other source is noted."""
    expansion = _Expansion()
    module = expansion.part
    name = call.labels[0]
    where = f"{call.file}:{call.pos.line}: module \"{name}\""
    source_node = call.attrs.get("source")
    source = Evaluator(Scope({}, {}, {}), call.text).value(source_node[0]) if source_node else None
    if not isinstance(source, str) or not is_local_source(source):
        shown_source = source if isinstance(source, str) else "not given"
        module.notes.append((call.file, f"{where} (source {shown_source}) is not a local path, so it is not "
                                        "expanded; scan a plan (`terraform show -json`) to check what it deploys"))
        return expansion
    evaluator = Evaluator(scope, call.text)
    count = evaluator.value(call.attrs["count"][0]) if "count" in call.attrs else None
    for_each = evaluator.value(call.attrs["for_each"][0]) if "for_each" in call.attrs else None
    if (count == 0 and not isinstance(count, bool)) or for_each in ({}, []):
        module.idle.append((call.file, f"module.{name}"))
        return expansion
    target = module_directory(directory, source)
    try:
        readable = target.is_dir() and bool(module_files(target))
    except OSError:
        readable = False
    if not readable:
        module.notes.append((call.file, f"{where} (source {source}): no .tf files in {show(target)}; "
                                        "nothing to expand"))
        return expansion
    key = str(target.resolve())
    if key in stack:
        module.notes.append((call.file, f"{where} (source {source}) calls {show(target)}, which is already being "
                                        "expanded (a module cycle, which Terraform rejects); not expanded again"))
        module.complete = False
        return expansion
    if len(stack) > MAX_MODULE_DEPTH:
        module.notes.append((call.file, f"{where} (source {source}) is nested more than {MAX_MODULE_DEPTH} "
                                        "modules deep; not expanded"))
        module.complete = False
        return expansion
    # count/for_each with more than zero instances: one representative instance, as for
    # resources (`count.index` and `each.*` stay unknown).
    inputs = {arg: from_caller(evaluator.value(node)) for arg, (node, _pos) in call.attrs.items()
              if arg not in _META_ARGUMENTS}
    child = _child_module(target, show, inputs, (*stack, key))
    prefix = f"module.{name}"
    for resource in child.resources:
        module.resources.append(replace(resource, module=f"{prefix}.{resource.module}" if resource.module else prefix,
                                        via=call.file))
    module.notes.extend((call.file, text) for _file, text in child.notes)
    module.idle.extend((call.file, f"{prefix}.{address}") for _file, address in child.idle)
    module.module_errors.extend((call.file, *error) for error in child.errors)
    module.module_errors.extend((call.file, *error[1:]) for error in child.module_errors)
    module.depends |= child.depends
    module.complete = module.complete and child.complete
    expansion.outputs = {output: from_child(name, value) for output, value in child.outputs.items()}
    expansion.instances = "for_each" if for_each is not None else "count" if count is not None else ""
    return expansion


def _dynamic_blocks(raw: _RawBlock, scope: Scope) -> list[TfBlock]:
    """The blocks a `dynamic` block generates: one per element of a known `for_each`
    (none for an empty one), else one representative whose iterator values are unknown."""
    content = next((c for c in raw.blocks if c.type == "content"), None)
    if content is None:
        return []
    evaluator = Evaluator(scope, raw.text)
    for_each = evaluator.value(raw.attrs["for_each"][0]) if "for_each" in raw.attrs else Unresolved("for_each")
    name = raw.labels[0]
    if "iterator" in raw.attrs:
        name = _name_of(raw.attrs["iterator"][0])
    if isinstance(for_each, dict):
        items: list[tuple[Any, Any]] = list(for_each.items())
    elif isinstance(for_each, list):
        items = list(enumerate(for_each))
    else:
        items = [(Unresolved(f"{name}.key"), Unresolved(f"{name}.value"))]
    out: list[TfBlock] = []
    saved = scope.iterators.get(name)
    for key, value in items[:_MAX_DYNAMIC]:
        scope.iterators[name] = {"key": key, "value": value}
        evaluated = _evaluate_block(content, scope)
        evaluated.pos = raw.pos
        out.append(evaluated)
    if saved is None:
        scope.iterators.pop(name, None)
    else:
        scope.iterators[name] = saved
    return out


def _evaluate_block(raw: _RawBlock, scope: Scope) -> TfBlock:
    evaluator = Evaluator(scope, raw.text)
    block = TfBlock(pos=raw.pos)
    for name, (node, pos) in raw.attrs.items():
        block.attrs[name] = evaluator.value(node)
        block.attr_pos[name] = pos
    for child in raw.blocks:
        if child.type == "dynamic" and child.labels:
            block.blocks.setdefault(child.labels[0], []).extend(_dynamic_blocks(child, scope))
            if not block.blocks[child.labels[0]]:
                del block.blocks[child.labels[0]]
        elif child.type in ("lifecycle", "provisioner", "connection", "timeouts"):
            continue  # Terraform meta-blocks, not resource settings
        else:
            block.blocks.setdefault(child.type, []).append(_evaluate_block(child, scope))
    return block


def is_terraform_dir(directory: Path) -> bool:
    try:
        return any(p.suffix == TF_SUFFIX and p.is_file() for p in directory.iterdir())
    except OSError:
        return False


@dataclass
class TfFileScan:
    """What one .tf file contributes, evaluated in the context of its whole module: its own
    resources and those of the child modules its `module` blocks expand."""

    resources: list[Resource] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # addresses with no mapping
    notes: list[str] = field(default_factory=list)
    error: tuple[str, int | None] | None = None  # this file could not be parsed
    module_errors: list[tuple[str, str, int | None]] = field(default_factory=list)  # var files
    # (file as shown, message, line, resolved path): unreadable files of the child modules
    # this file's `module` blocks expand; the caller reports those its scan does not read itself.
    child_errors: list[tuple[str, str, int | None, str]] = field(default_factory=list)


# Evaluated modules, kept while their files are unchanged: discovery visits a directory's
# N files one by one, and the module is then read once, not N times; a child module is
# read once per distinct set of arguments, however many callers pass that set. Resources
# are built fresh from it on every call (normalize copies every value), so no scan shares
# objects. Roots and each of their children take an entry, hence the room.
_MODULE_CACHE: dict[tuple[Any, ...], TfModule] = {}
_MODULE_CACHE_SIZE = 64


def _signature(directory: Path, show: Callable[[Path], str], var_files: list[Path] | None,
               root: bool = True) -> tuple[Any, ...]:
    files = [*module_files(directory), *(variable_files(directory) if root else []), *(var_files or [])]
    return (str(directory.resolve()), show(directory / "_"), tuple(sorted(_stamps(files))))


def _frozen(value: Any) -> Any:
    """A hashable form of evaluated arguments, keeping `true` apart from `1`."""
    if isinstance(value, dict):
        return ("{}", tuple(sorted((str(k), _frozen(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("[]", tuple(_frozen(v) for v in value))
    return (type(value).__name__, value)


def _lookup(key: tuple[Any, ...]) -> TfModule | None:
    module = _MODULE_CACHE.get(key)
    # The key covers the module's own files; this covers the child modules it read.
    if module is not None and _stamps([Path(stamp[0]) for stamp in module.depends]) != module.depends:
        del _MODULE_CACHE[key]
        return None
    return module


def _remember(key: tuple[Any, ...], module: TfModule) -> None:
    if len(_MODULE_CACHE) >= _MODULE_CACHE_SIZE:
        _MODULE_CACHE.pop(next(iter(_MODULE_CACHE)))
    _MODULE_CACHE[key] = module


def _cached_module(directory: Path, show: Callable[[Path], str], var_files: list[Path] | None) -> TfModule:
    key = ("root", *_signature(directory, show, var_files))
    module = _lookup(key)
    if module is None:
        module = load_module(directory, show, var_files)
        _remember(key, module)  # a root's expansion never depends on where it is called from
    return module


def _child_module(directory: Path, show: Callable[[Path], str], inputs: dict[str, Any],
                  stack: tuple[str, ...]) -> TfModule:
    key = ("child", *_signature(directory, show, None, root=False), _frozen(inputs))
    try:
        hash(key)
    except TypeError:  # an argument value of an unexpected kind: evaluate, do not cache
        return load_module(directory, show, inputs=inputs, stack=stack)
    module = _lookup(key)
    if module is None:
        module = load_module(directory, show, inputs=inputs, stack=stack)
        if module.complete:  # a cut-short expansion depends on the modules around it
            _remember(key, module)
    return module


def scan_tf_file(path: Path, show: Callable[[Path], str], var_files: list[Path] | None = None) -> TfFileScan:
    """Resources declared in `path`, with variables, locals and references resolved
    across every .tf file of its directory, and the resources of the local child modules
    that its `module` blocks call."""
    directory = path.parent
    shown = show(path)
    module = _cached_module(directory, show, var_files)
    result = TfFileScan()
    for file, message, line, _path in module.errors:
        if file == shown:
            result.error = (message, line)
        elif not file.endswith(TF_SUFFIX):
            # Variable-file problems concern the whole module: report them once, on its first file.
            first = module_files(directory)
            if first and show(first[0]) == shown:
                result.module_errors.append((file, message, line))
    if result.error is not None:
        return result
    result.child_errors = [(file, message, line, where) for via, file, message, line, where in module.module_errors
                           if via == shown]
    live = [r for r in module.resources if not r.count_zero]
    inputs = [TfInput(r.type, r.name, r.file, r.body, r.body.position_of, module=r.module) for r in live]
    # Every resource of the module is a possible reference target; only this file's are mapped.
    mine = {id(i) for i, r in zip(inputs, live, strict=True) if r.reported_in == shown}
    result.resources, result.unmapped = normalize(inputs, lambda i: id(i) in mine)
    result.notes = [text for file, text in module.notes if file == shown]
    result.notes += [f"{r.address} has count = 0 (not deployed)" for r in module.resources
                     if r.count_zero and r.reported_in == shown]
    result.notes += [f"{address} has count = 0 (not deployed)" for file, address in module.idle if file == shown]
    return result


def local_module_sources(path: Path) -> list[str]:
    """The local `source` paths of the `module` blocks of one .tf file (none when it
    cannot be read: its own scan reports that)."""
    try:
        text, tree = parse_file(path)
    except (HclError, OSError):
        return []
    _attrs, blocks = _raw_blocks(_top_body(tree), str(path), text)
    sources: list[str] = []
    for block in blocks:
        if block.type == "module" and "source" in block.attrs:
            source = Evaluator(Scope({}, {}, {}), text).value(block.attrs["source"][0])
            if isinstance(source, str) and is_local_source(source):
                sources.append(source)
    return sources
