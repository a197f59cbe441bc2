"""A loopback Kubernetes API server: discovery and list endpoints with paging.

Serves the objects in fixtures/live/kubernetes/ the way kube-apiserver does:
- `/api`, `/apis` discovery (velero.io is served, traefik.io is not);
- `GET /api/v1/{plural}`, `/apis/{group}/{version}/{plural}` and their
  `/namespaces/{ns}/` forms, with `limit`/`continue` paging (one item a page, so
  every list of two or more objects pages)
  and `fieldSelector=metadata.name=`;
- list items without `apiVersion`/`kind`, like the real server for built-in types;
- Secrets as `PartialObjectMetadataList` when the client asks for it (and with their
  data otherwise, so a test can prove the scanner asked);
- bearer-token authentication; every request is recorded;
- faults: connection resets, truncated bodies, stalls past the client's timeout, a
  `continue` token that names the same page, a token that expires, a CRD removed
  mid-scan (404 on its list).
"""

from __future__ import annotations

import base64
import copy
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

ROOT = Path(__file__).resolve().parents[2]
OBJECTS = ROOT / "fixtures" / "live" / "kubernetes"
TOKEN = "k8s-loopback-token"
PAGE = 1

# plural -> (groupVersion, kind, namespaced)
RESOURCES: dict[str, tuple[str, str, bool]] = {
    "namespaces": ("v1", "Namespace", False), "pods": ("v1", "Pod", True), "services": ("v1", "Service", True),
    "secrets": ("v1", "Secret", True), "configmaps": ("v1", "ConfigMap", True),
    "deployments": ("apps/v1", "Deployment", True), "statefulsets": ("apps/v1", "StatefulSet", True),
    "daemonsets": ("apps/v1", "DaemonSet", True), "replicasets": ("apps/v1", "ReplicaSet", True),
    "jobs": ("batch/v1", "Job", True), "cronjobs": ("batch/v1", "CronJob", True),
    "poddisruptionbudgets": ("policy/v1", "PodDisruptionBudget", True),
    "networkpolicies": ("networking.k8s.io/v1", "NetworkPolicy", True),
    "ingresses": ("networking.k8s.io/v1", "Ingress", True),
    "horizontalpodautoscalers": ("autoscaling/v2", "HorizontalPodAutoscaler", True),
    "replicationcontrollers": ("v1", "ReplicationController", True),
    "serviceaccounts": ("v1", "ServiceAccount", True),
    "persistentvolumeclaims": ("v1", "PersistentVolumeClaim", True),
    "persistentvolumes": ("v1", "PersistentVolume", False),
    "resourcequotas": ("v1", "ResourceQuota", True), "limitranges": ("v1", "LimitRange", True),
    "storageclasses": ("storage.k8s.io/v1", "StorageClass", False),
    "priorityclasses": ("scheduling.k8s.io/v1", "PriorityClass", False),
    "roles": ("rbac.authorization.k8s.io/v1", "Role", True),
    "rolebindings": ("rbac.authorization.k8s.io/v1", "RoleBinding", True),
    "clusterroles": ("rbac.authorization.k8s.io/v1", "ClusterRole", False),
    "clusterrolebindings": ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", False),
    "schedules": ("velero.io/v1", "Schedule", True),
}
BUILT_IN_GROUPS = {"v1", "apps", "batch", "policy", "networking.k8s.io", "autoscaling", "storage.k8s.io",
                   "scheduling.k8s.io", "rbac.authorization.k8s.io"}
SERVED_GROUPS = ["apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1", "autoscaling/v2", "storage.k8s.io/v1",
                 "scheduling.k8s.io/v1", "rbac.authorization.k8s.io/v1", "velero.io/v1"]


