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

# Providers whose resources are not infrastructure the catalogue could check (random
# names, local files, time delays); listed as "not checked" like any unmapped type.
_REFERENCE = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.(?:id|name)$")


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


def normalize(inputs: list[TfInput], keep: Callable[[TfInput], bool] | None = None
              ) -> tuple[list[Resource], list[str]]:
    """(resources, unmapped) where unmapped holds the address of every resource whose
    type has no mapping. With `keep`, only the inputs it accepts are mapped; the others
    are still there to be referred to."""
    by_address = {(i.module, i.type, i.name): i for i in inputs}

    def resolver(module: str) -> Callable[[Any], tuple[str, str] | None]:
        # A reference names a resource of its own module (Terraform has no other kind).
        def resolve(value: Any) -> tuple[str, str] | None:
            text = value.expression if isinstance(value, Unresolved) else None
            match = _REFERENCE.match(text or "")
            if match is None:
                return None
            target = by_address.get((module, match.group(1), match.group(2)))
            arm_type = ARM_TYPE_OF.get(match.group(1))
            if target is None or arm_type is None:
                return None
            name = target.body.get("name")
            return (arm_type, name) if isinstance(name, str) else None
        return resolve

    resources: list[Resource] = []
    unmapped: list[str] = []
    for item in inputs:
        if keep is not None and not keep(item):
            continue
        mapper = AZURERM_TYPES.get(item.type)
        if mapper is not None:
            try:
                all_mapped = mapper(item.body, resolver(item.module))
            except (TypeError, ValueError, KeyError, AttributeError, AssertionError) as exc:
                # A configuration shape the table does not expect: listed, never dropped.
                unmapped.append(f"{item.address} (could not be mapped: {exc!r})")
                continue
            for mapped in all_mapped:
                unresolved: dict[JsonPath, str] = {}
                body = walk_unresolved(mapped.body, (), unresolved)
                group = item.body.get("resource_group_name")
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
