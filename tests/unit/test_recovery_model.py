"""The recovery model's data and its building blocks: cited figures and overrides, the
config keys, link inference, per-component estimates, and the SARIF/JSON shapes."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.config import ConfigError, load_config
from scanner.model import Outcome, ScanResult
from scanner.recovery.assess import RULES, Assessment, assess, sarif_rules
from scanner.recovery.estimate import Estimate
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
    assert doc["summary"]["services"] == 2 and doc["summary"]["compliant"] == 0 and doc["summary"]["gaps"] == 10
    assert doc["summary"]["by_tier"] == {"critical": {"services": 2, "compliant": 0}}
    assert doc["kind"] == "tierscan-recovery"
    # The fourth scope is additive: the same keys as the others.
    assert odoo["scopes"]["corruption"] == {"rpo": "unbounded", "rto": "unbounded", "target_rpo": 15,
                                            "target_rto": 60, "compliant": False}
    assert redis["scopes"]["corruption"] == {"rpo": None, "rto": 15, "target_rpo": 15, "target_rto": 60,
                                             "compliant": True}


# --- Data corruption or deletion ------------------------------------------------------------

def _arm(tmp_path: Path, *resources: dict[str, Any]) -> None:
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "resources": list(resources)}
    (tmp_path / "azure.json").write_text(json.dumps(template, indent=2), encoding="utf-8")


def _corruption(tmp_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Estimate]:
    """The corruption-scope estimate of every component, by label (services and unlinked)."""
    result = scan_paths([tmp_path], ScanOptions(root=tmp_path))
    assert result.errors == []
    a = assess(result.resources, load_model(overrides=overrides))
    components = [c for s in a.services for c in s.components] + a.unlinked
    return {c.component.label: c.estimates["corruption"] for c in components if "corruption" in c.estimates}


def _pg(**backup: Any) -> dict[str, Any]:
    return {"type": "Microsoft.DBforPostgreSQL/flexibleServers", "apiVersion": "2024-08-01", "name": "pg-x",
            "location": "westeurope", "tags": {"tier": "critical"},
            "properties": {"highAvailability": {"mode": "ZoneRedundant"}, "backup": backup}}


def test_zone_redundant_ha_replicates_a_corruption_and_only_backups_within_the_window_help(tmp_path: Path) -> None:
    _arm(tmp_path, _pg(geoRedundantBackup="Enabled"))  # retention not set: the Azure default, 7 days
    (tmp_path / "app.yaml").write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: app, namespace: x, labels: {tierscan.io/tier: critical}}
        spec:
          replicas: 2
          selector: {matchLabels: {app: a}}
          template:
            metadata: {labels: {app: a}}
            spec: {containers: [{name: a, image: a:1, env: [{name: PGHOST, value: pg-x.postgres.database.azure.com}]}]}
        """), encoding="utf-8")
    # Default window, 14 days: the 7 days of backups end before anyone notices.
    pg = _corruption(tmp_path)["PostgreSQL pg-x"]
    assert (pg.rpo, pg.rto) == (math.inf, math.inf)
    assert pg.rpo_reason is not None
    assert pg.rpo_reason.path == ("properties", "backup", "backupRetentionDays")
    assert pg.rpo_reason.text == (
        "has its ZoneRedundant HA standby, which replicates the corruption, so only its backups help: they reach back "
        "7 days (backupRetentionDays not set: the 7-day default), less than the 14 days it can take to notice a "
        "corruption")
    result = scan_paths([tmp_path], ScanOptions(root=tmp_path))
    # The retention is not written: the findings point at the backup block it belongs in.
    findings = [(f.policy_id, f.location.line, f.message) for f in assess(result.resources, load_model()).findings
                if f.detail.get("scope") == "corruption"]
    assert findings == [
        ("DR-SVC-RPO", 17, "service x/app (critical, RPO ≤ 15 min): data corruption or deletion → PostgreSQL pg-x has "
                          "its ZoneRedundant HA standby, which replicates the corruption, so only its backups help: "
                          "they reach back 7 days (backupRetentionDays not set: the 7-day default), less than the 14 "
                          "days it can take to notice a corruption → RPO unbounded (assumption: "
                          "corruption_detection_minutes)."),
        ("DR-SVC-RTO", 17, "service x/app (critical, RTO ≤ 60 min): data corruption or deletion → PostgreSQL pg-x has "
                          "its ZoneRedundant HA standby, which replicates the corruption, so only its backups help: "
                          "they reach back 7 days (backupRetentionDays not set: the 7-day default), less than the 14 "
                          "days it can take to notice a corruption → RTO unbounded (assumption: "
                          "corruption_detection_minutes)."),
    ]
    # A 5-day window (a drilled daily reconciliation, say): a point-in-time restore reaches.
    pg = _corruption(tmp_path, {"corruption_detection_minutes": 5 * 1440})["PostgreSQL pg-x"]
    assert (pg.rpo, pg.rto) == (5, 720)
    assert pg.rto_reason.text == (
        "has its ZoneRedundant HA standby, which replicates the corruption, so only its backups help: it is restored "
        "to a point in time before the corruption, within 7 days of backups (backupRetentionDays not set: the 7-day "
        "default; a corruption can take 5 days to notice)")
    assert pg.rto_reason.figures == ("pg_restore_minutes",)
    # Exactly the window is enough.
    _arm(tmp_path, _pg(backupRetentionDays=14))
    assert (_corruption(tmp_path)["PostgreSQL pg-x"].rpo, _corruption(tmp_path)["PostgreSQL pg-x"].rto) == (5, 720)


