"""Live Azure: read the resources the policies need from subscriptions, in ARM shape.

- Inventory: one Azure Resource Graph query for every type the policies need, over
  batches of subscriptions (or a management group), following `$skipToken` with the
  same query; resource groups and their tags come from a second query (tiers).
- Child resources and settings that Resource Graph does not carry (blob service
  properties, Recovery Services backup config, PostgreSQL `require_secure_transport`,
  diagnostic settings, management locks) are read with ARM GETs by resource ID
  (`resources.get_by_id`), at bounded concurrency, only for parents that are in scope.
- Faults: azure-core's retry policy honours 429 + `Retry-After` and retries 5xx and
  timeouts with capped backoff; a Resource Graph quota header that reads zero pauses the
  next request; a 403 on one subscription becomes a `ScanError` and the rest is read.
  A paging token seen twice stops that query with an error (no endless loop). A child
  read that fails leaves its parent unevaluated (with a note) when a policy on the parent
  relates to that child, so a half-read resource is never judged as if the child were
  absent; a parent that ARM no longer has (404) was deleted during the scan: a note.

The Azure SDK is imported inside functions only, so file scans never load it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from scanner.engine.policy import Policy
from scanner.model import Origin, Platform, Resource, ScanError

DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"
ARG_API = "Resource Graph"
# Resource Graph accepts many subscriptions per request; smaller batches keep a 403
# (which fails the whole request) cheap to isolate.
SUBSCRIPTION_BATCH = 100
ARG_PAGE_SIZE = 1000

# Progress callback: (stage label, done, total).
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ChildRead:
    """How to read one child resource or extension that Resource Graph does not hold."""

    type: str  # canonical full type of what is read
    parent_type: str | None  # None: an extension resource readable on any parent
    suffix: str  # appended to the parent's resource ID
    api_version: str
    collection: bool = False  # the response is {"value": [...], "nextLink": ...}
    # Listed once per subscription (every scope below it) instead of once per parent.
    subscription_scope: bool = False
    # To tell "no such child" from "the parent is gone" after a 404: the parent's own
    # GET, same resource provider (its API version list includes the child's).
    parent_api_version: str | None = None


# API versions: the GA versions documented in the ARM template reference
# (https://learn.microsoft.com/azure/templates/), checked 2026-11.
CHILD_READS: dict[str, ChildRead] = {
    "microsoft.storage/storageaccounts/blobservices": ChildRead(
        "Microsoft.Storage/storageAccounts/blobServices", "Microsoft.Storage/storageAccounts",
        "/blobServices/default", "2023-05-01", parent_api_version="2023-05-01"),
    "microsoft.recoveryservices/vaults/backupconfig": ChildRead(
        "Microsoft.RecoveryServices/vaults/backupconfig", "Microsoft.RecoveryServices/vaults",
        "/backupconfig/vaultconfig", "2023-04-01", parent_api_version="2023-04-01"),
    "microsoft.recoveryservices/vaults/backupstorageconfig": ChildRead(
        "Microsoft.RecoveryServices/vaults/backupstorageconfig", "Microsoft.RecoveryServices/vaults",
        "/backupstorageconfig/vaultstorageconfig", "2023-04-01", parent_api_version="2023-04-01"),
    "microsoft.containerservice/managedclusters/agentpools": ChildRead(
        "Microsoft.ContainerService/managedClusters/agentPools", "Microsoft.ContainerService/managedClusters",
        "/agentPools", "2024-05-01", collection=True, parent_api_version="2024-05-01"),
    "microsoft.dbforpostgresql/flexibleservers/configurations": ChildRead(
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations", "Microsoft.DBforPostgreSQL/flexibleServers",
        "/configurations/require_secure_transport", "2022-12-01", parent_api_version="2022-12-01"),
    "microsoft.insights/diagnosticsettings": ChildRead(
        "Microsoft.Insights/diagnosticSettings", None,
        "/providers/Microsoft.Insights/diagnosticSettings", "2021-05-01-preview", collection=True),
    # ManagementLocks_ListAtSubscriptionLevel returns the locks on the subscription, its
    # groups and its resources, each ID naming its scope: one paged list per subscription.
    "microsoft.authorization/locks": ChildRead(
        "Microsoft.Authorization/locks", None,
        "/providers/Microsoft.Authorization/locks", "2020-05-01", collection=True, subscription_scope=True),
}

# Relations that reach extension resources without naming their type.
RELATION_EXTENSIONS = {
    "locked-by": "microsoft.authorization/locks",
    "diagnostic-settings": "microsoft.insights/diagnosticsettings",
}
EXTENSION_ID_SEGMENTS = {
    "microsoft.authorization/locks": "/providers/microsoft.authorization/locks/",
    "microsoft.insights/diagnosticsettings": "/providers/microsoft.insights/diagnosticsettings/",
}

# Resource Graph returns types in lower case; these restore the ARM casing when no
# policy names the type (the policies' own spelling wins).
KNOWN_TYPES = [
    RESOURCE_GROUP_TYPE,
    "Microsoft.ContainerService/managedClusters", "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.Cache/redis", "Microsoft.Storage/storageAccounts", "Microsoft.ContainerRegistry/registries",
    "Microsoft.RecoveryServices/vaults", "Microsoft.KeyVault/vaults", "Microsoft.Network/applicationGateways",
    "Microsoft.Network/frontDoors", "Microsoft.Cdn/profiles", "Microsoft.OperationalInsights/workspaces",
    *(c.type for c in CHILD_READS.values()),
]

# Keys of a Resource Graph row that are part of the ARM resource shape.
_ARM_KEYS = ("id", "name", "type", "kind", "location", "extendedLocation", "managedBy", "sku", "plan",
             "identity", "zones", "tags", "properties")
_PROJECT = ", ".join((*_ARM_KEYS, "resourceGroup", "subscriptionId"))


@dataclass
class AzureLiveOptions:
    subscriptions: list[str] = field(default_factory=list)
    management_groups: list[str] = field(default_factory=list)
    all_subscriptions: bool = False
    token_env: str | None = None  # name of an environment variable holding a bearer token
    arm_endpoint: str = DEFAULT_ARM_ENDPOINT
    ca_bundle: str | None = None  # default: REQUESTS_CA_BUNDLE, else the system store
    max_concurrency: int = 8
    timeout: float = 60.0  # seconds, per HTTP read
    retry_total: int = 6
    retry_backoff_factor: float = 0.8
    retry_backoff_max: float = 60.0
    subscription_batch: int = SUBSCRIPTION_BATCH
    page_size: int = ARG_PAGE_SIZE
    shard: tuple[int, int] | None = None  # (i, n), 1-based: scan only this share


@dataclass
class LiveRead:
    """What a live source read: resources grouped by scope (one cluster, one tenant),
    what could not be read, and notes on what was skipped on purpose."""

    groups: dict[str, list[Resource]] = field(default_factory=dict)
    errors: list[ScanError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests: int = 0

    def add(self, scope: str, resources: Iterable[Resource]) -> None:
        self.groups.setdefault(scope, []).extend(resources)


def in_shard(key: str, shard: tuple[int, int] | None) -> bool:
    """Whether `key` (a subscription, a context) belongs to shard i of n. A hash of the
    key, not its position, so a subscription stays in its shard when others come and go."""
    if shard is None:
        return True
    index, count = shard
    digest = int.from_bytes(hashlib.sha256(key.lower().encode()).digest()[:8], "big")
    return digest % count == index - 1


# ARM error codes for a scope (resource, resource group) that does not exist, as opposed
# to a child or setting the scope lacks.
# https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-not-found
SCOPE_NOT_FOUND = {"ResourceNotFound", "ParentResourceNotFound", "ResourceGroupNotFound"}


class PagingLoopError(Exception):
    """A service named a page it had already sent as the next one."""


class StaticTokenCredential:
    """A bearer token a pipeline already holds (for `--azure-token-env`).

    Implements azure-core's `TokenCredential.get_token`; the token is never logged or
    put in an error message.
    """

    def __init__(self, token: str, lifetime_seconds: int = 3600) -> None:
        self._token = token
        self._expires_on = int(time.time()) + lifetime_seconds
        # azure-core drops its cached token on a 401 and asks again: every ask after
        # the first is a refresh this credential cannot give.
        self.asked = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.asked += 1
        return AccessToken(self._token, self._expires_on)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"


def needed_types(policies: list[Policy]) -> dict[str, str]:
    """Every Azure type (lower case -> canonical casing) the policies evaluate or relate to."""
    out: dict[str, str] = {t.lower(): t for t in KNOWN_TYPES if t == RESOURCE_GROUP_TYPE}
    for policy in policies:
        if policy.platform is not Platform.AZURE:
            continue
        for kind in policy.kinds:
            out[kind.lower()] = kind
            for spec in policy.relations.values():
                if spec.relation in RELATION_EXTENSIONS:
                    ext = CHILD_READS[RELATION_EXTENSIONS[spec.relation]].type
                    out[ext.lower()] = ext
                if spec.type is None:
                    continue
                if spec.relation == "children":  # the engine joins parent and child types
                    child = f"{kind}/{spec.type}"
                    out[child.lower()] = child
                else:
                    out[spec.type.lower()] = spec.type
                if spec.relation == "parent" and kind.count("/") >= 2:
                    parent = kind.rsplit("/", 1)[0]
                    out[parent.lower()] = parent
    return out


def relation_dependents(policies: list[Policy]) -> dict[str, set[str]]:
    """For each child read (CHILD_READS key): the parent types (lower case) that a policy
    relates to it. Such a parent is only judged when that read succeeded."""
    out: dict[str, set[str]] = {}
    for policy in policies:
        if policy.platform is not Platform.AZURE:
            continue
        for kind in policy.kinds:
            for spec in policy.relations.values():
                key = RELATION_EXTENSIONS.get(spec.relation)
                if key is None and spec.type is not None:
                    key = (f"{kind}/{spec.type}" if spec.relation == "children" else spec.type).lower()
                if key in CHILD_READS:
                    out.setdefault(key, set()).add(kind.lower())
    return out


def extension_parents(policies: list[Policy]) -> dict[str, set[str] | None]:
    """For each extension type (diagnostic settings, locks): the parent types to read it
    on, or None for every parent in the inventory (a policy matches it directly)."""
    out: dict[str, set[str] | None] = {}
    extensions = {k for k, v in CHILD_READS.items() if v.parent_type is None}
    for policy in policies:
        if policy.platform is not Platform.AZURE:
            continue
        for kind in policy.kinds:
            if kind.lower() in extensions:
                out[kind.lower()] = None
        for spec in policy.relations.values():
            key = RELATION_EXTENSIONS.get(spec.relation) or (spec.type or "").lower()
            if key in extensions:
                found = out.setdefault(key, set())
                if found is not None:  # None already means every parent
                    found.update(k.lower() for k in policy.kinds)
    return out


def split_resource_id(resource_id: str) -> tuple[str, str, str | None, str | None]:
    """(type, name, subscription, resource group) of an ARM resource ID, with the ID's
    own casing: `/subscriptions/s/resourceGroups/rg/providers/Ns/t1/n1/t2/n2` gives
    (`Ns/t1/t2`, `n1/n2`, `s`, `rg`)."""
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    sub = parts[1] if len(parts) > 1 and lowered[0] == "subscriptions" else None
    group = None
    if "resourcegroups" in lowered:
        i = lowered.index("resourcegroups")
        group = parts[i + 1] if i + 1 < len(parts) else None
    if "providers" not in lowered:
        if group is not None and lowered[-2] == "resourcegroups":
            return RESOURCE_GROUP_TYPE, group, sub, group
        return "", parts[-1] if parts else "", sub, group
    i = len(lowered) - 1 - lowered[::-1].index("providers")
    rest = parts[i + 1:]
    namespace, pairs = rest[0], rest[1:]
    types = pairs[0::2]
    names = pairs[1::2]
    return "/".join([namespace, *types]), "/".join(names), sub, group


def arm_resource(row: dict[str, Any], casing: dict[str, str], scope_id: str | None = None) -> Resource:
    """A Resource Graph row or an ARM GET body, as a Resource in ARM shape."""
    rid = str(row.get("id") or "")
    id_type, id_name, _sub, group = split_resource_id(rid)
    raw_type = str(row.get("type") or id_type)
    rtype = casing.get(raw_type.lower()) or casing.get(id_type.lower()) or id_type or raw_type
    body: dict[str, Any] = {}
    for key in _ARM_KEYS:
        value = row.get(key)
        # Resource Graph fills absent columns with null or ""; ARM omits them. Dropping
        # them keeps `required:` conditions failing on a missing property.
        if value is None or value == "":
            continue
        body[key] = value
    name = id_name or str(row.get("name") or "")
    if scope_id is not None:  # an extension resource: name as ARM reports it, plus its scope
        name = str(row.get("name") or id_name)
        segment = EXTENSION_ID_SEGMENTS.get(raw_type.lower(), "\0")
        # A lock inherited from the resource group names its own scope in its ID.
        if segment in rid.lower():
            scope_id = rid[: rid.lower().rindex(segment)]
        body["scope"] = scope_id
        group = split_resource_id(scope_id)[3]
    body["type"], body["name"] = rtype, name
    if rtype == RESOURCE_GROUP_TYPE:
        name = body["name"] = str(row.get("name") or id_name)
        group = name
    return Resource(platform=Platform.AZURE, type=rtype, name=name, body=body,
                    origin=Origin(live_id=rid or None),
                    # The ID keeps the group's casing; Resource Graph's column is lower case.
                    namespace=str(group or row.get("resourceGroup") or "") or None)


def _type_casing(policies: list[Policy]) -> dict[str, str]:
    casing = {t.lower(): t for t in KNOWN_TYPES}
    casing.update(needed_types(policies))
    return casing


def _quote(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "") + "'" for v in sorted(values))


def inventory_query(types: Iterable[str]) -> str:
    """The one Resource Graph query for every top-level and child type in scope."""
    return f"Resources | where type in~ ({_quote(t.lower() for t in types)}) | project {_PROJECT} | order by id asc"


RESOURCE_GROUP_QUERY = ("ResourceContainers | where type =~ 'microsoft.resources/subscriptions/resourcegroups' "
                        "| project id, name, type, location, tags, properties, managedBy, resourceGroup, "
                        "subscriptionId | order by id asc")
SUBSCRIPTION_QUERY = ("ResourceContainers | where type =~ 'microsoft.resources/subscriptions' "
                      "| project subscriptionId | order by subscriptionId asc")


# ARM refills a subscription's read bucket at about 25 requests a second; when the
# remaining reads drop below this, waiting a second refills it instead of earning 429s.
# https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
ARM_LOW_READS = 10
ARM_READ_HEADERS = ("x-ms-ratelimit-remaining-subscription-reads",
                    "x-ms-ratelimit-remaining-subscription-global-reads")


class _Quota:
    """azure-core policy: counts requests and pauses all clients when Resource Graph
    says the caller's quota is spent (`x-ms-user-quota-remaining: 0` with
    `x-ms-user-quota-resets-after: hh:mm:ss`) or ARM's read bucket is nearly empty
    (`x-ms-ratelimit-remaining-subscription-reads`), capped at `cap` seconds."""

    def __init__(self, cap: float) -> None:
        self.requests = 0
        self._resume_at = 0.0
        self._cap = cap
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + min(seconds, self._cap))

    def policy(self) -> Any:
        from azure.core.pipeline.policies import SansIOHTTPPolicy

        quota = self

        class QuotaPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
            def on_request(self, request: Any) -> None:
                with quota._lock:
                    quota.requests += 1
                    wait = quota._resume_at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)

            def on_response(self, request: Any, response: Any) -> None:
                headers = response.http_response.headers
                remaining = headers.get("x-ms-user-quota-remaining")
                resets = headers.get("x-ms-user-quota-resets-after")
                if remaining is not None and remaining.strip() == "0" and resets:
                    quota.pause(_hms_seconds(resets))
                for name in ARM_READ_HEADERS:
                    value = headers.get(name)
                    if value is not None and value.strip().isdigit() and int(value) < ARM_LOW_READS:
                        quota.pause(1.0)

        return QuotaPolicy()


def _hms_seconds(text: str) -> float:
    try:
        h, m, s = (float(p) for p in text.strip().split(":"))
    except ValueError:
        return 0.0
    return h * 3600 + m * 60 + s


class AzureReader:
    def __init__(self, options: AzureLiveOptions, policies: list[Policy],
                 progress: ProgressFn | None = None) -> None:
        self.options = options
        self.policies = policies
        self.progress = progress
        self.casing = _type_casing(policies)
        self.quota = _Quota(options.retry_backoff_max)
        self.read = LiveRead()
        self.forbidden: set[str] = set()
        self._credential: Any = None
        self._transport: Any = None

    # -- clients ---------------------------------------------------------------------
    def credential(self) -> Any:
        if self._credential is None:
            if self.options.token_env:
                token = os.environ.get(self.options.token_env, "").strip()
                if not token:
                    raise ValueError(f"--azure-token-env {self.options.token_env}: the variable is empty or unset")
                self._credential = StaticTokenCredential(token)
            else:
                from azure.identity import DefaultAzureCredential

                self._credential = DefaultAzureCredential()
        return self._credential

    def transport(self) -> Any:
        """One HTTP transport for every client, its connection pool sized to the
        concurrency, so parallel child reads reuse connections instead of dropping them."""
        if self._transport is None:
            import requests
            from azure.core.pipeline.transport import RequestsTransport

            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4,
                                                    pool_maxsize=max(10, self.options.max_concurrency))
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._transport = RequestsTransport(
                session=session, session_owner=True, connection_verify=self.verify(),
                read_timeout=self.options.timeout, connection_timeout=min(self.options.timeout, 30.0))
        return self._transport

    def verify(self) -> Any:
        return self.options.ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or True

    def client_kwargs(self) -> dict[str, Any]:
        endpoint = self.options.arm_endpoint.rstrip("/")
        verify = self.verify()
        return {
            "transport": self.transport(),
            "base_url": endpoint,
            "credential_scopes": [f"{endpoint}/.default"],
            "connection_verify": verify,
            "read_timeout": self.options.timeout,
            "connection_timeout": min(self.options.timeout, 30.0),
            "retry_total": self.options.retry_total,
            "retry_status": self.options.retry_total,
            "retry_connect": self.options.retry_total,
            "retry_read": self.options.retry_total,
            "retry_backoff_factor": self.options.retry_backoff_factor,
            "retry_backoff_max": self.options.retry_backoff_max,
            "per_retry_policies": [self.quota.policy()],
            "logging_enable": False,  # debug logging would print Authorization headers
        }

    def graph_client(self) -> Any:
        from azure.mgmt.resourcegraph import ResourceGraphClient

        return ResourceGraphClient(self.credential(), **self.client_kwargs())

    def resource_client(self, subscription: str) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(self.credential(), subscription, **self.client_kwargs())

    # -- Resource Graph ----------------------------------------------------------------
    def query(self, graph: Any, query: str, subscriptions: list[str] | None = None,
              management_groups: list[str] | None = None) -> list[dict[str, Any]]:
        """Every row of `query`: the SDK does not page, so loop on the skip token with
        the same query and scope."""
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        rows: list[dict[str, Any]] = []
        skip_token: str | None = None
        seen: set[str] = set()
        while True:
            request = QueryRequest(
                query=query, subscriptions=subscriptions, management_groups=management_groups,
                options=QueryRequestOptions(skip_token=skip_token, top=self.options.page_size,
                                            result_format="objectArray"))
            response = self._post_query(graph, request)
            data = response.data
            if isinstance(data, list):
                rows.extend(r for r in data if isinstance(r, dict))
            skip_token = response.skip_token
            if not skip_token:
                return rows
            if skip_token in seen:
                raise PagingLoopError(f"Resource Graph sent the same $skipToken twice after {len(rows)} rows; "
                                      "the query was stopped and none of its rows were used")
            seen.add(skip_token)

    def _post_query(self, graph: Any, request: Any) -> Any:
        """One Resource Graph call. azure-core does not retry a POST that timed out or
        lost its connection (POST is not idempotent in general), but a query is a
        read, so those are retried here, with capped exponential backoff."""
        from azure.core.exceptions import DecodeError, ServiceResponseError

        attempts = max(1, min(self.options.retry_total, 4))
        for attempt in range(attempts):
            try:
                return graph.resources(request)
            except (ServiceResponseError, DecodeError):  # DecodeError: a body cut off in transit
                if attempt == attempts - 1:
                    raise
                time.sleep(min(self.options.retry_backoff_factor * (2 ** attempt), self.options.retry_backoff_max))
        raise AssertionError("unreachable")  # pragma: no cover

    def subscriptions(self, graph: Any) -> list[str]:
        subs = list(dict.fromkeys(self.options.subscriptions))
        if self.options.all_subscriptions:
            found = self.query(graph, SUBSCRIPTION_QUERY)
            subs.extend(str(r["subscriptionId"]) for r in found if r.get("subscriptionId"))
        return [s for s in sorted(set(subs), key=subs.index) if in_shard(s, self.options.shard)]

    def read_scope(self, graph: Any, query: str, subs: list[str]) -> list[dict[str, Any]]:
        """Rows for a batch of subscriptions; a 403 on the batch is narrowed down to the
        subscriptions that are forbidden, which are reported while the rest is read."""
        from azure.core.exceptions import AzureError, HttpResponseError

        subs = [s for s in subs if s not in self.forbidden]  # reported once, not per query
        if not subs:
            return []
        try:
            return self.query(graph, query, subscriptions=subs)
        except HttpResponseError as exc:
            if exc.status_code == 403 and len(subs) > 1:
                half = len(subs) // 2
                return self.read_scope(graph, query, subs[:half]) + self.read_scope(graph, query, subs[half:])
            if exc.status_code == 403:
                self.forbidden.add(subs[0])
            self.read.errors.append(ScanError(_describe(exc, f"subscription {', '.join(subs)}")))
        except (AzureError, PagingLoopError) as exc:
            self.read.errors.append(ScanError(_describe(exc, f"subscription {', '.join(subs)}")))
        return []

    def inventory(self) -> list[dict[str, Any]]:
        from azure.core.exceptions import AzureError

        types = needed_types(self.policies)
        extensions = {k for k, v in CHILD_READS.items() if v.parent_type is None}
        graph_types = {t for t in types if t not in CHILD_READS and t != RESOURCE_GROUP_TYPE.lower()}
        graph_types |= {(CHILD_READS[t].parent_type or "").lower() for t in types
                        if t in CHILD_READS and t not in extensions}
        for _ext, parents in extension_parents(self.policies).items():
            graph_types |= parents or set()
        graph_types.discard("")
        graph = self.graph_client()
        rows: list[dict[str, Any]] = []
        try:
            subs = self.subscriptions(graph)
        except AzureError as exc:
            self.read.errors.append(ScanError(_describe(exc, "listing subscriptions")))
            subs = []
        if not subs and not self.options.management_groups:
            if self.options.shard is not None and not self.read.errors:
                self.read.notes.append(f"shard {self.options.shard[0]}/{self.options.shard[1]} holds no subscription")
            else:
                self.read.errors.append(ScanError(
                    "no subscription in scope: pass --subscription, --management-group or --all-subscriptions"))
            return rows
        queries = [RESOURCE_GROUP_QUERY] + ([inventory_query(graph_types)] if graph_types else [])
        batches = [subs[i:i + self.options.subscription_batch]
                   for i in range(0, len(subs), self.options.subscription_batch)]
        total = len(batches) + len(self.options.management_groups)
        done = 0
        unread: set[str] = set()  # subscriptions whose groups could not be read (an error says so)
        for batch in batches:
            for query in queries:
                before = len(self.read.errors)
                rows.extend(self.read_scope(graph, query, batch))
                failed = [e for e in self.read.errors[before:] if "forbidden (403" not in e.message]
                if query == RESOURCE_GROUP_QUERY and failed:
                    # Tiers come from resource group tags: without them every resource
                    # would be judged at the default tier, so none is read.
                    readable = [s for s in batch if s not in self.forbidden]
                    unread.update(readable)
                    self.read.notes.append(f"subscription {', '.join(readable)}: resources not read, their tier "
                                           "comes from resource group tags, which could not be read")
                    break
            done += 1
            self._progress("Resource Graph", done, total)
        # Resource Graph leaves out subscriptions it cannot read instead of failing on
        # some scopes; an empty answer is worth a note rather than a quiet pass.
        answered = {str(r.get("subscriptionId") or "").lower() for r in rows}
        for sub in subs:
            if sub.lower() not in answered and sub not in self.forbidden and sub not in unread:
                self.read.notes.append(f"subscription {sub}: no resource group visible; check that the scanner "
                                       "has Reader there")
        for group in self.options.management_groups:
            if not in_shard(group, self.options.shard):
                continue
            for query in queries:
                try:
                    rows.extend(self.query(graph, query, management_groups=[group]))
                except (AzureError, PagingLoopError) as exc:
                    self.read.errors.append(ScanError(_describe(exc, f"management group {group}")))
            done += 1
            self._progress("Resource Graph", done, total)
        return rows

    # -- child resources ---------------------------------------------------------------
    def child_reads(self, parents: list[Resource]) -> list[tuple[ChildRead, str, str | None]]:
        """(what to read, the ID of the scope to read it on, that scope's resource group)."""
        types = needed_types(self.policies)
        ext_parents = extension_parents(self.policies)
        jobs: list[tuple[ChildRead, str, str | None]] = []
        for key, read in sorted(CHILD_READS.items()):
            if read.parent_type is not None:
                if key in types:
                    jobs.extend((read, p.origin.live_id or "", p.namespace) for p in parents
                                if p.type.lower() == read.parent_type.lower())
            elif key in ext_parents and read.subscription_scope:
                subs = dict.fromkeys(split_resource_id(p.origin.live_id or "")[2] for p in parents)
                jobs.extend((read, f"/subscriptions/{sub}", None) for sub in subs if sub)
            elif key in ext_parents:
                wanted = ext_parents[key]
                jobs.extend((read, p.origin.live_id or "", p.namespace) for p in parents
                            if p.type != RESOURCE_GROUP_TYPE and (wanted is None or p.type.lower() in wanted))
        return jobs

    def fetch_child(self, client: Any, read: ChildRead, scope_id: str, namespace: str | None) -> ChildResult:
        """One child or extension read. Runs in a worker thread, so it reports what went
        wrong in its result instead of touching `self.read`."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            bodies = self._get_pages(client, scope_id + read.suffix, read)
        except ResourceNotFoundError as exc:
            if read.subscription_scope:
                return ChildResult(error=_describe(exc, f"{read.type} of {scope_id}"))
            code = getattr(getattr(exc, "error", None), "code", None)
            if read.parent_api_version is not None:
                gone = self._parent_gone(client, read, scope_id)
            else:  # an extension on any parent type: ARM's own "no such scope" codes say it
                gone = code in SCOPE_NOT_FOUND
            if gone:
                return ChildResult(gone=f"HTTP 404{' ' + code if code else ''}")
            return ChildResult()  # the child does not exist; policies on the parent see that
        except (AzureError, PagingLoopError) as exc:
            return ChildResult(error=_describe(exc, f"{read.type} of {scope_id}"))
        found: list[Resource] = []
        for body in bodies:
            if not isinstance(body, dict):
                continue
            if read.collection:
                items = body.get("value")
                extension = read.parent_type is None
                found.extend(arm_resource(item, self.casing, scope_id=scope_id if extension else None)
                             for item in (items if isinstance(items, list) else []) if isinstance(item, dict))
            else:
                found.append(arm_resource(body, self.casing))
        for child in found:
            child.namespace = child.namespace or namespace
        return ChildResult(resources=found)

    def _parent_gone(self, client: Any, read: ChildRead, parent_id: str) -> bool:
        """After a 404 on a child: whether ARM still has the parent (a GET of it). Any
        answer but 404 keeps the parent: the child is what does not exist."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            client.resources.get_by_id(parent_id, api_version=read.parent_api_version,
                                       cls=lambda _pipeline_response, _deserialized, _headers: None)
        except ResourceNotFoundError:
            return True
        except AzureError:
            return False
        return False

    def _get_pages(self, client: Any, resource_id: str, read: ChildRead) -> list[Any]:
        """The GET body, and for a collection every `nextLink` page after it (through the
        same client pipeline: token, retries, TLS settings)."""
        from azure.core.rest import HttpRequest

        body = client.resources.get_by_id(
            resource_id, api_version=read.api_version,
            cls=lambda pipeline_response, _deserialized, _headers: pipeline_response.http_response.json())
        pages = [body]
        seen: set[str] = set()
        while read.collection and isinstance(body, dict) and isinstance(body.get("nextLink"), str):
            link = body["nextLink"]
            if link in seen:
                raise PagingLoopError(f"ARM sent the same nextLink twice after {len(pages)} pages; the list was "
                                      "stopped and none of it was used")
            seen.add(link)
            response = client.send_request(HttpRequest("GET", link))
            response.raise_for_status()
            body = response.json()
            pages.append(body)
        return pages

    def children(self, parents: list[Resource]) -> tuple[list[Resource], set[str]]:
        """The child and extension resources of `parents`, and the IDs (lower case) of the
        parents not to evaluate: gone from ARM, or a read their policies need failed."""
        jobs = self.child_reads(parents)
        if not jobs:
            return [], set()
        def subscription(scope_id: str) -> str:
            return split_resource_id(scope_id)[2] or "00000000-0000-0000-0000-000000000000"

        clients: dict[str, Any] = {}
        for _read, scope_id, _group in jobs:
            sub = subscription(scope_id)
            if sub not in clients:
                clients[sub] = self.resource_client(sub)
        dependents = relation_dependents(self.policies)
        out: list[Resource] = []
        skipped: dict[str, str] = {}  # parent ID (lower case) -> note
        done = 0
        with ThreadPoolExecutor(max_workers=max(1, self.options.max_concurrency)) as pool:
            futures = [pool.submit(self.fetch_child, clients[subscription(scope_id)], read, scope_id, group)
                       for read, scope_id, group in jobs]
            # In submission order, so output, errors and notes keep a stable order.
            for (read, scope_id, _group), future in zip(jobs, futures, strict=True):
                result = future.result()
                out.extend(result.resources)
                if result.gone is not None:
                    skipped.setdefault(scope_id.lower(), f"{scope_id}: listed by Resource Graph but gone from "
                                                         f"ARM ({result.gone}); deleted during the scan, not "
                                                         "evaluated")
                if result.error is not None:
                    self.read.errors.append(ScanError(result.error))
                    wanted = dependents.get(read.type.lower(), set())
                    under = scope_id.lower() + "/"
                    for parent in parents:
                        pid = (parent.origin.live_id or "").lower()
                        if parent.type.lower() in wanted and (pid == scope_id.lower() or pid.startswith(under)):
                            skipped.setdefault(pid, f"{parent.origin.live_id}: not evaluated, its {read.type} "
                                                    "could not be read")
                done += 1
                self._progress("ARM child reads", done, len(futures))
        self.read.notes.extend(skipped.values())
        return out, set(skipped)

    def run(self) -> LiveRead:
        try:
            rows = self.inventory()
        except ValueError as exc:
            self.read.errors.append(ScanError(str(exc)))
            return self.read
        seen: set[str] = set()
        resources: list[Resource] = []
        for row in rows:
            key = str(row.get("id") or "").lower()
            if key in seen:  # the same resource reached through two scopes
                continue
            seen.add(key)
            resources.append(arm_resource(row, self.casing))
        children, skipped = self.children(resources)
        for child in children:
            key = (child.origin.live_id or "").lower()
            if key and key in seen:  # a group's lock is listed on the group and its resources
                continue
            seen.add(key)
            resources.append(child)
        if skipped:  # a skipped parent takes what was read under it along
            resources = [r for r in resources if not _under(r, skipped)]
        self._static_token_report()
        self.read.add("azure", resources)
        self.read.requests = self.quota.requests
        # The same failure on each query of a batch is one problem, reported once.
        unique = {e.message: e for e in self.read.errors}
        self.read.errors = list(unique.values())
        return self.read

    def _static_token_report(self) -> None:
        """A token from --azure-token-env cannot be refreshed: when ARM refused it
        mid-scan, say so once, beside the reads that failed with 401."""
        credential = self._credential
        if not isinstance(credential, StaticTokenCredential):
            return
        refused = sum(1 for e in self.read.errors if ": HTTP 401 " in e.message)
        if refused:
            self.read.errors.append(ScanError(
                f"--azure-token-env {self.options.token_env}: ARM refused the token (HTTP 401) on {refused} "
                f"read{'s' if refused != 1 else ''}, listed above; a token from the environment cannot be "
                "refreshed, so use a credential that can (DefaultAzureCredential) for scans that outlive it"))

    def _progress(self, label: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(label, done, total)


@dataclass
class ChildResult:
    """What one child read gave: resources, or an error line, or a note that the parent is gone."""

    resources: list[Resource] = field(default_factory=list)
    error: str | None = None
    gone: str | None = None  # why the parent counts as deleted (e.g. "HTTP 404 ResourceNotFound")


def _under(resource: Resource, skipped: set[str]) -> bool:
    """Whether a resource is a skipped parent, or was read under one (child or extension)."""
    rid = (resource.origin.live_id or "").lower()
    scope = str(resource.body.get("scope") or "").lower() if isinstance(resource.body, dict) else ""
    return any(rid == s or rid.startswith(s + "/") or scope == s for s in skipped)


def _describe(exc: Any, what: str) -> str:
    """An error line without secrets: status, ARM error code and message only."""
    status = getattr(exc, "status_code", None)
    code = getattr(getattr(exc, "error", None), "code", None)
    text = str(getattr(getattr(exc, "error", None), "message", None) or getattr(exc, "message", "") or exc)
    text = text.splitlines()[0].rstrip(".") if text else type(exc).__name__
    if status == 403:
        return f"{what}: forbidden (403{', ' + code if code else ''}): {text}; grant the scanner Reader there"
    if status is not None:
        return f"{what}: HTTP {status}{' ' + code if code else ''}: {text}"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"{what}: TLS certificate not trusted; pass --ca-bundle (or set REQUESTS_CA_BUNDLE) for a private CA"
    if isinstance(exc, PagingLoopError):
        return f"{what}: {text}"
    # Transport failures: the urllib3 text names host and port; what happened is enough.
    name = type(exc).__name__
    if name in ("IncompleteReadError", "DecodeError"):
        return f"{what}: the answer was cut off or is not JSON ({name}), after retries"
    if "timed out" in text.lower():
        return f"{what}: no answer within --timeout, after retries"
    if "reset by peer" in str(exc).lower() or "connection aborted" in str(exc).lower():
        return f"{what}: the connection was reset, after retries"
    return f"{what}: {name}: {text}"


def read_azure(options: AzureLiveOptions, policies: list[Policy], progress: ProgressFn | None = None) -> LiveRead:
    """Read every Azure resource in scope that a policy needs."""
    return AzureReader(options, policies, progress).run()
