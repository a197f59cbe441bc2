"""Cross-resource relations, built once per scan and looked up per subject.

The set is small, fixed and implemented here in code; a policy only names which
relation it needs (`relations:` in the policy file) and its conditions see the related
bodies as `context.related.<name>`:

- `selects`: objects of `kind` in the same namespace whose selector selects the
  workload's pods (PodDisruptionBudget, NetworkPolicy, Service, ...).
- `namespace`: the Namespace object that contains the resource (0 or 1 item).
- `in-namespace`: every object of `kind` in the resource's namespace.
- `children`: Azure child resources of `type` (for example `blobServices` of a storage
  account), whether nested in the template or declared at top level.
- `parent`: the Azure parent resource of a child resource.
- `locked-by`: management locks (`Microsoft.Authorization/locks`) that protect an
  Azure resource: scoped to it, written in the nested `<type>/providers/locks` form, or
  on its resource group (an unscoped lock in the same template locks the deployment's
  resource group).
- `geo-replicas`: read replicas of an Azure server (same type unless `type` is given)
  whose `properties.sourceServerResourceId` names it and whose location is known to
  differ from the primary's.
- `diagnostic-settings`: diagnostic settings (`Microsoft.Insights/diagnosticSettings`)
  of an Azure resource, written as an extension resource with a `scope`, in the
  `<type>/providers/diagnosticSettings` form (top level or nested), or read live with
  their ID under the resource's ID.
- `same-resource-group`: the other Azure resources in the resource's resource group.
  A template is deployed into one resource group, so when the group is not recorded
  on the resource (templates), resources of the same template file share one.
- `targets`: autoscalers of `kind` (default HorizontalPodAutoscaler) in the workload's
  namespace whose `spec.scaleTargetRef` names it (its `minReplicas` is the floor).
- `blocking-pdbs`: PodDisruptionBudgets selecting the workload's pods whose
  `minAvailable` (a count, or a percentage rounded up) is at least its replicas.
- `claims`: the PersistentVolumeClaims the workload's pod template mounts.
- `storage-classes`: the StorageClasses behind the workload's claims (mounted claims and
  StatefulSet `volumeClaimTemplates`); a claim naming no class gets the default one.
- `covers-namespace`: backups of `kind` that cover the resource's namespace (for a
  Namespace, itself): Velero `Schedule`s in any namespace that include it, backup
  `CronJob`s and CloudNativePG `ScheduledBackup`s in it (not suspended).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from scanner.engine.cron import is_backup_cronjob, is_cnpg, is_velero_schedule
from scanner.engine.policy import RelationSpec
from scanner.engine.views import pod_template, replicas
from scanner.model import Platform, Resource


def namespace_key(resource: Resource) -> str:
    """The namespace used to relate objects. A manifest with no namespace is applied
    into whatever namespace its deployer picks, so we only assume such objects live
    together when they sit in the same directory (one app, one chart, one overlay)."""
    if resource.namespace:
        return resource.namespace
    file = resource.origin.file or ""
    return f"(unset)@{file.rsplit('/', 1)[0] if '/' in file else ''}"


def label_selector_matches(selector: Any, labels: dict[str, Any]) -> bool:
    """Kubernetes LabelSelector semantics (matchLabels AND matchExpressions)."""
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        return False
    for key, value in match_labels.items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            return False
        key, op, values = str(expr.get("key")), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _selects(selector_owner: Resource, pod_labels: dict[str, Any]) -> bool:
    spec = selector_owner.body.get("spec")
    if not isinstance(spec, dict):
        return False
    kind = selector_owner.type
    if kind == "Service":
        selector = spec.get("selector")
        # A Service selector is a plain map; an empty or missing one selects nothing.
        return bool(selector) and isinstance(selector, dict) and all(
            pod_labels.get(k) == v for k, v in selector.items())
    if kind == "NetworkPolicy":
        # An empty podSelector selects every pod in the namespace.
        return label_selector_matches(spec.get("podSelector", {}) or {"matchLabels": {}}, pod_labels)
    selector = spec.get("selector")
    if kind == "PodDisruptionBudget" and selector == {}:
        return True  # policy/v1: an empty selector matches every pod in the namespace
    return label_selector_matches(selector, pod_labels)


_Buckets = tuple[dict[tuple[str, str], list[tuple[int, Resource]]], list[tuple[int, Resource]]]


def _required_pairs(owner: Resource) -> list[tuple[str, str]]:
    """Label pairs every pod an object selects must carry (empty: cannot bucket it)."""
    spec = owner.body.get("spec")
    if not isinstance(spec, dict):
        return []
    if owner.type == "Service":
        selector = spec.get("selector")
        labels = selector if isinstance(selector, dict) else {}
    else:
        selector = spec.get("podSelector" if owner.type == "NetworkPolicy" else "selector")
        match = selector.get("matchLabels") if isinstance(selector, dict) else None
        labels = match if isinstance(match, dict) else {}
    return sorted((k, v) for k, v in labels.items() if isinstance(k, str) and isinstance(v, str))


def _bucket_by_required_label(owners: list[Resource]) -> _Buckets:
    by_pair: dict[tuple[str, str], list[tuple[int, Resource]]] = defaultdict(list)
    unconditional: list[tuple[int, Resource]] = []
    for index, owner in enumerate(owners):
        pairs = _required_pairs(owner)
        if pairs:
            by_pair[pairs[0]].append((index, owner))
        else:
            unconditional.append((index, owner))
    return by_pair, unconditional


class RelationIndex:
    def __init__(self, resources: list[Resource]) -> None:
        self._k8s: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        self._namespaces: dict[str, Resource] = {}
        self._azure_by_type: dict[str, list[Resource]] = defaultdict(list)
        self._azure_by_key: dict[tuple[str, str], Resource] = {}
        for r in resources:
            if r.platform is Platform.KUBERNETES:
                if r.type == "Namespace":
                    self._namespaces[r.name] = r
                self._k8s[(namespace_key(r), r.type)].append(r)
            else:
                type_key = r.type.lower()
                self._azure_by_type[type_key].append(r)
                self._azure_by_key[(type_key, r.name.lower())] = r
        self._handlers: dict[str, Callable[[Resource, RelationSpec], list[Resource]]] = {
            "selects": self._related_selecting,
            "namespace": self._related_namespace,
            "in-namespace": self._related_in_namespace,
            "children": self._related_children,
            "parent": self._related_parent,
            "locked-by": self._related_locks,
            "geo-replicas": self._related_geo_replicas,
            "diagnostic-settings": self._related_diagnostics,
            "same-resource-group": self._related_same_group,
            "targets": self._related_targets,
            "blocking-pdbs": self._related_blocking_pdbs,
            "claims": self._related_claims,
            "storage-classes": self._related_storage_classes,
            "covers-namespace": self._related_covering,
        }
        self._groups: dict[str, list[Resource]] | None = None  # built on first use
        # Per (namespace, kind), built on first use: selectors bucketed by one label
        # they require, and coverage results. Without them a namespace with n workloads
        # and n PDBs costs n² selector matches (10,000-app bench: ~3 s).
        self._selector_buckets: dict[tuple[str, str], _Buckets] = {}
        self._covering: dict[tuple[str, str], list[Resource]] = {}

    def related(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        return self._handlers[spec.relation](resource, spec)

    def _related_selecting(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        found = pod_template(resource)
        if found is None or spec.kind is None:
            return []
        meta = found[0]
        labels = meta.get("labels")
        pod_labels = labels if isinstance(labels, dict) else {}
        key = (namespace_key(resource), spec.kind)
        buckets = self._selector_buckets.get(key)
        if buckets is None:
            buckets = self._selector_buckets[key] = _bucket_by_required_label(self._k8s.get(key, []))
        by_pair, unconditional = buckets
        # Only selectors that can match these labels are tried, in their original order.
        candidates = list(unconditional)
        for pair in pod_labels.items():
            if isinstance(pair[1], str):
                candidates.extend(by_pair.get(pair, ()))
        candidates.sort(key=lambda c: c[0])
        return [c for _, c in candidates if _selects(c, pod_labels)]

    def _related_namespace(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        ns = self._namespaces.get(resource.namespace or "default")
        return [ns] if ns is not None else []

    def _related_in_namespace(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        ns = resource.name if resource.type == "Namespace" else namespace_key(resource)
        return list(self._k8s.get((ns, spec.kind or ""), []))

    def _related_children(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        child_type = f"{resource.type}/{spec.type}".lower()
        prefix = resource.name.lower() + "/"
        return [c for c in self._azure_by_type.get(child_type, []) if c.name.lower().startswith(prefix)]

    def _related_parent(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        type_parts = resource.type.split("/")
        name_parts = resource.name.split("/")
        if len(type_parts) < 3 or len(name_parts) < 2:
            return []
        parent_type = "/".join(type_parts[:-1]).lower()
        parent = self._azure_by_key.get((parent_type, "/".join(name_parts[:-1]).lower()))
        return [parent] if parent is not None else []

    def _related_locks(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        if resource.platform is not Platform.AZURE or _is_lock(resource.type):
            return []
        target = azure_scope_key(resource.type, resource.name)
        group = (resource.namespace or "").lower()
        found: list[Resource] = []
        for type_key, candidates in self._azure_by_type.items():
            if not _is_lock(type_key):
                continue
            for lock in candidates:
                if _lock_protects(lock, resource, target, group):
                    found.append(lock)
        return found

    def _related_geo_replicas(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        if resource.platform is not Platform.AZURE:
            return []
        home = _location(resource.body)
        if home is None:
            return []  # an unknown primary region cannot prove a replica is elsewhere
        suffix = "/" + azure_scope_key(resource.type, resource.name)
        found: list[Resource] = []
        for replica in self._azure_by_type.get((spec.type or resource.type).lower(), []):
            props = replica.body.get("properties")
            source = props.get("sourceServerResourceId") if isinstance(props, dict) else None
            where = _location(replica.body)
            if (replica is not resource and isinstance(source, str) and where is not None and where != home
                    and ("/" + scope_path(source)).endswith(suffix)):
                found.append(replica)
        return found

    def _related_diagnostics(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        if resource.platform is not Platform.AZURE or _is_diagnostic_setting(resource.type):
            return []
        target = azure_scope_key(resource.type, resource.name)
        # `<type>/providers/diagnosticSettings`, named `<name>/Microsoft.Insights/<setting>`.
        prefix = f"{resource.name}/microsoft.insights/".lower()
        found = [d for d in self._azure_by_type.get(f"{resource.type}{_DIAGNOSTICS_SUFFIX}".lower(), [])
                 if d.name.lower().startswith(prefix) and _same_deployment(d, resource)]
        for setting in self._azure_by_type.get(_DIAGNOSTICS_TYPE, []):
            scope = setting.body.get("scope")
            setting_id = setting.body.get("id")
            if isinstance(scope, str):
                where = scope
            elif isinstance(setting_id, str) and _DIAGNOSTICS_ID_PART in setting_id.lower():
                # Live settings carry their ID: the scope is everything before their own segment.
                where = setting_id[: setting_id.lower().rindex(_DIAGNOSTICS_ID_PART)]
            else:
                continue
            if scope_path(where) == target and _in_group_of(setting, where, resource):
                found.append(setting)
        return found

    def _related_same_group(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        if resource.platform is not Platform.AZURE:
            return []
        if self._groups is None:
            self._groups = defaultdict(list)
            for candidates in self._azure_by_type.values():
                for candidate in candidates:
                    if candidate.type.lower() not in _NOT_GROUP_MEMBERS:
                        self._groups[azure_group_key(candidate)].append(candidate)
        return [r for r in self._groups.get(azure_group_key(resource), []) if r is not resource]

    # -- Kubernetes availability and backup relations (HA-K8S-*, DR-K8S-*) -------------

    def _of_kind(self, kind: str) -> list[Resource]:
        """Every Kubernetes object of a kind, in any namespace."""
        return [r for (_ns, k), items in self._k8s.items() if k == kind for r in items]

    def _related_targets(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        candidates = self._k8s.get((namespace_key(resource), spec.kind or "HorizontalPodAutoscaler"), [])
        return [c for c in candidates if _targets(c, resource)]

    def _related_blocking_pdbs(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        count = replicas(resource)
        if count is None:
            return []
        pdbs = self._related_selecting(resource, RelationSpec("selects", "PodDisruptionBudget"))
        return [p for p in pdbs if _min_available_blocks(p, count)]

    def _related_claims(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        names = _claim_names(resource)
        candidates = self._k8s.get((namespace_key(resource), spec.kind or "PersistentVolumeClaim"), [])
        return [c for c in candidates if c.name in names]

    def _related_storage_classes(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        claim_specs = [c.body.get("spec") for c in self._related_claims(resource, RelationSpec("claims"))]
        templates = resource.body.get("spec", {}).get("volumeClaimTemplates") \
            if isinstance(resource.body.get("spec"), dict) else None
        for template in templates if isinstance(templates, list) else []:
            if isinstance(template, dict):
                claim_specs.append(template.get("spec"))
        classes = self._of_kind(spec.kind or "StorageClass")
        found: list[Resource] = []
        for claim in claim_specs:
            claim = claim if isinstance(claim, dict) else {}
            if "storageClassName" in claim:
                matches = [c for c in classes if c.name == claim["storageClassName"]]
            else:  # no class named: the cluster's default StorageClass provisions it
                matches = [c for c in classes if c.annotations.get(_DEFAULT_CLASS) == "true"]
            found.extend(m for m in matches if m not in found)
        return found

    def _related_covering(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        kind = spec.kind or "Schedule"
        namespace = resource.name if resource.type == "Namespace" else namespace_key(resource)
        cached = self._covering.get((namespace, kind))
        if cached is None:
            cached = self._covering[(namespace, kind)] = self._covering_uncached(namespace, kind)
        return cached

    def _covering_uncached(self, namespace: str, kind: str) -> list[Resource]:
        if kind == "Schedule":
            return [s for s in self._of_kind(kind) if _velero_covers(s.body, namespace)]
        # A suspended CronJob or ScheduledBackup takes no backup, so it covers nothing.
        own = [c for c in self._k8s.get((namespace, kind), []) if not _suspended(c.body)]
        if kind == "CronJob":
            return [c for c in own if is_backup_cronjob(c.body)]
        return [c for c in own if is_cnpg(c.body, kind)] if kind == "ScheduledBackup" else own


_DIAGNOSTICS_TYPE = "microsoft.insights/diagnosticsettings"
_DIAGNOSTICS_SUFFIX = "/providers/diagnosticSettings"
_DIAGNOSTICS_ID_PART = "/providers/microsoft.insights/diagnosticsettings/"
# Deployments and resource groups hold resources; they are not members of a group.
_NOT_GROUP_MEMBERS = {"microsoft.resources/deployments", "microsoft.resources/resourcegroups"}


def _is_diagnostic_setting(type_name: str) -> bool:
    lowered = type_name.lower()
    return lowered == _DIAGNOSTICS_TYPE or lowered.endswith(_DIAGNOSTICS_SUFFIX.lower())


def _in_group_of(setting: Resource, scope: str, resource: Resource) -> bool:
    """Whether a setting scoped to `scope` can be the resource's: a scope naming its
    resource group must name the resource's (when known); a scope without one (a
    template's `resourceId()` or Bicep `format()`) is relative to the deployment's
    group, so the setting must share the resource's group (or template)."""
    parts = scope.strip().strip("/").lower().split("/")
    if len(parts) >= 4 and parts[0] == "subscriptions" and parts[2] == "resourcegroups":
        return not resource.namespace or parts[3] == resource.namespace.lower()
    return _same_deployment(setting, resource)


