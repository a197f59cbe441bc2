"""Live Kubernetes: list the objects the policies need from one or more clusters.

Uses the official `kubernetes` client (kubeconfig and context, or in-cluster config)
through its generic `ApiClient.call_api`, so every kind, built-in or custom, is read as
the API server's JSON:

- every needed kind is listed in all namespaces (or `--namespace`) with
  `limit`/`continue` paging;
- custom resources (Traefik IngressRoute, Velero Schedule, CloudNativePG Cluster,
  cert-manager Certificate) are read when API discovery says the cluster serves them,
  and skipped with a note otherwise;
- Secrets are listed as `PartialObjectMetadataList`, so their data never leaves the
  API server (any `data` a server sends anyway is dropped);
- list items lack `apiVersion`/`kind`; they are filled in;
- Pods, ReplicaSets and Jobs a workload controller made are skipped: the owner is
  evaluated.
- Faults: urllib3 retries resets and timeouts; a body cut short or not JSON is read
  again (twice at most); a list that fails on any page is not used at all (an error says
  so), a repeated `continue` token stops the list, a custom kind whose list answers 404
  (its CRD was deleted mid-scan) is a note, and 401s get one line naming the cause.

The client is imported inside functions only, so file scans never load it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from scanner.engine.policy import Policy
from scanner.model import Origin, Platform, Resource, ScanError
from scanner.sources.live_azure import LiveRead, ProgressFn, in_shard

PAGE_SIZE = 500
# Secrets are listed as metadata only (a media type, not a credential).
METADATA_ONLY_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


# Reads of a body that arrived cut short or garbled, before giving up.
BODY_ATTEMPTS = 3


class ListError(Exception):
    """The API server answered a list or discovery request with an HTTP error."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class KindInfo:
    group_versions: tuple[str, ...]  # "v1" for the core group; newest first
    plural: str
    namespaced: bool = True
    custom: bool = False  # served only where a CRD is installed


# Kind -> where it is served (Kubernetes API reference,
# https://kubernetes.io/docs/reference/kubernetes-api/, and the CRDs' projects).
KINDS: dict[str, KindInfo] = {
    "Namespace": KindInfo(("v1",), "namespaces", namespaced=False),
    "Pod": KindInfo(("v1",), "pods"),
    "Service": KindInfo(("v1",), "services"),
    "ConfigMap": KindInfo(("v1",), "configmaps"),
    "Secret": KindInfo(("v1",), "secrets"),
    "ServiceAccount": KindInfo(("v1",), "serviceaccounts"),
    "PersistentVolumeClaim": KindInfo(("v1",), "persistentvolumeclaims"),
    "PersistentVolume": KindInfo(("v1",), "persistentvolumes", namespaced=False),
    "ReplicationController": KindInfo(("v1",), "replicationcontrollers"),
    "ResourceQuota": KindInfo(("v1",), "resourcequotas"),
    "LimitRange": KindInfo(("v1",), "limitranges"),
    "Deployment": KindInfo(("apps/v1",), "deployments"),
    "StatefulSet": KindInfo(("apps/v1",), "statefulsets"),
    "DaemonSet": KindInfo(("apps/v1",), "daemonsets"),
    "ReplicaSet": KindInfo(("apps/v1",), "replicasets"),
    "Job": KindInfo(("batch/v1",), "jobs"),
    "CronJob": KindInfo(("batch/v1",), "cronjobs"),
    "HorizontalPodAutoscaler": KindInfo(("autoscaling/v2",), "horizontalpodautoscalers"),
    "PodDisruptionBudget": KindInfo(("policy/v1",), "poddisruptionbudgets"),
    "NetworkPolicy": KindInfo(("networking.k8s.io/v1",), "networkpolicies"),
    "Ingress": KindInfo(("networking.k8s.io/v1",), "ingresses"),
    "StorageClass": KindInfo(("storage.k8s.io/v1",), "storageclasses", namespaced=False),
    "PriorityClass": KindInfo(("scheduling.k8s.io/v1",), "priorityclasses", namespaced=False),
    "Role": KindInfo(("rbac.authorization.k8s.io/v1",), "roles"),
    "RoleBinding": KindInfo(("rbac.authorization.k8s.io/v1",), "rolebindings"),
    "ClusterRole": KindInfo(("rbac.authorization.k8s.io/v1",), "clusterroles", namespaced=False),
    "ClusterRoleBinding": KindInfo(("rbac.authorization.k8s.io/v1",), "clusterrolebindings", namespaced=False),
    "IngressRoute": KindInfo(("traefik.io/v1alpha1", "traefik.containo.us/v1alpha1"), "ingressroutes",
                             custom=True),
    "Schedule": KindInfo(("velero.io/v1",), "schedules", custom=True),
    "Cluster": KindInfo(("postgresql.cnpg.io/v1",), "clusters", custom=True),
    "ScheduledBackup": KindInfo(("postgresql.cnpg.io/v1",), "scheduledbackups", custom=True),
    "Certificate": KindInfo(("cert-manager.io/v1",), "certificates", custom=True),
}

