"""Load policy files from disk, validate them, and build `Policy` objects.

Discovery follows the filesystem: every `*.yaml` under a policy directory (except
`tiers.yaml`) is a policy. Nothing is registered by import. A bad file gives one clear
error naming the file and the keyword; the other policies still load.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from scanner.engine.compiled_schema import compile_schema
from scanner.engine.conditions import Condition, try_condition
from scanner.engine.policy import Policy, RelationSpec, param_names, substitute_params
from scanner.model import Platform, ScanError, Severity
from scanner.sources import safe_yaml

WORKLOAD_KINDS = [
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
    "Job", "CronJob", "Pod",
]
NON_POLICY_FILES = {"tiers.yaml", "recovery-model.yaml"}


def builtin_policy_dir() -> Path:
    """The policies shipped with tierscan: `policies/` beside the package in a checkout
    or editable install, the `tierscan_policies` package in a wheel install."""
    env = os.environ.get("TIERSCAN_POLICY_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent.parent / "policies"
    if here.is_dir():
        return here
    import importlib.util

    spec = importlib.util.find_spec("tierscan_policies")  # installed from a wheel
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(sys.prefix) / "share" / "tierscan" / "policies"


@cache
def _policy_file_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((builtin_policy_dir() / "policy.schema.json").read_text(encoding="utf-8"))
    return schema


@cache
def _policy_file_check() -> Callable[[Any], bool]:
    return compile_schema(_policy_file_schema())


def _policy_file_problem(data: Any) -> str | None:
    """None when the file is valid. Valid files take the compiled fast path; only an
    invalid one pays for importing jsonschema, for its precise error."""
    if _policy_file_check()(data):
        return None
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(_policy_file_schema()).iter_errors(data),
                    key=lambda e: list(map(str, e.path)))
    return _describe_schema_error(errors[0]) if errors else "does not match policy.schema.json"


def load_policies(directories: list[Path]) -> tuple[list[Policy], list[ScanError]]:
    policies: list[Policy] = []
    errors: list[ScanError] = []
    seen: dict[str, Path] = {}
    for directory in directories:
        if not directory.is_dir():
            errors.append(ScanError(f"policy directory not found: {directory}"))
            continue
        for path in sorted(directory.rglob("*.yaml")):
            if path.name in NON_POLICY_FILES:
                continue
            policy, error = load_policy_file(path)
            if error is not None:
                errors.append(error)
                continue
            assert policy is not None
            if policy.id in seen:
                errors.append(ScanError(
                    f"policy not loaded: duplicate policy id {policy.id} (already defined in {seen[policy.id]}); "
                    "IDs are permanent and unique, give this policy a new one",
                    file=str(path)))
                continue
            seen[policy.id] = path
            policies.append(policy)
    return policies, errors


def load_policy_file(path: Path) -> tuple[Policy | None, ScanError | None]:
    def fail(message: str) -> tuple[None, ScanError]:
        return None, ScanError(f"policy not loaded: {message}", file=str(path))

    try:
        # The scanner's own safe reader: duplicate keys are errors here too, and it is the
        # faster one (every run, pre-commit included, loads all policies).
        documents = safe_yaml.load_documents(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read policy: {exc}")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        return fail(f"not valid YAML{line}: {getattr(exc, 'problem', exc)}")
    data = documents[0] if len(documents) == 1 else None
    if not isinstance(data, dict):
        return fail("a policy file must hold one mapping (id, title, match, assert, ...)")

    problem = _policy_file_problem(data)
    if problem:
        return fail(problem)

    params = data.get("params", {})
    for keyword in ("when", "assert"):
        unknown = param_names(data.get(keyword)) - set(params)
        if unknown:
            return fail(f"'{keyword}' uses $param {sorted(unknown)} not declared under 'params'")
    for name, by_tier in params.items():
        if "default" not in by_tier and not {"critical", "high", "medium", "low"} <= set(by_tier):
            return fail(f"params.{name} needs a 'default' or a value for every tier")
    # Check the schema as each tier will see it, parameters substituted. Tiers with equal
    # parameter values see the same schema, so each distinct one is compiled once, and
    # kept: the policy adopts these conditions instead of compiling them again.
    by_values: dict[str, dict[str, Any]] = {}
    compiled: dict[tuple[str, str], Condition] = {}
    for keyword in ("when", "assert"):
        if keyword not in data:
            continue
        for tier in ("critical", "high", "medium", "low"):
            values = {n: v.get(tier, v.get("default")) for n, v in params.items()}
            key = json.dumps(values, sort_keys=True, default=str)
            if (keyword, key) in compiled:
                continue
            condition, problem = try_condition(substitute_params(data[keyword], values))
            if condition is None:
                # Name the tier only when its parameters are what break the schema.
                for_tier = f" for tier {tier}" if params and len({json.dumps(
                    {n: v.get(t, v.get("default")) for n, v in params.items()}, sort_keys=True, default=str)
                    for t in ("critical", "high", "medium", "low")}) > 1 else ""
                return fail(f"'{keyword}' is not a valid JSON Schema{for_tier}: {problem}")
            compiled[(keyword, key)] = condition
            by_values[key] = values

    match = data["match"]
    platform = Platform(match["platform"])
    view = match.get("view", "object")
    if platform is Platform.AZURE and view != "object":
        return fail(f"match.view '{view}' is for Kubernetes; Azure policies use the object view")
    if platform is Platform.KUBERNETES:
        kinds = match.get("kinds") or (WORKLOAD_KINDS if view in ("pod", "container") else [])
        if not kinds:
            return fail("match.kinds is required for the object view (which kinds does it apply to?)")
        if view in ("pod", "container"):
            bad = [k for k in kinds if k not in WORKLOAD_KINDS]
            if bad:
                return fail(f"match.kinds {bad} have no pod template for view '{view}'")
    else:
        kinds = match["types"]

    relations = {name: RelationSpec(spec["relation"], spec.get("kind"), spec.get("type"))
                 for name, spec in data.get("relations", {}).items()}
    if path.stem != data["slug"]:
        return fail(f"slug '{data['slug']}' must equal the file name '{path.stem}'")

    policy = Policy(
        id=data["id"], slug=data["slug"], title=data["title"], severity=Severity(data["severity"]),
        area=data["area"], rationale=data["rationale"].strip(), remediation=data["remediation"].strip(),
        references=list(data["references"]), platform=platform, view=view, kinds=list(kinds),
        when=data.get("when"), assert_=data["assert"], message=data["message"], file=path,
        tiers=list(data.get("tiers", ["critical", "high", "medium", "low"])),
        environments=data.get("environments"), params=params, relations=relations,
        sensitive=bool(data.get("sensitive", False)), tags=list(data.get("tags", [])),
        description=data.get("description", ""),
    )
    for key, values in by_values.items():
        policy.adopt(values, compiled.get(("when", key)), compiled[("assert", key)])
    # Compile every tier now: a broken condition is a load error, not a scan surprise.
    try:
        for tier in policy.tiers:
            policy.conditions_for(tier)
    except Exception as exc:  # the validator library's own errors vary by keyword
        return fail(f"conditions do not compile: {exc}")
    return policy, None


def _describe_schema_error(error: Any) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        place = f" in '{where}'" if where else ""
        return f"unknown keyword {', '.join(repr(e) for e in extra)}{place} (allowed: {', '.join(allowed)})"
    if error.validator == "required":
        place = f" in '{where}'" if where else ""
        return f"{error.message}{place}"
    return f"'{where or '<root>'}': {error.message}"
