"""Achievable RPO and RTO per component and failure scope, from its configuration and
the figures of the recovery model.

Each estimate carries the reason it is what it is: the resource and property that
decide it, a sentence that says what was found, and the model figures it used. Unknown
values (missing properties the API defaults to off, unresolved ARM expressions) are
taken as the unprotected case: a configuration is never assumed to be better than it
says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scanner.engine.cron import (
    VELERO_DEFAULT_TTL_HOURS,
    CronError,
    is_velero_schedule,
    max_interval_minutes,
    parse_go_duration,
)
from scanner.engine.relations import label_selector_matches
from scanner.engine.views import pod_template, replicas
from scanner.model import JsonPath, Platform, Resource
from scanner.recovery.figures import RecoveryModel
from scanner.recovery.platform import PG_TYPE, Component, PlatformModel

UNBOUNDED = math.inf
SCOPES = ("node", "zone", "region", "corruption")
SCOPE_LABEL = {"node": "pod/node loss", "zone": "zone loss", "region": "region loss",
               "corruption": "data corruption or deletion"}
ZONE_KEY = "topology.kubernetes.io/zone"
# Azure Database for PostgreSQL flexible server keeps backups 7 days unless told
# otherwise, and accepts nothing shorter (concepts-backup-restore: "between 7 (default)
# and 35 days"), so 7 is both the default and the least an unknown value can mean.
PG_DEFAULT_RETENTION_DAYS = 7
BLOB_SERVICE_TYPE = "microsoft.storage/storageaccounts/blobservices"
BACKUP_CONFIG_TYPE = "microsoft.recoveryservices/vaults/backupconfig"
# A claim that names no storage class is provisioned from the class carrying this
# annotation (kubernetes.io, storage-classes#default-storageclass), as the
# `storage-classes` relation of HA-K8S-010 reads it.
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


@dataclass(frozen=True)
class Reason:
    resource: Resource
    path: JsonPath
    text: str  # completes "<component label> ...", e.g. "has geo-redundant backup disabled"
    figures: tuple[str, ...] = ()


@dataclass(frozen=True)
class Estimate:
    rpo: float | None  # None: the component holds no data of its own
    rto: float
    rpo_reason: Reason | None
    rto_reason: Reason


def _get(body: Any, *path: str | int) -> Any:
    for step in path:
        if isinstance(step, str) and isinstance(body, dict):
            body = body.get(step)
        elif isinstance(step, int) and isinstance(body, list) and 0 <= step < len(body):
            body = body[step]
        else:
            return None
    return body


def _value(resource: Resource, *path: str) -> Any:
    """A property's value, or None when it is missing or an unresolved expression."""
    return None if tuple(path) in resource.unresolved else _get(resource.body, *path)


def _shown(resource: Resource, *path: str) -> str:
    if tuple(path) in resource.unresolved:
        return f"the unresolved expression {resource.unresolved[tuple(path)]}"
    value = _get(resource.body, *path)
    if isinstance(value, bool):
        return "true" if value else "false"  # as the template spells it
    return "not set" if value is None else str(value)


