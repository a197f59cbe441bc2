"""ARM JSON templates: resources in ARM shape, with static expressions resolved.

- Nested child resources are flattened to their full type and name
  (`Microsoft.Storage/storageAccounts/blobServices`, `acct/default`).
- Parameters take their values from a parameter file (`azuredeploy.parameters.json`
  beside the template, or one given explicitly), then their defaults; variables are
  evaluated, and anything unknowable stays an `Unresolved` value, recorded on the
  resource so that policies treat it as unknown rather than compliant.
- What ARM would deploy is what is scanned: `copy` loops give one resource per
  instance, `condition: false` resources are left out (an unknown condition keeps the
  resource, with a note), `existing` references are skipped, and nested deployments
  (`Microsoft.Resources/deployments` with an inline template, or a local
  `templateLink.relativePath`) are expanded with the parameters passed to them, in
  the `inner` or `outer` evaluation scope they ask for.

Reference: https://learn.microsoft.com/azure/azure-resource-manager/templates/syntax,
.../templates/copy-resources, .../templates/copy-properties, .../templates/conditional-resource-deployment
and .../templates/linked-templates (expressionEvaluationOptions).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.model import JsonPath, Locator, Origin, Platform, Resource
from scanner.sources import jsonc
from scanner.sources.arm_expressions import Evaluator, Unresolved, is_expression
from scanner.sources.locate import JsonLocator

ARM_SCHEMA_MARKERS = ("deploymenttemplate.json", "subscriptiondeploymenttemplate.json",
                      "managementgroupdeploymenttemplate.json", "tenantdeploymenttemplate.json")
PARAMETER_SCHEMA_MARKER = "deploymentparameters.json"
DEPLOYMENTS_TYPE = "microsoft.resources/deployments"
# Nested deployments deeper than this are almost certainly a loop (a template linking
# to itself); ARM itself limits nesting, so stop and say so.
MAX_NESTING = 10


def is_arm_template(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    schema = str(doc.get("$schema", "")).lower()
    if any(marker in schema for marker in ARM_SCHEMA_MARKERS):
        return True
    return "contentVersion" in doc and isinstance(doc.get("resources"), (list, dict))


def is_arm_parameters(doc: Any) -> bool:
    """A parameter file: by its $schema, or by its shape when the $schema is left out
    (only `parameters`, each a `{"value": ...}` or a Key Vault `{"reference": ...}`)."""
    if not isinstance(doc, dict):
        return False
    if PARAMETER_SCHEMA_MARKER in str(doc.get("$schema", "")).lower():
        return True
    declared = doc.get("parameters")
    return (isinstance(declared, dict) and bool(declared) and "resources" not in doc
            and set(doc) <= {"$schema", "contentVersion", "parameters"}
            and all(isinstance(v, dict) and set(v) & {"value", "reference"} for v in declared.values()))


def parameter_file_values(doc: dict[str, Any]) -> dict[str, Any]:
    """Values from a parameter file: `{"value": X}` gives X; a Key Vault `reference`
    (a secret read at deployment time) is unknown."""
    out: dict[str, Any] = {}
    declared = doc.get("parameters")
    if not isinstance(declared, dict):
        return out
    for name, spec in declared.items():
        if isinstance(spec, dict) and "value" in spec:
            out[name] = spec["value"]
        else:
            out[name] = Unresolved(f"Key Vault reference for parameter '{name}'")
    return out


def parameter_file_for(template: Path) -> Path | None:
    """The parameter file that goes with a template by the naming convention
    `<template>.parameters.json` (`azuredeploy.json` -> `azuredeploy.parameters.json`)."""
    candidate = template.with_name(f"{template.stem}.parameters.json")
    return candidate if candidate.is_file() else None


def load_parameter_file(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(values, problem). The problem names what is wrong in words a user can act on."""
    try:
        doc = jsonc.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        return None, f"cannot read parameter file {path}: {exc.strerror or exc}"
    except jsonc.JsoncError as exc:
        return None, f"invalid JSON in parameter file {path}: {exc} (line {exc.line})"
    if not isinstance(doc, dict) or not isinstance(doc.get("parameters"), dict):
        return None, f"{path} is not an ARM parameter file (no \"parameters\" object)"
    return parameter_file_values(doc), None


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
        elif isinstance(spec, dict) and spec.get("nullable") is True:
            values[key] = None  # languageVersion 2.0: an omitted nullable parameter is null
        else:
            values[key] = Unresolved(f"parameters('{name}')")
    return values