def _same_deployment(a: Resource, b: Resource) -> bool:
    """Whether two resources go to the same resource group: the recorded groups when
    both are known, else the same template (or Terraform module), since one deployment
    targets one resource group."""
    if a.namespace and b.namespace:
        return a.namespace.lower() == b.namespace.lower()
    return _deployment_unit(a) == _deployment_unit(b)


def _deployment_unit(resource: Resource) -> str:
    file = resource.origin.file or ""
    if file.endswith((".tf", ".tf.json")):
        # A Terraform module is its directory, whatever file each block is written in.
        return f"(module)@{file.rsplit('/', 1)[0] if '/' in file else ''}"
    return f"(template)@{file}"


def azure_group_key(resource: Resource) -> str:
    """The resource group an Azure resource belongs to, as a relation key: the group
    recorded on it (live state, Terraform's `resource_group_name`), or else its
    template (or Terraform module), since one deployment targets one resource group."""
    if resource.namespace:
        return resource.namespace.lower()
    return _deployment_unit(resource)


_LOCK_TYPE = "microsoft.authorization/locks"


def _is_lock(type_name: str) -> bool:
    lowered = type_name.lower()
    return lowered == _LOCK_TYPE or lowered.endswith("/providers/locks")


def azure_scope_key(type_name: str, name: str) -> str:
    """`Microsoft.Storage/storageAccounts/blobServices` + `acct/default` ->
    `microsoft.storage/storageaccounts/acct/blobservices/default`: the part of a
    resource ID after `/providers/`, which is how scopes and references name it."""
    namespace, *types = type_name.lower().split("/")
    names = name.lower().split("/")
    return namespace + "".join(f"/{t}/{n}" for t, n in zip(types, names, strict=False))


