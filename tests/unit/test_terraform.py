"""Terraform sources: HCL modules (variables, locals, references, unknowns, lines), the
azurerm -> ARM mapping table, kubernetes provider objects, and plan JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.model import FileStatus, Outcome, Platform, Position, Resource
from scanner.scan import ScanOptions, scan_paths
from scanner.sources import terraform_hcl, terraform_plan
from scanner.sources.files import scan_file
from scanner.sources.options import SourceOptions
from tests.conftest import FIXTURES

TF = FIXTURES / "terraform"
MODULE = TF / "module"
OVERRIDE = TF / "override.tfvars"


def _show(path: Path) -> str:
    return path.relative_to(TF).as_posix()


def _resources(file: str, var_files: list[Path] | None = None) -> dict[str, Resource]:
    scan = terraform_hcl.scan_tf_file(MODULE / file, _show, var_files)
    assert scan.error is None
    return {f"{r.type}/{r.name}": r for r in scan.resources}


def test_variables_come_from_tfvars_then_auto_tfvars_then_defaults() -> None:
    found = _resources("main.tf")
    group = found["Microsoft.Resources/resourceGroups/rg-odoo-production"]
    # terraform.tfvars sets environment and location; prod.auto.tfvars sets tier.
    assert group.body == {"type": "Microsoft.Resources/resourceGroups", "name": "rg-odoo-production",
                          "location": "westeurope", "tags": {"environment": "production", "tier": "critical"}}
    pg = found["Microsoft.DBforPostgreSQL/flexibleServers/odoo-production-pg"]
    # Defaults: a Burstable SKU and, with zone_redundant false, SameZone HA (a conditional).
    assert pg.body["sku"] == {"name": "Standard_B1ms", "tier": "Burstable"}
    assert pg.body["properties"]["highAvailability"] == {"mode": "SameZone", "standbyAvailabilityZone": "2"}


def test_var_file_wins_over_automatic_variable_files() -> None:
    pg = _resources("main.tf", [OVERRIDE])["Microsoft.DBforPostgreSQL/flexibleServers/odoo-production-pg"]
    assert pg.body["sku"] == {"name": "Standard_D4s_v3", "tier": "GeneralPurpose"}
    assert pg.body["properties"]["highAvailability"]["mode"] == "ZoneRedundant"


def test_var_file_reaches_the_source_through_source_options() -> None:
    options = SourceOptions()
    options.var_files = [OVERRIDE]  # type: ignore[attr-defined]  # added to SourceOptions with --var-file
    scan = scan_file(MODULE / "main.tf", "module/main.tf", True, sources=options)
    pg = next(r for r in scan.resources if r.type == "Microsoft.DBforPostgreSQL/flexibleServers")
    assert pg.body["sku"]["tier"] == "GeneralPurpose"


def test_locals_functions_and_references_to_other_resources_resolve() -> None:
    pg = _resources("main.tf")["Microsoft.DBforPostgreSQL/flexibleServers/odoo-production-pg"]
    assert pg.body["location"] == "westeurope"  # azurerm_resource_group.rg.location
    assert pg.namespace == "rg-odoo-production"  # resource_group_name: the Azure "namespace"
    assert pg.body["tags"] == {"environment": "production", "tier": "critical", "owner": "erp"}  # merge()


def test_an_unset_variable_stays_unknown_and_is_recorded() -> None:
    pg = _resources("main.tf")["Microsoft.DBforPostgreSQL/flexibleServers/odoo-production-pg"]
    assert pg.body["properties"]["administratorLogin"] == "var.admin_login"
    assert pg.unresolved == {("properties", "administratorLogin"): "var.admin_login"}


def test_child_resources_are_named_after_their_parent() -> None:
    found = _resources("main.tf")
    config = found["Microsoft.DBforPostgreSQL/flexibleServers/configurations/"
                   "odoo-production-pg/require_secure_transport"]
    assert config.body["properties"] == {"value": "ON", "source": "user-override"}
    lock = found["Microsoft.Authorization/locks/pg-no-delete"]
    assert lock.body == {"type": "Microsoft.Authorization/locks", "name": "pg-no-delete",
                         "scope": "Microsoft.DBforPostgreSQL/flexibleServers/odoo-production-pg",
                         "properties": {"level": "CanNotDelete"}}
    storage = _resources("storage.tf")
    assert storage["Microsoft.Storage/storageAccounts/blobServices/odoofiles/default"].body == {
        "type": "Microsoft.Storage/storageAccounts/blobServices", "name": "odoofiles/default",
        "properties": {"isVersioningEnabled": True,
                       "deleteRetentionPolicy": {"enabled": True, "days": 14},
                       "containerDeleteRetentionPolicy": {"enabled": True, "days": 7}}}
    assert storage["Microsoft.ContainerService/managedClusters/agentPools/aks-odoo/user"].body["properties"] == {
        "vmSize": "Standard_D4s_v5", "count": 2, "mode": "User"}


def test_storage_account_and_aks_map_to_arm_property_names() -> None:
    found = _resources("storage.tf")
    account = found["Microsoft.Storage/storageAccounts/odoofiles"]
    assert account.body["sku"] == {"name": "Standard_ZRS", "tier": "Standard"}
    assert account.body["properties"] == {
        "minimumTlsVersion": "TLS1_2", "allowSharedKeyAccess": False,
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"}}
    aks = found["Microsoft.ContainerService/managedClusters/aks-odoo"]
    assert aks.body["sku"] == {"name": "Base", "tier": "Standard"}
    assert aks.body["properties"]["agentPoolProfiles"] == [{
        "mode": "System", "name": "system", "vmSize": "Standard_D4s_v5", "count": 3,
        "availabilityZones": ["1", "2", "3"], "type": "VirtualMachineScaleSets"}]
    assert aks.body["properties"]["networkProfile"] == {"networkPlugin": "azure", "networkPolicy": "calico"}
    assert aks.body["properties"]["addonProfiles"] == {
        "azureKeyvaultSecretsProvider": {"enabled": True, "config": {"enableSecretRotation": "true"}}}


def test_properties_point_at_the_terraform_attribute_line() -> None:
    pg = _resources("main.tf")["Microsoft.DBforPostgreSQL/flexibleServers/odoo-production-pg"]
    assert pg.origin.position_of(("properties", "highAvailability", "mode")) == (
        "module/main.tf", Position(25, 5), ("properties", "highAvailability", "mode"))
    assert pg.origin.position_of(("sku", "tier"))[1] == Position(20, 3)  # sku_name
    # A property the configuration does not set: the resource block's line.
    assert pg.origin.position_of(("properties", "backup", "backupRetentionDays"))[1] == Position(16, 1)
    blob = _resources("storage.tf")["Microsoft.Storage/storageAccounts/blobServices/odoofiles/default"]
    assert blob.origin.position_of(("properties", "deleteRetentionPolicy", "days"))[1] == Position(14, 7)


def test_kubernetes_provider_resources_become_api_objects() -> None:
    found = _resources("k8s.tf")
    deployment = found["Deployment/odoo"]
    assert deployment.platform is Platform.KUBERNETES
    assert deployment.namespace == "erp"
    assert deployment.body == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "odoo", "namespace": "erp", "labels": {"app": "odoo"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "odoo"}},
                 "template": {"metadata": {"labels": {"app": "odoo"}},
                              "spec": {"hostPID": False, "containers": [{
                                  "name": "odoo", "image": "odoo:17",
                                  "securityContext": {"privileged": True, "allowPrivilegeEscalation": False},
                                  "ports": [{"containerPort": 8069}]}]}}}}
    assert found["Namespace/erp"].body["metadata"]["labels"] == {"tierscan.io/tier": "critical"}


def test_kubernetes_policies_apply_to_terraform_objects_at_their_lines() -> None:
    result = scan_paths([MODULE], ScanOptions(root=TF))
    fails = {(f.policy_id, f.location.file, f.location.line, f.location.property_path)
             for f in result.findings if f.outcome is Outcome.FAIL and f.resource.type == "Deployment"}
    assert ("SEC-K8S-001", "module/k8s.tf", 34,
            "spec.template.spec.containers[0].securityContext.privileged") in fails
    # The namespace's critical tier reaches the Deployment, as for YAML manifests.
    assert ("HA-K8S-001", "module/k8s.tf", 11, "spec.replicas") in fails


def test_unmapped_types_and_count_zero_are_listed_on_the_file_record() -> None:
    scan = scan_file(MODULE / "main.tf", "module/main.tf", True)
    assert scan.record.status is FileStatus.SCANNED
    assert scan.record.resources == 4
    assert scan.record.reason == ("not checked, no mapping to a policy shape: azurerm_virtual_network.vnet; "
                                  "azurerm_redis_cache.cache has count = 0 (not deployed)")


def test_every_file_of_the_fixture_tree_is_accounted_for() -> None:
    result = scan_paths([TF], ScanOptions(root=TF))
    assert {f.path: (f.status, f.kind) for f in result.files} == {
        "override.tfvars": (FileStatus.SKIPPED, "terraform-variables"),
        "broken/main.tf": (FileStatus.ERROR, "terraform"),
        "broken/variables.tf": (FileStatus.SCANNED, "terraform"),
        "module/k8s.tf": (FileStatus.SCANNED, "terraform"),
        "module/main.tf": (FileStatus.SCANNED, "terraform"),
        "module/prod.auto.tfvars": (FileStatus.SKIPPED, "terraform-variables"),
        "module/storage.tf": (FileStatus.SCANNED, "terraform"),
        "module/terraform.tfvars": (FileStatus.SKIPPED, "terraform-variables"),
        "module/variables.tf": (FileStatus.SCANNED, "terraform"),
        "module-outputs/envs/prod/main.tf": (FileStatus.SCANNED, "terraform"),
        "module-outputs/envs/staging/main.tf": (FileStatus.SCANNED, "terraform"),
        "module-outputs/envs/unprotected/main.tf": (FileStatus.SCANNED, "terraform"),
        # Read through the roots above, and the database module (test_terraform_modules).
        "module-outputs/modules/database/main.tf": (FileStatus.SCANNED, "terraform-module"),
        "module-outputs/modules/group/main.tf": (FileStatus.SCANNED, "terraform-module"),
        "module-outputs/modules/server/main.tf": (FileStatus.SCANNED, "terraform-module"),
        "module-outputs/modules/server/outputs.tf": (FileStatus.SCANNED, "terraform-module"),
        "module-outputs/modules/server/variables.tf": (FileStatus.SCANNED, "terraform-module"),
        "modules/envs/prod/main.tf": (FileStatus.SCANNED, "terraform"),
        "modules/envs/prod/variables.tf": (FileStatus.SCANNED, "terraform"),
        "modules/envs/prod-north/main.tf": (FileStatus.SCANNED, "terraform"),
        # Local child modules of the two roots above: read through them (test_terraform_modules).
        "modules/modules/postgres/main.tf": (FileStatus.SCANNED, "terraform-module"),
        "modules/modules/postgres/variables.tf": (FileStatus.SCANNED, "terraform-module"),
        "plan/child-modules.json": (FileStatus.SCANNED, "terraform-plan"),
        "plan/module-instances.json": (FileStatus.SCANNED, "terraform-plan"),
    }
    assert [(e.file, e.line, e.message) for e in result.errors] == [
        ("broken/main.tf", 3, "invalid HCL near line 3, column 14; fix the syntax")]


def test_invalid_hcl_is_an_error_naming_file_and_line() -> None:
    scan = scan_file(TF / "broken" / "main.tf", "broken/main.tf", True)
    assert scan.record.status is FileStatus.ERROR
    assert scan.record.reason == "invalid HCL near line 3, column 14; fix the syntax"
    assert [(e.file, e.line) for e in scan.errors] == [("broken/main.tf", 3)]


def test_expressions_evaluate_statically_or_stay_unknown(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('''
variable "names" { default = ["a", "b"] }
variable "sizes" { default = { small = 1 } }
locals {
  joined  = join("-", var.names)
  picked  = var.names[1]
  looked  = lookup(var.sizes, "large", 9)
  math    = 2 * 3 + 1
  heredoc = <<-EOT
    hello
    EOT
  loop    = [for n in var.names : upper(n)]
  escaped = "$${literal}"
}
resource "azurerm_resource_group" "rg" {
  name     = local.joined
  location = data.azurerm_client_config.current.tenant_id
  tags = {
    picked  = local.picked
    looked  = local.looked
    math    = local.math
    heredoc = local.heredoc
    loop    = local.loop
    escaped = local.escaped
    cond    = local.math > 5 ? "big" : "small"
  }
}
''', encoding="utf-8")
    [group] = terraform_hcl.scan_tf_file(tmp_path / "main.tf", lambda p: p.name).resources
    assert group.name == "a-b"
    assert group.body["location"] == "data.azurerm_client_config.current.tenant_id"
    assert group.body["tags"] == {"picked": "b", "looked": 9, "math": 7, "heredoc": "hello\n",
                                  "loop": "local.loop", "escaped": "${literal}",
                                  "cond": "big"}
    assert group.unresolved == {("location",): "data.azurerm_client_config.current.tenant_id",
                                ("tags", "loop"): "local.loop"}  # the expression written at that line


def _plan() -> tuple[list[Resource], list[str]]:
    path = TF / "plan" / "child-modules.json"
    text = path.read_text(encoding="utf-8")
    return terraform_plan.resources_from_plan(json.loads(text), "plan.json", text)


def test_plan_reads_root_and_nested_child_modules() -> None:
    resources, unmapped = _plan()
    assert [(r.type, r.name) for r in resources] == [
        ("Microsoft.KeyVault/vaults", "kv-odoo"),
        ("Microsoft.DBforPostgreSQL/flexibleServers", "pg-odoo"),
        ("Microsoft.DBforPostgreSQL/flexibleServers/configurations",
         # No `configuration` section in this plan: the reference is not known, and the
         # unknown part names its module, so that two calls of one module stay apart.
         "<module.db.server_id (known after apply)>/require_secure_transport"),
        ("Microsoft.Storage/storageAccounts", "odoobackup"),
        ("Microsoft.Storage/storageAccounts/blobServices", "odoobackup/default"),
    ]
    assert unmapped == ["module.db.module.backup.azurerm_private_dns_zone.z"]  # data sources are not checked


def test_plan_references_in_child_modules_find_the_resource_of_their_own_instance() -> None:
    # Two instances of one module (`for_each`), each a server `this` with a configuration
    # whose `server_id` is known only after apply: the configuration section says it is
    # `azurerm_postgresql_flexible_server.this`, read in the configuration's own module.
    path = TF / "plan" / "module-instances.json"
    text = path.read_text(encoding="utf-8")
    resources, unmapped = terraform_plan.resources_from_plan(json.loads(text), "plan.json", text)
    assert unmapped == []
    assert [(r.type, r.name, r.origin.position_of(())[1].line) for r in resources] == [
        ("Microsoft.DBforPostgreSQL/flexibleServers", "pg-odoo-weu", 10),
        ("Microsoft.DBforPostgreSQL/flexibleServers/configurations", "pg-odoo-weu/require_secure_transport", 31),
        ("Microsoft.DBforPostgreSQL/flexibleServers", "pg-odoo-neu", 46),
        ("Microsoft.DBforPostgreSQL/flexibleServers/configurations", "pg-odoo-neu/require_secure_transport", 67),
    ]
    assert all(r.unresolved == {} for r in resources)


def test_plan_values_known_after_apply_stay_unknown() -> None:
    resources, _ = _plan()
    vault = resources[0]
    assert vault.body["properties"]["publicNetworkAccess"] == "public_network_access_enabled (known after apply)"
    assert vault.unresolved == {
        ("properties", "publicNetworkAccess"): "public_network_access_enabled (known after apply)"}
    assert vault.body["properties"]["enableSoftDelete"] is True  # azurerm >= 3.0: always on


def test_plan_findings_point_at_the_plan_line() -> None:
    resources, _ = _plan()
    pg = resources[1]
    assert pg.body["sku"] == {"name": "Standard_E4s_v3", "tier": "MemoryOptimized"}
    assert pg.origin.position_of(("properties", "highAvailability", "mode"))[1] == Position(43, 40)
    assert pg.origin.position_of(("properties", "backup"))[1] == Position(34, 13)  # the resource object


@pytest.mark.parametrize("doc,expected", [
    ({"format_version": "1.2", "planned_values": {"root_module": {}}}, True),
    ({"format_version": "1.0", "values": {"root_module": {}}}, True),  # `terraform show -json` of a state
    ({"planned_values": {}}, False),
    ({"$schema": "x", "resources": []}, False),
])
def test_plan_detection_is_by_content(doc: dict[str, Any], expected: bool) -> None:
    assert terraform_plan.is_plan(doc) is expected


def test_dynamic_blocks_follow_a_known_for_each_and_stay_unknown_otherwise(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('''
variable "ha" { default = null }
variable "auth" { default = { aad = true } }
resource "azurerm_postgresql_flexible_server" "none" {
  name = "none"
  dynamic "high_availability" {
    for_each = var.ha == null ? [] : [var.ha]
    content { mode = high_availability.value.mode }
  }
  dynamic "authentication" {
    for_each = [var.auth]
    iterator = a
    content { active_directory_auth_enabled = a.value.aad }
  }
}
resource "azurerm_postgresql_flexible_server" "unknown" {
  name = "unknown"
  dynamic "high_availability" {
    for_each = var.not_declared
    content { mode = high_availability.value.mode }
  }
}
''', encoding="utf-8")
    none, unknown = terraform_hcl.scan_tf_file(tmp_path / "main.tf", lambda p: p.name).resources
    assert none.body["properties"] == {"authConfig": {"activeDirectoryAuth": "Enabled"}}  # no HA block
    assert unknown.body["properties"] == {"highAvailability": {"mode": "high_availability.value.mode"}}
    assert unknown.unresolved == {("properties", "highAvailability", "mode"): "high_availability.value.mode"}
    assert unknown.origin.position_of(("properties", "highAvailability", "mode"))[1] == Position(20, 15)


def test_mapping_table_covers_redis_key_vault_vaults_registries_and_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('''
resource "azurerm_redis_cache" "r" {
  name                          = "redis-odoo"
  capacity                      = 1
  family                        = "P"
  sku_name                      = "Premium"
  zones                         = [1, 2]
  non_ssl_port_enabled          = false
  minimum_tls_version           = "1.2"
  public_network_access_enabled = false
  replicas_per_master           = 1
  redis_configuration {
    rdb_backup_enabled     = true
    authentication_enabled = true
  }
}
resource "azurerm_key_vault" "kv" {
  name                       = "kv-odoo"
  sku_name                   = "premium"
  purge_protection_enabled   = true
  enable_rbac_authorization  = true
  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
  }
}
resource "azurerm_recovery_services_vault" "rsv" {
  name                         = "rsv-odoo"
  sku                          = "Standard"
  storage_mode_type            = "GeoRedundant"
  cross_region_restore_enabled = true
  soft_delete_enabled          = true
  immutability                 = "Locked"
  monitoring {
    alerts_for_all_job_failures_enabled = true
  }
}
resource "azurerm_container_registry" "acr" {
  name                    = "acrodoo"
  sku                     = "Premium"
  admin_enabled           = false
  zone_redundancy_enabled = true
  georeplications {
    location                = "northeurope"
    zone_redundancy_enabled = true
  }
}
resource "azurerm_monitor_diagnostic_setting" "kv" {
  name                       = "to-law"
  target_resource_id         = azurerm_key_vault.kv.id
  log_analytics_workspace_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w"
  enabled_log {
    category_group = "audit"
  }
  metric {
    category = "AllMetrics"
  }
}
''', encoding="utf-8")
    found = {f"{r.type}/{r.name}": r.body for r in
             terraform_hcl.scan_tf_file(tmp_path / "main.tf", lambda p: p.name).resources}
    assert found["Microsoft.Cache/redis/redis-odoo"] == {
        "type": "Microsoft.Cache/redis", "name": "redis-odoo", "zones": ["1", "2"],
        "properties": {"sku": {"name": "Premium", "family": "P", "capacity": 1}, "enableNonSslPort": False,
                       "minimumTlsVersion": "1.2", "publicNetworkAccess": "Disabled", "replicasPerMaster": 1,
                       "redisConfiguration": {"rdb-backup-enabled": "true", "authnotrequired": "false"}}}
    assert found["Microsoft.KeyVault/vaults/kv-odoo"] == {
        "type": "Microsoft.KeyVault/vaults", "name": "kv-odoo",
        "properties": {"sku": {"family": "A", "name": "premium"}, "enableSoftDelete": True,
                       "enablePurgeProtection": True, "enableRbacAuthorization": True,
                       "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"}}}
    assert found["Microsoft.RecoveryServices/vaults/rsv-odoo"] == {
        "type": "Microsoft.RecoveryServices/vaults", "name": "rsv-odoo",
        "sku": {"name": "Standard", "tier": "Standard"},
        "properties": {
            "redundancySettings": {"standardTierStorageRedundancy": "GeoRedundant", "crossRegionRestore": "Enabled"},
            "securitySettings": {"softDeleteSettings": {"softDeleteState": "Enabled"},
                                 "immutabilitySettings": {"state": "Locked"}},
            "monitoringSettings": {"azureMonitorAlertSettings": {"alertsForAllJobFailures": "Enabled"}}}}
    assert found["Microsoft.ContainerRegistry/registries/acrodoo"] == {
        "type": "Microsoft.ContainerRegistry/registries", "name": "acrodoo", "sku": {"name": "Premium"},
        "properties": {"adminUserEnabled": False, "zoneRedundancy": "Enabled"}}
    assert found["Microsoft.ContainerRegistry/registries/replications/acrodoo/northeurope"] == {
        "type": "Microsoft.ContainerRegistry/registries/replications", "name": "acrodoo/northeurope",
        "location": "northeurope", "properties": {"zoneRedundancy": "Enabled"}}
    assert found["Microsoft.Insights/diagnosticSettings/to-law"] == {
        "type": "Microsoft.Insights/diagnosticSettings", "name": "to-law",
        "scope": "Microsoft.KeyVault/vaults/kv-odoo",
        "properties": {
            "workspaceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w",
            "logs": [{"enabled": True, "categoryGroup": "audit"}],
            "metrics": [{"category": "AllMetrics", "enabled": True}]}}


def test_a_workspace_referenced_by_id_counts_as_a_log_analytics_workspace(tmp_path: Path) -> None:
    # The usual way to write it: `log_analytics_workspace_id = azurerm_log_analytics_workspace.law.id`.
    # Known only after apply; it is written as ARM's resourceId() is, so OBS-AZ-001 and
    # OBS-AZ-002 see a workspace, not an unknown value.
    (tmp_path / "main.tf").write_text("""