def _every(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes >= 120 and minutes % 60 == 0 else f"{minutes} min"


def _span(minutes: float) -> str:
    """A retention or a detection window, in the unit people set it in (days)."""
    if minutes >= 1440 and minutes % 1440 == 0:
        days = int(minutes // 1440)
        return f"{days} day{'s' if days != 1 else ''}"
    return _every(int(minutes)) if minutes == int(minutes) else f"{minutes:g} min"


def _days(value: Any) -> int | None:
    """A retention in whole days, or None when it is not a positive integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class Estimator:
    def __init__(self, model: RecoveryModel, platform: PlatformModel) -> None:
        self.model = model
        self.platform = platform
        self.m = model.minutes
        resources = platform.resources
        self._velero = [r for r in resources if r.platform is Platform.KUBERNETES and is_velero_schedule(r.body)]
        self._pdbs = [r for r in resources if r.type == "PodDisruptionBudget"]
        self._storage_classes = {r.name: r for r in resources if r.type == "StorageClass"}
        self._default_classes = [r for r in self._storage_classes.values()
                                 if r.annotations.get(DEFAULT_CLASS) == "true"]
        self._servers = [r for r in resources if r.type.lower() == PG_TYPE]

    def estimate(self, component: Component) -> dict[str, Estimate]:
        handler = {"workload": self._workload, "postgresql": self._postgresql, "storage": self._storage,
                   "redis": self._redis, "vault": self._vault}.get(component.kind)
        if component.kind == "volume":
            return self._volume(component)
        return handler(component.resource) if handler else {}

    # --- Kubernetes workloads -------------------------------------------------------------
    def _cluster_zones(self) -> tuple[int, Reason] | None:
        """The fewest zones any node pool of the (single) AKS cluster spans."""
        if len(self.platform.clusters) != 1:
            return None
        cluster = self.platform.clusters[0]
        pools = _get(cluster.body, "properties", "agentPoolProfiles")
        worst: tuple[int, Reason] | None = None
        for i, pool in enumerate(pools if isinstance(pools, list) else []):
            zones = pool.get("availabilityZones") if isinstance(pool, dict) else None
            count = len(zones) if isinstance(zones, list) else 0
            name = pool.get("name", i) if isinstance(pool, dict) else i
            reason = Reason(cluster, ("properties", "agentPoolProfiles", i, "availabilityZones"),
                            f"runs on AKS cluster {cluster.name}, whose node pool {name} "
                            + (f"spans {count} availability zone{'s' if count != 1 else ''}" if count
                               else "sets no availability zones"))
            if worst is None or count < worst[0]:
                worst = (count, reason)
        return worst

    def _has_pdb(self, workload: Resource) -> Resource | None:
        found = pod_template(workload)
        labels = found[0].get("labels") if found else None
        for pdb in self._pdbs:
            if pdb.namespace == workload.namespace and isinstance(labels, dict) and \
                    label_selector_matches(_get(pdb.body, "spec", "selector"), labels):
                return pdb
        return None

    def _zone_spread(self, workload: Resource) -> tuple[bool, JsonPath, str]:
        found = pod_template(workload)
        if found is None:
            return False, ("metadata", "name"), "has no pod template"
        _meta, spec, base = found
        constraints = spec.get("topologySpreadConstraints")
        for i, item in enumerate(constraints if isinstance(constraints, list) else []):
            if isinstance(item, dict) and item.get("topologyKey") == ZONE_KEY:
                path = (*base, "spec", "topologySpreadConstraints", i, "whenUnsatisfiable")
                if item.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule":
                    return True, path, "spreads its pods across zones (DoNotSchedule)"
                return False, path, ("spreads its pods across zones only as a preference "
                                     "(whenUnsatisfiable: ScheduleAnyway), so they may share a zone")
        anti = _get(spec, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
        for item in anti if isinstance(anti, list) else []:
            if isinstance(item, dict) and item.get("topologyKey") == ZONE_KEY:
                return True, (*base, "spec", "affinity"), "requires its pods in different zones (pod anti-affinity)"
        return False, (*base, "spec"), "sets no zone topology spread, so its pods may share a zone"

    def _workload(self, w: Resource) -> dict[str, Estimate]:
        count = replicas(w)
        restart = self.m("k8s_node_eviction_minutes") + self.m("k8s_pod_start_minutes")
        restart_figures = ("k8s_node_eviction_minutes", "k8s_pod_start_minutes")
        count_path: JsonPath = ("spec", "replicas") if "replicas" in (w.body.get("spec") or {}) else ("spec",)
        out: dict[str, Estimate] = {}
        # Pod or node loss (crash, drain, upgrade).
        if count is None or count >= 2:
            pdb = self._has_pdb(w) if count is not None else None
            if count is None:
                node = Reason(w, ("kind",), "runs a pod on every node")
                out["node"] = Estimate(None, 0, None, node)
            elif pdb is not None:
                out["node"] = Estimate(None, 0, None, Reason(pdb, ("spec",), f"runs {count} replicas and "
                                                             f"PodDisruptionBudget {pdb.name} keeps some serving"))
            else:
                out["node"] = Estimate(None, self.m("k8s_pod_start_minutes"), None, Reason(
                    w, count_path, f"runs {count} replicas but no PodDisruptionBudget limits evictions, so a node "
                                   f"drain can stop them all until replacements start",
                    ("k8s_pod_start_minutes",)))
        else:
            out["node"] = Estimate(None, restart, None, Reason(
                w, count_path, f"runs {count} replica: after a node failure its pod is evicted "
                               f"and restarted elsewhere", restart_figures))
        # Zone loss.
        zones = self._cluster_zones()
        spread, spread_path, spread_text = self._zone_spread(w)
        rebuild = self.m("k8s_cluster_rebuild_minutes")
        if zones is not None and zones[0] < 2:
            out["zone"] = Estimate(None, rebuild, None, Reason(
                zones[1].resource, zones[1].path, zones[1].text + ": a zone outage can stop every node",
                ("k8s_cluster_rebuild_minutes",)))
        elif count is None or (count >= 2 and spread):
            text = "runs a pod on every node" if count is None else f"runs {count} replicas and {spread_text}"
            out["zone"] = Estimate(None, 0, None, Reason(w, spread_path if count else ("kind",), text))
        elif count >= 2:
            out["zone"] = Estimate(None, restart, None, Reason(
                w, spread_path, f"runs {count} replicas but {spread_text}", restart_figures))
        else:
            out["zone"] = Estimate(None, restart, None, Reason(
                w, count_path, f"runs {count} replica: pods in the lost zone are evicted and restarted "
                               f"in another zone", restart_figures))
        # Region loss: nothing in a cluster's configuration declares a standby cluster; a
        # drilled standby is recorded by overriding the rebuild figure in the config.
        cluster = self.platform.clusters[0] if len(self.platform.clusters) == 1 else None
        on = f"runs on AKS cluster {cluster.name} in {cluster.body.get('location')}" if cluster else "runs"
        if self.model.figures["k8s_cluster_rebuild_minutes"].overridden:
            how = "recovers in another region as configured in .tierscan.yaml"
        else:
            how = "has no standby cluster in another region: the cluster is rebuilt and the workloads redeployed"
        region = Reason(cluster or w, ("location",) if cluster else ("metadata", "name"),
                        f"{on} and {how}" if cluster else how, ("k8s_cluster_rebuild_minutes",))
        out["region"] = Estimate(None, rebuild, None, region)
        out["corruption"] = self._workload_corruption(w, count)
        return out

    def _workload_corruption(self, w: Resource, count: int | None) -> Estimate:
        """A failed release or corrupted data: replicas run the same release and share or
        replicate the same data, so they never help; a rollback or a backup does."""
        copies = ("its pods on every node" if count is None else
                  f"its {count} replicas" if count >= 2 else "")
        # A StatefulSet's claim templates (or the claims made from them) are volume
        # components of the service, whose own estimate asks for a backup: counting them
        # here as well would report the same data twice. What is left is the release.
        claims = _get(w.body, "spec", "volumeClaimTemplates") if w.type == "StatefulSet" else None
        if isinstance(claims, list) and claims:
            names = ", ".join(str(_get(c, "metadata", "name")) for c in claims)
            data = (f"keeps its data in volume claim template{'s' if len(claims) != 1 else ''} {names}, assessed "
                    f"as {'a volume' if len(claims) == 1 else 'volumes'}")
        else:
            data = "holds no data"
        limit_path = ("spec", "revisionHistoryLimit")
        limit = _value(w, *limit_path)
        rto = self.m("k8s_rollback_minutes") + self.m("k8s_pod_start_minutes")
        figures = ("k8s_rollback_minutes", "k8s_pod_start_minutes")
        ran = f"{data}, and {copies} all run a failed release" if copies else data
        if limit == 0:
            # No old ReplicaSet (or ControllerRevision) is kept, so `rollout undo` has nothing
            # to go back to; the previous version comes from source control instead.
            text = (f"{ran}; it keeps no old revisions (revisionHistoryLimit 0), so the previous "
                    f"release is redeployed from source")
            return Estimate(None, rto, None, Reason(w, limit_path, text, figures))
        text = f"{ran}: it is rolled back to its previous revision"
        return Estimate(None, rto, None, Reason(w, limit_path if limit is not None else ("kind",), text, figures))

    # --- PostgreSQL flexible server ----------------------------------------------------------
    def _replicas_elsewhere(self, server: Resource) -> list[Resource]:
        location = _value(server, "location")
        out = []
        for other in self._servers:
            source = _value(other, "properties", "sourceServerResourceId")
            other_location = _value(other, "location")
            if other is server or not isinstance(source, str):
                continue
            named = source.rstrip("/").rsplit("/", 1)[-1].lower() == server.name.lower()
            if named and isinstance(location, str) and isinstance(other_location, str) and \
                    other_location.replace(" ", "").lower() != location.replace(" ", "").lower():
                out.append(other)
        return out

    def _postgresql(self, s: Resource) -> dict[str, Estimate]:
        ha_path = ("properties", "highAvailability", "mode")
        mode = _value(s, *ha_path)
        ha = mode in ("SameZone", "ZoneRedundant")
        failover = self.m("pg_ha_failover_minutes")
        out: dict[str, Estimate] = {}
        if ha:
            reason = Reason(s, ha_path, f"fails over to its {mode} HA standby", ("pg_ha_failover_minutes",))
            out["node"] = Estimate(0, failover, reason, reason)
        else:
            reason = Reason(s, ha_path, f"has high availability {_shown(s, *ha_path)}: the server is restarted "
                                        f"on another node", ("pg_restart_minutes",))
            out["node"] = Estimate(0, self.m("pg_restart_minutes"), reason, reason)
        if mode == "ZoneRedundant":
            reason = Reason(s, ha_path, "fails over to its standby in another zone", ("pg_ha_failover_minutes",))
            out["zone"] = Estimate(0, failover, reason, reason)
        else:
            rpo = Reason(s, ha_path, f"has high availability {_shown(s, *ha_path)} (not ZoneRedundant): a "
                                     f"point-in-time restore into another zone loses recent transactions",
                         ("pg_pitr_rpo_minutes",))
            rto = Reason(s, ha_path, f"has high availability {_shown(s, *ha_path)} (not ZoneRedundant): it is "
                                     f"recovered by a point-in-time restore into another zone", ("pg_restore_minutes",))
            out["zone"] = Estimate(self.m("pg_pitr_rpo_minutes"), self.m("pg_restore_minutes"), rpo, rto)
        geo_path = ("properties", "backup", "geoRedundantBackup")
        replicas_ = self._replicas_elsewhere(s)
        if replicas_:
            replica = replicas_[0]
            rpo = Reason(replica, ("properties", "sourceServerResourceId"),
                         f"has read replica {replica.name} in {replica.body.get('location')}, promoted on region loss",
                         ("pg_replica_rpo_minutes",))
            rto = Reason(rpo.resource, rpo.path, rpo.text, ("pg_replica_promote_minutes",))
            out["region"] = Estimate(self.m("pg_replica_rpo_minutes"), self.m("pg_replica_promote_minutes"), rpo, rto)
        elif _value(s, *geo_path) == "Enabled":
            rpo = Reason(s, geo_path, "has geo-redundant backup: it is geo-restored in the paired region",
                         ("pg_geo_restore_rpo_minutes",))
            rto = Reason(s, geo_path, rpo.text, ("pg_geo_restore_minutes",))
            out["region"] = Estimate(self.m("pg_geo_restore_rpo_minutes"), self.m("pg_geo_restore_minutes"), rpo, rto)
        else:
            state = "disabled" if _value(s, *geo_path) == "Disabled" else _shown(s, *geo_path)
            reason = Reason(s, geo_path, f"has geo-redundant backup {state} and no read replica in another region")
            out["region"] = Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        out["corruption"] = self._postgresql_corruption(s, mode if ha else None, replicas_)
        return out

    def _postgresql_corruption(self, s: Resource, ha_mode: str | None, replicas_: list[Resource]) -> Estimate:
        """A bad integration or a deletion: the HA standby and read replicas apply the same
        writes, so only a point-in-time restore to before it helps, and only while the
        backups still reach back to then."""
        copies = [f"its {ha_mode} HA standby"] if ha_mode else []
        copies += [f"read replica {r.name}" for r in replicas_]
        lead = (f"has {' and '.join(copies)}, which replicate{'s' if len(copies) == 1 else ''} the corruption, "
                f"so only its backups help: " if copies else "")
        path = ("properties", "backup", "backupRetentionDays")
        raw = _value(s, *path)
        days = _days(raw)
        minimum = PG_DEFAULT_RETENTION_DAYS
        if days is not None:
            kept = f"backupRetentionDays {days}"
        elif raw is None and path not in s.unresolved:
            days, kept = minimum, f"backupRetentionDays not set: the {minimum}-day default"
        else:  # unresolved or malformed: the least the API accepts
            days, kept = minimum, f"backupRetentionDays {_shown(s, *path)}, taken as the {minimum}-day minimum"
        window = self.m("corruption_detection_minutes")
        if days * 1440 < window:
            reaching = "they reach" if lead else "has backups reaching"
            reason = Reason(s, path, f"{lead}{reaching} back {_span(days * 1440)} ({kept}), less than the "
                                     f"{_span(window)} it can take to notice a corruption",
                            ("corruption_detection_minutes",))
            return Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        text = (f"{lead}{'it ' if lead else ''}is restored to a point in time before the corruption, within "
                f"{_span(days * 1440)} of backups ({kept}; a corruption can take {_span(window)} to notice)")
        return Estimate(self.m("pg_pitr_rpo_minutes"), self.m("pg_restore_minutes"),
                        Reason(s, path, text, ("pg_pitr_rpo_minutes", "corruption_detection_minutes")),
                        Reason(s, path, text, ("pg_restore_minutes",)))

    # --- Storage accounts, volumes, caches, vaults -----------------------------------------
    def _storage(self, a: Resource) -> dict[str, Estimate]:
        sku_path = ("sku", "name")
        sku = _value(a, *sku_path)
        redundancy = sku.rsplit("_", 1)[-1].upper() if isinstance(sku, str) else ""
        shown = _shown(a, *sku_path)
        local = Reason(a, sku_path, f"keeps three synchronous copies ({shown})")
        out = {"node": Estimate(0, 0, local, local)}
        geo = redundancy in ("GRS", "RAGRS", "GZRS", "RAGZRS")
        if redundancy in ("ZRS", "GZRS", "RAGZRS"):
            reason = Reason(a, sku_path, f"is zone-redundant ({shown})")
            out["zone"] = Estimate(0, 0, reason, reason)
        elif geo:
            rpo = Reason(a, sku_path, f"is not zone-redundant ({shown}): it fails over to the secondary region",
                         ("storage_geo_rpo_minutes",))
            out["zone"] = Estimate(self.m("storage_geo_rpo_minutes"), self.m("storage_failover_minutes"), rpo,
                                   Reason(a, sku_path, rpo.text, ("storage_failover_minutes",)))
        else:
            reason = Reason(a, sku_path, f"keeps its data in one zone ({shown}) and has no copy elsewhere")
            out["zone"] = Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        if geo:
            rpo = Reason(a, sku_path, f"is geo-redundant ({shown}): customer-managed failover",
                         ("storage_geo_rpo_minutes",))
            out["region"] = Estimate(self.m("storage_geo_rpo_minutes"), self.m("storage_failover_minutes"), rpo,
                                     Reason(a, sku_path, rpo.text, ("storage_failover_minutes",)))
        else:
            reason = Reason(a, sku_path, f"is not geo-redundant ({shown})")
            out["region"] = Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        replicated = redundancy not in ("", "LRS")
        out["corruption"] = self._storage_corruption(a, shown if replicated else None)
        return out

    def _child(self, parent: Resource, type_key: str, name: str) -> Resource | None:
        """An Azure child resource (nested in the template or at top level) by its own name."""
        full = f"{parent.name}/{name}".lower()
        return next((r for r in self.platform.resources if r.type.lower() == type_key and r.name.lower() == full),
                    None)

    def _storage_corruption(self, a: Resource, replicated: str | None) -> Estimate:
        """Overwritten, deleted or encrypted blobs and containers: replication copies the
        change, so only the blob service's own history helps (versions, soft delete,
        point-in-time restore), and only while it still reaches back to before it."""
        window = self.m("corruption_detection_minutes")
        noticed = f"the {_span(window)} it can take to notice a corruption"
        copies = f"its {replicated} replication copies every overwrite and deletion, so " if replicated else ""
        if _value(a, "kind") == "FileStorage":
            also = f", and its {replicated} replication copies every overwrite and deletion" if replicated else ""
            reason = Reason(a, ("kind",), f"is a FileStorage account: blob versioning and soft delete do not cover its "
                                          f"file shares{also}")
            return Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        blob = self._child(a, BLOB_SERVICE_TYPE, "default")
        if blob is None:
            reason = Reason(a, ("name",), f"declares no blobServices/default: {copies}without blob versioning or soft "
                                          f"delete (both off by default) an overwritten or deleted file is lost")
            return Estimate(UNBOUNDED, UNBOUNDED, reason, reason)

        def retention(key: str) -> tuple[int | None, JsonPath, str]:
            """(days kept, path, what the report says) of a soft delete / restore policy."""
            base = ("properties", key)
            enabled, days = _value(blob, *base, "enabled"), _days(_value(blob, *base, "days"))
            if enabled is not True:
                shown = "not set (off by default)" if enabled is None else f"enabled {_shown(blob, *base, 'enabled')}"
                return None, (*base, "enabled"), f"{key} {shown}"
            if days is None:
                return None, (*base, "days"), f"{key} enabled with days {_shown(blob, *base, 'days')}"
            return days, (*base, "days"), f"{key} {days} days"

        # Blobs overwritten or deleted: versions persist until deleted explicitly; soft
        # delete and point-in-time restore reach back their retention.
        versioning_path = ("properties", "isVersioningEnabled")
        versioning = _value(blob, *versioning_path) is True
        soft, soft_path, soft_text = retention("deleteRetentionPolicy")
        pitr, pitr_path, _pitr_text = retention("restorePolicy")
        if versioning:
            blobs: tuple[JsonPath, str] = (
                versioning_path, "keeps previous versions of overwritten and deleted blobs (isVersioningEnabled)")
        elif pitr is not None and pitr * 1440 >= window:
            blobs = (pitr_path, f"restores blobs to a point in time up to {_span(pitr * 1440)} back (restorePolicy)")
        elif soft is not None and soft * 1440 >= window:
            blobs = (soft_path, f"keeps overwritten and deleted blobs for {_span(soft * 1440)} (deleteRetentionPolicy)")
        else:
            versions = f"isVersioningEnabled {_shown(blob, *versioning_path)}"
            gap = (f"{versions} and {soft_text}, less than {noticed}" if soft is not None
                   else f"{versions} and {soft_text}")
            # The window is credited only where a retention was compared with it.
            reason = Reason(blob, soft_path if soft is not None else versioning_path,
                            f"has {gap}: {copies}an overwritten or deleted file cannot be restored",
                            ("corruption_detection_minutes",) if soft is not None else ())
            return Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        # Containers deleted: only container soft delete brings them back (point-in-time
        # restore does not restore a deleted container).
        containers, container_path, container_text = retention("containerDeleteRetentionPolicy")
        if containers is None or containers * 1440 < window:
            short = f", less than {noticed}" if containers is not None else ""
            reason = Reason(blob, container_path, f"{blobs[1]}, but has {container_text}{short}: {copies}a deleted "
                                                  f"container and every blob in it cannot be restored",
                            ("corruption_detection_minutes",) if containers is not None else ())
            return Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        text = (f"{blobs[1]} and deleted containers for {_span(containers * 1440)} "
                f"(containerDeleteRetentionPolicy)"
                + (f"; its {replicated} replication copies every overwrite and deletion and does not help"
                   if replicated else ""))
        return Estimate(0, self.m("blob_restore_minutes"),
                        Reason(blob, blobs[0], text, ("corruption_detection_minutes",)),
                        Reason(blob, blobs[0], text, ("blob_restore_minutes",)))

    @staticmethod
    def _sku(cls: Resource) -> tuple[str | None, JsonPath]:
        """A StorageClass's disk or file SKU (Azure Disk `skuName`, Azure Files
        `skuName` or the older `storageaccounttype`) and where it is written."""
        params = cls.body.get("parameters")
        params = params if isinstance(params, dict) else {}
        key = "skuName" if "skuName" in params else "storageaccounttype"
        sku = params.get(key)
        return (str(sku) if sku else None), ("parameters", key)

    def _class_sku(self, holder: Resource, base: JsonPath) -> tuple[str | None, Resource, JsonPath, str]:
        """(SKU, resource and path that decide it, what was found) for the claim spec at
        `(*base, "spec")` of `holder`: a PersistentVolumeClaim (base `()`) or a
        StatefulSet's claim template (base `spec.volumeClaimTemplates[i]`)."""
        name = _get(holder.body, *base, "spec", "storageClassName")
        if not isinstance(name, str):
            # Kubernetes gives such a claim the default class when it is created. Which
            # of several classes marked default it gets depends on the release (recent
            # ones take the most recently created) and on creation times files do not
            # carry, so the first one that is not zone-redundant is taken.
            defaults = sorted(self._default_classes, key=lambda c: str(self._sku(c)[0]).upper().endswith("_ZRS"))
            if not defaults:
                # A PVC's spec, or the template itself (where storageClassName belongs).
                return None, holder, base or ("spec",), "names no storage class and no default StorageClass is in " \
                                                         "the scan"
            cls = defaults[0]
            sku, path = self._sku(cls)
            several = f" (one of {len(defaults)} classes marked default)" if len(defaults) > 1 else ""
            return sku, cls, path, (f"names no storage class, so it gets the default class {cls.name}{several} "
                                    f"({sku or 'no skuName'})")
        if name == "":
            # `storageClassName: ""` binds the claim to a volume made beforehand, with no
            # class: where that volume lives is not in the configuration.
            return None, holder, (*base, "spec", "storageClassName"), (
                'binds to a volume made beforehand (storageClassName: ""), whose redundancy the scan cannot see')
        named = self._storage_classes.get(name)
        if named is not None:
            sku, path = self._sku(named)
            return sku, named, path, f"uses storage class {name} ({sku or 'no skuName'})"
        builtin = self.model.storage_classes.get(name)
        return builtin, holder, (*base, "spec", "storageClassName"), (
            f"uses the AKS storage class {name} ({builtin})" if builtin else f"uses storage class {name}, "
                                                                              f"which is not in the scan")

    def _velero_interval(self, namespace: str | None) -> tuple[int, Resource] | None:
        found = self._velero_schedules(namespace)
        return min(found, key=lambda item: item[0]) if found else None

    def _velero_schedules(self, namespace: str | None) -> list[tuple[int, Resource]]:
        """(interval in minutes, schedule) of every active Velero schedule covering `namespace`."""
        out: list[tuple[int, Resource]] = []
        for schedule in self._velero:
            spec = _get(schedule.body, "spec")
            spec = spec if isinstance(spec, dict) else {}
            template = spec.get("template")
            template = template if isinstance(template, dict) else {}
            included = template.get("includedNamespaces") or ["*"]
            excluded = template.get("excludedNamespaces") or []
            if not isinstance(included, list) or not isinstance(excluded, list):
                continue
            if spec.get("paused") is True or namespace in excluded:
                continue
            if "*" not in included and namespace not in included:
                continue
            try:
                minutes = max_interval_minutes(str(spec.get("schedule", "")))
            except CronError:
                continue
            out.append((minutes, schedule))
        return out

    @staticmethod
    def _velero_ttl(schedule: Resource) -> tuple[float, str]:
        """(minutes a schedule's backups are kept, how the report shows it). An unparsable
        ttl is unknown, and so taken as keeping nothing."""
        ttl = _get(schedule.body, "spec", "template", "ttl")
        if ttl is None:
            return VELERO_DEFAULT_TTL_HOURS * 60, f"{_span(VELERO_DEFAULT_TTL_HOURS * 60)} (Velero's default ttl)"
        try:
            minutes = parse_go_duration(str(ttl)) / 60
        except CronError:
            return 0, f"an unknown time (ttl {ttl})"
        return minutes, f"{_span(minutes)} (ttl {ttl})"

    def _restore_from_velero(self, where: Resource, path: JsonPath, text: str, namespace: str | None) -> Estimate:
        """Data that only a backup can bring back after a corruption or deletion: a Velero
        schedule covering the namespace whose backups outlast the detection window."""
        window = self.m("corruption_detection_minutes")
        schedules = self._velero_schedules(namespace)
        if not schedules:
            reason = Reason(where, path, f"{text}; only a backup helps, and no Velero schedule backs up namespace "
                                         f"{namespace}")
            return Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        kept = [(minutes, schedule) for minutes, schedule in schedules if self._velero_ttl(schedule)[0] >= window]
        if not kept:
            # Name the schedule that keeps its backups longest: the one to extend.
            schedule = max((s for _m, s in schedules), key=lambda s: self._velero_ttl(s)[0])
            reason = Reason(schedule, ("spec", "template", "ttl"),
                            f"{text}; only a backup helps, and Velero schedule {schedule.name} keeps backups for "
                            f"{self._velero_ttl(schedule)[1]}, less than the {_span(window)} it can take to notice "
                            f"a corruption", ("corruption_detection_minutes",))
            return Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        minutes, schedule = min(kept, key=lambda item: item[0])
        rpo = Reason(schedule, ("spec", "schedule"),
                     f"{text}; only a backup helps: it is restored from Velero schedule {schedule.name}, which runs "
                     f"every {_every(minutes)} and keeps backups for {self._velero_ttl(schedule)[1]}",
                     ("corruption_detection_minutes",))
        return Estimate(minutes, self.m("velero_restore_minutes"), rpo,
                        Reason(schedule, ("spec", "schedule"), rpo.text, ("velero_restore_minutes",)))

    def _volume(self, component: Component) -> dict[str, Estimate]:
        """A PersistentVolumeClaim, or a StatefulSet's claim template (each replica's claim
        is made from it, so one estimate covers them all)."""
        holder = component.resource
        base: JsonPath = () if component.claim_template is None else (
            "spec", "volumeClaimTemplates", component.claim_template)
        sku, where, path, text = self._class_sku(holder, base)
        zrs = isinstance(sku, str) and sku.upper().endswith("_ZRS")
        attached = Reason(where, path, f"{text}, attached over the network")
        out = {"node": Estimate(0, 0, attached, attached)}
        namespace = holder.namespace
        backup = self._velero_interval(namespace)

        def restored(scope_text: str) -> Estimate:
            if backup is None:
                reason = Reason(where, path, f"{text}, {scope_text}, and no Velero schedule backs up "
                                             f"namespace {namespace}")
                return Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
            minutes, schedule = backup
            rpo = Reason(schedule, ("spec", "schedule"),
                         f"{text}, {scope_text}; it is restored from Velero schedule {schedule.name}, which runs "
                         f"every {_every(minutes)}")
            return Estimate(minutes, self.m("velero_restore_minutes"), rpo,
                            Reason(schedule, ("spec", "schedule"), rpo.text, ("velero_restore_minutes",)))

        if zrs:
            reason = Reason(where, path, f"{text}, which is zone-redundant")
            out["zone"] = Estimate(0, 0, reason, reason)
        else:
            # Without a known SKU the text names no class to say "which" of.
            out["zone"] = restored("which is not zone-redundant" if sku else
                                   "so its volume cannot be shown to be zone-redundant")
        out["region"] = restored("which is not replicated to another region" if sku else
                                 "and its volume is not replicated to another region")
        copies = ", which is zone-redundant but replicates corruption and deletion alike" if zrs else ""
        out["corruption"] = self._restore_from_velero(where, path, f"{text}{copies}", namespace)
        return out

    def _redis(self, c: Resource) -> dict[str, Estimate]:
        # Caches hold no data of record: RPO is not assessed, only how long the cache is away.
        sku_path = ("properties", "sku", "name")
        sku = _value(c, *sku_path)
        recreate = self.m("redis_recreate_minutes")
        out: dict[str, Estimate] = {}
        if sku in ("Standard", "Premium"):
            out["node"] = Estimate(None, self.m("redis_failover_minutes"), None, Reason(
                c, sku_path, f"fails over to its replica ({sku})", ("redis_failover_minutes",)))
        else:
            out["node"] = Estimate(None, recreate, None, Reason(
                c, sku_path, f"has a single node (sku {_shown(c, *sku_path)})", ("redis_recreate_minutes",)))
        zones = _value(c, "zones")
        if sku == "Premium" and isinstance(zones, list) and len(zones) >= 2:
            out["zone"] = Estimate(None, self.m("redis_failover_minutes"), None, Reason(
                c, ("zones",), f"has replicas in zones {', '.join(map(str, zones))}", ("redis_failover_minutes",)))
        else:
            out["zone"] = Estimate(None, recreate, None, Reason(
                c, ("zones",) if zones is not None else sku_path, "is not zone-redundant: it is recreated",
                ("redis_recreate_minutes",)))
        out["region"] = Estimate(None, recreate, None, Reason(
            c, ("location",), "is recreated in another region", ("redis_recreate_minutes",)))
        # A poisoned cache: its replica applies the same writes; the cache is emptied or
        # recreated and the application refills it (no data of record is lost).
        copies = f"its replica ({sku}) copies bad entries, so " if sku in ("Standard", "Premium") else ""
        out["corruption"] = Estimate(None, recreate, None, Reason(
            c, sku_path, f"holds no data of record: {copies}it is emptied or recreated and refilled by the application",
            ("redis_recreate_minutes",)))
        return out

    def _vault(self, v: Resource) -> dict[str, Estimate]:
        red_path = ("properties", "redundancySettings", "standardTierStorageRedundancy")
        crr_path = ("properties", "redundancySettings", "crossRegionRestore")
        redundancy = _value(v, *red_path)
        restore = self.m("vault_restore_minutes")
        daily = Reason(v, red_path, "restores from daily backups", ("vault_backup_rpo_minutes",))
        out = {"node": Estimate(self.m("vault_backup_rpo_minutes"), restore, daily,
                                Reason(v, red_path, daily.text, ("vault_restore_minutes",)))}
        if redundancy in ("ZoneRedundant", "GeoRedundant"):
            out["zone"] = out["node"]
        else:
            reason = Reason(v, red_path, f"has storage redundancy {_shown(v, *red_path)}")
            out["zone"] = Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        if redundancy == "GeoRedundant" and _value(v, *crr_path) == "Enabled":
            rpo = Reason(v, crr_path, "restores in the paired region (Cross Region Restore)",
                         ("vault_cross_region_rpo_minutes",))
            out["region"] = Estimate(self.m("vault_cross_region_rpo_minutes"), restore, rpo,
                                     Reason(v, crr_path, rpo.text, ("vault_restore_minutes",)))
        else:
            path = crr_path if redundancy == "GeoRedundant" else red_path
            reason = Reason(v, path, f"has storage redundancy {_shown(v, *red_path)} and Cross Region Restore "
                                     f"{_shown(v, *crr_path)}")
            out["region"] = Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        out["corruption"] = self._vault_corruption(v)
        return out

    def _vault_corruption(self, v: Resource) -> Estimate:
        """Ransomware and destructive operators delete backups first. The backups count
        only while soft delete keeps deleted ones, decided as DR-AZ-011 does for every
        tier: `softDeleteState` on the vault and `softDeleteFeatureState` on a
        `backupconfig` child must not switch it off (it is on by default). Without it, the
        backups are taken as lost for this scope."""
        soft_path = ("properties", "securitySettings", "softDeleteSettings", "softDeleteState")
        immutability = _shown(v, "properties", "securitySettings", "immutabilitySettings", "state")
        on = ("Enabled", "AlwaysON")
        state = _value(v, *soft_path)
        off: tuple[Resource, JsonPath, str] | None = None
        if soft_path in v.unresolved or (state is not None and state not in on):
            off = (v, soft_path, f"softDeleteState {_shown(v, *soft_path)}")
        config = self._child(v, BACKUP_CONFIG_TYPE, "vaultconfig")
        feature_path = ("properties", "softDeleteFeatureState")
        if off is None and config is not None:
            feature = _value(config, *feature_path)
            if feature_path in config.unresolved or (feature is not None and feature not in on):
                off = (config, feature_path, f"softDeleteFeatureState {_shown(config, *feature_path)} in "
                                             f"{config.name}")
        if off is not None:
            reason = Reason(off[0], off[1], f"has {off[2]}: ransomware or an operator can delete its backups before "
                                            f"the data is restored, so they are taken as lost")
            return Estimate(UNBOUNDED, UNBOUNDED, reason, reason)
        kept = f"soft delete {state}" if state is not None else "soft delete on (the default)"
        text = (f"restores from daily backups; {kept} keeps deleted backups recoverable (immutability "
                f"{immutability})")
        return Estimate(self.m("vault_backup_rpo_minutes"), self.m("vault_restore_minutes"),
                        Reason(v, soft_path, text, ("vault_backup_rpo_minutes",)),
                        Reason(v, soft_path, text, ("vault_restore_minutes",)))