def resources_from_template(
    template: dict[str, Any], file: str, locator: Locator | None,
    supplied_parameters: dict[str, Any] | None = None, source_path: Path | None = None,
) -> tuple[list[Resource], list[str]]:
    """Every resource the template deploys, and notes on what was left out or is unknown.

    `source_path` (the template's real path) lets local linked templates
    (`templateLink.relativePath`) be read; `file` is the path shown to users.
    """
    walker = _Walker(file, locator, source_path)
    walker.template(template, (), Evaluator(parameter_values(template, supplied_parameters),
                                            _variables(template)), depth=0)
    return walker.out, walker.notes


def _variables(template: dict[str, Any]) -> dict[str, Any]:
    variables = template.get("variables")
    return {k.lower(): v for k, v in variables.items()} if isinstance(variables, dict) else {}


def _where(path: JsonPath) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(template)"


@dataclass
class _Walker:
    file: str
    locator: Locator | None
    source_path: Path | None
    out: list[Resource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def template(self, template: dict[str, Any], base: JsonPath, evaluator: Evaluator, depth: int) -> None:
        resources = template.get("resources")
        if isinstance(resources, dict):  # languageVersion 2.0: symbolic names
            items = [((*base, "resources", key), value) for key, value in resources.items()]
        elif isinstance(resources, list):
            items = [((*base, "resources", i), value) for i, value in enumerate(resources)]
        else:
            items = []
        for path, raw in items:
            self.resource(raw, path, None, evaluator, depth)

    def resource(self, raw: Any, path: JsonPath, parent: Resource | None, evaluator: Evaluator,
                 depth: int) -> None:
        where = _where(path)
        if not isinstance(raw, dict):
            self.notes.append(f"{where} is not a resource object")
            return
        if raw.get("existing") is True:
            return  # a reference to a resource deployed elsewhere, not part of this template
        loop = raw.get("copy")
        if not isinstance(loop, dict):
            self.instance(raw, path, parent, evaluator, depth)
            return
        name = loop.get("name") if isinstance(loop.get("name"), str) else None
        count = evaluator.copy_count(loop.get("count"))
        if isinstance(count, Unresolved):
            # One instance stands for the loop; copyIndex() stays unknown in it.
            self.notes.append(f"{where}: copy count {count.expression} is not known statically; "
                              "one instance scanned")
            self.instance(raw, path, parent, evaluator, depth)
            return
        for index in range(count):
            with evaluator.copy_scope(name, index, resource_loop=True):
                self.instance(raw, path, parent, evaluator, depth)

    def instance(self, raw: dict[str, Any], path: JsonPath, parent: Resource | None, evaluator: Evaluator,
                 depth: int) -> None:
        where = _where(path)
        if "condition" in raw:
            condition = evaluator.resolve(raw["condition"])
            if isinstance(condition, Unresolved):
                self.notes.append(f"{where}: condition {condition.expression} is not known statically; "
                                  "scanned as deployed")
            elif condition is False or (isinstance(condition, str) and condition.lower() == "false"):
                self.notes.append(f"{where}: condition is false; not deployed, not scanned")
                return
        nested = self._nested_template(raw)
        body_raw = {k: v for k, v in raw.items() if k not in ("resources", "copy", "condition")}
        if nested is not None and isinstance(body_raw.get("properties"), dict):
            # The inner template is evaluated in its own scope below, not as a property.
            body_raw["properties"] = {k: v for k, v in body_raw["properties"].items() if k != "template"}
        unresolved: dict[JsonPath, str] = {}
        resolved = evaluator.resolve(body_raw)  # Unresolved markers kept, for nested parameters
        body = _collect_unresolved(resolved, (), unresolved)
        rtype = body.get("type")
        if not isinstance(rtype, str):
            self.notes.append(f"{where} has no static type")
            return
        name = body.get("name")
        name_str = name if isinstance(name, str) and ("name",) not in unresolved else \
            evaluator.name_with_placeholders(raw.get("name")) or f"<{unresolved.get(('name',), 'unresolved name')}>"
        if parent is not None and (rtype.count("/") == 0 or rtype.lower().startswith("providers/")):
            # A nested child: its type and name are relative to the parent's. Extension
            # resources nest as `providers/diagnosticSettings` (or `providers/locks`) named
            # `Microsoft.Insights/<name>`: the same as the top-level form
            # `<type>/providers/diagnosticSettings` named `<parent>/Microsoft.Insights/<name>`.
            rtype = f"{parent.type}/{rtype}"
            name_str = f"{parent.name}/{name_str}"
        body["type"], body["name"] = rtype, name_str
        resource = Resource(
            platform=Platform.AZURE, type=rtype, name=name_str, body=body,
            origin=Origin(self.file, 0, path, self.locator),
            api_version=body.get("apiVersion") if isinstance(body.get("apiVersion"), str) else None,
            unresolved=unresolved,
        )
        self.out.append(resource)
        if rtype.lower() == DEPLOYMENTS_TYPE:
            self.deployment(raw, resolved, path, evaluator, depth)
        children = raw.get("resources")
        if isinstance(children, list):
            for index, child in enumerate(children):
                self.resource(child, (*path, "resources", index), resource, evaluator, depth)

    @staticmethod
    def _nested_template(raw: dict[str, Any]) -> dict[str, Any] | None:
        properties = raw.get("properties")
        if str(raw.get("type", "")).lower() != DEPLOYMENTS_TYPE or not isinstance(properties, dict):
            return None
        template = properties.get("template")
        return template if isinstance(template, dict) else None

    def deployment(self, raw: dict[str, Any], body: dict[str, Any], path: JsonPath, evaluator: Evaluator,
                   depth: int) -> None:
        """Expand a nested deployment: an inline template, or a local linked one.
        `body` is the evaluated deployment, unknown values still `Unresolved`."""
        where = _where(path)
        if depth + 1 > MAX_NESTING:
            self.notes.append(f"{where}: nested deployments deeper than {MAX_NESTING} levels; not expanded")
            return
        found = body.get("properties")
        properties: dict[str, Any] = found if isinstance(found, dict) else {}
        inline = self._nested_template(raw)
        if inline is not None:
            scope = raw["properties"].get("expressionEvaluationOptions")
            inner = isinstance(scope, dict) and str(scope.get("scope", "")).lower() == "inner"
            if inner:
                child = Evaluator(parameter_values(inline, _passed_parameters(properties)), _variables(inline))
            else:
                # Outer scope: the inner template's expressions see the parent's
                # parameters and variables (it may not declare its own).
                child = evaluator
            self.template(inline, (*path, "properties", "template"), child, depth + 1)
            return
        link = properties.get("templateLink")
        if not isinstance(link, dict):
            self.notes.append(f"{where}: deployment without a template; nothing to expand")
            return
        relative = link.get("relativePath")
        if isinstance(relative, str) and self.source_path is not None:
            self.linked(relative, properties, where, depth)
            return
        target = link.get("uri") or link.get("id") or relative
        self.notes.append(f"{where}: linked template {target} is not local; scan it separately")

    def linked(self, relative: str, properties: dict[str, Any], where: str, depth: int) -> None:
        assert self.source_path is not None  # checked by the caller
        real = (self.source_path.parent / relative).resolve()
        shown = posixpath.normpath(posixpath.join(posixpath.dirname(self.file), relative))
        try:
            text = real.read_text(encoding="utf-8-sig")
            doc = jsonc.loads(text)
        except (OSError, jsonc.JsoncError) as exc:
            self.notes.append(f"{where}: linked template {relative} could not be read ({exc})")
            return
        if not is_arm_template(doc):
            self.notes.append(f"{where}: linked template {relative} is not an ARM template")
            return
        sub = _Walker(shown, JsonLocator(text), real)
        sub.template(doc, (), Evaluator(parameter_values(doc, _passed_parameters(properties)), _variables(doc)),
                     depth + 1)
        self.out.extend(sub.out)
        self.notes.extend(sub.notes)


def linked_relative_paths(template: Any) -> list[str]:
    """Every literal `templateLink.relativePath` in a template, nested ones included."""
    found: list[str] = []
    stack = [template]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            link = node.get("templateLink")
            if isinstance(link, dict) and isinstance(link.get("relativePath"), str) \
                    and not is_expression(link["relativePath"]):
                found.append(link["relativePath"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _passed_parameters(properties: dict[str, Any]) -> dict[str, Any]:
    """Parameters a deployment passes to its template, already evaluated in the caller."""
    passed = properties.get("parameters")
    out: dict[str, Any] = {}
    if isinstance(passed, dict):
        for name, spec in passed.items():
            if isinstance(spec, dict) and "value" in spec:
                out[name] = spec["value"]
            else:
                out[name] = Unresolved(f"Key Vault reference for parameter '{name}'")
    elif isinstance(passed, str):
        out = {}  # an unknown expression: every parameter falls back to its default
    return out


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