# Generated objects -> the controllers whose pod template they copy: when one of these
# controls them, the owner is what policies judge (Pods -> ReplicaSet -> Deployment).
GENERATED_BY: dict[str, set[str]] = {
    "Pod": {"ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"},
    "ReplicaSet": {"Deployment"},
    "Job": {"CronJob"},
}


@dataclass
class KubernetesLiveOptions:
    kubeconfig: str | None = None
    contexts: list[str] = field(default_factory=list)  # empty: the current context
    in_cluster: bool = False
    namespace: str | None = None
    page_size: int = PAGE_SIZE
    timeout: float = 60.0
    shard: tuple[int, int] | None = None  # (i, n), 1-based: scan only this share of the contexts
    retries: int = 3  # urllib3's default for resets and timeouts; also the ceiling for Retry-After answers


def needed_kinds(policies: list[Policy]) -> list[str]:
    """Every kind a policy evaluates or relates to, plus Namespace (tiers), in a stable order."""
    kinds: set[str] = {"Namespace"}
    for policy in policies:
        if policy.platform is not Platform.KUBERNETES:
            continue
        kinds.update(policy.kinds)
        kinds.update(spec.kind for spec in policy.relations.values() if spec.kind)
    return sorted(kinds)


def relation_kinds(policies: list[Policy]) -> dict[str, set[str]]:
    """Related kind -> the kinds whose policies relate to it. When a list fails, those
    kinds are not judged: their policies would take the unread objects as absent."""
    out: dict[str, set[str]] = {}
    for policy in policies:
        if policy.platform is not Platform.KUBERNETES:
            continue
        for spec in policy.relations.values():
            related = spec.kind or ("Namespace" if spec.relation == "namespace" else None)
            if related:
                out.setdefault(related, set()).update(policy.kinds)
    return out


def _generated(kind: str, item: dict[str, Any]) -> bool:
    """Whether a controller whose pod template policies evaluate made this object.
    Pods of other controllers (database operators, say) are kept: nothing else would
    show their containers to a policy."""
    owners = (item.get("metadata") or {}).get("ownerReferences") or []
    templated = GENERATED_BY.get(kind, set())
    return any(isinstance(o, dict) and o.get("controller") is True and o.get("kind") in templated for o in owners)


