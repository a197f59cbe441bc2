"""The Azure relations `diagnostic-settings` and `same-resource-group`, and the ARM
source's naming of nested extension resources (`providers/diagnosticSettings`), on
shapes the policy fixtures do not show one at a time: each way of writing a diagnostic
setting on its own, live settings identified by their ID, settings in another resource
group or template, and resource groups recorded on live resources."""

from __future__ import annotations

from typing import Any

from scanner.engine.policy import RelationSpec
from scanner.engine.relations import RelationIndex
from scanner.model import Origin, Platform, Resource
from scanner.sources.arm import resources_from_template

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
DIAGNOSTICS = RelationSpec("diagnostic-settings")
SAME_GROUP = RelationSpec("same-resource-group")
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def azure(type_: str, name: str, body: dict[str, Any] | None = None, *, group: str | None = None,
          file: str = "live") -> Resource:
    return Resource(Platform.AZURE, type_, name, {"type": type_, "name": name, **(body or {})},
                    Origin(file), namespace=group)


def names(found: list[Resource]) -> list[str]:
    return sorted(r.name for r in found)


def template(resources: list[dict[str, Any]], file: str = "main.json") -> list[Resource]:
    out, _notes = resources_from_template({"$schema": SCHEMA, "contentVersion": "1.0.0.0",
                                           "resources": resources}, file, None)
    return out


VAULT = {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv-erp"}


def test_nested_extension_child_is_named_like_the_top_level_form() -> None:
    [vault, setting] = template([{**VAULT, "resources": [
        {"type": "providers/diagnosticSettings", "apiVersion": "2021-05-01-preview",
         "name": "Microsoft.Insights/to-law", "properties": {}}]}])
    assert (setting.type, setting.name) == ("Microsoft.KeyVault/vaults/providers/diagnosticSettings",
                                            "kv-erp/Microsoft.Insights/to-law")
    assert names(RelationIndex([vault, setting]).related(vault, DIAGNOSTICS)) == ["kv-erp/Microsoft.Insights/to-law"]


def test_each_template_form_of_a_diagnostic_setting_on_its_own() -> None:
    forms = {
        "top-level": {"type": "Microsoft.KeyVault/vaults/providers/diagnosticSettings",
                      "name": "kv-erp/Microsoft.Insights/top"},
        "bicep-format": {"type": "Microsoft.Insights/diagnosticSettings", "name": "fmt",
                         "scope": "[format('Microsoft.KeyVault/vaults/{0}', 'kv-erp')]"},
        "resource-id": {"type": "Microsoft.Insights/diagnosticSettings", "name": "rid",
                        "scope": "[resourceId('Microsoft.KeyVault/vaults', 'kv-erp')]"},
    }
    for label, setting in forms.items():
        resources = template([VAULT, {"apiVersion": "2021-05-01-preview", "properties": {}, **setting}])
        vault = resources[0]
        assert len(RelationIndex(resources).related(vault, DIAGNOSTICS)) == 1, label


def test_settings_of_other_resources_and_other_templates_do_not_count() -> None:
    here = template([VAULT, {"type": "Microsoft.Insights/diagnosticSettings", "apiVersion": "2021-05-01-preview",
                             "name": "other", "scope": "[resourceId('Microsoft.KeyVault/vaults', 'kv-other')]"}])
    # A vault of the same name in another template (another resource group): its
    # group-relative setting is not this vault's.
    there = template([VAULT, {"type": "Microsoft.Insights/diagnosticSettings", "apiVersion": "2021-05-01-preview",
                              "name": "theirs", "scope": "[resourceId('Microsoft.KeyVault/vaults', 'kv-erp')]"}],
                     file="other.json")
    index = RelationIndex(here + there)
    assert names(index.related(here[0], DIAGNOSTICS)) == []
    assert names(index.related(there[0], DIAGNOSTICS)) == ["theirs"]
    assert names(index.related(there[1], DIAGNOSTICS)) == []  # a setting has no settings


def test_live_settings_by_id_and_explicit_resource_groups() -> None:
    vault_id = f"{SUB}/resourceGroups/rg-erp/providers/Microsoft.KeyVault/vaults/kv-erp"
    vault = azure("Microsoft.KeyVault/vaults", "kv-erp", group="rg-erp")
    live = azure("microsoft.insights/diagnosticsettings", "live",
                 {"id": f"{vault_id}/providers/microsoft.insights/diagnosticSettings/live"})
    scoped_elsewhere = azure("Microsoft.Insights/diagnosticSettings", "elsewhere", {
        "scope": f"{SUB}/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/kv-erp"})
    scoped_here = azure("Microsoft.Insights/diagnosticSettings", "here", {"scope": vault_id.upper()})
    index = RelationIndex([vault, live, scoped_elsewhere, scoped_here])
    assert names(index.related(vault, DIAGNOSTICS)) == ["here", "live"]


def test_same_resource_group_by_recorded_group_or_template_file() -> None:
    pg = azure("Microsoft.DBforPostgreSQL/flexibleServers", "pg", group="RG-ERP")
    kv = azure("Microsoft.KeyVault/vaults", "kv", group="rg-erp")
    other = azure("Microsoft.KeyVault/vaults", "kv2", group="rg-other")
    a1 = azure("Microsoft.Storage/storageAccounts", "a1", file="a.json")
    a2 = azure("Microsoft.Cache/redis", "a2", file="a.json")
    deployment = azure("Microsoft.Resources/deployments", "nested", file="a.json")
    b1 = azure("Microsoft.Storage/storageAccounts", "b1", file="b.json")
    index = RelationIndex([pg, kv, other, a1, a2, deployment, b1])
    assert names(index.related(pg, SAME_GROUP)) == ["kv"]
    assert names(index.related(a1, SAME_GROUP)) == ["a2"]  # deployments hold resources, they are not members
    assert names(index.related(b1, SAME_GROUP)) == []


def test_terraform_settings_match_across_the_files_of_one_module() -> None:
    # azurerm maps `target_resource_id = azurerm_key_vault.erp.id` to a group-relative
    # scope; the vault records its resource group, the setting does not.
    vault = azure("Microsoft.KeyVault/vaults", "kv-erp", group="rg-erp", file="infra/main.tf")
    setting = azure("Microsoft.Insights/diagnosticSettings", "kv-to-law",
                    {"scope": "Microsoft.KeyVault/vaults/kv-erp"}, file="infra/diag.tf")
    other_module = azure("Microsoft.Insights/diagnosticSettings", "elsewhere",
                         {"scope": "Microsoft.KeyVault/vaults/kv-erp"}, file="other/diag.tf")
    index = RelationIndex([vault, setting, other_module])
    assert names(index.related(vault, DIAGNOSTICS)) == ["kv-to-law"]