def _account(sku: str = "Standard_LRS") -> dict[str, Any]:
    return {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01", "name": "files1",
            "location": "westeurope", "kind": "StorageV2", "sku": {"name": sku}, "properties": {}}


def _blob_service(**properties: Any) -> dict[str, Any]:
    return {"type": "Microsoft.Storage/storageAccounts/blobServices", "apiVersion": "2023-05-01",
            "name": "files1/default", "properties": properties}


STORAGE_CASES = [
    pytest.param(
        [_account("Standard_GRS")], (math.inf, math.inf), "storage", ("name",),
        "declares no blobServices/default: its Standard_GRS replication copies every overwrite and deletion, so "
        "without blob versioning or soft delete (both off by default) an overwritten or deleted file is lost",
        id="geo-replicated-without-blob-service"),
    pytest.param(
        [_account("Standard_ZRS"), _blob_service(isVersioningEnabled=True,
                                                 containerDeleteRetentionPolicy={"enabled": True, "days": 14})],
        (0, 120), "blob", ("properties", "isVersioningEnabled"),
        "keeps previous versions of overwritten and deleted blobs (isVersioningEnabled) and deleted containers for "
        "14 days (containerDeleteRetentionPolicy); its Standard_ZRS replication copies every overwrite and deletion "
        "and does not help", id="versioning-and-container-soft-delete"),
    pytest.param(
        [_account(), _blob_service(deleteRetentionPolicy={"enabled": True, "days": 21},
                                   restorePolicy={"enabled": True, "days": 20},
                                   containerDeleteRetentionPolicy={"enabled": True, "days": 30})],
        (0, 120), "blob", ("properties", "restorePolicy", "days"),
        "restores blobs to a point in time up to 20 days back (restorePolicy) and deleted containers for 30 days "
        "(containerDeleteRetentionPolicy)", id="point-in-time-restore"),
    pytest.param(
        [_account(), _blob_service(deleteRetentionPolicy={"enabled": True, "days": 7},
                                   containerDeleteRetentionPolicy={"enabled": True, "days": 30})],
        (math.inf, math.inf), "blob", ("properties", "deleteRetentionPolicy", "days"),
        "has isVersioningEnabled not set and deleteRetentionPolicy 7 days, less than the 14 days it can take to "
        "notice a corruption: an overwritten or deleted file cannot be restored", id="soft-delete-too-short"),
    pytest.param(
        [_account(), _blob_service(isVersioningEnabled=True, deleteRetentionPolicy={"enabled": True, "days": 14})],
        (math.inf, math.inf), "blob", ("properties", "containerDeleteRetentionPolicy", "enabled"),
        "keeps previous versions of overwritten and deleted blobs (isVersioningEnabled), but has "
        "containerDeleteRetentionPolicy not set (off by default): a deleted container and every blob in it cannot be "
        "restored", id="no-container-soft-delete"),
    pytest.param(
        [{**_account("Premium_ZRS"), "kind": "FileStorage"}], (math.inf, math.inf), "storage", ("kind",),
        "is a FileStorage account: blob versioning and soft delete do not cover its file shares, and its Premium_ZRS "
        "replication copies every overwrite and deletion", id="file-storage"),
]


