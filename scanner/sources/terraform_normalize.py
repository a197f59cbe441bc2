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


def normalize(inputs: list[TfInput]) -> tuple[list[Resource], list[str]]:
    """(resources, unmapped) where unmapped holds `type.name (file)` of every resource
    whose type has no mapping."""
    by_address = {(i.type, i.name): i for i in inputs}

    def resolve(value: Any) -> tuple[str, str] | None:
        text = value.expression if isinstance(value, Unresolved) else None
        match = _REFERENCE.match(text or "")
        if match is None:
            return None
        target = by_address.get((match.group(1), match.group(2)))
        arm_type = ARM_TYPE_OF.get(match.group(1))
        if target is None or arm_type is None:
            return None
        name = target.body.get("name")
        return (arm_type, name) if isinstance(name, str) else None

    resources: list[Resource] = []
    unmapped: list[str] = []
    for item in inputs:
        mapper = AZURERM_TYPES.get(item.type)
        if mapper is not None:
            try:
                all_mapped = mapper(item.body, resolve)
            except (TypeError, ValueError, KeyError, AttributeError, AssertionError) as exc:
                # A configuration shape the table does not expect: listed, never dropped.
                unmapped.append(f"{item.type}.{item.name} (could not be mapped: {exc!r})")
                continue
            for mapped in all_mapped:
                unresolved: dict[JsonPath, str] = {}
                body = walk_unresolved(mapped.body, (), unresolved)
                group = item.body.get("resource_group_name")
                resources.append(Resource(
                    platform=Platform.AZURE, type=mapped.type, name=mapped.name, body=body,
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
                name=name if isinstance(name, str) else f"<{item.type}.{item.name}>", body=body,
                origin=Origin(item.file, item.document, (), TerraformLocator(sources, item.position)),
                namespace=namespace if isinstance(namespace, str) and kind != "Namespace" else None,
                api_version=api_version, unresolved=unresolved,
            ))
            continue
        unmapped.append(f"{item.type}.{item.name}")
    return resources, unmapped
