"""The recovery model's data and its building blocks: cited figures and overrides, the
config keys, link inference, per-component estimates, and the SARIF/JSON shapes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from scanner.config import ConfigError, load_config
from scanner.model import Outcome, ScanResult
from scanner.recovery.assess import RULES, Assessment, assess, sarif_rules
from scanner.recovery.figures import ModelError, load_model
from scanner.recovery.report import to_dict
from scanner.report import sarif
from scanner.scan import ScanOptions, scan_paths
from tests.conftest import POLICIES

MODEL = POLICIES / "recovery-model.yaml"


def test_every_figure_cites_a_source_or_is_a_marked_assumption() -> None:
    raw = yaml.safe_load(MODEL.read_text(encoding="utf-8"))["figures"]
    for key, figure in raw.items():
        if figure.get("assumption"):
            assert figure.get("note"), key
        else:
            source = str(figure.get("source", ""))
            assert source.startswith(("https://learn.microsoft.com/", "https://kubernetes.io/")), key
            assert figure.get("quote"), key  # the words the figure relies on
    model = load_model()
    assert model.minutes("pg_ha_failover_minutes") == 2
    assert model.minutes("pg_geo_restore_rpo_minutes") == 60
    assert model.minutes("storage_geo_rpo_minutes") == 15
    assert model.figures["k8s_cluster_rebuild_minutes"].assumption
    assert model.storage_classes["azurefile-csi-premium"] == "Premium_LRS"


def test_overrides_replace_figures_and_say_so() -> None:
    model = load_model(overrides={"k8s_cluster_rebuild_minutes": {"minutes": 30, "note": "warm standby"},
                                  "velero_restore_minutes": 20})
    figure = model.figures["k8s_cluster_rebuild_minutes"]
    assert (figure.minutes, figure.overridden, figure.assumption) == (30, True, False)
    assert figure.cite() == "configured in .tierscan.yaml: warm standby"
    assert model.minutes("velero_restore_minutes") == 20
    with pytest.raises(ModelError, match=r"recovery.figures.k8s_rebuild: no such figure"):
        load_model(overrides={"k8s_rebuild": 10})


def test_a_figure_without_source_or_assumption_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "model.yaml"
    bad.write_text("figures:\n  x_minutes: {minutes: 5, description: guessed}\n", encoding="utf-8")
    with pytest.raises(ModelError, match="figure 'x_minutes' cites no https source and is not marked"):
        load_model(bad)


def test_config_accepts_services_and_recovery_and_rejects_typos(tmp_path: Path) -> None:
    good = tmp_path / ".tierscan.yaml"
    good.write_text(textwrap.dedent("""\
        services:
          - name: erp
            tier: critical
            workloads: [Deployment/erp-prod/odoo-*]
            depends_on: [Microsoft.DBforPostgreSQL/flexibleServers/pg-erp-prod]
        recovery:
          figures:
            k8s_cluster_rebuild_minutes: {minutes: 30, note: drilled}
            velero_restore_minutes: 20
        """), encoding="utf-8")
    config = load_config(good)
    assert config.services[0]["workloads"] == ["Deployment/erp-prod/odoo-*"]
    assert config.recovery_figures["velero_restore_minutes"] == 20
    bad = tmp_path / "bad.yaml"
    bad.write_text("services:\n  - workloads: [x]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'services\.0': 'name' is a required property"):
        load_config(bad)


def _assess(tmp_path: Path, manifest: str) -> Assessment:
    (tmp_path / "app.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    result = scan_paths([tmp_path], ScanOptions(root=tmp_path))
    assert result.errors == []
    return assess(result.resources, load_model())


WEB_AND_REDIS = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop, labels: {tierscan.io/tier: high}}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          topologySpreadConstraints:
            - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}
          containers:
            - name: web
              image: web:1
              env:
                - {name: REDIS_HOST, value: redis}
                - {name: DB_USER, value: cache}
    ---
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: redis, namespace: shop, labels: {tierscan.io/tier: low}}
    spec:
      replicas: 1
      selector: {matchLabels: {app: redis}}
      template:
        metadata: {labels: {app: redis}}
        spec: {containers: [{name: redis, image: redis:7}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: redis, namespace: shop}
    spec: {selector: {app: redis}, ports: [{port: 6379}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: cache, namespace: shop}
    spec: {selector: {app: web}, ports: [{port: 80}]}
    """