@pytest.mark.parametrize(("resources", "achievable", "where", "path", "text"), STORAGE_CASES)
def test_storage_after_a_corruption_counts_only_versions_and_soft_delete(
        tmp_path: Path, resources: list[dict[str, Any]], achievable: tuple[float, float], where: str,
        path: tuple[str, ...], text: str) -> None:
    _arm(tmp_path, *resources)
    estimate = _corruption(tmp_path)["storage account files1"]
    assert (estimate.rpo, estimate.rto) == achievable
    reason = estimate.rpo_reason
    assert reason is not None
    assert reason.resource.type == ("Microsoft.Storage/storageAccounts" if where == "storage"
                                    else "Microsoft.Storage/storageAccounts/blobServices")
    assert (reason.path, reason.text) == (path, text)
    assert estimate.rto_reason.text == text


def test_a_stateless_deployment_is_rolled_back_and_loses_no_data(tmp_path: Path) -> None:
    a = _assess(tmp_path, WEB_AND_REDIS)
    web = next(c for c in a.services[0].components if c.component.label == "Deployment web").estimates["corruption"]
    assert (web.rpo, web.rto, web.rpo_reason) == (None, 15, None)
    assert web.rto_reason.text == ("holds no data, and its 2 replicas all run a failed release: it is rolled back to "
                                   "its previous revision")
    assert web.rto_reason.figures == ("k8s_rollback_minutes", "k8s_pod_start_minutes")
    # Without revision history there is nothing to undo to: redeployed from source.
    no_history = WEB_AND_REDIS.replace("      replicas: 2\n", "      replicas: 2\n      revisionHistoryLimit: 0\n")
    a = _assess(tmp_path, no_history)
    web = next(c for c in a.services[0].components if c.component.label == "Deployment web").estimates["corruption"]
    assert (web.rto, web.rto_reason.path, web.rto_reason.text) == (
        15, ("spec", "revisionHistoryLimit"), "holds no data, and its 2 replicas all run a failed release; it keeps "
                                              "no old revisions (revisionHistoryLimit 0), so the previous release is "
                                              "redeployed from source")


STATEFUL = """\
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: pg, namespace: shop, labels: {tierscan.io/tier: high}}
    spec:
      replicas: 3
      selector: {matchLabels: {app: pg}}
      template:
        metadata: {labels: {app: pg}}
        spec: {containers: [{name: pg, image: postgres:16}]}
      volumeClaimTemplates:
        - metadata: {name: data}
          spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}
    """
VELERO_HOURLY = """\
    ---
    apiVersion: velero.io/v1
    kind: Schedule
    metadata: {name: shop-hourly, namespace: velero}
    spec:
      schedule: "0 * * * *"
      template: {includedNamespaces: [shop]}
    """