def load_objects(files: tuple[str, ...] = ("objects.yaml", "generated.yaml", "custom-resources.yaml")
                 ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in files:
        out.extend(d for d in yaml.safe_load_all((OBJECTS / name).read_text(encoding="utf-8")) if d)
    return out


@dataclass
class K8sState:
    objects: list[dict[str, Any]]
    seen: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)  # path, query, Accept
    forbidden: set[str] = field(default_factory=set)  # plurals RBAC denies
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Faults keyed by a request path, each with the number of answers still to spoil.
    reset: dict[str, int] = field(default_factory=dict)  # the connection is reset, no answer
    truncate: dict[str, int] = field(default_factory=dict)  # half the body, then the connection closes
    stall: dict[str, int] = field(default_factory=dict)  # the answer comes after 2.5 s
    # 429 with `Retry-After: 1`, as API Priority and Fairness answers when it sheds load
    throttle: dict[str, int] = field(default_factory=dict)
    continue_loop: set[str] = field(default_factory=set)  # paths whose second page names itself as next
    expire_after: int | None = None  # the token is refused after this many answered requests
    gone: set[str] = field(default_factory=set)  # paths no longer served (a CRD deleted mid-scan)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real API servers do
    disable_nagle_algorithm = True  # headers and body are separate writes
    server: K8sServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        state = self.server.state
        with state.lock:
            spoil = next((name for name, table in (("reset", state.reset), ("truncate", state.truncate),
                                                   ("stall", state.stall), ("throttle", state.throttle))
                          if table.get(urlparse(self.path).path, 0) > 0), None)
            if spoil is not None:
                getattr(state, spoil)[urlparse(self.path).path] -= 1
        if spoil == "throttle":
            data = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 429,
                               "reason": "TooManyRequests",
                               "message": "Too many requests, please try again later."}).encode()
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if spoil == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if spoil == "stall":
            time.sleep(2.5)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if spoil == "truncate":
            self.close_connection = True
            self.wfile.write(data[:len(data) // 2])
            return
        self.wfile.write(data)

    def expired(self) -> bool:
        state = self.server.state
        with state.lock:
            if state.expire_after is None:
                return False
            if state.expire_after > 0:
                state.expire_after -= 1
                return False
        self.send_json(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Unauthorized",
                             "reason": "Unauthorized", "code": 401})
        return True

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        accept = self.headers.get("Accept", "")
        state = self.server.state
        with state.lock:
            state.seen.append((url.path, query, accept))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}" or self.expired():
            self.send_json(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Unauthorized",
                                 "code": 401})
            return
        if url.path == "/api":
            self.send_json(200, {"kind": "APIVersions", "versions": ["v1"]})
            return
        if url.path == "/apis":
            self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                 "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}} for gv in SERVED_GROUPS]})
            return
        parts = [p for p in url.path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            gv, rest = "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            rest, gv = [], ""
        namespace = None
        if len(rest) == 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        spec = RESOURCES.get(rest[0]) if len(rest) == 1 else None
        if spec is None or spec[0] != gv or (gv != "v1" and gv not in SERVED_GROUPS) or url.path in state.gone:
            self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                                 "code": 404})
            return
        if rest[0] in state.forbidden:
            self.send_json(403, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden",
                                 "code": 403, "message": f'{rest[0]} is forbidden: User "scanner" cannot list '
                                                         f'resource "{rest[0]}"'})
            return
        self.send_list(spec, namespace, query, accept, url.path in state.continue_loop)

    def send_list(self, spec: tuple[str, str, bool], namespace: str | None, query: dict[str, list[str]],
                  accept: str, loop: bool = False) -> None:
        gv, kind, _namespaced = spec
        items = [o for o in self.server.state.objects if o["kind"] == kind
                 and (namespace is None or o["metadata"].get("namespace") == namespace)]
        for selector in query.get("fieldSelector", []):
            if selector.startswith("metadata.name="):
                items = [o for o in items if o["metadata"]["name"] == selector.split("=", 1)[1]]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        limit = min(int(query.get("limit", ["0"])[0] or 0) or PAGE, PAGE)
        token = query.get("continue", [""])[0]
        start = int(base64.b64decode(token).decode()) if token else 0
        page = items[start:start + limit]
        more = start + limit < len(items)
        metadata: dict[str, Any] = {"resourceVersion": "4242"}
        if loop and start:  # a broken server: the page after this one is this one
            metadata["continue"] = base64.b64encode(str(start).encode()).decode()
        elif more:
            metadata["continue"] = base64.b64encode(str(start + limit).encode()).decode()
            metadata["remainingItemCount"] = len(items) - start - limit
        if "as=PartialObjectMetadataList" in accept:
            body = {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
                    "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                               "metadata": copy.deepcopy(o["metadata"])} for o in page]}
        else:
            served = []
            for obj in page:
                item = copy.deepcopy(obj)
                # kube-apiserver omits apiVersion/kind on the items of built-in lists.
                if gv.split("/")[0] in BUILT_IN_GROUPS:
                    item.pop("apiVersion", None)
                    item.pop("kind", None)
                served.append(item)
            body = {"kind": f"{kind}List", "apiVersion": gv, "metadata": metadata, "items": served}
        self.send_json(200, body)


class K8sServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a reset answer leaves the handler a closed socket; not news

    request_queue_size = 64  # the default 5 drops parallel connects (a 1 s SYN retry)

    def __init__(self, state: K8sState) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def write_kubeconfig(path: Path, endpoint: str, contexts: tuple[str, ...] = ("loopback",)) -> Path:
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": contexts[0],
        "clusters": [{"name": "loopback", "cluster": {"server": endpoint}}],
        "users": [{"name": "scanner", "user": {"token": TOKEN}}],
        "contexts": [{"name": c, "context": {"cluster": "loopback", "user": "scanner"}} for c in contexts],
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
