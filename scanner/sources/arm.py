"""ARM JSON templates: resources in ARM shape, with static expressions resolved.

- Nested child resources are flattened to their full type and name
  (`Microsoft.Storage/storageAccounts/blobServices`, `acct/default`).
- Parameters take their default values (or values from a parameter file), variables
  are evaluated, and anything unknowable stays an `Unresolved` value, recorded on the
  resource so that policies treat it as unknown rather than compliant.
"""

from __future__ import annotations

from typing import Any

from scanner.model import JsonPath, Locator, Origin, Platform, Resource
from scanner.sources.arm_expressions import Evaluator, Unresolved, is_expression

ARM_SCHEMA_MARKERS = ("deploymenttemplate.json", "subscriptiondeploymenttemplate.json",
                      "managementgroupdeploymenttemplate.json", "tenantdeploymenttemplate.json")
PARAMETER_SCHEMA_MARKER = "deploymentparameters.json"


def is_arm_template(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    schema = str(doc.get("$schema", "")).lower()
    if any(marker in schema for marker in ARM_SCHEMA_MARKERS):
        return True
    return "contentVersion" in doc and isinstance(doc.get("resources"), (list, dict))


def is_arm_parameters(doc: Any) -> bool:
    return isinstance(doc, dict) and PARAMETER_SCHEMA_MARKER in str(doc.get("$schema", "")).lower()


def parameter_values(template: dict[str, Any], supplied: dict[str, Any] | None = None) -> dict[str, Any]:
    """Parameter values: supplied ones first, then defaults; unknown otherwise."""
    supplied = {k.lower(): v for k, v in (supplied or {}).items()}
    declared = template.get("parameters")
    values: dict[str, Any] = {}
    if not isinstance(declared, dict):
        return values
    # Defaults may refer to other parameters, so evaluate with what is known so far.
    evaluator = Evaluator(values, {})
    for name, spec in declared.items():
        key = name.lower()
        if key in supplied:
            values[key] = supplied[key]
        elif isinstance(spec, dict) and "defaultValue" in spec:
            values[key] = evaluator.resolve(spec["defaultValue"])
        else:
            values[key] = Unresolved(f"parameters('{name}')")
    return values


def resources_from_template(
    template: dict[str, Any], file: str, locator: Locator | None,
    supplied_parameters: dict[str, Any] | None = None,
) -> tuple[list[Resource], list[str]]:
    params = parameter_values(template, supplied_parameters)
    variables = template.get("variables")
    evaluator = Evaluator(params, {k.lower(): v for k, v in variables.items()} if isinstance(variables, dict) else {})
    out: list[Resource] = []
    notes: list[str] = []
    resources = template.get("resources")
    if isinstance(resources, dict):  # languageVersion 2.0: symbolic names
        items = [(("resources", key), value) for key, value in resources.items()]
    elif isinstance(resources, list):
        items = [(("resources", i), value) for i, value in enumerate(resources)]
    else:
        items = []
    for path, raw in items:
        _flatten(raw, path, None, evaluator, file, locator, out, notes)
    return out, notes


def _flatten(raw: Any, path: JsonPath, parent: Resource | None, evaluator: Evaluator,
             file: str, locator: Locator | None, out: list[Resource], notes: list[str]) -> None:
    if not isinstance(raw, dict):
        notes.append(f"{'/'.join(map(str, path))} is not a resource object")
        return
    body_raw = {k: v for k, v in raw.items() if k != "resources"}
    body = evaluator.resolve(body_raw)
    unresolved: dict[JsonPath, str] = {}
    body = _collect_unresolved(body, (), unresolved)
    rtype = body.get("type")
    name = body.get("name")
    if not isinstance(rtype, str):
        notes.append(f"{'/'.join(map(str, path))} has no static type")
        return
    if "existing" in body and body.get("existing") is True:
        return  # a reference to a resource deployed elsewhere, not part of this template
    name_str = name if isinstance(name, str) else f"<{unresolved.get(('name',), 'unresolved name')}>"
    if parent is not None and rtype.count("/") == 0:
        # A nested child: its type and name are relative to the parent's.
        rtype = f"{parent.type}/{rtype}"
        name_str = f"{parent.name}/{name_str}"
    body["type"], body["name"] = rtype, name_str
    resource = Resource(
        platform=Platform.AZURE, type=rtype, name=name_str, body=body,
        origin=Origin(file, 0, path, locator),
        api_version=body.get("apiVersion") if isinstance(body.get("apiVersion"), str) else None,
        unresolved=unresolved,
    )
    out.append(resource)
    children = raw.get("resources")
    if isinstance(children, list):
        for index, child in enumerate(children):
            _flatten(child, (*path, "resources", index), resource, evaluator, file, locator, out, notes)


def _collect_unresolved(value: Any, path: JsonPath, found: dict[JsonPath, str]) -> Any:
    """Replace Unresolved markers by their expression text (a string a policy can see)
    and remember where they were."""
    if isinstance(value, Unresolved):
        found[path] = value.expression
        return value.expression
    if isinstance(value, dict):
        return {k: _collect_unresolved(v, (*path, k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [_collect_unresolved(v, (*path, i), found) for i, v in enumerate(value)]
    if is_expression(value):  # pragma: no cover - resolve() leaves none behind
        found[path] = value
    return value