def test_a_statefulset_with_data_needs_a_backup(tmp_path: Path) -> None:
    """The claim template is a volume of the service; the StatefulSet itself is rolled
    back like any workload, so its data is assessed once, on the volume."""
    a = _assess(tmp_path, STATEFUL)
    [service] = a.services
    by_label = {c.component.label: c.estimates["corruption"] for c in service.components}
    assert list(by_label) == ["StatefulSet pg", "PersistentVolumeClaim template data of StatefulSet pg"]
    pg = by_label["StatefulSet pg"]
    assert (pg.rpo, pg.rto, pg.rpo_reason) == (None, 15, None)
    assert pg.rto_reason.text == ("keeps its data in volume claim template data, assessed as a volume, and its 3 "
                                  "replicas all run a failed release: it is rolled back to its previous revision")
    data = by_label["PersistentVolumeClaim template data of StatefulSet pg"]
    assert (data.rpo, data.rto) == (math.inf, math.inf)
    assert data.rpo_reason is not None and data.rpo_reason.path == ("spec", "volumeClaimTemplates", 0)
    assert data.rpo_reason.text == ("names no storage class and no default StorageClass is in the scan; only a backup "
                                    "helps, and no Velero schedule backs up namespace shop")
    # Line 11 is the template (`- metadata: {name: data}`): where storageClassName belongs.
    assert [(f.policy_id, f.location.line, f.location.property_path) for f in a.findings
            if f.detail["scope"] == "corruption"] == [("DR-SVC-RPO", 11, "spec.volumeClaimTemplates[0]"),
                                                      ("DR-SVC-RTO", 11, "spec.volumeClaimTemplates[0]")]
    # Hourly backups kept 30 days (Velero's default ttl): RPO one hour, RTO the restore.
    a = _assess(tmp_path, STATEFUL.rstrip(" ") + VELERO_HOURLY)
    data = a.services[0].components[1].estimates["corruption"]
    assert (data.rpo, data.rto) == (60, 60)
    assert data.rpo_reason is not None and data.rpo_reason.resource.name == "shop-hourly"
    assert data.rpo_reason.text == ("names no storage class and no default StorageClass is in the scan; only a backup "
                                    "helps: it is restored from Velero schedule shop-hourly, which runs every 60 min "
                                    "and keeps backups for 30 days (Velero's default ttl)")
    # The high tier allows RPO 30 min: the hourly schedule is the gap, pointed at.
    assert [(f.policy_id, f.location.property_path) for f in a.findings if f.detail["scope"] == "corruption"] == [
        ("DR-SVC-RPO", "spec.schedule")]


# --- StatefulSet claim templates as volumes -------------------------------------------------

def _volumes(a: Assessment) -> dict[str, dict[str, tuple[float | None, float]]]:
    """(RPO, RTO) per scope of every volume component, by label."""
    return {c.component.label: {scope: (e.rpo, e.rto) for scope, e in c.estimates.items()}
            for s in a.services for c in s.components if c.component.kind == "volume"}


ZRS_CLASS = """    ---
    apiVersion: storage.k8s.io/v1
    kind: StorageClass
    metadata: {name: zrs, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
    provisioner: disk.csi.azure.com
    parameters: {skuName: StandardSSD_ZRS}
    """
LRS_DEFAULT = """    ---
    apiVersion: storage.k8s.io/v1
    kind: StorageClass
    metadata: {name: lrs, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
    provisioner: disk.csi.azure.com
    parameters: {skuName: Premium_LRS}
    """


def test_a_claim_template_naming_no_class_gets_the_default_class(tmp_path: Path) -> None:
    # As the StatefulSet's claims are created, admission gives them the default class.
    a = _assess(tmp_path, STATEFUL.rstrip(" ") + ZRS_CLASS)
    [data] = [c for c in a.services[0].components if c.component.kind == "volume"]
    zone = data.estimates["zone"]
    assert (zone.rpo, zone.rto) == (0, 0)
    assert zone.rpo_reason is not None and zone.rpo_reason.resource.name == "zrs"
    assert zone.rpo_reason.path == ("parameters", "skuName")
    assert zone.rpo_reason.text == ("names no storage class, so it gets the default class zrs (StandardSSD_ZRS), "
                                    "which is zone-redundant")
    # Two classes marked default: the newest wins, which files do not tell, so the
    # locally redundant one is assumed.
    a = _assess(tmp_path, STATEFUL.rstrip(" ") + ZRS_CLASS.rstrip(" ") + LRS_DEFAULT)
    [data] = [c for c in a.services[0].components if c.component.kind == "volume"]
    zone = data.estimates["zone"]
    assert (zone.rpo, zone.rto) == (math.inf, math.inf)
    assert zone.rpo_reason is not None and zone.rpo_reason.text == (
        "names no storage class, so it gets the default class lrs (one of 2 classes marked default) (Premium_LRS), "
        "which is not zone-redundant, and no Velero schedule backs up namespace shop")


