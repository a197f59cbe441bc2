"""Terraform plan JSON (`terraform show -json plan.out`): the resources Terraform will
create, read from `planned_values.root_module` and every nested `child_modules` entry,
then normalized through the same mapping as HCL.

Values Terraform only knows after apply (`resource_changes[].change.after_unknown`) stay
unknown. When the configuration section shows such a value is a reference to another
resource (`server_id = azurerm_postgresql_flexible_server.pg.id`), the reference is kept,
so child resources still find their parent. Findings point at the attribute's line in
the plan file. The same reader accepts `terraform show -json` of a state (`values`).
"""

from __future__ import annotations

import re
from typing import Any

from scanner.model import JsonPath, Position, Resource
from scanner.sources.arm_expressions import Unresolved
from scanner.sources.locate import JsonLocator
from scanner.sources.terraform_block import TfBlock
from scanner.sources.terraform_normalize import TfInput, normalize

AFTER_APPLY = "known after apply"


def is_plan(doc: Any) -> bool:
    if not isinstance(doc, dict) or not ("format_version" in doc or "terraform_version" in doc):
        return False
    return isinstance(doc.get("planned_values"), dict) or (
        isinstance(doc.get("values"), dict) and "root_module" in doc["values"])


def _block(values: dict[str, Any]) -> TfBlock:
    block = TfBlock()
    for key, value in values.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            block.blocks[key] = [_block(v) for v in value]
        else:
            block.attrs[key] = value
    return block


def _mark_unknown(values: Any, unknown: Any, references: dict[str, Any]) -> Any:
    """Overlay `after_unknown` (true where the value is only known after apply)."""
    if unknown is True:
        return None
    if isinstance(unknown, dict) and isinstance(values, dict):
        out = dict(values)
        for key, flag in unknown.items():
            if flag is True:
                refs = references.get(key, {}).get("references") if isinstance(references.get(key), dict) else None
                out[key] = Unresolved(refs[0] if refs else f"{key} ({AFTER_APPLY})")
            elif key in out:
                out[key] = _mark_unknown(out[key], flag, {})
        return out
    if isinstance(unknown, list) and isinstance(values, list):
        return [_mark_unknown(v, u, {}) for v, u in zip(values, unknown, strict=False)] + values[len(unknown):]
    return values


def _clean(values: Any) -> Any:
    """Drop attributes whose planned value is null: the configuration does not set them."""
    if isinstance(values, dict):
        return {k: _clean(v) for k, v in values.items() if v is not None}
    if isinstance(values, list):
        return [_clean(v) for v in values]
    return values


def resources_from_plan(doc: dict[str, Any], file: str, text: str) -> tuple[list[Resource], list[str]]:
    """(resources, unmapped `address` list)."""
    locator = JsonLocator(text)
    key = "planned_values" if isinstance(doc.get("planned_values"), dict) else "values"
    root = doc[key].get("root_module")
    unknown_by_address: dict[str, Any] = {}
    for change in doc.get("resource_changes") or []:
        if isinstance(change, dict) and isinstance(change.get("change"), dict):
            unknown_by_address[str(change.get("address"))] = change["change"].get("after_unknown")
    expressions = _config_expressions(doc)
    inputs: list[TfInput] = []
    if isinstance(root, dict):
        _collect(root, (key, "root_module"), inputs, file, locator, unknown_by_address, expressions, "")
    resources, unmapped = normalize(inputs)
    return resources, unmapped


# Instance keys in a module address (`module.db["weu"]`, `module.db[0]`): the configuration
# section describes a module once, whatever its instances.
_INSTANCE_KEY = re.compile(r"\[[^\]]*\]")


def _config_expressions(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(module path, address in the module) -> expressions, for the root module and every
    module it calls (`configuration.root_module.module_calls.<name>.module`, nested)."""
    config = doc.get("configuration")
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def walk(module: Any, path: str, depth: int) -> None:
        if not isinstance(module, dict) or depth > 32:
            return
        for resource in module.get("resources") or []:
            if isinstance(resource, dict) and isinstance(resource.get("expressions"), dict):
                found[(path, str(resource.get("address")))] = resource["expressions"]
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, dict):
                walk(call.get("module"), f"{path}.module.{name}" if path else f"module.{name}", depth + 1)

    walk(config.get("root_module") if isinstance(config, dict) else None, "", 0)
    return found


def _collect(module: dict[str, Any], path: JsonPath, inputs: list[TfInput], file: str, locator: JsonLocator,
             unknown: dict[str, Any], expressions: dict[tuple[str, str], dict[str, Any]],
             module_address: str) -> None:
    # References in a child module's configuration name resources of that module (a
    # `server_id` known only after apply still finds its server, in its own module).
    config_module = _INSTANCE_KEY.sub("", module_address)
    for index, resource in enumerate(module.get("resources") or []):
        if not isinstance(resource, dict) or resource.get("mode", "managed") != "managed":
            continue
        values = resource.get("values")
        if not isinstance(values, dict):
            continue
        address = str(resource.get("address", ""))
        config_address = f"{resource.get('type', '')}.{resource.get('name', '')}"
        references = expressions.get((config_module, config_address), {})
        values = _mark_unknown(_clean(values), unknown.get(address), references)
        base: JsonPath = (*path, "resources", index, "values")
        resource_path: JsonPath = (*path, "resources", index)

        def position(tf_path: JsonPath, base: JsonPath = base, resource_path: JsonPath = resource_path) -> Position:
            if not tf_path:
                return locator.locate(0, resource_path)[0]
            return locator.locate(0, base + tf_path)[0]

        name = str(resource.get("name", ""))
        if "index" in resource:
            name = f"{name}[{resource['index']!r}]".replace("'", '"')
        inputs.append(TfInput(str(resource.get("type", "")), name, file, _block(values), position,
                              module=module_address))
    for child_index, child in enumerate(module.get("child_modules") or []):
        if isinstance(child, dict):
            _collect(child, (*path, "child_modules", child_index), inputs, file, locator, unknown, expressions,
                     str(child.get("address") or f"{module_address}.module.{child_index}"))
