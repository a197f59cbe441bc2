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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from scanner.engine.policy import RelationSpec
from scanner.engine.views import pod_template
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
        }

    def related(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        return self._handlers[spec.relation](resource, spec)

    def _related_selecting(self, resource: Resource, spec: RelationSpec) -> list[Resource]:
        found = pod_template(resource)
        if found is None or spec.kind is None:
            return []
        meta = found[0]
        labels = meta.get("labels")
        pod_labels = labels if isinstance(labels, dict) else {}
        candidates = self._k8s.get((namespace_key(resource), spec.kind), [])
        return [c for c in candidates if _selects(c, pod_labels)]

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
