"""Container image references: which registry an image is pulled from.

GOV-K8S-004 compares each image's registry with an allow-list that users write as host
names or `*.suffix` globs (`contoso.azurecr.io`, `*.azurecr.io`). A JSON Schema cannot
match a value against a list of globs, so the deriver here lists, for every image,
each form an allow-list entry could take to admit it (`registryForms`); the policy then
only asks whether one of them is in the list (`contains` + `enum`).
"""

from __future__ import annotations

from typing import Any

from scanner.model import Resource

DOCKER_HUB = "docker.io"
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def registry_of(image: str) -> str:
    """The registry host of an image reference, following the Docker reference grammar:
    the first path component is a registry only if it has a `.` or a `:` or is
    `localhost`; otherwise the image is on Docker Hub (`odoo:17` -> docker.io)."""
    first, sep, _rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first.lower()
    return DOCKER_HUB


def repository_of(image: str) -> str:
    """`registry/path/name` without tag or digest (`odoo:17` -> docker.io/library/odoo)."""
    name = image.split("@", 1)[0]
    last_slash = name.rfind("/")
    if ":" in name[last_slash + 1:]:
        name = name[: name.rindex(":")]
    registry = registry_of(image)
    path = name[len(registry) + 1:] if name.lower().startswith(registry + "/") else name
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return f"{registry}/{path}"


def registry_forms(image: str) -> list[str]:
    """Every allow-list entry that admits the image: the registry host, its `*.` suffix
    globs, and repository prefixes (`contoso.azurecr.io/erp`) for per-team lists."""
    registry = registry_of(image)
    host = registry.split(":", 1)[0]
    forms = [registry]
    labels = host.split(".")
    forms += ["*." + ".".join(labels[i:]) for i in range(1, len(labels))]
    parts = repository_of(image).split("/")
    forms += ["/".join(parts[:i]) for i in range(2, len(parts) + 1)]
    return forms


def _pod_spec(body: dict[str, Any]) -> dict[str, Any]:
    # The workload shapes (Pod, template, CronJob job template), walked here rather than
    # through views.pod_template: views imports the deriver table, which imports this.
    spec = body.get("spec")
    for step in (("jobTemplate", "spec", "template", "spec"), ("template", "spec")):
        node: Any = spec
        for key in step:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return node
    return spec if isinstance(spec, dict) and body.get("kind") == "Pod" else {}


def workload_images(resource: Resource) -> dict[str, Any]:
    """Deriver for workload kinds: `images`, one entry per container with an image."""
    spec = _pod_spec(resource.body)
    images: list[dict[str, Any]] = []
    for list_name in _CONTAINER_LISTS:
        containers = spec.get(list_name)
        if not isinstance(containers, list):
            continue
        for container in containers:
            image = container.get("image") if isinstance(container, dict) else None
            if isinstance(image, str) and image.strip():
                images.append({"container": str(container.get("name", "")), "image": image.strip(),
                               "registryForms": registry_forms(image.strip())})
    return {"images": images}
