"""The platform model: which workloads form a service, and which data stores, caches,
volumes and ingress routes each service depends on.

Links are inferred only from what the configuration states:

- a host name in a workload's literal env values or in a ConfigMap it mounts or reads
  (an Odoo `odoo.conf` `db_host` included): `<server>.postgres.database.azure.com` is a
  PostgreSQL flexible server, `<name>.redis.cache.windows.net` an Azure Cache for Redis,
  `<account>.{blob,file,dfs,queue,table}.core.windows.net` or `AccountName=<account>` a
  storage account, and `<service>[.<namespace>[.svc...]]` a Kubernetes Service (whose
  selected workload becomes a dependency);
- an env var whose name mentions `STORAGE_ACCOUNT` holds a storage account name;
- the PersistentVolumeClaims a pod mounts, and each of a StatefulSet's
  `volumeClaimTemplates`: a template is a volume of its own, unless the claims
  Kubernetes created from it (`<template>-<statefulset>-<ordinal>`) are in the scan, in
  which case those claims are the volumes instead (see `_claim_templates`);
- Traefik `IngressRoute` / `Ingress` routes to a Service name the workload it selects;
  an `IngressRoute` also depends on the Traefik controller running in the scan.

Secrets are never read. Services can also be declared in `.tierscan.yaml` (`services:`),
which wins over inference for the workloads it names.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scanner.engine.odoo_conf import odoo_conf_facts
from scanner.engine.relations import label_selector_matches
from scanner.engine.views import pod_template
from scanner.model import TIERS, JsonPath, Platform, Resource

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
PG_TYPE = "microsoft.dbforpostgresql/flexibleservers"
REDIS_TYPE = "microsoft.cache/redis"
STORAGE_TYPE = "microsoft.storage/storageaccounts"
VAULT_TYPE = "microsoft.recoveryservices/vaults"
AKS_TYPE = "microsoft.containerservice/managedclusters"
PART_OF = "app.kubernetes.io/part-of"

_PG_HOST = re.compile(r"\b([a-z0-9][a-z0-9-]{1,62})\.postgres\.database\.azure\.com\b", re.I)
_REDIS_HOST = re.compile(r"\b([a-z0-9][a-z0-9-]{0,62})\.redis\.cache\.windows\.net\b", re.I)
_STORAGE_HOST = re.compile(r"\b([a-z0-9]{3,24})\.(?:blob|file|dfs|queue|table)\.core\.windows\.net\b", re.I)
_ACCOUNT_NAME = re.compile(r"AccountName=([a-z0-9]{3,24})\b", re.I)
_K8S_HOST = re.compile(r"^(?:[a-z]+://)?([a-z0-9][a-z0-9-]*)(?:\.([a-z0-9-]+))?(?:\.svc(?:\.[a-z0-9.-]+)?)?(?::\d+)?/?$")
_TRAEFIK_HOST = re.compile(r"Host(?:SNI)?\(([^)]*)\)")


def tier_rank(tier: str) -> int:
    """Higher is more critical."""
    return len(TIERS) - TIERS.index(tier) if tier in TIERS else 0


@dataclass(frozen=True)
class Link:
    """Why a component belongs to a service: the resource and property that say so."""

    source: Resource
    path: JsonPath
    text: str  # e.g. "odoo.conf db_host = pg-erp-prod.postgres.database.azure.com"


@dataclass
class Component:
    kind: str  # workload | postgresql | storage | redis | vault | volume | ingress
    resource: Resource
    links: list[Link] = field(default_factory=list)
    # A volume that is a StatefulSet's claim template: its index in
    # spec.volumeClaimTemplates. The resource is then the StatefulSet, so that every
    # location points into the manifest that declares the template.
    claim_template: int | None = None

    @property
    def template_name(self) -> str:
        """The claim template's name ("" for any other component); _claim_templates made
        the component only for a template with a name."""
        if self.claim_template is None:
            return ""
        template = _get_list(self.resource.body, "spec", "volumeClaimTemplates")[self.claim_template]
        return str(template["metadata"]["name"])

    @property
    def label(self) -> str:
        if self.claim_template is not None:
            return f"PersistentVolumeClaim template {self.template_name} of StatefulSet {self.resource.name}"
        names = {"postgresql": "PostgreSQL", "storage": "storage account", "redis": "Azure Cache for Redis",
                 "vault": "Recovery Services vault", "volume": "PersistentVolumeClaim"}
        return f"{names.get(self.kind, self.resource.type)} {self.resource.name}"

    @property
    def key(self) -> tuple[int, str, int | None]:
        """What the component stands for: a StatefulSet is a workload and, once per claim
        template, a volume, all with the same resource."""
        return id(self.resource), self.kind, self.claim_template

    @property
    def is_store(self) -> bool:
        return self.kind in ("postgresql", "storage", "redis", "vault", "volume")


@dataclass
class Service:
    name: str
    tier: str
    environment: str
    namespace: str | None
    declared: bool = False
    components: list[Component] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    def add(self, component: Component) -> Component:
        for existing in self.components:
            if existing.key == component.key:
                existing.links.extend(link for link in component.links if link not in existing.links)
                return existing
        self.components.append(component)
        return component

    @property
    def workloads(self) -> list[Component]:
        return [c for c in self.components if c.kind == "workload"]


@dataclass
class PlatformModel:
    services: list[Service]
    unlinked: list[Component]  # data stores no service depends on
    clusters: list[Resource]
    resources: list[Resource]


def _azure_kind(resource: Resource) -> str | None:
    return {PG_TYPE: "postgresql", REDIS_TYPE: "redis", STORAGE_TYPE: "storage",
            VAULT_TYPE: "vault"}.get(resource.type.lower())


def _strings(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


class _Index:
    def __init__(self, resources: list[Resource]) -> None:
        self.azure: dict[tuple[str, str], Resource] = {}
        self.k8s: dict[tuple[str | None, str, str], Resource] = {}
        self.by_kind: dict[str, list[Resource]] = {}
        for r in resources:
            if r.platform is Platform.AZURE:
                self.azure[(r.type.lower(), r.name.lower())] = r
            else:
                self.k8s[(r.namespace, r.type, r.name)] = r
                self.by_kind.setdefault(r.type, []).append(r)

    def k8s_get(self, namespace: str | None, kind: str, name: str) -> Resource | None:
        return self.k8s.get((namespace, kind, name))

    def template_claims(self, namespace: str | None, prefix: str) -> list[Resource]:
        """The claims named `<prefix>-<ordinal>` in `namespace`, by ordinal."""
        pattern = re.compile(re.escape(prefix) + r"-(0|[1-9][0-9]*)")
        found = [(int(match.group(1)), pvc) for pvc in self.by_kind.get("PersistentVolumeClaim", [])
                 if pvc.namespace == namespace and (match := pattern.fullmatch(pvc.name))]
        return [pvc for _ordinal, pvc in sorted(found, key=lambda item: item[0])]

    def selected_workloads(self, service: Resource) -> list[Resource]:
        spec = service.body.get("spec")
        selector = spec.get("selector") if isinstance(spec, dict) else None
        if not isinstance(selector, dict) or not selector:
            return []
        out = []
        for kind in WORKLOAD_KINDS:
            for workload in self.by_kind.get(kind, []):
                if workload.namespace != service.namespace:
                    continue
                found = pod_template(workload)
                labels = found[0].get("labels") if found else None
                if isinstance(labels, dict) and label_selector_matches({"matchLabels": selector}, labels):
                    out.append(workload)
        return out


def _config_texts(workload: Resource, index: _Index) -> Iterator[tuple[Resource, JsonPath, str, str]]:
    """(resource, path, what, text) for every literal value the workload's pods read:
    env values, and the data of the ConfigMaps they mount or reference."""
    found = pod_template(workload)
    if found is None:
        return
    _meta, spec, base = found
    configmaps: dict[str, None] = {}
    for list_name in ("initContainers", "containers"):
        containers = spec.get(list_name)
        for i, container in enumerate(containers if isinstance(containers, list) else []):
            if not isinstance(container, dict):
                continue
            for j, env in enumerate(container.get("env") or []):
                if not isinstance(env, dict):
                    continue
                path = (*base, "spec", list_name, i, "env", j, "value")
                if isinstance(env.get("value"), str):
                    yield workload, path, f"env {env.get('name')}", env["value"]
                ref = (env.get("valueFrom") or {}).get("configMapKeyRef") if isinstance(env.get("valueFrom"), dict) \
                    else None
                if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                    configmaps[ref["name"]] = None
            for source in container.get("envFrom") or []:
                ref = source.get("configMapRef") if isinstance(source, dict) else None
                if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                    configmaps[ref["name"]] = None
    for volume in spec.get("volumes") or []:
        ref = volume.get("configMap") if isinstance(volume, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            configmaps[ref["name"]] = None
        projected = volume.get("projected") if isinstance(volume, dict) else None
        for item in (projected.get("sources") or []) if isinstance(projected, dict) else []:
            ref = item.get("configMap") if isinstance(item, dict) else None
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                configmaps[ref["name"]] = None
    for name in configmaps:
        cm = index.k8s_get(workload.namespace, "ConfigMap", name)
        if cm is None:
            continue
        conf = odoo_conf_facts(cm).get("odooConf")
        conf_key = conf.get("key") if conf else None
        if conf and isinstance(conf.get("db_host"), str):
            yield cm, ("data", str(conf_key)), f"{conf_key} db_host", conf["db_host"]
        for path, text in _strings(cm.body.get("data"), ("data",)):
            if path[1:] != (conf_key,):  # the odoo.conf itself was read above, by key
                yield cm, path, f"data {'.'.join(map(str, path[1:]))}", text


def _env_names(workload: Resource) -> Iterator[tuple[JsonPath, str, str]]:
    """(path of value, env name, value) for literal env values."""
    found = pod_template(workload)
    if found is None:
        return
    _meta, spec, base = found
    for list_name in ("initContainers", "containers"):
        containers = spec.get(list_name)
        for i, container in enumerate(containers if isinstance(containers, list) else []):
            for j, env in enumerate(container.get("env") or [] if isinstance(container, dict) else []):
                if isinstance(env, dict) and isinstance(env.get("name"), str) and isinstance(env.get("value"), str):
                    yield (*base, "spec", list_name, i, "env", j, "value"), env["name"], env["value"]


def _dependencies(workload: Resource, index: _Index) -> Iterator[tuple[Component, Resource | None]]:
    """Data stores (as components) and workloads (second item) this workload depends on."""
    for source, path, what, text in _config_texts(workload, index):
        for pattern, type_key, kind in ((_PG_HOST, PG_TYPE, "postgresql"), (_REDIS_HOST, REDIS_TYPE, "redis"),
                                        (_STORAGE_HOST, STORAGE_TYPE, "storage"),
                                        (_ACCOUNT_NAME, STORAGE_TYPE, "storage")):
            for match in pattern.finditer(text):
                target = index.azure.get((type_key, match.group(1).lower()))
                if target is not None:
                    link = Link(source, path, f"{source.type} {source.name} {what} = {match.group(0)}")
                    yield Component(kind, target, [link]), None
        ref = _k8s_service_ref(what, text)
        if ref is not None:
            svc = index.k8s_get(ref[1] or workload.namespace, "Service", ref[0])
            for target_workload in index.selected_workloads(svc) if svc is not None else []:
                if target_workload is not workload:
                    link = Link(source, path, f"{source.type} {source.name} {what} = {text.strip()} "
                                              f"(Service {ref[0]})")
                    yield Component("workload", target_workload, [link]), target_workload
    for path, name, value in _env_names(workload):
        if "STORAGE_ACCOUNT" in name.upper():
            target = index.azure.get((STORAGE_TYPE, value.strip().lower()))
            if target is not None:
                yield Component("storage", target, [Link(workload, path, f"{workload.type} {workload.name} env "
                                                                       f"{name} = {value}")]), None
    found = pod_template(workload)
    if found is not None:
        _meta, spec, base = found
        for i, volume in enumerate(spec.get("volumes") or []):
            claim = volume.get("persistentVolumeClaim") if isinstance(volume, dict) else None
            if isinstance(claim, dict) and isinstance(claim.get("claimName"), str):
                pvc = index.k8s_get(workload.namespace, "PersistentVolumeClaim", claim["claimName"])
                if pvc is not None:
                    yield Component("volume", pvc, [Link(workload, (*base, "spec", "volumes", i),
                                                         f"{workload.type} {workload.name} mounts "
                                                         f"claim {pvc.name}")]), None
    if workload.type == "StatefulSet":
        yield from ((component, None) for component in _claim_templates(workload, index))


def _claim_templates(sts: Resource, index: _Index) -> Iterator[Component]:
    """The volumes of a StatefulSet's claim templates.

    The StatefulSet controller creates one claim per replica, named
    `<template>-<statefulset>-<ordinal>`, and never changes its class. When such claims are in
    the scan (a live cluster, or claims written ahead for the StatefulSet to adopt), they
    are the volumes, and the template is not counted again: they hold the data, and they
    carry the class that was actually provisioned (admission fills in the default class;
    a StatefulSet recreated with another template keeps its old claims). Otherwise (files)
    the template itself is the volume."""
    templates = _get_list(sts.body, "spec", "volumeClaimTemplates")
    for i, template in enumerate(templates):
        name = template.get("metadata", {}).get("name") if isinstance(template, dict) and \
            isinstance(template.get("metadata"), dict) else None
        if not isinstance(name, str) or not name:
            continue  # the API server rejects a nameless template; nothing could be linked
        path: JsonPath = ("spec", "volumeClaimTemplates", i)
        created = index.template_claims(sts.namespace, f"{name}-{sts.name}")
        for pvc in created:
            yield Component("volume", pvc, [Link(sts, (*path, "metadata", "name"),
                                                 f"{sts.type} {sts.name} mounts claim {pvc.name} "
                                                 f"(from claim template {name})")])
        if not created:
            yield Component("volume", sts, [Link(sts, path, f"{sts.type} {sts.name} mounts claim template {name}")],
                            claim_template=i)


def _get_list(body: Any, *path: str) -> list[Any]:
    for step in path:
        body = body.get(step) if isinstance(body, dict) else None
    return body if isinstance(body, list) else []


def _route_services(route: Resource) -> Iterator[tuple[JsonPath, str]]:
    spec = route.body.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    if route.type == "IngressRoute":
        for i, item in enumerate(spec.get("routes") or []):
            for j, svc in enumerate((item.get("services") or []) if isinstance(item, dict) else []):
                if isinstance(svc, dict) and isinstance(svc.get("name"), str):
                    yield ("spec", "routes", i, "services", j, "name"), svc["name"]
    else:
        for i, rule in enumerate(spec.get("rules") or []):
            paths = ((rule.get("http") or {}).get("paths") or []) if isinstance(rule, dict) else []
            for j, item in enumerate(paths):
                svc = ((item.get("backend") or {}).get("service") or {}) if isinstance(item, dict) else {}
                if isinstance(svc.get("name"), str):
                    yield ("spec", "rules", i, "http", "paths", j, "backend", "service", "name"), svc["name"]


def route_hosts(route: Resource) -> list[str]:
    spec = route.body.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    hosts: list[str] = []
    if route.type == "IngressRoute":
        for item in spec.get("routes") or []:
            match = item.get("match") if isinstance(item, dict) else None
            for args in _TRAEFIK_HOST.findall(match if isinstance(match, str) else ""):
                hosts.extend(h.strip(" `'\"") for h in args.split(","))
    else:
        hosts.extend(str(rule["host"]) for rule in spec.get("rules") or []
                     if isinstance(rule, dict) and isinstance(rule.get("host"), str))
    return list(dict.fromkeys(h for h in hosts if h))


_HOST_NAMES = ("HOST", "_URL", "ADDR", "ADDRESS", "SERVER", "ENDPOINT")


def _k8s_service_ref(what: str, text: str) -> tuple[str, str | None] | None:
    """(service, namespace or None) when a value names an in-cluster Service: only
    host-like settings (`*HOST`, `*_URL`, ...) or values with `.svc` are considered, so
    that a user name that happens to equal a Service name is not taken for a link."""
    value = text.strip().lower()
    if not (what.upper().endswith(_HOST_NAMES) or ".svc" in value):
        return None
    match = _K8S_HOST.match(value)
    return (match.group(1), match.group(2)) if match else None


def _is_traefik(workload: Resource) -> bool:
    found = pod_template(workload)
    containers = found[1].get("containers") if found else None
    return any(isinstance(c, dict) and "traefik" in str(c.get("image", "")).lower()
               for c in (containers if isinstance(containers, list) else []))


def _matches(resource: Resource, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(resource.identity.lower(), p.lower()) for p in patterns)


def build_platform(resources: list[Resource], declared: list[dict[str, Any]] | None = None) -> PlatformModel:
    """Group `resources` (tiers already resolved) into services."""
    index = _Index(resources)
    workloads = [r for r in resources if r.platform is Platform.KUBERNETES and r.type in WORKLOAD_KINDS]
    deps: dict[int, list[tuple[Component, Resource | None]]] = {id(w): list(_dependencies(w, index))
                                                                 for w in workloads}
    routes = [r for r in resources if r.platform is Platform.KUBERNETES and r.type in ("IngressRoute", "Ingress")]
    traefik = [w for w in workloads if _is_traefik(w)]
    # A workload another one depends on, or an ingress controller, is part of the
    # services it serves rather than a service of its own.
    dependent_ids = {id(target) for items in deps.values() for _c, target in items if target is not None}
    if routes:
        dependent_ids |= {id(w) for w in traefik}

    services: dict[str, Service] = {}
    owner: dict[int, Service] = {}
    for spec in declared or []:
        service = Service(str(spec["name"]), "low", "production", None, declared=True)
        services[service.name] = service
        for workload in workloads:
            if _matches(workload, list(spec.get("workloads", []))):
                owner[id(workload)] = service
    for workload in workloads:
        if id(workload) in owner or id(workload) in dependent_ids:
            continue
        labels = workload.labels
        group = labels.get(PART_OF) if isinstance(labels.get(PART_OF), str) else workload.name
        name = f"{workload.namespace}/{group}" if workload.namespace else str(group)
        owner[id(workload)] = services.setdefault(name, Service(name, "low", workload.environment,
                                                                workload.namespace))

    def attach(service: Service, workload: Resource, link: Link | None, visiting: set[int]) -> None:
        if id(workload) in visiting:
            return
        visiting.add(id(workload))
        service.add(Component("workload", workload, [link] if link else []))
        for component, target in deps[id(workload)]:
            if target is not None:
                attach(service, target, component.links[0], visiting)
            else:
                service.add(component)

    for workload in workloads:
        found = owner.get(id(workload))
        if found is not None:
            attach(found, workload, None, set())
    for route in routes:
        for path, svc_name in _route_services(route):
            svc = index.k8s_get(route.namespace, "Service", svc_name)
            targets = index.selected_workloads(svc) if svc is not None else []
            for target in targets:
                served = owner.get(id(target))
                if served is None:
                    continue
                served.add(Component("ingress", route, [Link(route, path, f"routes to Service {svc_name}")]))
                served.hosts.extend(h for h in route_hosts(route) if h not in served.hosts)
                if route.type == "IngressRoute":
                    for controller in traefik:
                        attach(served, controller, Link(route, ("kind",), "IngressRoute is served by Traefik"),
                               set())
    for spec in declared or []:
        service = services[str(spec["name"])]
        for target in resources:
            if _matches(target, list(spec.get("depends_on", []))):
                kind = _azure_kind(target) if target.platform is Platform.AZURE else (
                    "volume" if target.type == "PersistentVolumeClaim" else
                    "workload" if target.type in WORKLOAD_KINDS else None)
                if kind == "workload":
                    attach(service, target, Link(target, (), "declared in .tierscan.yaml services"), set())
                elif kind is not None:
                    service.add(Component(kind, target, [Link(target, (), "declared in .tierscan.yaml services")]))

    order = {"workload": 0, "ingress": 1}
    for service in services.values():
        service.components.sort(key=lambda c: (order.get(c.kind, 2), c.kind if c.kind not in order else "",
                                               c.resource.name, -1 if c.claim_template is None else c.claim_template))
        workload_tiers = [c.resource.tier for c in service.components if c.kind == "workload"]
        declared_tier = _spec_of(declared, service.name).get("tier")
        service.tier = str(declared_tier) if declared_tier in TIERS else max(workload_tiers or ["low"], key=tier_rank)
        envs = [c.resource.environment for c in service.workloads]
        service.environment = "production" if "production" in envs else (envs[0] if envs else service.environment)
        if service.namespace is None and service.workloads:
            service.namespace = service.workloads[0].resource.namespace
    linked = {id(c.resource) for s in services.values() for c in s.components}
    linked_names = {c.resource.name.lower() for s in services.values() for c in s.components}
    # A read replica belongs with its primary server (it is that server's regional copy).
    unlinked = [Component(kind, r) for r in resources if r.platform is Platform.AZURE
                and (kind := _azure_kind(r)) is not None and id(r) not in linked
                and _replica_of(r) not in linked_names]
    # Reading order differs between files and live scans; the report must not.
    unlinked.sort(key=lambda c: (c.resource.type.lower(), c.resource.name.lower(), c.resource.origin.file or ""))
    clusters = [r for r in resources if r.type.lower() == AKS_TYPE]
    ordered = sorted(services.values(), key=lambda s: (-tier_rank(s.tier), s.name))
    return PlatformModel([s for s in ordered if s.components], unlinked, clusters, resources)


def _replica_of(resource: Resource) -> str | None:
    props = resource.body.get("properties")
    source = props.get("sourceServerResourceId") if isinstance(props, dict) else None
    return source.rstrip("/").rsplit("/", 1)[-1].lower() if isinstance(source, str) else None


def _spec_of(declared: list[dict[str, Any]] | None, name: str) -> dict[str, Any]:
    for spec in declared or []:
        if spec.get("name") == name:
            return spec
    return {}
