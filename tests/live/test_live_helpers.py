"""The pure helpers of the live sources: resource IDs, ARM shape, types to read, shards."""

from __future__ import annotations

from pathlib import Path

from scanner.engine.loader import load_policies
from scanner.sources.live_azure import (
    CHILD_READS,
    StaticTokenCredential,
    arm_resource,
    extension_parents,
    in_shard,
    inventory_query,
    needed_types,
    split_resource_id,
)
from scanner.sources.live_kubernetes import _generated, needed_kinds

TEST_POLICIES = Path(__file__).resolve().parent / "policies"
SUB = "11111111-1111-1111-1111-111111111111"


def test_split_resource_id_keeps_the_ids_casing() -> None:
    rid = (f"/subscriptions/{SUB}/resourceGroups/RG-Erp/providers/Microsoft.Storage/storageAccounts/st1"
           "/blobServices/default")
    assert split_resource_id(rid) == ("Microsoft.Storage/storageAccounts/blobServices", "st1/default", SUB, "RG-Erp")
    assert split_resource_id(f"/subscriptions/{SUB}/resourceGroups/RG-Erp") == (
        "Microsoft.Resources/resourceGroups", "RG-Erp", SUB, "RG-Erp")
    lock = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Cache/redis/r/providers/" \
           "Microsoft.Authorization/locks/keep"
    assert split_resource_id(lock) == ("Microsoft.Authorization/locks", "keep", SUB, "rg")


def test_a_resource_graph_row_becomes_an_arm_shaped_resource() -> None:
    row = {"id": f"/subscriptions/{SUB}/resourceGroups/RG-Erp/providers/Microsoft.Cache/Redis/cache1",
           "name": "cache1", "type": "microsoft.cache/redis", "kind": "", "sku": None, "zones": None,
           "location": "westeurope", "tags": {"tier": "critical"}, "properties": {"sku": {"name": "Premium"}},
           "resourceGroup": "rg-erp", "subscriptionId": SUB}
    resource = arm_resource(row, {"microsoft.cache/redis": "Microsoft.Cache/redis"})
    assert (resource.type, resource.name, resource.namespace) == ("Microsoft.Cache/redis", "cache1", "RG-Erp")
    # Null and empty columns are dropped, so `required:` still fails on them.
    assert resource.body == {"id": row["id"], "name": "cache1", "type": "Microsoft.Cache/redis",
                             "location": "westeurope", "tags": {"tier": "critical"},
                             "properties": {"sku": {"name": "Premium"}}}
    assert resource.origin.live_id == row["id"]


def test_an_inherited_lock_keeps_its_own_scope() -> None:
    parent = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Cache/redis/cache1"
    item = {"id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/locks/keep",
            "name": "keep", "type": "Microsoft.Authorization/locks", "properties": {"level": "CanNotDelete"}}
    lock = arm_resource(item, {}, scope_id=parent)
    assert lock.body["scope"] == f"/subscriptions/{SUB}/resourceGroups/rg"
    assert (lock.type, lock.name, lock.namespace) == ("Microsoft.Authorization/locks", "keep", "rg")


def test_types_to_read_follow_the_policies() -> None:
    policies, errors = load_policies([TEST_POLICIES])
    assert errors == []
    types = needed_types(policies)
    assert sorted(types) == [
        "microsoft.authorization/locks", "microsoft.dbforpostgresql/flexibleservers",
        "microsoft.dbforpostgresql/flexibleservers/configurations", "microsoft.insights/diagnosticsettings",
        "microsoft.keyvault/vaults", "microsoft.recoveryservices/vaults",
        "microsoft.recoveryservices/vaults/backupconfig", "microsoft.resources/resourcegroups",
        "microsoft.storage/storageaccounts", "microsoft.storage/storageaccounts/blobservices"]
    data_stores = {"microsoft.dbforpostgresql/flexibleservers", "microsoft.storage/storageaccounts",
                   "microsoft.keyvault/vaults", "microsoft.recoveryservices/vaults"}
    assert extension_parents(policies) == {"microsoft.authorization/locks": data_stores,
                                           "microsoft.insights/diagnosticsettings": data_stores}
    assert needed_kinds(policies) == ["IngressRoute", "Namespace", "Schedule", "Secret"]
    assert all(read.type.lower() == key for key, read in CHILD_READS.items())


def test_the_inventory_query_names_each_type_once_in_lower_case() -> None:
    assert inventory_query(["Microsoft.KeyVault/vaults", "microsoft.cache/redis"]) == (
        "Resources | where type in~ ('microsoft.cache/redis', 'microsoft.keyvault/vaults') "
        "| project id, name, type, kind, location, extendedLocation, managedBy, sku, plan, identity, zones, "
        "tags, properties, resourceGroup, subscriptionId | order by id asc")


def test_shards_are_a_partition_stable_by_name() -> None:
    subs = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(40)]
    shards = [{s for s in subs if in_shard(s, (i, 3))} for i in (1, 2, 3)]
    assert set().union(*shards) == set(subs)
    assert sum(len(s) for s in shards) == len(subs)
    assert all(shards)  # 40 names over 3 shards: none is empty
    assert in_shard("anything", None)
    # A subscription's shard does not depend on which others exist.
    assert {s for s in subs[:10] if in_shard(s, (2, 3))} == shards[1] & set(subs[:10])


def test_generated_objects_are_those_of_pod_template_controllers() -> None:
    def owned(kind: str) -> dict[str, object]:
        return {"metadata": {"ownerReferences": [{"kind": kind, "name": "x", "controller": True}]}}

    assert _generated("Pod", owned("ReplicaSet"))
    assert _generated("ReplicaSet", owned("Deployment"))
    assert _generated("Job", owned("CronJob"))
    assert not _generated("Pod", owned("Cluster"))  # an operator's Pod stays
    assert not _generated("Deployment", owned("Application"))
    assert not _generated("Pod", {"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "name": "x"}]}})


def test_the_static_credential_hands_out_its_token_and_hides_it() -> None:
    credential = StaticTokenCredential("secret-token")
    assert credential.get_token("https://management.azure.com/.default").token == "secret-token"
    assert "secret-token" not in repr(credential)