def scope_path(scope: str) -> str:
    """A scope or resource ID reduced to its provider part (see azure_scope_key)."""
    lowered = scope.strip().lower()
    if "/providers/" in lowered:
        lowered = lowered.rsplit("/providers/", 1)[1]
    return lowered.strip("/")


def _resource_group_of(scope: str) -> str | None:
    """The resource group a scope names, when the scope is the group itself."""
    parts = scope.strip().strip("/").lower().split("/")
    if len(parts) == 4 and parts[0] == "subscriptions" and parts[2] == "resourcegroups":
        return parts[3]
    return None


def _location(body: dict[str, Any]) -> str | None:
    value = body.get("location")
    if not isinstance(value, str) or not value or value.startswith("["):
        return None
    return value.replace(" ", "").lower()  # "West Europe" and "westeurope" are one region


def _lock_protects(lock: Resource, resource: Resource, target: str, group: str) -> bool:
    if lock.type.lower() != _LOCK_TYPE:
        # Nested form: type `<resource type>/providers/locks`,
        # name `<resource name>/Microsoft.Authorization/<lock name>`.
        target_type = lock.type[: -len("/providers/locks")]
        target_name = lock.name.lower().split("/microsoft.authorization/", 1)[0]
        return azure_scope_key(target_type, target_name) == target
    scope = lock.body.get("scope")
    lock_id = lock.body.get("id")
    if isinstance(scope, str):
        where = scope
    elif isinstance(lock_id, str) and "/providers/microsoft.authorization/locks/" in lock_id.lower():
        # Live locks carry their ID: the scope is everything before the lock's own segment.
        where = lock_id[: lock_id.lower().rindex("/providers/microsoft.authorization/locks/")]
    elif "scope" not in lock.body:
        # An unscoped lock in a template locks the resource group it is deployed to,
        # which is where the template's other resources go.
        return azure_group_key(lock) == azure_group_key(resource)
    else:
        return False
    lock_group = _resource_group_of(where)
    if lock_group is not None:
        return bool(group) and lock_group == group
    path = scope_path(where)
    # A lock on a parent resource also covers its child resources.
    return path == target or (path.count("/") >= 2 and target.startswith(path + "/"))


