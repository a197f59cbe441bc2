"""Recovery-objective assessment on the fixtures and the example platform: the services
found, the achievable RPO/RTO per failure scope, and every gap finding's exact message
and location."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from scanner.config import find_config, load_config
from scanner.recovery.assess import Assessment, assess, fmt_minutes
from scanner.recovery.figures import load_model
from scanner.scan import ScanOptions, scan_paths
from tests.conftest import FIXTURES, ROOT

COMPLIANT = FIXTURES / "recovery" / "compliant"
NON_COMPLIANT = FIXTURES / "recovery" / "non-compliant"
EXAMPLE = ROOT / "examples" / "odoo-on-aks"
STATEFULSETS = FIXTURES / "recovery" / "statefulset"


def run(path: Path) -> Assessment:
    config = load_config(find_config(path))
    result = scan_paths([path], ScanOptions(tiers=config.tiers, root=ROOT))
    assert result.errors == []
    return assess(result.resources, load_model(overrides=config.recovery_figures), config.services)


def scopes(a: Assessment, service: str) -> dict[str, tuple[str, str]]:
    [found] = [s for s in a.services if s.service.name == service]
    return {scope: (fmt_minutes(r.rpo), fmt_minutes(r.rto)) for scope, r in found.scopes.items()}


def findings(a: Assessment) -> list[tuple[Any, ...]]:
    return [(f.policy_id, f.severity.value, f.location.file, f.location.line, f.location.property_path, f.message)
            for f in a.findings]


def test_compliant_platform_meets_critical_targets_in_every_scope() -> None:
    a = run(COMPLIANT)
    [service] = a.services
    assert service.service.name == "erp-prod/odoo"
    assert service.service.tier == "critical"
    assert service.service.hosts == ["erp.contoso.example"]
    assert [c.component.label for c in service.components] == [
        "Deployment odoo-web", "Deployment traefik", "IngressRoute odoo", "PostgreSQL pg-erp-prod",
        "Azure Cache for Redis redis-erp-prod", "storage account erpprodfiles"]
    assert scopes(a, "erp-prod/odoo") == {"node": ("0 min", "2 min"), "zone": ("0 min", "2 min"),
                                          "region": ("15 min", "60 min"), "corruption": ("5 min", "50 min")}
    assert service.compliant
    assert a.findings == []
    # The read replica belongs with its primary: it is not reported as an unused store.
    assert a.unlinked == []


def test_compliant_region_estimates_name_their_mechanism() -> None:
    a = run(COMPLIANT)
    by_label = {c.component.label: c.estimates["region"] for c in a.services[0].components if c.estimates}
    pg = by_label["PostgreSQL pg-erp-prod"]
    assert (pg.rpo, pg.rto) == (5, 15)
    assert pg.rpo_reason is not None
    assert pg.rpo_reason.text == "has read replica pg-erp-prod-dr in northeurope, promoted on region loss"
    web = by_label["Deployment odoo-web"]
    assert web.rto == 45  # the drilled standby recorded in the fixture's .tierscan.yaml
    assert web.rto_reason.text == ("runs on AKS cluster aks-erp-prod in westeurope and recovers in another region "
                                   "as configured in .tierscan.yaml")
    storage = by_label["storage account erpprodfiles"]
    assert (storage.rpo, storage.rto) == (15, 60)


NON_COMPLIANT_FINDINGS = [
    ("DR-SVC-TIER", "medium", "fixtures/recovery/non-compliant/azure.json", 24, "tags.tier",
     "PostgreSQL pg-erp-prod is tagged tier medium, but service erp-prod/odoo (critical) depends on it; it is "
     "assessed as critical."),
    ("DR-SVC-RPO", "critical", "fixtures/recovery/non-compliant/azure.json", 39, "sku.name",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): zone loss → storage account erpprodfiles keeps its data in "
     "one zone (Standard_LRS) and has no copy elsewhere → RPO unbounded."),
    ("DR-SVC-RPO", "critical", "fixtures/recovery/non-compliant/kubernetes.yaml", 56, "parameters.skuName",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): zone loss → PersistentVolumeClaim odoo-filestore uses storage "
     "class files-premium-lrs (Premium_LRS), which is not zone-redundant, and no Velero schedule backs up "
     "namespace erp-prod → RPO unbounded."),
    ("DR-SVC-RTO", "critical", "fixtures/recovery/non-compliant/azure.json", 39, "sku.name",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): zone loss → storage account erpprodfiles keeps its data in "
     "one zone (Standard_LRS) and has no copy elsewhere → RTO unbounded."),
    ("DR-SVC-RTO", "critical", "fixtures/recovery/non-compliant/kubernetes.yaml", 56, "parameters.skuName",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): zone loss → PersistentVolumeClaim odoo-filestore uses storage "
     "class files-premium-lrs (Premium_LRS), which is not zone-redundant, and no Velero schedule backs up "
     "namespace erp-prod → RTO unbounded."),
    ("DR-SVC-RTO", "high", "fixtures/recovery/non-compliant/azure.json", 28, "properties.highAvailability.mode",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): zone loss → PostgreSQL pg-erp-prod has high availability "
     "Disabled (not ZoneRedundant): it is recovered by a point-in-time restore into another zone → RTO 12 h."),
    ("DR-SVC-RTO", "medium", "fixtures/recovery/non-compliant/azure.json", 15,
     "properties.agentPoolProfiles[1].availabilityZones",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): zone loss → Deployment odoo runs on AKS cluster aks-erp-prod, "
     "whose node pool odoo sets no availability zones: a zone outage can stop every node → RTO 2 h (assumption: "
     "k8s_cluster_rebuild_minutes)."),
    ("DR-SVC-RPO", "critical", "fixtures/recovery/non-compliant/azure.json", 29, "properties.backup.geoRedundantBackup",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): region loss → PostgreSQL pg-erp-prod has geo-redundant backup "
     "disabled and no read replica in another region → RPO unbounded."),
    ("DR-SVC-RPO", "critical", "fixtures/recovery/non-compliant/azure.json", 39, "sku.name",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): region loss → storage account erpprodfiles is not "
     "geo-redundant (Standard_LRS) → RPO unbounded."),
    ("DR-SVC-RPO", "critical", "fixtures/recovery/non-compliant/kubernetes.yaml", 56, "parameters.skuName",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): region loss → PersistentVolumeClaim odoo-filestore uses "
     "storage class files-premium-lrs (Premium_LRS), which is not replicated to another region, and no Velero "
     "schedule backs up namespace erp-prod → RPO unbounded."),
    ("DR-SVC-RTO", "critical", "fixtures/recovery/non-compliant/azure.json", 29, "properties.backup.geoRedundantBackup",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): region loss → PostgreSQL pg-erp-prod has geo-redundant backup "
     "disabled and no read replica in another region → RTO unbounded."),
    ("DR-SVC-RTO", "critical", "fixtures/recovery/non-compliant/azure.json", 39, "sku.name",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): region loss → storage account erpprodfiles is not "
     "geo-redundant (Standard_LRS) → RTO unbounded."),
    ("DR-SVC-RTO", "critical", "fixtures/recovery/non-compliant/kubernetes.yaml", 56, "parameters.skuName",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): region loss → PersistentVolumeClaim odoo-filestore uses "
     "storage class files-premium-lrs (Premium_LRS), which is not replicated to another region, and no Velero "
     "schedule backs up namespace erp-prod → RTO unbounded."),
    ("DR-SVC-RTO", "medium", "fixtures/recovery/non-compliant/azure.json", 9, "location",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): region loss → Deployment odoo runs on AKS cluster aks-erp-prod "
     "in westeurope and has no standby cluster in another region: the cluster is rebuilt and the workloads "
     "redeployed → RTO 2 h (assumption: k8s_cluster_rebuild_minutes)."),
    # Data corruption or deletion: the account declares no blob service (versioning and soft
    # delete are off by default), the 7-day backups end before the 14-day detection window,
    # and no schedule backs up the claim.
    ("DR-SVC-RPO", "critical", "fixtures/recovery/non-compliant/azure.json", 35, "name",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): data corruption or deletion → storage account erpprodfiles "
     "declares no blobServices/default: without blob versioning or soft delete (both off by default) an overwritten "
     "or deleted file is lost → RPO unbounded."),
    ("DR-SVC-RPO", "critical", "fixtures/recovery/non-compliant/azure.json", 29,
     "properties.backup.backupRetentionDays",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): data corruption or deletion → PostgreSQL pg-erp-prod has "
     "backups reaching back 7 days (backupRetentionDays 7), less than the 14 days it can take to notice a corruption "
     "→ RPO unbounded (assumption: corruption_detection_minutes)."),
    ("DR-SVC-RPO", "critical", "fixtures/recovery/non-compliant/kubernetes.yaml", 56, "parameters.skuName",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): data corruption or deletion → PersistentVolumeClaim "
     "odoo-filestore uses storage class files-premium-lrs (Premium_LRS); only a backup helps, and no Velero schedule "
     "backs up namespace erp-prod → RPO unbounded."),
    ("DR-SVC-RTO", "critical", "fixtures/recovery/non-compliant/azure.json", 35, "name",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): data corruption or deletion → storage account erpprodfiles "
     "declares no blobServices/default: without blob versioning or soft delete (both off by default) an overwritten "
     "or deleted file is lost → RTO unbounded."),
    ("DR-SVC-RTO", "critical", "fixtures/recovery/non-compliant/azure.json", 29,
     "properties.backup.backupRetentionDays",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): data corruption or deletion → PostgreSQL pg-erp-prod has "
     "backups reaching back 7 days (backupRetentionDays 7), less than the 14 days it can take to notice a corruption "
     "→ RTO unbounded (assumption: corruption_detection_minutes)."),
    ("DR-SVC-RTO", "critical", "fixtures/recovery/non-compliant/kubernetes.yaml", 56, "parameters.skuName",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): data corruption or deletion → PersistentVolumeClaim "
     "odoo-filestore uses storage class files-premium-lrs (Premium_LRS); only a backup helps, and no Velero schedule "
     "backs up namespace erp-prod → RTO unbounded."),
]


def test_non_compliant_platform_gaps_with_evidence_and_location() -> None:
    a = run(NON_COMPLIANT)
    assert findings(a) == NON_COMPLIANT_FINDINGS
    assert scopes(a, "erp-prod/odoo") == {"node": ("0 min", "30 min"), "zone": ("unbounded", "unbounded"),
                                          "region": ("unbounded", "unbounded"),
                                          "corruption": ("unbounded", "unbounded")}


def test_non_compliant_links_inferred_and_declared() -> None:
    a = run(NON_COMPLIANT)
    [service] = a.services
    links = {c.component.label: [link.text for link in c.component.links] for c in service.components}
    assert links == {
        "Deployment odoo": [],
        "PostgreSQL pg-erp-prod": ["Deployment odoo env DB_HOST = pg-erp-prod.postgres.database.azure.com"],
        "Azure Cache for Redis redis-erp-prod": [
            "Deployment odoo env REDIS_HOST = redis-erp-prod.redis.cache.windows.net"],
        "storage account erpprodfiles": [
            "ConfigMap odoo-storage data ATTACHMENTS_URL = erpprodfiles.blob.core.windows.net"],
        "Recovery Services vault rsv-erp-prod": ["declared in .tierscan.yaml services"],
        "PersistentVolumeClaim odoo-filestore": ["Deployment odoo mounts claim odoo-filestore"],
    }
    tiers = {c.component.label: (c.tier, c.component.resource.tier) for c in service.components}
    assert tiers["PostgreSQL pg-erp-prod"] == ("critical", "medium")
    # The vault holds backup copies of items the configuration does not show: reported, not counted.
    vault = next(c for c in service.components if c.component.kind == "vault")
    assert math.isinf(vault.estimates["region"].rpo or 0)
    assert all(f.resource.name != "rsv-erp-prod" for f in a.findings)


EXAMPLE_FINDINGS = [
    ("DR-SVC-RPO", "high", "examples/odoo-on-aks/kubernetes/backup.yaml", 9, "spec.schedule",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): zone loss → PersistentVolumeClaim odoo-filestore uses the AKS "
     "storage class azurefile-csi-premium (Premium_LRS), which is not zone-redundant; it is restored from Velero "
     "schedule erp-prod-every-6h, which runs every 6 h → RPO 6 h."),
    ("DR-SVC-RTO", "high", "examples/odoo-on-aks/azure/platform.json", 75, "properties.highAvailability.mode",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): zone loss → PostgreSQL pg-erp-prod has high availability "
     "SameZone (not ZoneRedundant): it is recovered by a point-in-time restore into another zone → RTO 12 h."),
    ("DR-SVC-RPO", "critical", "examples/odoo-on-aks/azure/platform.json", 78, "properties.backup.geoRedundantBackup",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): region loss → PostgreSQL pg-erp-prod has geo-redundant backup "
     "disabled and no read replica in another region → RPO unbounded."),
    ("DR-SVC-RPO", "high", "examples/odoo-on-aks/kubernetes/backup.yaml", 9, "spec.schedule",
     "service erp-prod/odoo (critical, RPO ≤ 15 min): region loss → PersistentVolumeClaim odoo-filestore uses the AKS "
     "storage class azurefile-csi-premium (Premium_LRS), which is not replicated to another region; it is restored "
     "from Velero schedule erp-prod-every-6h, which runs every 6 h → RPO 6 h."),
    ("DR-SVC-RTO", "critical", "examples/odoo-on-aks/azure/platform.json", 78, "properties.backup.geoRedundantBackup",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): region loss → PostgreSQL pg-erp-prod has geo-redundant backup "
     "disabled and no read replica in another region → RTO unbounded."),
    ("DR-SVC-RTO", "medium", "examples/odoo-on-aks/azure/platform.json", 27, "location",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): region loss → Deployment odoo-cron (also Deployment odoo-web, "
     "Deployment traefik) runs on AKS cluster aks-erp-prod in westeurope and has no standby cluster in another "
     "region: the cluster is rebuilt and the workloads redeployed → RTO 2 h (assumption: "
     "k8s_cluster_rebuild_minutes)."),
    *(("DR-SVC-" + metric, "critical", "examples/odoo-on-aks/kubernetes/backup.yaml", 12, "spec.template.ttl",
       f"service erp-prod/odoo (critical, {metric} ≤ {target}): data corruption or deletion → PersistentVolumeClaim "
       "odoo-filestore uses the AKS storage class azurefile-csi-premium (Premium_LRS); only a backup helps, and Velero "
       "schedule erp-prod-every-6h keeps backups for 7 days (ttl 168h0m0s), less than the 14 days it can take to "
       f"notice a corruption → {metric} unbounded (assumption: corruption_detection_minutes).")
      for metric, target in (("RPO", "15 min"), ("RTO", "60 min"))),
    ("DR-SVC-RTO", "high", "examples/odoo-on-aks/azure/platform.json", 77, "properties.backup.backupRetentionDays",
     "service erp-prod/odoo (critical, RTO ≤ 60 min): data corruption or deletion → PostgreSQL pg-erp-prod has its "
     "SameZone HA standby, which replicates the corruption, so only its backups help: it is restored to a point in "
     "time before the corruption, within 14 days of backups (backupRetentionDays 14; a corruption can take 14 days to "
     "notice) → RTO 12 h."),
    ("DR-SVC-RTO", "medium", "examples/odoo-on-aks/azure/platform.json", 27, "location",
     "service erp-prod/redis (critical, RTO ≤ 60 min): region loss → StatefulSet redis runs on AKS cluster "
     "aks-erp-prod in westeurope and has no standby cluster in another region: the cluster is rebuilt and the "
     "workloads redeployed → RTO 2 h (assumption: k8s_cluster_rebuild_minutes)."),
]


def test_example_platform_explains_which_settings_miss_the_targets() -> None:
    a = run(EXAMPLE)
    assert [s.service.name for s in a.services] == ["erp-prod/odoo", "erp-prod/redis"]
    assert scopes(a, "erp-prod/odoo") == {"node": ("0 min", "10 min"), "zone": ("6 h", "12 h"),
                                          "region": ("unbounded", "unbounded"),
                                          "corruption": ("unbounded", "unbounded")}
    assert findings(a) == EXAMPLE_FINDINGS
    # Odoo finds its database through odoo.conf as well as through the env of both deployments.
    [odoo] = [s for s in a.services if s.service.name == "erp-prod/odoo"]
    pg = next(c for c in odoo.components if c.component.kind == "postgresql")
    assert [link.text for link in pg.component.links] == [
        "Deployment odoo-cron env HOST = pg-erp-prod.postgres.database.azure.com",
        "ConfigMap odoo-config odoo.conf db_host = pg-erp-prod.postgres.database.azure.com",
        "Deployment odoo-web env HOST = pg-erp-prod.postgres.database.azure.com",
    ]
    assert [c.component.label for c in a.unlinked] == [  # sorted by type, then name
        "Azure Cache for Redis redis-erp-prod", "Recovery Services vault rsv-erp-prod", "storage account erpprodfiles"]


def test_example_after_a_corruption_only_backups_count_and_the_filestore_backups_expire_too_soon() -> None:
    """The example's new scope: data corruption or deletion is unbounded for erp-prod/odoo.

    - PostgreSQL pg-erp-prod: its SameZone HA standby applies the bad writes too, so only
      a point-in-time restore helps. backupRetentionDays resolves to 14 (the template
      parameter's default), which covers the 14-day detection window: RPO 5 min (Learn:
      "RPO < 5 min"), but RTO 12 h (the documented upper bound for a restore), over the
      critical hour.
    - PersistentVolumeClaim odoo-filestore: only the Velero schedule can bring files back,
      and it keeps backups for 168h (7 days) - shorter than the 14 days a corruption can
      go unnoticed, so there is no clean backup left by then: RPO and RTO unbounded, at
      spec.template.ttl.
    - The Deployments hold no data: a failed release is rolled back (10 + 5 min).
    - erp-prod/redis is a StatefulSet without volume claims: a rollback, 15 min, which
      meets the tier.
    """
    a = run(EXAMPLE)
    [odoo, redis] = a.services
    assert (fmt_minutes(odoo.scopes["corruption"].rpo), fmt_minutes(odoo.scopes["corruption"].rto)) == (
        "unbounded", "unbounded")
    by_label = {c.component.label: c.estimates["corruption"] for c in odoo.components if c.estimates}
    pg = by_label["PostgreSQL pg-erp-prod"]
    assert (pg.rpo, pg.rto) == (5, 720)
    assert pg.rpo_reason is not None and pg.rpo_reason.path == ("properties", "backup", "backupRetentionDays")
    filestore = by_label["PersistentVolumeClaim odoo-filestore"]
    assert (filestore.rpo, filestore.rto) == (math.inf, math.inf)
    web = by_label["Deployment odoo-web"]
    assert (web.rpo, web.rto, web.rto_reason.text) == (
        None, 15, "holds no data, and its 3 replicas all run a failed release: it is rolled back to its previous "
                  "revision")
    assert (redis.scopes["corruption"].rpo, redis.scopes["corruption"].rto, redis.scopes["corruption"].compliant) == (
        None, 15, True)
    # The unlinked filestore account keeps versions and 14 days of deleted containers.
    [account] = [c for c in a.unlinked if c.component.kind == "storage"]
    storage = account.estimates["corruption"]
    assert (storage.rpo, storage.rto) == (0, 120)
    assert storage.rto_reason.text == (
        "keeps previous versions of overwritten and deleted blobs (isVersioningEnabled) and deleted containers for "
        "14 days (containerDeleteRetentionPolicy); its Standard_ZRS replication copies every overwrite and deletion "
        "and does not help")


STS_FILE = "fixtures/recovery/statefulset/kubernetes.yaml"
BOTH = (("RPO", "15 min"), ("RTO", "60 min"))
STATEFULSET_FINDINGS = [
    *((f"DR-SVC-{metric}", "critical", STS_FILE, 54, "spec.volumeClaimTemplates[0].spec.storageClassName",
       f"service stores-a/minio (critical, {metric} ≤ {target}): zone loss → PersistentVolumeClaim template data of "
       "StatefulSet minio uses the AKS storage class managed-csi-premium (Premium_LRS), which is not zone-redundant, "
       f"and no Velero schedule backs up namespace stores-a → {metric} unbounded.") for metric, target in BOTH),
    *((f"DR-SVC-{metric}", "critical", STS_FILE, 54, "spec.volumeClaimTemplates[0].spec.storageClassName",
       f"service stores-a/minio (critical, {metric} ≤ {target}): region loss → PersistentVolumeClaim template data of "
       "StatefulSet minio uses the AKS storage class managed-csi-premium (Premium_LRS), which is not replicated to "
       f"another region, and no Velero schedule backs up namespace stores-a → {metric} unbounded.")
      for metric, target in BOTH),
    *((f"DR-SVC-{metric}", "critical", STS_FILE, 54, "spec.volumeClaimTemplates[0].spec.storageClassName",
       f"service stores-a/minio (critical, {metric} ≤ {target}): data corruption or deletion → PersistentVolumeClaim "
       "template data of StatefulSet minio uses the AKS storage class managed-csi-premium (Premium_LRS); only a backup "
       f"helps, and no Velero schedule backs up namespace stores-a → {metric} unbounded.") for metric, target in BOTH),
    *((f"DR-SVC-{metric}", "critical", STS_FILE, 12, "parameters.skuName",
       f"service stores-a/redis (critical, {metric} ≤ {target}): region loss → PersistentVolumeClaim template data of "
       "StatefulSet redis uses storage class managed-csi-premium-zrs (Premium_ZRS), which is not replicated to "
       f"another region, and no Velero schedule backs up namespace stores-a → {metric} unbounded.")
      for metric, target in BOTH),
    *((f"DR-SVC-{metric}", "critical", STS_FILE, 12, "parameters.skuName",
       f"service stores-a/redis (critical, {metric} ≤ {target}): data corruption or deletion → PersistentVolumeClaim "
       "template data of StatefulSet redis uses storage class managed-csi-premium-zrs (Premium_ZRS), which is "
       "zone-redundant but replicates corruption and deletion alike; only a backup helps, and no Velero schedule "
       f"backs up namespace stores-a → {metric} unbounded.") for metric, target in BOTH),
]


def test_statefulset_claim_templates_are_volumes_on_their_class_and_backups() -> None:
    """Four single-replica StatefulSets, critical tier, region loss covered by a drilled
    standby cluster (45 min), so that the claim templates decide:

    - stores-a (no backup): minio's template uses AKS's managed-csi-premium (Premium_LRS),
      a disk in one zone that nothing copies: zone, region and corruption unbounded.
      redis's uses a Premium_ZRS class: a zone loss costs only the pod restart (5 + 5
      min, the disk attaches in another zone), but nothing brings it back after a region
      loss or a corruption.
    - stores-b (Velero every 15 min, 30 days kept): minio's LRS disk is restored after a
      zone or region loss or a corruption: RPO 15 min (the interval), RTO 60 min (the
      restore assumption), both exactly the critical targets; redis's ZRS disk needs the
      backup only for region loss and corruption.
    """
    a = run(STATEFULSETS)
    assert [s.service.name for s in a.services] == ["stores-a/minio", "stores-a/redis", "stores-b/minio",
                                                    "stores-b/redis"]
    assert [c.component.label for c in a.services[0].components] == [
        "StatefulSet minio", "PersistentVolumeClaim template data of StatefulSet minio"]
    assert [link.text for link in a.services[0].components[1].component.links] == [
        "StatefulSet minio mounts claim template data"]
    assert scopes(a, "stores-a/minio") == {"node": ("0 min", "10 min"), "zone": ("unbounded", "unbounded"),
                                           "region": ("unbounded", "unbounded"),
                                           "corruption": ("unbounded", "unbounded")}
    assert scopes(a, "stores-a/redis") == {"node": ("0 min", "10 min"), "zone": ("0 min", "10 min"),
                                           "region": ("unbounded", "unbounded"),
                                           "corruption": ("unbounded", "unbounded")}
    assert scopes(a, "stores-b/minio") == {"node": ("0 min", "10 min"), "zone": ("15 min", "60 min"),
                                           "region": ("15 min", "60 min"), "corruption": ("15 min", "60 min")}
    assert scopes(a, "stores-b/redis") == {"node": ("0 min", "10 min"), "zone": ("0 min", "10 min"),
                                           "region": ("15 min", "60 min"), "corruption": ("15 min", "60 min")}
    # The LRS gaps point at the template's storageClassName (line 54), the ZRS ones at the
    # class's SKU (line 12); stores-b has none.
    assert findings(a) == STATEFULSET_FINDINGS
    zone = next(c for c in a.services[3].components if c.component.kind == "volume").estimates["zone"]
    assert zone.rpo_reason is not None and zone.rpo_reason.text == (
        "uses storage class managed-csi-premium-zrs (Premium_ZRS), which is zone-redundant")
    # The StatefulSets themselves hold no data of their own: a rollback after a failed release.
    sts = a.services[2].components[0].estimates["corruption"]
    assert (sts.rpo, sts.rto) == (None, 15)


@pytest.mark.parametrize(("value", "shown"), [(0, "0 min"), (0.25, "15 s"), (15, "15 min"), (90, "90 min"),
                                              (720, "12 h"), (1440, "24 h"), (20160, "14 days"),
                                              (math.inf, "unbounded"), (None, "n/a")])
def test_minutes_are_shown_in_readable_units(value: float | None, shown: str) -> None:
    assert fmt_minutes(value) == shown