def test_a_host_setting_naming_a_service_makes_its_workload_a_dependency(tmp_path: Path) -> None:
    a = _assess(tmp_path, WEB_AND_REDIS)
    [service] = a.services
    assert service.service.name == "shop/web"
    assert service.service.tier == "high"
    links = {c.component.label: [link.text for link in c.component.links] for c in service.components}
    # DB_USER=cache is a user name, not a host setting: no link to the Service "cache".
    assert links == {"Deployment web": [],
                     "StatefulSet redis": ["Deployment web env REDIS_HOST = redis (Service redis)"]}
    estimates = {c.component.label: c.estimates for c in service.components}
    web = estimates["Deployment web"]
    assert (web["node"].rto, web["node"].rto_reason.text) == (
        5, "runs 2 replicas but no PodDisruptionBudget limits evictions, so a node drain can stop them all until "
           "replacements start")
    assert (web["zone"].rto, web["zone"].rto_reason.text) == (
        10, "runs 2 replicas but spreads its pods across zones only as a preference (whenUnsatisfiable: "
            "ScheduleAnyway), so they may share a zone")
    assert web["zone"].rto_reason.path == ("spec", "template", "spec", "topologySpreadConstraints", 0,
                                           "whenUnsatisfiable")
    redis = estimates["StatefulSet redis"]
    assert (redis["node"].rpo, redis["node"].rto) == (None, 10)


def test_unresolved_ha_mode_is_never_taken_as_protected(tmp_path: Path) -> None:
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"haMode": {"type": "string"}},
        "resources": [{"type": "Microsoft.DBforPostgreSQL/flexibleServers", "apiVersion": "2024-08-01",
                       "name": "pg-x", "location": "westeurope", "tags": {"tier": "high"},
                       "properties": {"highAvailability": {"mode": "[parameters('haMode')]"},
                                      "backup": {"geoRedundantBackup": "Enabled"}}}],
    }
    (tmp_path / "pg.json").write_text(json.dumps(template), encoding="utf-8")
    (tmp_path / "app.yaml").write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: app, namespace: x, labels: {tierscan.io/tier: high}}
        spec:
          replicas: 2
          selector: {matchLabels: {app: a}}
          template:
            metadata: {labels: {app: a}}
            spec: {containers: [{name: a, image: a:1, env: [{name: PGHOST, value: pg-x.postgres.database.azure.com}]}]}
        """), encoding="utf-8")
    result = scan_paths([tmp_path], ScanOptions(root=tmp_path))
    a = assess(result.resources, load_model())
    [pg] = [c for c in a.services[0].components if c.component.kind == "postgresql"]
    node = pg.estimates["node"]
    assert node.rto == 15
    assert node.rto_reason.text == ("has high availability the unresolved expression [parameters('haMode')]: "
                                    "the server is restarted on another node")
    region = pg.estimates["region"]
    assert (region.rpo, region.rto) == (60, 720)


def test_sarif_lists_the_recovery_rules_and_indexes_results_by_them() -> None:
    a = assess(scan_paths([POLICIES.parent / "fixtures" / "recovery" / "non-compliant"],
                          ScanOptions(root=POLICIES.parent)).resources, load_model())
    log = json.loads(sarif.render(ScanResult(findings=a.findings), [], extra_rules=sarif_rules()))
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    for item in run["results"]:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
    [tier] = [item for item in run["results"] if item["ruleId"] == "DR-SVC-TIER"]
    assert tier["locations"][0]["physicalLocation"]["region"]["startLine"] == 24
    assert tier["level"] == "warning"
    assert all(f.outcome is Outcome.FAIL for f in a.findings)


def test_json_document_keeps_unbounded_and_not_applicable_apart() -> None:
    a = assess(scan_paths([POLICIES.parent / "examples" / "odoo-on-aks"], ScanOptions(root=POLICIES.parent)).resources,
               load_model())
    doc = to_dict(a)
    odoo = doc["services"][0]
    assert odoo["scopes"]["region"] == {"rpo": "unbounded", "rto": "unbounded", "target_rpo": 15, "target_rto": 60,
                                        "compliant": False}
    redis = doc["services"][1]
    assert redis["scopes"]["node"]["rpo"] is None
    assert doc["summary"]["services"] == 2 and doc["summary"]["compliant"] == 0 and doc["summary"]["gaps"] == 7
    assert doc["summary"]["by_tier"] == {"critical": {"services": 2, "compliant": 0}}
    assert doc["kind"] == "tierscan-recovery"
