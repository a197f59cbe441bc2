"""Derived views: what a policy's conditions see for a resource.

- `object`: the resource body itself.
- `pod`: a Pod-shaped document (`metadata`, `spec`) for the pod template of any
  workload kind, so that one policy covers Deployment, StatefulSet, DaemonSet, Job,
  CronJob, ReplicaSet and Pod.
- `container`: each container (init and ephemeral containers included).

Every subject also carries `context`: the owner's kind, name, namespace, tier,
environment and replica count, plus related objects. No Kubernetes object, pod spec,
container or ARM resource has a top-level `context` field, so the key cannot collide.
A view also knows how to map a path in the subject back to a path in the body, so a
finding can point at the line that holds the offending property.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scanner.engine.derived import derive
from scanner.model import JsonPath, Resource, value_at

_TEMPLATE_PATHS: dict[str, JsonPath] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(slots=True)
class Subject:
    document: dict[str, Any]
    # Path prefix (in the body) of the view's document; "context" paths map to the root.
    body_prefix: JsonPath
    label: str = ""  # e.g. "container 'odoo'" for findings
    container: str | None = None

    def body_path(self, path: JsonPath) -> JsonPath:
        if path[:1] == ("context",):
            return ()
        return self.body_prefix + path


def template_path(kind: str) -> JsonPath | None:
    return _TEMPLATE_PATHS.get(kind)


def pod_template(resource: Resource) -> tuple[dict[str, Any], dict[str, Any], JsonPath] | None:
    """(pod metadata, pod spec, path of the template in the body) for a workload."""
    path = _TEMPLATE_PATHS.get(resource.type)
    if path is None:
        return None
    template = value_at(resource.body, path)
    if not isinstance(template, dict):
        return None
    spec = template.get("spec")
    meta = template.get("metadata")
    return (meta if isinstance(meta, dict) else {}), (spec if isinstance(spec, dict) else {}), path


def replicas(resource: Resource) -> int | None:
    """Declared replica count; None where the count is not fixed (DaemonSet)."""
    kind = resource.type
    spec = resource.body.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        value = spec.get("replicas", 1)  # the API server defaults it to 1
        return value if isinstance(value, int) else None
    if kind == "Job":
        value = spec.get("parallelism", 1)
        return value if isinstance(value, int) else None
    if kind in ("Pod", "CronJob"):
        return 1
    return None


def base_context(resource: Resource) -> dict[str, Any]:
    context: dict[str, Any] = {
        "kind": resource.type,
        "name": resource.name,
        "namespace": resource.namespace,
        "tier": resource.tier,
        "environment": resource.environment,
        "replicas": replicas(resource) if resource.platform.value == "kubernetes" else None,
    }
    derived = derive(resource)
    if derived is not None:
        context["derived"] = derived
    return context


def subjects(resource: Resource, view: str, context: dict[str, Any]) -> Iterator[Subject]:
    if view == "object":
        doc = dict(resource.body)
        doc["context"] = context
        yield Subject(doc, ())
        return
    found = pod_template(resource)
    if found is None:
        return
    meta, spec, path = found
    if view == "pod":
        yield Subject({"metadata": meta, "spec": spec, "context": context}, path)
        return
    pod_context = dict(context)
    pod_context["pod"] = {k: v for k, v in spec.items() if k not in CONTAINER_LISTS}
    for list_name in CONTAINER_LISTS:
        containers = spec.get(list_name)
        if not isinstance(containers, list):
            continue
        for index, container in enumerate(containers):
            if not isinstance(container, dict):
                continue
            doc = dict(container)
            name = str(container.get("name", index))
            doc["context"] = {**pod_context, "container": name, "containerList": list_name}
            yield Subject(doc, (*path, "spec", list_name, index),
                          label=f"{list_name}[{name}]", container=name)


def with_related(subject: Subject, related: dict[str, list[dict[str, Any]]]) -> Subject:
    """A copy of the subject whose context also holds a policy's related objects."""
    document = dict(subject.document)
    document["context"] = {**document["context"], "related": related}
    return Subject(document, subject.body_prefix, subject.label, subject.container)
