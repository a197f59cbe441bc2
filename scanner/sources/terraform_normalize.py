"""Turn Terraform resources (read from HCL or from a plan) into normalized resources:
`azurerm_*` through the ARM mapping table, `kubernetes_*` into API objects. Types with
no mapping are returned by name so the scan can list them; they are never dropped
silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scanner.model import JsonPath, Locator, Origin, Platform, Position, Resource
from scanner.sources.arm_expressions import Unresolved
from scanner.sources.azurerm_mapping import ARM_TYPE_OF, AZURERM_TYPES
from scanner.sources.terraform_block import TfBlock, walk_unresolved
from scanner.sources.terraform_kubernetes import to_object

# A reference to another resource's `id` or `name` (`azurerm_x.main.id`, an index allowed:
# `azurerm_x.main[0].name`): the resolver reads the type and name, to give the mapping
# that resource's ARM type and name.
_REFERENCE = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.(?:id|name)$")
# A reference carried across module boundaries: `../` per level up, then the module
# calls down (`module.pg.`), then the resource (see ModuleReference).
_PARENT = "../"
_CROSS_REFERENCE = re.compile(r"^((?:\.\./)*)((?:module\.[A-Za-z0-9_-]+\.)*)(.+)$")


@dataclass(frozen=True)
class ModuleReference(Unresolved):
    """An unknown value that crossed a module boundary: a child's output read by its caller
    (`module.pg.server_id`), or a caller's value passed to a child's variable. `expression`
    is what was written where it is read, for messages; `target` is what the value is,
    relative to the module that holds it (`module.pg.azurerm_x.main.id` from the caller,
    `../azurerm_x.main.id` from a child). Relative, because a child is evaluated once for
    every caller passing the same arguments, whatever its module path; `normalize` anchors
    it to the path of the resource that holds it, so a lock whose scope comes out of a
    module is tied to that module's server as a same-module reference is."""

    target: str = ""


