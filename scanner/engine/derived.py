"""Derived facts: values a JSON Schema cannot compute, computed once per resource in
code and shown to conditions as `context.derived`.

Examples: the maximum interval between runs of a cron schedule (in minutes), the
settings inside an `odoo.conf` held in a ConfigMap. The table below is explicit: one
entry per (platform, type), no registration by import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scanner.engine.cron import schedule_facts
from scanner.engine.images import workload_images
from scanner.engine.odoo_conf import odoo_conf_facts
from scanner.engine.secrets import configmap_credentials
from scanner.model import Platform, Resource

Deriver = Callable[[Resource], dict[str, Any]]

# Where a workload kind keeps its pod spec (views.py has the full table; importing it
# here would be circular, views uses this module).
_POD_SPEC_PATHS = {
    "Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
}


def identical_probes(resource: Resource) -> dict[str, Any]:
    """`identicalProbes`: containers whose liveness probe equals their readiness probe
    (HA-K8S-006B): such a probe restarts a pod that is only busy, not broken."""
    spec: Any = resource.body
    for step in _POD_SPEC_PATHS.get(resource.type, ()):
        spec = spec.get(step) if isinstance(spec, dict) else None
    containers = spec.get("containers") if isinstance(spec, dict) else None
    names = [str(c.get("name")) for c in containers if isinstance(c, dict)
             and c.get("livenessProbe") is not None and c.get("livenessProbe") == c.get("readinessProbe")] \
        if isinstance(containers, list) else []
    return {"identicalProbes": names}


def rollout(resource: Resource) -> dict[str, Any]:
    """`rollout` of a Deployment (HA-K8S-007A): `availableReplicas`, how many replicas
    a rolling update keeps available: replicas minus `maxUnavailable` (default 25%; a
    percentage rounds down, as the Deployment controller does). None when unknown."""
    spec = resource.body.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    count = spec.get("replicas", 1)
    strategy = spec.get("strategy")
    strategy = strategy if isinstance(strategy, dict) else {}
    kind = strategy.get("type", "RollingUpdate")
    rolling = strategy.get("rollingUpdate")
    value = rolling.get("maxUnavailable", "25%") if isinstance(rolling, dict) else "25%"
    available: int | None = None
    if isinstance(count, int) and not isinstance(count, bool):
        if kind == "Recreate":
            available = 0
        elif isinstance(value, int) and not isinstance(value, bool):
            available = max(count - value, 0)
        elif isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
            available = max(count - int(value[:-1]) * count // 100, 0)
    return {"rollout": {"strategy": kind, "maxUnavailable": value, "availableReplicas": available}}


# Availability and backup facts (HA-K8S-*, DR-K8S-*), per kind; merged into the table.
_AVAILABILITY: dict[str, list[Deriver]] = {
    "Deployment": [identical_probes, rollout],
    "StatefulSet": [identical_probes],
    "DaemonSet": [identical_probes],
    "ReplicaSet": [identical_probes],
    "ReplicationController": [identical_probes],
    "CronJob": [schedule_facts],  # Velero-style backup CronJobs (DR-K8S-002)
    "Schedule": [schedule_facts],  # Velero (DR-K8S-002, DR-K8S-004)
    "ScheduledBackup": [schedule_facts],  # CloudNativePG (DR-K8S-002)
    "ConfigMap": [odoo_conf_facts],  # odoo.conf (HA-K8S-012A/B, SEC-K8S-009)
    "Secret": [odoo_conf_facts],
}

# (platform, type) -> deriver. Azure types are lower case. Add entries here.
DERIVERS: dict[tuple[Platform, str], list[Deriver]] = {
    # SEC-K8S-008: plain-text credentials in a ConfigMap's data (names only, never values).
    (Platform.KUBERNETES, "ConfigMap"): [configmap_credentials, *_AVAILABILITY["ConfigMap"]],
    # GOV-K8S-004: each container image's registry, in the forms an allow-list may use.
    **{(Platform.KUBERNETES, kind): [workload_images, *_AVAILABILITY.get(kind, [])]
       for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
                    "Job", "CronJob", "Pod")},
    **{(Platform.KUBERNETES, kind): _AVAILABILITY[kind] for kind in ("Schedule", "ScheduledBackup", "Secret")},
}


def derive(resource: Resource) -> dict[str, Any] | None:
    key = resource.type.lower() if resource.platform is Platform.AZURE else resource.type
    derivers = DERIVERS.get((resource.platform, key))
    if not derivers:
        return None
    out: dict[str, Any] = {}
    for deriver in derivers:
        out.update(deriver(resource))
    return out
