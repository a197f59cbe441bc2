"""The engine's mechanisms on small in-memory inputs: tiers, params, views, relations,
messages and suppressions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from scanner.engine.evaluate import Engine, EvaluationOptions
from scanner.engine.loader import load_policy_file
from scanner.engine.messages import render
from scanner.engine.policy import Policy
from scanner.engine.suppress import parse_suppressions
from scanner.engine.tiers import TierSettings, resolve_tiers
from scanner.model import Outcome, Resource
from scanner.sources.kubernetes_yaml import resources_from_documents
from scanner.sources.locate import YamlLocator


def k8s(text: str, file: str = "app/x.yaml") -> list[Resource]:
    resources, _ = resources_from_documents(list(yaml.safe_load_all(text)), file, YamlLocator(text))
    return resources


def policy(tmp_path: Path, doc: dict[str, Any]) -> Policy:
    path = tmp_path / f"{doc['slug']}.yaml"
    path.write_text(yaml.safe_dump(doc))
    loaded, error = load_policy_file(path)
    assert error is None, error
    assert loaded is not None
    return loaded


BASE = {
    "severity": "high", "area": "high-availability", "rationale": "Because replicas keep Odoo up.",
    "remediation": "Set spec.replicas to a larger number.", "references": ["https://kubernetes.io/"],
}

DEPLOY = """
apiVersion: v1
kind: Namespace
metadata: {name: erp, labels: {tierscan.io/tier: critical, environment: prod}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: erp}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: odoo
          image: odoo:17
        - name: sidecar
          image: busybox
          securityContext: {privileged: true}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: other, labels: {criticality: lower, environment: dev}}
spec:
  replicas: 1
  template: {spec: {containers: [{name: b, image: b}]}}