resource "azurerm_log_analytics_workspace" "law" {
  name                = "law-erp"
  location            = "westeurope"
  resource_group_name = "rg-erp"
}
resource "azurerm_key_vault" "kv" {
  name                = "kv-erp"
  location            = "westeurope"
  resource_group_name = "rg-erp"
  sku_name            = "standard"
  tenant_id           = "00000000-0000-0000-0000-000000000000"
}
resource "azurerm_monitor_diagnostic_setting" "kv" {
  name                       = "to-law"
  target_resource_id         = azurerm_key_vault.kv.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.law.id
  enabled_log {
    category_group = "allLogs"
  }
}
resource "azurerm_monitor_diagnostic_setting" "elsewhere" {
  name                       = "to-unknown"
  target_resource_id         = azurerm_key_vault.kv.id
  log_analytics_workspace_id = var.workspace_id
}
""")
    options = ScanOptions(root=tmp_path)
    options.evaluation.keep_passing = True
    result = scan_paths([tmp_path], options)
    settings = {r.name: r.body["properties"].get("workspaceId") for r in result.resources
                if r.type == "Microsoft.Insights/diagnosticSettings"}
    assert settings == {"to-law": "/providers/Microsoft.OperationalInsights/workspaces/law-erp",
                        "to-unknown": "var.workspace_id"}
    assert [(f.policy_id, f.outcome) for f in result.findings if f.policy_id == "OBS-AZ-001"] == [
        ("OBS-AZ-001", Outcome.PASS)]