# -- helpers of the Kubernetes availability and backup relations ------------------------

_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def _targets(autoscaler: Resource, workload: Resource) -> bool:
    """An HPA's `spec.scaleTargetRef` (a VPA's `spec.targetRef`) names the workload."""
    spec = autoscaler.body.get("spec")
    ref = (spec.get("scaleTargetRef") or spec.get("targetRef")) if isinstance(spec, dict) else None
    return isinstance(ref, dict) and ref.get("kind") == workload.type and ref.get("name") == workload.name


def _min_available_blocks(pdb: Resource, count: int) -> bool:
    """A PDB's `minAvailable` (a count, or a percentage rounded up as the disruption
    controller does) leaves no pod of `count` replicas to evict. `100%` is left to the
    PDB's own check (HA-K8S-004A), which flags it whatever the replica count."""
    spec = pdb.body.get("spec")
    value = spec.get("minAvailable") if isinstance(spec, dict) else None
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= count
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit() and value != "100%":
        return math.ceil(int(value[:-1]) * count / 100) >= count
    return False


def _claim_names(resource: Resource) -> set[str]:
    """Names of the PersistentVolumeClaims a workload's pod template mounts."""
    found = pod_template(resource)
    volumes = found[1].get("volumes") if found is not None else None
    names: set[str] = set()
    for volume in volumes if isinstance(volumes, list) else []:
        claim = volume.get("persistentVolumeClaim") if isinstance(volume, dict) else None
        if isinstance(claim, dict) and isinstance(claim.get("claimName"), str):
            names.add(claim["claimName"])
    return names


def _suspended(body: dict[str, Any]) -> bool:
    spec = body.get("spec")
    return isinstance(spec, dict) and spec.get("suspend") is True


def _velero_covers(schedule: dict[str, Any], namespace: str) -> bool:
    """A Velero Schedule backs up `namespace`: included (no list or `*` means every
    namespace) and not excluded. A paused schedule covers nothing."""
    if not is_velero_schedule(schedule):
        return False
    spec = schedule.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    if spec.get("paused") is True:
        return False
    template = spec.get("template")
    template = template if isinstance(template, dict) else {}
    included = template.get("includedNamespaces") or ["*"]
    excluded = template.get("excludedNamespaces") or []
    if not isinstance(included, list) or not isinstance(excluded, list):
        return False
    return ("*" in included or namespace in included) and namespace not in excluded
