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

from scanner.engine.cron import CronError, is_velero_schedule, max_interval_minutes
from scanner.engine.relations import label_selector_matches
from scanner.engine.views import pod_template, replicas
from scanner.model import JsonPath, Platform, Resource
from scanner.recovery.figures import RecoveryModel
from scanner.recovery.platform import PG_TYPE, Component, PlatformModel

UNBOUNDED = math.inf
SCOPES = ("node", "zone", "region")
SCOPE_LABEL = {"node": "pod/node loss", "zone": "zone loss", "region": "region loss"}
ZONE_KEY = "topology.kubernetes.io/zone"


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
    return "not set" if value is None else str(value)


def _every(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes >= 120 and minutes % 60 == 0 else f"{minutes} min"


class Estimator:
    def __init__(self, model: RecoveryModel, platform: PlatformModel) -> None:
        self.model = model
        self.platform = platform
        self.m = model.minutes
        resources = platform.resources
        self._velero = [r for r in resources if r.platform is Platform.KUBERNETES and is_velero_schedule(r.body)]
        self._pdbs = [r for r in resources if r.type == "PodDisruptionBudget"]
        self._storage_classes = {r.name: r for r in resources if r.type == "StorageClass"}
        self._servers = [r for r in resources if r.type.lower() == PG_TYPE]

    def estimate(self, component: Component) -> dict[str, Estimate]:
        handler = {"workload": self._workload, "postgresql": self._postgresql, "storage": self._storage,
                   "redis": self._redis, "vault": self._vault, "volume": self._volume}.get(component.kind)
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
        return out

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
        return out

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
        return out

    def _class_sku(self, pvc: Resource) -> tuple[str | None, Resource, JsonPath, str]:
        name = _get(pvc.body, "spec", "storageClassName")
        if not isinstance(name, str):
            return None, pvc, ("spec",), "names no storage class"
        cls = self._storage_classes.get(name)
        if cls is not None:
            params = cls.body.get("parameters")
            params = params if isinstance(params, dict) else {}
            key = "skuName" if "skuName" in params else "storageaccounttype"
            sku = params.get(key)
            return (str(sku) if sku else None), cls, ("parameters", key), f"uses storage class {name} ({sku})"
        builtin = self.model.storage_classes.get(name)
        return builtin, pvc, ("spec", "storageClassName"), (
            f"uses the AKS storage class {name} ({builtin})" if builtin else f"uses storage class {name}, "
                                                                              f"which is not in the scan")

    def _velero_interval(self, namespace: str | None) -> tuple[int, Resource] | None:
        best: tuple[int, Resource] | None = None
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
            if best is None or minutes < best[0]:
                best = (minutes, schedule)
        return best

    def _volume(self, pvc: Resource) -> dict[str, Estimate]:
        sku, where, path, text = self._class_sku(pvc)
        zrs = isinstance(sku, str) and sku.upper().endswith("_ZRS")
        attached = Reason(where, path, f"{text}, attached over the network")
        out = {"node": Estimate(0, 0, attached, attached)}
        backup = self._velero_interval(pvc.namespace)

        def restored(scope_text: str) -> Estimate:
            if backup is None:
                reason = Reason(where, path, f"{text}, {scope_text}, and no Velero schedule backs up "
                                             f"namespace {pvc.namespace}")
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
            out["zone"] = restored("which is not zone-redundant")
        out["region"] = restored("which is not replicated to another region")
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
        return out