class ClusterReader:
    def __init__(self, api: Any, cluster: str, options: KubernetesLiveOptions, read: LiveRead) -> None:
        self.api = api
        self.cluster = cluster
        self.options = options
        self.read = read
        self._served: set[str] | None = None
        self.refused = 0  # lists answered 401
        self.failed: list[str] = []  # kinds whose list could not be read

    def get(self, path: str, query: list[tuple[str, Any]] | None = None, accept: str = "application/json") -> Any:
        """GET one API path as JSON through the client's own serialization, auth and
        TLS settings; an HTTP error raises ListError."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import ProtocolError

        for attempt in range(BODY_ATTEMPTS):
            self.read.requests += 1
            method, url, headers, body, _post = self.api.param_serialize(
                "GET", path, query_params=query or [], header_params={"Accept": accept},
                auth_settings=["BearerToken"])
            try:
                response = self.api.call_api(method, url, header_params=headers, body=body,
                                             _request_timeout=self.options.timeout)
            except ApiException as exc:  # a 429/5xx with Retry-After, still refused after the retries
                if not exc.status:
                    raise
                retries = self.options.retries
                raise ListError(f"HTTP {exc.status} {exc.reason}, after {retries} retr{'y' if retries == 1 else 'ies'}",
                                exc.status) from None
            try:
                data = response.read()
                if response.status >= 400:
                    raise ListError(f"HTTP {response.status} {response.reason}", response.status)
                return json.loads(data) if data else {}
            except (ProtocolError, ValueError):  # urllib3 retries up to the headers only
                if attempt == BODY_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def served_group_versions(self) -> set[str]:
        """Group/versions the API server serves (`/api` and `/apis` discovery)."""
        if self._served is None:
            served = {"v1"}
            groups = self.get("/apis")
            for group in (groups or {}).get("groups") or []:
                for version in group.get("versions") or []:
                    if isinstance(version, dict) and version.get("groupVersion"):
                        served.add(str(version["groupVersion"]))
            self._served = served
        return self._served

    def kind_path(self, kind: str) -> tuple[str, KindInfo] | None:
        info = KINDS.get(kind)
        if info is None:
            return None
        served = self.served_group_versions()
        for gv in info.group_versions:
            if gv in served:
                return gv, info
        return None

    def list_kind(self, kind: str) -> list[Resource]:
        found = self.kind_path(kind)
        if found is None:
            if kind in KINDS and KINDS[kind].custom:
                self.read.notes.append(
                    f"{self.cluster}: {kind} ({' or '.join(KINDS[kind].group_versions)}) is not served; skipped")
            elif kind not in KINDS:
                self.read.errors.append(ScanError(
                    f"{self.cluster}: kind {kind} is not in the live kind table; it was not read"))
            else:
                self.read.errors.append(ScanError(f"{self.cluster}: {kind} is not served by the API server"))
            return []
        gv, info = found
        prefix = "/api/v1" if gv == "v1" else f"/apis/{gv}"
        query: list[tuple[str, Any]] = []
        namespace = self.options.namespace
        if info.namespaced and namespace:
            path = f"{prefix}/namespaces/{namespace}/{info.plural}"
        else:
            path = f"{prefix}/{info.plural}"
            if kind == "Namespace" and namespace:
                query.append(("fieldSelector", f"metadata.name={namespace}"))
        accept = METADATA_ONLY_ACCEPT if kind == "Secret" else "application/json"
        out: list[Resource] = []
        token: str | None = None
        tokens: set[str] = set()
        while True:
            page = [*query, ("limit", self.options.page_size)] + ([("continue", token)] if token else [])
            try:
                body = self.get(path, page, accept)
            except ListError as exc:
                if exc.status == 404 and info.custom:
                    self.read.notes.append(f"{self.cluster}: {kind} ({gv}) stopped being served during the scan "
                                           "(HTTP 404, its CRD was removed?); skipped")
                    return []
                if exc.status == 401:
                    self.refused += 1
                # A list read in part is not used: relations would see the missing part as absent.
                self.failed.append(kind)
                self.read.errors.append(ScanError(f"{self.cluster}: listing {kind} ({path}): {exc}; not read"))
                return []
            for item in (body or {}).get("items") or []:
                if not isinstance(item, dict):
                    continue
                if _generated(kind, item):
                    continue
                out.append(self.resource(kind, gv, item))
            token = ((body or {}).get("metadata") or {}).get("continue") or None
            if not token:
                return out
            if token in tokens:
                self.failed.append(kind)
                self.read.errors.append(ScanError(
                    f"{self.cluster}: listing {kind} ({path}): the API server sent the same continue token twice "
                    f"after {len(tokens) + 1} pages; the list was stopped and not used"))
                return []
            tokens.add(token)

    def resource(self, kind: str, gv: str, item: dict[str, Any]) -> Resource:
        item = dict(item)
        if kind == "Secret":
            # Belt and braces: a server that ignored the metadata-only Accept header
            # still never gets its Secret values into a report or a snapshot.
            item = {k: v for k, v in item.items() if k not in ("data", "stringData")}
        item["apiVersion"], item["kind"] = gv, kind
        raw_meta = item.get("metadata")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        name = str(meta.get("name") or "(unnamed)")
        namespace = meta.get("namespace")
        return Resource(platform=Platform.KUBERNETES, type=kind, name=name, body=item,
                        origin=Origin(live_id=f"{self.cluster}/{namespace or '-'}/{kind}/{name}"),
                        namespace=str(namespace) if namespace else None, api_version=gv)

    def run(self, kinds: list[str], progress: ProgressFn | None,
            dependents: dict[str, set[str]] | None = None) -> list[Resource]:
        if "Secret" in kinds:
            self.read.notes.append(
                f"{self.cluster}: Secrets were read as metadata only; policies that inspect Secret "
                "contents see none in a live scan")
        from urllib3.exceptions import HTTPError

        try:
            self.served_group_versions()
        except (ListError, HTTPError, OSError, ValueError) as exc:
            self.read.errors.append(ScanError(f"{self.cluster}: API discovery failed: {exc}"))
            return []
        out: list[Resource] = []
        for done, kind in enumerate(kinds, 1):
            try:
                out.extend(self.list_kind(kind))
            except (HTTPError, OSError, ValueError) as exc:
                self.failed.append(kind)
                self.read.errors.append(ScanError(f"{self.cluster}: listing {kind}: {_describe(exc)}; not read"))
            if progress is not None:
                progress(f"{self.cluster}", done, len(kinds))
        if self.refused:
            self.read.errors.append(ScanError(
                f"{self.cluster}: the API server refused the credentials (HTTP 401) on {self.refused} "
                f"list{'s' if self.refused != 1 else ''}, listed above; a token that expired mid-scan is refreshed "
                "only by a kubeconfig exec or auth-provider plugin, not a static token"))
        return self._without_dependents(out, dependents or {})

    def _without_dependents(self, out: list[Resource], dependents: dict[str, set[str]]) -> list[Resource]:
        """Leave out the objects whose policies relate to a kind that was not read, and
        everything when Namespaces were not read (a Namespace's labels give the tier)."""
        dropped: dict[str, str] = {}
        for failed in self.failed:
            if failed == "Namespace":
                for resource in out:
                    dropped.setdefault(resource.type, "their tier comes from Namespace labels, and Namespaces")
            for kind in sorted(dependents.get(failed, set())):
                dropped.setdefault(kind, f"a policy relates them to {failed}, which")
        for kind, why in sorted(dropped.items()):
            count = sum(1 for r in out if r.type == kind)
            if count:
                self.read.notes.append(f"{self.cluster}: {count} {kind} object{'s' if count != 1 else ''} not "
                                       f"evaluated: {why} could not be read")
        return [r for r in out if r.type not in dropped]


def _describe(exc: Exception) -> str:
    """A transport failure in a few words: urllib3's text names host, port and query."""
    from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError

    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
    text = str(reason)
    if isinstance(reason, ReadTimeoutError) or "timed out" in text.lower():
        return "no answer within --timeout, after retries"
    if isinstance(reason, ProtocolError) and "IncompleteRead" in text:
        return "the answer was cut off, after retries"
    if isinstance(reason, (ProtocolError, ConnectionError)) or "reset by peer" in text:
        return "the connection was reset, after retries"
    if isinstance(reason, ValueError):
        return f"the answer is not JSON ({text}), after retries"
    return f"{type(reason).__name__}: {text}"


def api_clients(options: KubernetesLiveOptions) -> list[tuple[str, Any]]:
    """(cluster name, ApiClient) for each requested context, or the in-cluster config."""
    from kubernetes import client, config

    if options.in_cluster:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return [("in-cluster", client.ApiClient(_with_retries(configuration, options)))]
    contexts: list[str | None] = [c for c in options.contexts if in_shard(c, options.shard)] or (
        [] if options.contexts else [None])
    out: list[tuple[str, Any]] = []
    for context in contexts:
        name = context
        if name is None:
            _all, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
                config_file=options.kubeconfig)
            name = str(active["name"]) if active else "current-context"
        configuration = client.Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=options.kubeconfig, context=context, client_configuration=configuration)
        out.append((name, client.ApiClient(_with_retries(configuration, options))))
    return out


def _with_retries(configuration: Any, options: KubernetesLiveOptions) -> Any:
    """Retry as kubectl (client-go) does: a GET answered 429 or 5xx with Retry-After is
    tried again after the time the server asks for (API Priority and Fairness throttles
    a busy API server this way), and resets and timeouts are retried by urllib3; both up
    to `--retries` times."""
    configuration.retries = options.retries
    configuration.client_go_retries = True
    return configuration


def read_kubernetes(options: KubernetesLiveOptions, policies: list[Policy],
                    progress: ProgressFn | None = None) -> LiveRead:
    """Read every object a policy needs from each cluster; one group per cluster."""
    read = LiveRead()
    kinds = needed_kinds(policies)
    try:
        connected = api_clients(options)
    except Exception as exc:  # the client raises many configuration error types
        read.errors.append(ScanError(f"Kubernetes configuration: {exc}"))
        return read
    if not connected and options.shard is not None:
        read.notes.append(f"shard {options.shard[0]}/{options.shard[1]} holds no kube context")
    for cluster, api in connected:
        read.add(cluster, ClusterReader(api, cluster, options, read).run(kinds, progress, relation_kinds(policies)))
    return read
