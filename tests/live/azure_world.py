"""The Azure estate the loopback ARM server serves, built from the real response bodies.

Top-level resources are the GET and list bodies in ../shared/corpus/arm-responses/
(read in place), spread over two subscriptions; only the subscription and resource
group segments of their IDs are rewritten. Child reads serve the corpus's blob service
and backup config bodies, and fixtures/live/arm-extra/ for the three the corpus lacks.
`arm_template()` writes the same resources as an ARM template, for the equivalence test.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "arm-responses"
EXTRA = ROOT / "fixtures" / "live" / "arm-extra"
ARM_FIXTURE = ROOT / "fixtures" / "live" / "azure-estate.json"

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"
SUB_FORBIDDEN = "33333333-3333-3333-3333-333333333333"
GROUPS = {SUB_A: "rg-erp-prod", SUB_B: "rg-erp-shared", SUB_FORBIDDEN: "rg-other"}

TOP_LEVEL_FILES = [
    "Microsoft.DBforPostgreSQL/flexibleServers/2021-06-01/ServerList.json",
    "Microsoft.Cache/redis/2020-12-01/RedisCacheGet.json",
    "Microsoft.Storage/storageAccounts/2021-04-01/StorageAccountGetProperties.json",
    "Microsoft.Storage/storageAccounts/2021-04-01/StorageAccountListByResourceGroup.json",
    "Microsoft.KeyVault/vaults/2019-09-01/getVault.json",
    "Microsoft.RecoveryServices/vaults/2021-03-01/ListBySubscriptionIds.json",
    "Microsoft.ContainerService/managedClusters/2021-05-01/ManagedClustersGet.json",
    "Microsoft.ContainerRegistry/registries/2019-05-01/RegistryGet.json",
]
RESOURCE_GROUP_FILE = "Microsoft.Resources/resourceGroups/2025-04-01/ResourceGroups_Get.json"
CHILD_FILES = {
    "/blobservices/default": CORPUS / "Microsoft.Storage/storageAccounts/2021-04-01/BlobServicesGet.json",
    "/backupconfig/vaultconfig":
        CORPUS / "Microsoft.RecoveryServices/vaults-backupconfig/2021-03-01/BackupResourceVaultConfigs_Get.json",
    "/backupstorageconfig/vaultstorageconfig":
        CORPUS / "Microsoft.RecoveryServices/vaults-backupstorageconfig/2021-04-01/BackupStorageConfig_Get.json",
    "/configurations/require_secure_transport": EXTRA / "postgresql-configuration.json",
    "/providers/microsoft.insights/diagnosticsettings": EXTRA / "diagnostic-settings.json",
    "/providers/microsoft.authorization/locks": EXTRA / "locks.json",
}
# Which parent types have each child (the server answers 404 elsewhere, like ARM).
CHILD_PARENTS = {
    "/blobservices/default": "microsoft.storage/storageaccounts",
    "/backupconfig/vaultconfig": "microsoft.recoveryservices/vaults",
    "/backupstorageconfig/vaultstorageconfig": "microsoft.recoveryservices/vaults",
    "/configurations/require_secure_transport": "microsoft.dbforpostgresql/flexibleservers",
}
# Locks exist on the PostgreSQL servers and storage accounts only, and Key Vaults have
# no diagnostic settings: the other resources list none.
LOCKED_TYPES = {"microsoft.dbforpostgresql/flexibleservers", "microsoft.storage/storageaccounts"}
UNMONITORED_TYPES = {"microsoft.keyvault/vaults"}
CHILD_TYPES = {
    "/blobServices/default": "Microsoft.Storage/storageAccounts/blobServices",
    "/backupconfig/vaultconfig": "Microsoft.RecoveryServices/vaults/backupconfig",
    "/backupstorageconfig/vaultstorageconfig": "Microsoft.RecoveryServices/vaults/backupstorageconfig",
    "/configurations/require_secure_transport": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
}
# Resource Graph columns (`project` in the live query); absent ones come back as null.
ARG_COLUMNS = ("id", "name", "type", "kind", "location", "extendedLocation", "managedBy", "sku", "plan",
               "identity", "zones", "tags", "properties", "resourceGroup", "subscriptionId")


@functools.lru_cache(maxsize=64)
def _response_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def response_body(path: Path) -> Any:
    doc = json.loads(_response_text(path))
    if "responses" in doc:
        return doc["responses"]["200"]["body"]
    return doc  # fixtures/live/arm-extra holds bare bodies


def provider_part(resource_id: str) -> str:
    lowered = resource_id.lower()
    return resource_id[lowered.index("/providers/"):]


@dataclass
class Estate:
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # subscription -> ARM bodies
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # subscription -> resource group body

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {r["id"].lower(): r for bodies in self.resources.values() for r in bodies}


def build_estate(subscriptions: list[str] | None = None) -> Estate:
    subscriptions = subscriptions or [SUB_A, SUB_B, SUB_FORBIDDEN]
    bodies: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for rel in TOP_LEVEL_FILES:
        body = response_body(CORPUS / rel)
        for item in body.get("value", [body]):
            key = (item["type"].lower(), item["name"])
            if key not in seen:
                seen.add(key)
                bodies.append(item)
    estate = Estate()
    group_body = response_body(CORPUS / RESOURCE_GROUP_FILE)
    for sub in subscriptions:
        group = GROUPS[sub]
        rg = copy.deepcopy(group_body)
        rg["id"], rg["name"] = f"/subscriptions/{sub}/resourceGroups/{group}", group
        estate.groups[sub] = rg
        estate.resources[sub] = []
    # The two readable subscriptions share the corpus resources alternately; the
    # forbidden one gets a copy of the first (it must never be read).
    for index, item in enumerate(bodies):
        sub = (SUB_A, SUB_B)[index % 2]
        if sub not in estate.resources:
            continue
        body = copy.deepcopy(item)
        body["id"] = f"/subscriptions/{sub}/resourceGroups/{GROUPS[sub]}{provider_part(item['id'])}"
        estate.resources[sub].append(body)
    if SUB_FORBIDDEN in estate.resources and bodies:
        body = copy.deepcopy(bodies[0])
        body["id"] = f"/subscriptions/{SUB_FORBIDDEN}/resourceGroups/{GROUPS[SUB_FORBIDDEN]}" \
                     f"{provider_part(bodies[0]['id'])}"
        estate.resources[SUB_FORBIDDEN].append(body)
    return estate


def synthetic_estate(subscriptions: int, per_subscription: int) -> Estate:
    """A large estate for benchmarks: the corpus resources cycled and renamed."""
    base = build_estate([SUB_A, SUB_B])
    bodies = base.resources[SUB_A] + base.resources[SUB_B]
    group_body = base.groups[SUB_A]
    estate = Estate()
    for i in range(subscriptions):
        sub = f"{i:08x}-0000-4000-8000-000000000000"
        group = f"rg-erp-{i:03d}"
        rg = copy.deepcopy(group_body)
        rg["id"], rg["name"] = f"/subscriptions/{sub}/resourceGroups/{group}", group
        estate.groups[sub] = rg
        estate.resources[sub] = []
        for j in range(per_subscription):
            item = copy.deepcopy(bodies[j % len(bodies)])
            name = f"{item['name'].lower()}{j:04d}"
            provider = provider_part(item["id"]).rsplit("/", 1)[0]
            item["id"], item["name"] = f"/subscriptions/{sub}/resourceGroups/{group}{provider}/{name}", name
            estate.resources[sub].append(item)
    return estate


def arg_row(body: dict[str, Any], sub: str, group: str) -> dict[str, Any]:
    """A resource as Resource Graph returns it: lower-case type and group, every
    projected column present (null when the resource lacks it)."""
    row = {column: body.get(column) for column in ARG_COLUMNS}
    row["type"] = body["type"].lower()
    row["resourceGroup"] = group.lower()
    row["subscriptionId"] = sub
    return row


def child_body(parent: dict[str, Any], suffix: str) -> Any:
    """The body served for `parent id + suffix`, or None for 404."""
    key = suffix.lower()
    if key not in CHILD_FILES:
        return None
    wanted_parent = CHILD_PARENTS.get(key)
    if wanted_parent is not None and parent["type"].lower() != wanted_parent:
        return None
    body = copy.deepcopy(response_body(CHILD_FILES[key]))
    if key.endswith("/locks") and parent["type"].lower() not in LOCKED_TYPES:
        return {"value": []}
    if key.endswith("/diagnosticsettings") and parent["type"].lower() in UNMONITORED_TYPES:
        return {"value": []}
    text = json.dumps(body).replace("{resourceId}", parent["id"])
    body = json.loads(text)
    if "value" not in body:
        body["id"] = parent["id"] + suffix  # the corpus IDs name other subscriptions
    return body


def arm_template(estate: Estate) -> dict[str, Any]:
    """The same resources (and children, diagnostic settings, locks) as an ARM template."""
    resources: list[dict[str, Any]] = []
    for sub in (SUB_A, SUB_B):
        group = {k: v for k, v in estate.groups[sub].items() if k != "id"}
        resources.append({**group, "apiVersion": "2025-04-01"})
        for body in estate.resources.get(sub, []):
            top = {k: v for k, v in body.items() if k not in ("id", "etag", "systemData")}
            top["apiVersion"] = "2023-01-01"
            resources.append(top)
            for suffix, child_type in CHILD_TYPES.items():
                child = child_body(body, suffix)
                if child is not None:
                    entry = {k: v for k, v in child.items() if k not in ("id", "etag", "systemData")}
                    entry["type"] = child_type
                    entry["name"] = f"{body['name']}/{child['name']}"
                    entry["apiVersion"] = "2023-01-01"
                    resources.append(entry)
            for suffix in ("/providers/Microsoft.Insights/diagnosticSettings",
                           "/providers/Microsoft.Authorization/locks"):
                for item in child_body(body, suffix)["value"]:
                    entry = {k: v for k, v in item.items() if k != "id"}
                    entry["scope"] = body["id"]
                    entry["apiVersion"] = "2021-05-01-preview"
                    resources.append(entry)
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": resources,
    }


if __name__ == "__main__":  # regenerate fixtures/live/azure-estate.json
    ARM_FIXTURE.write_text(json.dumps(arm_template(build_estate([SUB_A, SUB_B])), indent=1) + "\n",
                           encoding="utf-8")