"""


def test_tier_and_environment_resolution_order() -> None:
    resources = k8s(DEPLOY)
    resolve_tiers(resources, TierSettings())
    by_name = {r.name: r for r in resources}
    assert (by_name["web"].tier, by_name["web"].tier_source) == ("critical", "namespace")
    assert (by_name["web"].environment, by_name["web"].environment_source) == ("production", "namespace")
    assert (by_name["batch"].tier, by_name["batch"].tier_source) == ("low", "label")  # alias "lower"
    assert by_name["batch"].environment == "development"
    resolve_tiers(resources, TierSettings(default_tier="medium"))
    assert by_name["erp"].tier == "critical"  # the Namespace's own label


def test_params_per_tier_compile_once_and_apply(tmp_path: Path) -> None:
    p = policy(tmp_path, {**BASE, "id": "HA-K8S-901", "slug": "replicas-test",
                          "title": "Deployments run enough replicas for their tier",
                          "match": {"platform": "kubernetes", "kinds": ["Deployment"]},
                          "params": {"min": {"critical": 3, "default": 1}},
                          "assert": {"properties": {"spec": {"properties": {
                              "replicas": {"type": "integer", "minimum": {"$param": "min"}}}}}},
                          "message": "{kind} '{name}' has {replicas}; needs {param.min}."})
    resources = k8s(DEPLOY)
    resolve_tiers(resources, TierSettings())
    findings, errors = Engine([p], EvaluationOptions(keep_passing=True)).evaluate(resources)
    assert not errors
    got = {(f.resource.name, f.outcome.value, f.message) for f in findings}
    assert got == {("web", "fail", "Deployment 'web' has 2; needs 3."),
                   ("batch", "pass", "Deployment other/batch complies.")}
    # critical and high/medium/low differ: two compiled variants, shared by equal tiers.
    assert p.conditions_for("high") is p.conditions_for("low")
    assert p.conditions_for("critical") is not p.conditions_for("high")
    [fail] = [f for f in findings if f.outcome is Outcome.FAIL]
    assert (fail.location.line, fail.location.property_path) == (10, "spec.replicas")


def test_container_view_points_at_the_container_property(tmp_path: Path) -> None:
    p = policy(tmp_path, {**BASE, "id": "SEC-K8S-901", "slug": "priv-test", "area": "security",
                          "title": "Containers are not privileged in this test",
                          "match": {"platform": "kubernetes", "view": "container"},
                          "assert": {"properties": {"securityContext": {"properties": {
                              "privileged": {"const": False}}}}},
                          "message": "Container '{container}' of {kind} '{name}' sets {property} = {value}."})
    resources = k8s(DEPLOY)
    resolve_tiers(resources, TierSettings())
    findings, _ = Engine([p], EvaluationOptions(keep_passing=True)).evaluate(resources)
    rows = sorted((f.resource.name, f.view_path, f.outcome.value) for f in findings)
    assert rows == [("batch", "containers[b]", "pass"), ("web", "containers[odoo]", "pass"),
                    ("web", "containers[sidecar]", "fail")]
    [fail] = [f for f in findings if f.outcome is Outcome.FAIL]
    assert fail.message == ("Container 'sidecar' of Deployment 'web' sets "
                            "spec.template.spec.containers[1].securityContext.privileged = true.")
    assert (fail.location.line, fail.location.column) == (20, 29)


def test_selects_relation_and_namespace_scoping(tmp_path: Path) -> None:
    p = policy(tmp_path, {**BASE, "id": "HA-K8S-902", "slug": "pdb-test",
                          "title": "Workloads are selected by a PDB in this test",
                          "match": {"platform": "kubernetes", "view": "pod", "kinds": ["Deployment"]},
                          "relations": {"pdbs": {"relation": "selects", "kind": "PodDisruptionBudget"}},
                          "assert": {"properties": {"context": {"properties": {"related": {
                              "properties": {"pdbs": {"minItems": 1}}}}}}},
                          "message": "{kind} '{name}' has no PDB."})
    deploy = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
              "spec: {template: {metadata: {labels: {app: web, tier: fe}}, spec: {containers: []}}}\n")
    pdb = ("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\n"
           "spec: {selector: {matchExpressions: [{key: app, operator: In, values: [web]}]}}\n")
    same_dir = k8s(deploy, "a/deploy.yaml") + k8s(pdb, "a/pdb.yaml")
    other_dir = k8s(deploy, "a/deploy.yaml") + k8s(pdb, "b/pdb.yaml")
    for resources, outcome in ((same_dir, "pass"), (other_dir, "fail")):
        resolve_tiers(resources, TierSettings())
        findings, _ = Engine([p], EvaluationOptions(keep_passing=True)).evaluate(resources)
        assert [f.outcome.value for f in findings] == [outcome]


def test_messages_only_fill_named_fields() -> None:
    fields = {"name": "web", "param": {"min": [1, 2]}, "obj": object()}
    assert render("{name} {param.min} {missing} {name.__class__}", fields) == \
        "web 1 or 2 {missing} {name.__class__}"


def test_only_the_value_found_is_cut_in_a_message() -> None:
    long_path = "spec.jobTemplate.spec.template.spec.containers[1].securityContext.allowPrivilegeEscalation"
    requirement = "a Premium cache in at least 2 zones with a replica in each extra zone (replicasPerMaster >= 2)"
    fields = {"property": long_path, "value": {"key": "x" * 100}, "param": {"requirement": requirement}}
    text = render("{property} = {value}; needs {param.requirement}.", fields)
    assert text == f'{long_path} = {{"key": "{"x" * 70}…; needs {requirement}.'


def test_suppression_entries() -> None:
    entries = parse_suppressions(
        "HA-K8S-003: single replica by design; expires 2027-06-30\nSEC-K8S-001, SEC-K8S-002 vendor image\nnot an entry")
    assert [(s.policy_id, s.reason, s.expires) for s in entries] == [
        ("HA-K8S-003", "single replica by design", dt.date(2027, 6, 30)),
        ("SEC-K8S-001", "vendor image", None), ("SEC-K8S-002", "vendor image", None)]
    assert entries[0].expired(dt.date(2027, 7, 1)) and not entries[0].expired(dt.date(2027, 6, 30))


def test_lists_found_read_as_items_and_parameter_lists_as_choices() -> None:
    from scanner.engine.messages import show

    assert show(["1", "2"], prose=False) == "1, 2"  # a pool in zones 1 and 2, not "1 or 2"
    assert render("{param.modes}", {"param": {"modes": ["ZoneRedundant", "SameZone"]}}) == "ZoneRedundant or SameZone"
