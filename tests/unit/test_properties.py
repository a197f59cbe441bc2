"""Property-based tests: whatever the input, no exception escapes, every file is
accounted for, and the outcome is deterministic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.engine.evaluate import Engine, EvaluationOptions
from scanner.engine.tiers import TierSettings, resolve_tiers
from scanner.model import FileStatus, Outcome
from scanner.sources.arm import resources_from_template
from scanner.sources.files import scan_file
from scanner.sources.kubernetes_yaml import resources_from_documents
from scanner.sources.locate import JsonLocator, YamlLocator
from tests.conftest import FIXTURES, ROOT
from tests.policies.fixture_harness import all_policies

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.function_scoped_fixture])
KINDS = ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Pod", "Service", "ConfigMap", "Secret",
         "PodDisruptionBudget", "NetworkPolicy", "Namespace", "Ingress", "HorizontalPodAutoscaler"]
AZ_TYPES = sorted({t for p in all_policies().values() if p.platform.value == "azure" for t in p.kinds})

scalars = st.none() | st.booleans() | st.integers(-3, 5) | st.text(max_size=12) | st.sampled_from(
    ["latest", "ZoneRedundant", "Enabled", "Disabled", "0 */6 * * *", "[parameters('x')]", "100%"])
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.sampled_from(["spec", "template", "containers", "replicas", "metadata", "name", "labels", "properties",
                     "securityContext", "sku", "tier", "data", "selector", "image", "env", "value"]), c, max_size=4),
    max_leaves=25)


@SETTINGS
@given(content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_a_record_never_an_exception(tmp_path: Path, content: bytes) -> None:
    for name in ("x.yaml", "x.json"):
        path = tmp_path / name
        path.write_bytes(content)
        scanned = scan_file(path, name, True)
        assert scanned.record.status in (FileStatus.SCANNED, FileStatus.SKIPPED, FileStatus.ERROR)
        if scanned.record.status is FileStatus.ERROR:
            assert scanned.errors and all("\n" not in e.message for e in scanned.errors)


@SETTINGS
@given(kind=st.sampled_from(KINDS), spec=values, meta=values)
def test_engine_never_errors_on_odd_kubernetes_objects(kind: str, spec: Any, meta: Any) -> None:
    doc = {"apiVersion": "v1", "kind": kind, "metadata": meta if isinstance(meta, dict) else {"name": "x"},
           "spec": spec}
    text = yaml.safe_dump(doc)
    resources, _ = resources_from_documents([doc], "odd.yaml", YamlLocator(text))
    resolve_tiers(resources, TierSettings())
    findings, errors = Engine(list(all_policies().values()), EvaluationOptions(keep_passing=True)).evaluate(resources)
    assert not errors, [e.message for e in errors]
    assert all(f.outcome is not Outcome.ERROR for f in findings)


@SETTINGS
@given(rtype=st.sampled_from(AZ_TYPES or ["Microsoft.Storage/storageAccounts"]), body=values, sku=values)
def test_engine_never_errors_on_odd_arm_resources(rtype: str, body: Any, sku: Any) -> None:
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "parameters": {"x": {"type": "string"}},
                "resources": [{"type": rtype, "name": "r", "apiVersion": "2024-01-01", "sku": sku,
                               "properties": body, "resources": [{"type": "child", "name": "c", "properties": body}]}]}
    text = json.dumps(template)
    resources, _ = resources_from_template(template, "odd.json", JsonLocator(text))
    resolve_tiers(resources, TierSettings())
    findings, errors = Engine(list(all_policies().values()), EvaluationOptions(keep_passing=True)).evaluate(resources)
    assert not errors, [e.message for e in errors]
    assert all(f.outcome is not Outcome.ERROR for f in findings)


def test_reports_are_byte_identical_across_runs_and_hash_seeds(tmp_path: Path) -> None:
    outputs: dict[str, set[bytes]] = {"json": set(), "sarif": set()}
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        for fmt in outputs:
            out = tmp_path / f"{seed}.{fmt}"
            subprocess.run([sys.executable, "-m", "scanner.cli", "scan", "examples", str(FIXTURES / "hostile"),
                            "--format", fmt, "--output", str(out), "--all-outcomes"], cwd=ROOT, env=env,
                           capture_output=True, check=False)
            outputs[fmt].add(out.read_bytes())
    assert len(outputs["json"]) == 1 and len(outputs["sarif"]) == 1