def from_child(call: str, value: Any) -> Any:
    """`value`, an output of the child module called `call`, as its caller sees it. The
    expression is the target until the caller reads it under its own name; an unknown part
    of an output read whole keeps it, naming its module (`module.pg.var.sku`)."""
    if isinstance(value, ModuleReference):
        target = value.target
        # `../x` seen from the child is `x` in the caller, where the value came from.
        target = target[len(_PARENT):] if target.startswith(_PARENT) else f"module.{call}.{target}"
        return ModuleReference(target, target)
    if isinstance(value, Unresolved):
        target = f"module.{call}.{value.expression}"
        return ModuleReference(target, target)
    if isinstance(value, dict):
        return {k: from_child(call, v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_child(call, v) for v in value]
    return value


def from_caller(value: Any) -> Any:
    """`value`, evaluated in a caller, as the child module it is passed to sees it."""
    if isinstance(value, ModuleReference):
        return ModuleReference(value.expression, _PARENT + value.target)
    if isinstance(value, Unresolved):
        return ModuleReference(value.expression, _PARENT + value.expression)
    if isinstance(value, dict):
        return {k: from_caller(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_caller(v) for v in value]
    return value


def _anchored(module: str, value: Any) -> tuple[str, str] | None:
    """(module path, `type.name.attr`) of the resource a value refers to, as seen from a
    resource of `module`; None for anything else, or a path above the root."""
    if isinstance(value, ModuleReference):
        found = _CROSS_REFERENCE.match(value.target)
        if found is None:
            return None
        ups, down, rest = len(found.group(1)) // len(_PARENT), found.group(2), found.group(3)
        parts = module.split(".") if module else []  # `module.a.module.b`: two parts a level
        kept = len(parts) - 2 * ups
        if kept < 0:
            return None
        return ".".join([*parts[:kept], *down.split(".")[:-1]]), rest
    if isinstance(value, Unresolved):
        return module, value.expression
    return None


@dataclass
class TfInput:
    """One Terraform resource as read: where it is declared and its evaluated block."""

    type: str
    name: str
    file: str
    body: TfBlock
    position: Callable[[JsonPath], Position]  # Terraform attribute path -> line
    document: int = 0
    module: str = ""  # module path of a child module's resource (`module.pg`); "" in the root

    @property
    def address(self) -> str:
        return f"{self.module}.{self.type}.{self.name}" if self.module else f"{self.type}.{self.name}"


class TerraformLocator(Locator):
    """Maps a path in the normalized body back to the Terraform attribute it came from."""

    def __init__(self, sources: dict[JsonPath, JsonPath], position: Callable[[JsonPath], Position]) -> None:
        self.sources = sources
        self.position = position

    def locate(self, document: int, path: JsonPath) -> tuple[Position, JsonPath]:
        for end in range(len(path), -1, -1):
            source = self.sources.get(path[:end])
            if source is not None:
                return self.position(source), path[:end]
        return self.position(()), ()


def _group_of(targets: list[TfInput]) -> str | None:
    """The resource group of a resource that names none (a lock, a diagnostic setting, a
    server's configuration), taken from the resource of another module it is scoped to or
    part of: it lives in that one's group. Without it, the relations, which take a group-less
    scope to be in the resource group of its own Terraform module (its directory), would
    never tie a diagnostic setting written in the caller to the module's server."""
    groups = {target.body.get("resource_group_name") for target in targets}
    group = groups.pop() if len(groups) == 1 else None
    return group if isinstance(group, str) else None


def normalize(inputs: list[TfInput], keep: Callable[[TfInput], bool] | None = None
              ) -> tuple[list[Resource], list[str]]:
    """(resources, unmapped) where unmapped holds the address of every resource whose
    type has no mapping. With `keep`, only the inputs it accepts are mapped; the others
    are still there to be referred to."""
    by_address = {(i.module, i.type, i.name): i for i in inputs}

    def resolver(module: str, across: list[TfInput]) -> Callable[[Any], tuple[str, str] | None]:
        # A reference written in HCL names a resource of its own module; one that came
        # through a module's outputs or variables says where it points from here.
        def resolve(value: Any) -> tuple[str, str] | None:
            anchored = _anchored(module, value)
            match = _REFERENCE.match(anchored[1]) if anchored else None
            if anchored is None or match is None:
                return None
            target = by_address.get((anchored[0], match.group(1), match.group(2)))
            arm_type = ARM_TYPE_OF.get(match.group(1))
            if target is None or arm_type is None:
                return None
            name = target.body.get("name")
            if not isinstance(name, str):
                return None
            if isinstance(value, ModuleReference):
                across.append(target)
            return arm_type, name
        return resolve

    resources: list[Resource] = []
    unmapped: list[str] = []
    for item in inputs:
        if keep is not None and not keep(item):
            continue
        mapper = AZURERM_TYPES.get(item.type)
        if mapper is not None:
            across: list[TfInput] = []  # resources of other modules its scope or parent names
            try:
                all_mapped = mapper(item.body, resolver(item.module, across))
            except (TypeError, ValueError, KeyError, AttributeError, AssertionError) as exc:
                # A configuration shape the table does not expect: listed, never dropped.
                unmapped.append(f"{item.address} (could not be mapped: {exc!r})")
                continue
            for mapped in all_mapped:
                unresolved: dict[JsonPath, str] = {}
                body = walk_unresolved(mapped.body, (), unresolved)
                group = item.body.get("resource_group_name")
                if group is None:
                    group = _group_of(across)
                arm_name = mapped.name
                if item.module:
                    # An unknown part of the name (`<var.name>`) is the child module's own
                    # variable: say whose, so two calls of one module stay two resources.
                    arm_name = arm_name.replace("<", f"<{item.module}.")
                resources.append(Resource(
                    platform=Platform.AZURE, type=mapped.type, name=arm_name, body=body,
                    origin=Origin(item.file, item.document, (), TerraformLocator(mapped.sources, item.position)),
                    namespace=group if isinstance(group, str) else None, unresolved=unresolved,
                ))
            continue
        converted = to_object(item.type, item.body)
        if converted is not None:
            api_version, kind, raw_body, sources = converted
            unresolved = {}
            body = walk_unresolved(raw_body, (), unresolved)
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            name = metadata.get("name") if isinstance(metadata, dict) else None
            namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
            resources.append(Resource(
                platform=Platform.KUBERNETES, type=kind,
                name=name if isinstance(name, str) else f"<{item.address}>", body=body,
                origin=Origin(item.file, item.document, (), TerraformLocator(sources, item.position)),
                namespace=namespace if isinstance(namespace, str) and kind != "Namespace" else None,
                api_version=api_version, unresolved=unresolved,
            ))
            continue
        unmapped.append(item.address)
    return resources, unmapped
