"""Terraform HCL configurations: one directory of `.tf` files is one module, read
together, with variables resolved, and its resources turned into normalized resources.
This is the entry point for `.tf` files (`scan_tf_file`, `load_module`); its job is the
module: which files and variable files it reads, its local child modules, and the cache
that reads each module once per scan. The cache stays with the expansion because each
uses the other: a child module is read through the cache, and the cache reads modules.

It leans on two modules with one job each: `terraform_parse` reads one file into raw
blocks (python-hcl2's Lark tree, which keeps positions, so every attribute and nested
block keeps its line for findings), and `terraform_eval` says what an expression means in
a module's scope. Both are re-exported here (`parse_file`, `HclError`, `Scope`,
`Evaluator`) for the code that reads Terraform through this module.

- Local child modules (`module "x" { source = "./modules/pg" }`) are expanded: the child
  directory is read as a module whose variables are the arguments the block passes,
  evaluated in the caller's scope. Its resources keep their own file and line and carry
  the module path in their address (`module.x.azurerm_...`), as Terraform shows them.
  Registry, git and URL sources are noted, not fetched. The child's `output` blocks are
  evaluated in its scope, so `module.x.y` reads them in the caller; references crossing the
  boundary keep pointing at their resource (see `ModuleReference`).
- Variables come from `-var-file` files, then `*.auto.tfvars` / `terraform.tfvars`, then
  defaults, for a root module; from the arguments of its `module` block for a child.
- `azurerm_*` and `kubernetes_*` resources are mapped by `azurerm_mapping`; any other
  resource type is listed by the caller, never silently passed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.model import Resource
from scanner.sources.arm_expressions import Unresolved
from scanner.sources.terraform_block import TfBlock
from scanner.sources.terraform_eval import Evaluator as Evaluator
from scanner.sources.terraform_eval import Scope as Scope
from scanner.sources.terraform_normalize import TfInput, from_caller, from_child, normalize
from scanner.sources.terraform_parse import HclError as HclError
from scanner.sources.terraform_parse import RawBlock, name_of, raw_blocks, top_body
from scanner.sources.terraform_parse import parse_file as parse_file

if TYPE_CHECKING:  # lark comes with python-hcl2, imported only when a .tf file is read
    from lark import Tree

TF_SUFFIX = ".tf"
TFVARS_SUFFIXES = (".tfvars", ".tfvars.json")
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


# --- variables -----------------------------------------------------------------------

def _tfvars(path: Path) -> dict[str, Any]:
    """Values from one .tfvars (HCL) or .tfvars.json file; expressions there must be literal."""
    if path.name.endswith(".json"):
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        return data if isinstance(data, dict) else {}
    text, tree = parse_file(path)
    attrs, _ = raw_blocks(top_body(tree), str(path), text)
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
    raw_by_file: list[tuple[str, list[RawBlock]]] = []
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
        _attrs, blocks = raw_blocks(top_body(tree), shown, text)
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
    locals_raw: dict[str, RawBlock | tuple[Tree[Any], str]] = {}
    resources_raw: dict[tuple[str, str], RawBlock] = {}
    declared: list[tuple[str, RawBlock]] = []
    calls: list[RawBlock] = []
    outputs: list[RawBlock] = []
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


def _null_takes_default(variable: RawBlock) -> bool:
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

    def __init__(self, calls: list[RawBlock], scope: Scope, directory: Path, show: Callable[[Path], str],
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


def _merge(module: TfModule, call: RawBlock, expansion: _Expansion) -> None:
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


def _expand(call: RawBlock, scope: Scope, directory: Path, show: Callable[[Path], str],
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


def _dynamic_blocks(raw: RawBlock, scope: Scope) -> list[TfBlock]:
    """The blocks a `dynamic` block generates: one per element of a known `for_each`
    (none for an empty one), else one representative whose iterator values are unknown."""
    content = next((c for c in raw.blocks if c.type == "content"), None)
    if content is None:
        return []
    evaluator = Evaluator(scope, raw.text)
    for_each = evaluator.value(raw.attrs["for_each"][0]) if "for_each" in raw.attrs else Unresolved("for_each")
    name = raw.labels[0]
    if "iterator" in raw.attrs:
        name = name_of(raw.attrs["iterator"][0])
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


def _evaluate_block(raw: RawBlock, scope: Scope) -> TfBlock:
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
    _attrs, blocks = raw_blocks(top_body(tree), str(path), text)
    sources: list[str] = []
    for block in blocks:
        if block.type == "module" and "source" in block.attrs:
            source = Evaluator(Scope({}, {}, {}), text).value(block.attrs["source"][0])
            if isinstance(source, str) and is_local_source(source):
                sources.append(source)
    return sources