def _created_claim(name: str, storage_class: str, namespace: str = "shop") -> str:
    return f"""\
    ---
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {{name: {name}, namespace: {namespace}}}
    spec: {{accessModes: [ReadWriteOnce], storageClassName: {storage_class}}}
    """.rstrip(" ")  # so that chunks join at the same indentation


def test_claims_created_from_a_template_replace_it_and_are_not_counted_twice(tmp_path: Path) -> None:
    """A live cluster (or claims written ahead for the StatefulSet to adopt) has the
    claims `data-pg-<ordinal>`: they are the volumes, with the class they were given,
    and the template is not a volume as well."""
    claims = "".join(_created_claim(name, "managed-csi-premium") for name in ("data-pg-1", "data-pg-0", "data-pg-10"))
    # Not claims of the template: another StatefulSet's (pg-cache), no ordinal, another namespace.
    others = (_created_claim("data-pg-cache-0", "managed-csi-premium") + _created_claim("data-pg-x", "managed-csi")
              + _created_claim("data-pg-2", "managed-csi", namespace="other"))
    # A live cluster also has the StorageClass objects, AKS's built-in ones included.
    live_class = LRS_DEFAULT.replace("name: lrs, annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}",
                                     "name: managed-csi-premium")
    assert live_class != LRS_DEFAULT
    a = _assess(tmp_path, STATEFUL.rstrip(" ") + claims + others + live_class)
    [service] = a.services
    links = {c.component.label: [link.text for link in c.component.links] for c in service.components}
    assert links == {
        "StatefulSet pg": [],
        "PersistentVolumeClaim data-pg-0": ["StatefulSet pg mounts claim data-pg-0 (from claim template data)"],
        "PersistentVolumeClaim data-pg-1": ["StatefulSet pg mounts claim data-pg-1 (from claim template data)"],
        "PersistentVolumeClaim data-pg-10": ["StatefulSet pg mounts claim data-pg-10 (from claim template data)"],
    }
    [link] = service.components[1].component.links
    assert link.path == ("spec", "volumeClaimTemplates", 0, "metadata", "name")
    # The claims' own class decides (the template names none).
    assert _volumes(a)["PersistentVolumeClaim data-pg-0"] == {
        "node": (0, 0), "zone": (math.inf, math.inf), "region": (math.inf, math.inf),
        "corruption": (math.inf, math.inf)}
    # Each claim has the same class: one gap per metric and scope, for the first claim
    # (also the others), and none for the template.
    zone = [f.message for f in a.findings if f.detail["scope"] == "zone" and f.detail["metric"] == "RPO"]
    assert zone == [
        "service shop/pg (high, RPO ≤ 30 min): zone loss → PersistentVolumeClaim data-pg-0 (also PersistentVolumeClaim "
        "data-pg-1, PersistentVolumeClaim data-pg-10) uses storage class managed-csi-premium (Premium_LRS), which is "
        "not zone-redundant, and no Velero schedule backs up namespace shop → RPO unbounded."]
    assert len(a.findings) == 6  # RPO and RTO for zone, region and corruption: no duplicate for the template
    assert all("template" not in f.message for f in a.findings)


def test_a_stateless_statefulset_has_no_volume_and_is_rolled_back(tmp_path: Path) -> None:
    a = _assess(tmp_path, WEB_AND_REDIS)
    [service] = a.services
    assert [c.component.label for c in service.components] == ["StatefulSet redis", "Deployment web"]
    redis = service.components[0].estimates["corruption"]
    assert (redis.rpo, redis.rto, redis.rto_reason.text) == (None, 15, "holds no data: it is rolled back to its "
                                                                        "previous revision")
    assert not any(f.policy_id == "DR-SVC-TIER" for f in a.findings)


