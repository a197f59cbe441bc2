"""Terraform `kubernetes` provider resources (`kubernetes_deployment_v1`, ...) as
Kubernetes API objects, so the Kubernetes policies cover them too.

The provider mirrors the API with snake_case names and a nested block for every
object; the API uses camelCase and plain objects, with lists where the provider
repeats a singular block (`container` -> `containers`). The tables below hold the
renames that camelCase alone does not produce. Source: the provider's documentation,
https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs.
"""

from __future__ import annotations

from typing import Any

from scanner.model import JsonPath
from scanner.sources.terraform_block import TfBlock

# provider type (without the `_v1`/`_v2` suffix) -> (apiVersion, kind)
KUBERNETES_TYPES: dict[str, tuple[str, str]] = {
    "kubernetes_deployment": ("apps/v1", "Deployment"),
    "kubernetes_stateful_set": ("apps/v1", "StatefulSet"),
    "kubernetes_daemonset": ("apps/v1", "DaemonSet"),
    "kubernetes_daemon_set": ("apps/v1", "DaemonSet"),
    "kubernetes_service": ("v1", "Service"),
    "kubernetes_namespace": ("v1", "Namespace"),
    "kubernetes_config_map": ("v1", "ConfigMap"),
    "kubernetes_pod_disruption_budget": ("policy/v1", "PodDisruptionBudget"),
    "kubernetes_horizontal_pod_autoscaler": ("autoscaling/v2", "HorizontalPodAutoscaler"),
    "kubernetes_network_policy": ("networking.k8s.io/v1", "NetworkPolicy"),
    "kubernetes_ingress": ("networking.k8s.io/v1", "Ingress"),
    "kubernetes_job": ("batch/v1", "Job"),
    "kubernetes_cron_job": ("batch/v1", "CronJob"),
    "kubernetes_persistent_volume_claim": ("v1", "PersistentVolumeClaim"),
    "kubernetes_storage_class": ("storage.k8s.io/v1", "StorageClass"),
    "kubernetes_role": ("rbac.authorization.k8s.io/v1", "Role"),
    "kubernetes_cluster_role": ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    "kubernetes_role_binding": ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    "kubernetes_cluster_role_binding": ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    "kubernetes_service_account": ("v1", "ServiceAccount"),
    "kubernetes_resource_quota": ("v1", "ResourceQuota"),
    "kubernetes_limit_range": ("v1", "LimitRange"),
}

# Repeated singular blocks that are lists in the API, with their API (plural) name.
LIST_BLOCKS: dict[str, str] = {
    "container": "containers", "init_container": "initContainers", "port": "ports",
    "env": "env", "env_from": "envFrom", "volume": "volumes", "volume_mount": "volumeMounts",
    "toleration": "tolerations", "topology_spread_constraint": "topologySpreadConstraints",
    "match_expressions": "matchExpressions", "image_pull_secrets": "imagePullSecrets",
    "host_aliases": "hostAliases", "volume_claim_template": "volumeClaimTemplates",
    "node_selector_term": "nodeSelectorTerms", "subject": "subjects", "rule": "rules",
    "ingress": "ingress", "egress": "egress", "from": "from", "to": "to", "tls": "tls",
    "path": "paths", "preferred_during_scheduling_ignored_during_execution":
        "preferredDuringSchedulingIgnoredDuringExecution", "metric": "metrics", "limit": "limits",
    "items": "items", "scope_selector": "scopeSelector", "match_expression": "matchExpressions",
}
# `required_during_scheduling_ignored_during_execution` is a list under pod (anti-)affinity
# and a single object under node affinity.
_LIST_UNDER = {"required_during_scheduling_ignored_during_execution": ("pod_affinity", "pod_anti_affinity")}

# Names camelCase gets wrong (acronyms in the API).
RENAMES: dict[str, str] = {
    "host_pid": "hostPID", "host_ipc": "hostIPC", "cluster_ip": "clusterIP", "cluster_ips": "clusterIPs",
    "load_balancer_ip": "loadBalancerIP", "external_ips": "externalIPs", "pod_ip": "podIP",
    "storage_provisioner": "provisioner", "fs_group": "fsGroup", "run_as_user": "runAsUser",
    "service_account_name": "serviceAccountName", "api_groups": "apiGroups",
}
# Provider-only settings with no API counterpart.
_TERRAFORM_ONLY = {"wait_for_rollout", "wait_for_load_balancer", "wait_for_default_service_account",
                   "wait_for_completion", "timeouts", "count", "for_each", "provider", "depends_on",
                   "lifecycle"}


def base_type(tf_type: str) -> str:
    for suffix in ("_v1", "_v2", "_v2beta2"):
        if tf_type.endswith(suffix):
            return tf_type[: -len(suffix)]
    return tf_type


def camel(name: str) -> str:
    if name in RENAMES:
        return RENAMES[name]
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_object(tf_type: str, block: TfBlock) -> tuple[str, str, dict[str, Any], dict[JsonPath, JsonPath]] | None:
    """(apiVersion, kind, body, sources) or None when the type is not a mapped kind."""
    found = KUBERNETES_TYPES.get(base_type(tf_type))
    if found is None:
        return None
    api_version, kind = found
    sources: dict[JsonPath, JsonPath] = {}
    body: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    body.update(_convert(block, (), (), "", sources))
    spec = body.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("replicas"), str) and spec["replicas"].isdigit():
        spec["replicas"] = int(spec["replicas"])  # the provider types replicas as a string
    return api_version, kind, body, sources


def _convert(block: TfBlock, arm_path: JsonPath, tf_path: JsonPath, parent: str,
             sources: dict[JsonPath, JsonPath]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sources.setdefault(arm_path, tf_path)
    for name, value in block.attrs.items():
        if name in _TERRAFORM_ONLY:
            continue
        key = camel(name)
        out[key] = value  # map keys (labels, data) are kept verbatim
        sources.setdefault((*arm_path, key), (*tf_path, name))
    for name, children in block.blocks.items():
        if name in _TERRAFORM_ONLY:
            continue
        as_list = name in LIST_BLOCKS or parent in _LIST_UNDER.get(name, ())
        key = LIST_BLOCKS.get(name, camel(name)) if as_list else camel(name)
        if as_list:
            out[key] = [_convert(child, (*arm_path, key, i), (*tf_path, name, i), name, sources)
                        for i, child in enumerate(children)]
            sources.setdefault((*arm_path, key), (*tf_path, name, 0))
        else:
            out[key] = _convert(children[0], (*arm_path, key), (*tf_path, name, 0), name, sources)
    return out
