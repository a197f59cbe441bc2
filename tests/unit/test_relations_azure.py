"""The Azure relations `locked-by` and `geo-replicas`, on the shapes the fixtures (ARM
templates) do not show: live locks identified by their resource ID, resource-group
locks, locks on a parent resource, and replicas whose region is unknown."""

from __future__ import annotations

from typing import Any

from scanner.engine.policy import RelationSpec
from scanner.engine.relations import RelationIndex, azure_scope_key, scope_path
from scanner.model import Origin, Platform, Resource

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
LOCKED_BY = RelationSpec("locked-by")
GEO_REPLICAS = RelationSpec("geo-replicas")


def azure(type_: str, name: str, body: dict[str, Any] | None = None, *, group: str | None = None,
          file: str = "live") -> Resource:
    return Resource(Platform.AZURE, type_, name, {"type": type_, "name": name, **(body or {})},
                    Origin(file), namespace=group)


def lock(name: str, lock_id: str, level: str = "CanNotDelete") -> Resource:
    return azure("Microsoft.Authorization/locks", name, {"id": lock_id, "properties": {"level": level}})


def names(found: list[Resource]) -> list[str]:
    return sorted(r.name for r in found)


def test_scope_keys_interleave_types_and_names() -> None:
    assert azure_scope_key("Microsoft.Storage/storageAccounts/blobServices", "acct/default") == \
        "microsoft.storage/storageaccounts/acct/blobservices/default"
    assert scope_path(f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/Acct") == \
        "microsoft.storage/storageaccounts/acct"
    assert scope_path("Microsoft.Storage/storageAccounts/acct") == "microsoft.storage/storageaccounts/acct"


def test_live_locks_protect_by_resource_id_group_and_parent() -> None:
    account = azure("Microsoft.Storage/storageAccounts", "erpdata", group="rg-erp")
    blob = azure("Microsoft.Storage/storageAccounts/blobServices", "erpdata/default", group="rg-erp")
    other = azure("Microsoft.KeyVault/vaults", "kv-erp", group="rg-other")
    on_account = lock("acct-lock", f"{SUB}/resourceGroups/rg-erp/providers/Microsoft.Storage/storageAccounts/"
                                   "erpdata/providers/Microsoft.Authorization/locks/acct-lock")
    on_group = lock("rg-lock", f"{SUB}/resourceGroups/RG-ERP/providers/Microsoft.Authorization/locks/rg-lock")
    index = RelationIndex([account, blob, other, on_account, on_group])
    assert names(index.related(account, LOCKED_BY)) == ["acct-lock", "rg-lock"]
    assert names(index.related(blob, LOCKED_BY)) == ["acct-lock", "rg-lock"]  # a parent's lock covers it
    assert names(index.related(other, LOCKED_BY)) == []
    assert names(index.related(on_account, LOCKED_BY)) == []  # a lock is not itself locked


def test_an_unscoped_template_lock_protects_only_its_own_template() -> None:
    here = azure("Microsoft.KeyVault/vaults", "kv-a", file="a.json")
    there = azure("Microsoft.KeyVault/vaults", "kv-b", file="b.json")
    rg_lock = azure("Microsoft.Authorization/locks", "rg-lock", {"properties": {"level": "CanNotDelete"}},
                    file="a.json")
    index = RelationIndex([here, there, rg_lock])
    assert names(index.related(here, LOCKED_BY)) == ["rg-lock"]
    assert names(index.related(there, LOCKED_BY)) == []


def test_geo_replicas_need_a_known_different_region() -> None:
    pg_type = "Microsoft.DBforPostgreSQL/flexibleServers"
    source = f"{SUB}/resourceGroups/rg/providers/{pg_type}/pg-erp"
    primary = azure(pg_type, "pg-erp", {"location": "West Europe"})
    elsewhere = azure(pg_type, "pg-dr", {"location": "northeurope", "properties": {"sourceServerResourceId": source}})
    same = azure(pg_type, "pg-ro", {"location": "westeurope", "properties": {"sourceServerResourceId": source}})
    unknown = azure(pg_type, "pg-x", {"location": "[parameters('drLocation')]",
                                      "properties": {"sourceServerResourceId": source}})
    index = RelationIndex([primary, elsewhere, same, unknown])
    assert names(index.related(primary, GEO_REPLICAS)) == ["pg-dr"]
    assert names(index.related(elsewhere, GEO_REPLICAS)) == []