def test_a_claim_template_inherits_the_tier_of_the_service_that_uses_it(tmp_path: Path) -> None:
    """The Redis StatefulSet says tier low, but web (high) depends on it: its data is held
    to high, and the label that says otherwise is reported, as for any data store."""
    with_data = WEB_AND_REDIS.replace(
        "        spec: {containers: [{name: redis, image: redis:7}]}\n",
        "        spec: {containers: [{name: redis, image: redis:7}]}\n"
        "      volumeClaimTemplates:\n"
        "        - metadata: {name: data}\n"
        "          spec: {storageClassName: managed-csi-premium, accessModes: [ReadWriteOnce]}\n")
    assert with_data != WEB_AND_REDIS
    a = _assess(tmp_path, with_data)
    [service] = a.services
    [data] = [c for c in service.components if c.component.kind == "volume"]
    assert (data.component.label, data.tier, data.component.resource.tier) == (
        "PersistentVolumeClaim template data of StatefulSet redis", "high", "low")
    assert [link.text for link in data.component.links] == ["StatefulSet redis mounts claim template data"]
    [tier] = [f for f in a.findings if f.policy_id == "DR-SVC-TIER"]
    assert (tier.message, tier.location.property_path) == (
        "PersistentVolumeClaim template data of StatefulSet redis is tagged tier low, but service shop/web (high) "
        "depends on it; it is assessed as high.", "metadata.labels.tierscan.io/tier")
    assert to_dict(a)["services"][0]["components"][2]["claim_template"] == "data"
    assert "claim_template" not in to_dict(a)["services"][0]["components"][1]


def _vault(**security: Any) -> dict[str, Any]:
    return {"type": "Microsoft.RecoveryServices/vaults", "apiVersion": "2024-04-01", "name": "rsv1",
            "location": "westeurope", "sku": {"name": "RS0", "tier": "Standard"},
            "properties": {"securitySettings": security}}


def test_vault_backups_without_soft_delete_are_taken_as_lost(tmp_path: Path) -> None:
    _arm(tmp_path, _vault(softDeleteSettings={"softDeleteState": "Disabled"}))
    vault = _corruption(tmp_path)["Recovery Services vault rsv1"]
    assert (vault.rpo, vault.rto) == (math.inf, math.inf)
    assert vault.rpo_reason is not None
    assert vault.rpo_reason.text == ("has softDeleteState Disabled: ransomware or an operator can delete its backups "
                                     "before the data is restored, so they are taken as lost")
    # Soft delete is on by default (DR-AZ-011 treats an unset state the same way).
    _arm(tmp_path, _vault(immutabilitySettings={"state": "Locked"}))
    vault = _corruption(tmp_path)["Recovery Services vault rsv1"]
    assert (vault.rpo, vault.rto) == (1440, 240)
    assert vault.rto_reason.text == ("restores from daily backups; soft delete on (the default) keeps deleted "
                                     "backups recoverable (immutability Locked)")


def test_a_claim_bound_to_a_volume_made_beforehand_is_not_taken_as_zone_redundant(tmp_path: Path) -> None:
    manifests = """
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: data, namespace: erp, labels: {tierscan.io/tier: high}}
    spec: {storageClassName: "", volumeName: pv-data, accessModes: [ReadWriteOnce]}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: app, namespace: erp, labels: {tierscan.io/tier: high}}
    spec:
      replicas: 1
      selector: {matchLabels: {app: app}}
      template:
        metadata: {labels: {app: app}}
        spec:
          containers: [{name: app, image: x.azurecr.io/app:1}]
          volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
    """
    a = _assess(tmp_path, manifests)
    [service] = a.services
    data = next(c for c in service.components if c.component.label == "PersistentVolumeClaim data")
    zone = data.estimates["zone"]
    assert (zone.rpo, zone.rto) == (math.inf, math.inf)
    assert zone.rpo_reason is not None and zone.rpo_reason.path == ("spec", "storageClassName")
    assert zone.rpo_reason.text.startswith('binds to a volume made beforehand (storageClassName: ""), whose '
                                           "redundancy the scan cannot see")
