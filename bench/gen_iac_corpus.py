"""Generate a seeded ARM + Terraform corpus for the benchmark: N "apps", each the Azure
side of one Odoo platform, split between an ARM template and a Terraform file.

    python bench/gen_iac_corpus.py DIR N [--seed S]

Every app is a folder `DIR/appNNNNN/` holding `template.json` (an ARM deployment
template, `$schema` 2019-04-01, with parameters, variables and a few static
expressions) and `main.tf` (azurerm resources). Each app has the seven Azure resources
of the platform: a PostgreSQL flexible server, a storage account (with its
`blobServices/default` child), a Key Vault, a Redis cache, a Recovery Services vault,
an AKS cluster and a container registry. Three or four of them (alternating by app) are
written in ARM, the rest in Terraform, so about half of each. Settings that policies
check (SKU tiers, zone redundancy, public network access, backups, tags with a tier of
critical/high/medium/low) are drawn at random, some compliant and some not, and some
are left out. The same seed always writes the same bytes; the standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
TIERS = ("critical", "high", "medium", "low")
KINDS = ("postgresql", "storage", "keyvault", "redis", "recovery", "aks", "registry")
REGIONS = ("westeurope", "northeurope", "francecentral", "germanywestcentral")


def chance(rng: random.Random, p: float = 0.5) -> bool:
    return rng.random() < p


# --- ARM -------------------------------------------------------------------------------
# Each function returns the resources for one kind; names and locations use expressions
# so the benchmark exercises tierscan's static expression evaluation.

def _arm_tags(rng: random.Random, app: str) -> Any:
    if chance(rng, 0.15):
        return {"owner": "erp-team"}  # no tier: falls back to the default
    return {"tier": rng.choice(TIERS), "environment": "[parameters('environment')]", "owner": "erp-team",
            "app": app}


def arm_postgresql(rng: random.Random, app: str) -> list[dict[str, Any]]:
    props: dict[str, Any] = {
        "version": rng.choice(["14", "15", "16"]),
        "storage": {"storageSizeGB": rng.choice([64, 128, 256]), "autoGrow": rng.choice(["Enabled", "Disabled"])},
        "backup": {"backupRetentionDays": rng.choice([7, 14, 35]),
                   "geoRedundantBackup": rng.choice(["Enabled", "Disabled"])},
        "network": {"publicNetworkAccess": rng.choice(["Enabled", "Disabled"])},
    }
    if chance(rng, 0.8):
        props["highAvailability"] = {"mode": rng.choice(["ZoneRedundant", "SameZone", "Disabled"])}
        if chance(rng):
            props["highAvailability"]["standbyAvailabilityZone"] = "2"
    if chance(rng, 0.6):
        props["authConfig"] = {"activeDirectoryAuth": rng.choice(["Enabled", "Disabled"]),
                               "passwordAuth": rng.choice(["Enabled", "Disabled"])}
    tier = rng.choice(["GeneralPurpose", "GeneralPurpose", "MemoryOptimized", "Burstable"])
    sku = {"GeneralPurpose": "Standard_D4ds_v5", "MemoryOptimized": "Standard_E4ds_v5",
           "Burstable": "Standard_B2s"}[tier]
    return [{
        "type": "Microsoft.DBforPostgreSQL/flexibleServers",
        "apiVersion": "2024-08-01",
        "name": "[variables('pgName')]",
        "location": "[parameters('location')]",
        "tags": _arm_tags(rng, app),
        "sku": {"name": sku, "tier": tier},
        "properties": props,
    }]


def arm_storage(rng: random.Random, app: str) -> list[dict[str, Any]]:
    props: dict[str, Any] = {
        "supportsHttpsTrafficOnly": chance(rng, 0.8),
        "minimumTlsVersion": rng.choice(["TLS1_2", "TLS1_2", "TLS1_0"]),
        "allowBlobPublicAccess": chance(rng, 0.3),
        "publicNetworkAccess": rng.choice(["Enabled", "Disabled"]),
    }
    if chance(rng, 0.6):
        props["networkAcls"] = {"defaultAction": rng.choice(["Allow", "Deny"]), "bypass": "AzureServices"}
    blob: dict[str, Any] = {"deleteRetentionPolicy": {"enabled": chance(rng, 0.7), "days": rng.choice([7, 14, 30])}}
    if chance(rng, 0.7):
        blob["containerDeleteRetentionPolicy"] = {"enabled": True, "days": rng.choice([7, 14])}
    if chance(rng, 0.7):
        blob["isVersioningEnabled"] = chance(rng, 0.7)
    if chance(rng):
        blob["changeFeed"] = {"enabled": True}
        blob["restorePolicy"] = {"enabled": chance(rng), "days": 6}
    return [{
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2023-05-01",
        "name": "[variables('storageName')]",
        "location": "[parameters('location')]",
        "tags": _arm_tags(rng, app),
        "kind": "StorageV2",
        "sku": {"name": rng.choice(["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_GZRS"])},
        "properties": props,
        "resources": [{
            "type": "blobServices",
            "apiVersion": "2023-05-01",
            "name": "default",
            "dependsOn": ["[resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))]"],
            "properties": blob,
        }],
    }]


def arm_keyvault(rng: random.Random, app: str) -> list[dict[str, Any]]:
    props: dict[str, Any] = {
        "tenantId": "[subscription().tenantId]",
        "sku": {"family": "A", "name": rng.choice(["standard", "premium"])},
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": rng.choice([7, 30, 90]),
        "publicNetworkAccess": rng.choice(["Enabled", "Disabled"]),
    }
    if chance(rng, 0.7):
        props["enableRbacAuthorization"] = chance(rng, 0.7)
    if chance(rng, 0.6):
        props["enablePurgeProtection"] = True
    if chance(rng):
        props["networkAcls"] = {"defaultAction": rng.choice(["Allow", "Deny"]), "bypass": "AzureServices"}
    return [{
        "type": "Microsoft.KeyVault/vaults",
        "apiVersion": "2023-07-01",
        "name": "[concat('kv-', parameters('prefix'))]",
        "location": "[parameters('location')]",
        "tags": _arm_tags(rng, app),
        "properties": props,
    }]


def arm_redis(rng: random.Random, app: str) -> list[dict[str, Any]]:
    premium = chance(rng)
    resource: dict[str, Any] = {
        "type": "Microsoft.Cache/redis",
        "apiVersion": "2024-03-01",
        "name": "[concat('redis-', parameters('prefix'))]",
        "location": "[parameters('location')]",
        "tags": _arm_tags(rng, app),
        "properties": {
            "sku": {"name": "Premium", "family": "P", "capacity": 1} if premium
            else {"name": rng.choice(["Basic", "Standard"]), "family": "C", "capacity": 1},
            "enableNonSslPort": chance(rng, 0.2),
            "minimumTlsVersion": rng.choice(["1.2", "1.2", "1.0"]),
            "publicNetworkAccess": rng.choice(["Enabled", "Disabled"]),
        },
    }
    if premium and chance(rng, 0.6):
        resource["zones"] = ["1", "2", "3"]
        resource["properties"]["replicasPerMaster"] = 2
    return [resource]


def arm_recovery(rng: random.Random, app: str) -> list[dict[str, Any]]:
    props: dict[str, Any] = {
        "publicNetworkAccess": rng.choice(["Enabled", "Disabled"]),
        "redundancySettings": {
            "standardTierStorageRedundancy": rng.choice(["LocallyRedundant", "ZoneRedundant", "GeoRedundant"]),
            "crossRegionRestore": rng.choice(["Enabled", "Disabled"]),
        },
    }
    if chance(rng, 0.7):
        props["securitySettings"] = {
            "immutabilitySettings": {"state": rng.choice(["Disabled", "Unlocked", "Locked"])},
            "softDeleteSettings": {"softDeleteState": rng.choice(["Enabled", "Disabled", "AlwaysON"]),
                                   "softDeleteRetentionPeriodInDays": 14},
        }
    if chance(rng):
        props["monitoringSettings"] = {
            "azureMonitorAlertSettings": {"alertsForAllJobFailures": rng.choice(["Enabled", "Disabled"])},
        }
    return [{
        "type": "Microsoft.RecoveryServices/vaults",
        "apiVersion": "2024-04-01",
        "name": "[concat('rsv-', parameters('prefix'))]",
        "location": "[parameters('location')]",
        "tags": _arm_tags(rng, app),
        "sku": {"name": "RS0", "tier": "Standard"},
        "properties": props,
    }]


def arm_aks(rng: random.Random, app: str) -> list[dict[str, Any]]:
    zones = rng.choice([["1", "2", "3"], ["1", "2", "3"], ["1"], None])
    system: dict[str, Any] = {"name": "system", "mode": "System", "count": rng.choice([1, 2, 3]),
                              "vmSize": rng.choice(["Standard_D4ds_v5", "Standard_B2s"])}
    if zones is not None:
        system["availabilityZones"] = zones
    props: dict[str, Any] = {
        "dnsPrefix": "[parameters('prefix')]",
        "kubernetesVersion": "1.30",
        "enableRBAC": True,
        "disableLocalAccounts": chance(rng, 0.6),
        "networkProfile": {"networkPlugin": "azure", "networkPolicy": rng.choice(["cilium", "calico", "none"])},
        "addonProfiles": {
            "azureKeyvaultSecretsProvider": {"enabled": chance(rng, 0.7)},
            "azurepolicy": {"enabled": chance(rng)},
            "omsagent": {"enabled": chance(rng)},
        },
        "agentPoolProfiles": [system, {
            "name": "odoo", "mode": "User", "count": 2, "minCount": 2, "maxCount": 6, "enableAutoScaling": True,
            "vmSize": "Standard_D8ds_v5", "availabilityZones": zones or ["1"],
        }],
    }
    if chance(rng, 0.6):
        props["aadProfile"] = {"managed": True, "enableAzureRBAC": chance(rng, 0.7)}
    if chance(rng):
        props["apiServerAccessProfile"] = {"enablePrivateCluster": True}
    return [{
        "type": "Microsoft.ContainerService/managedClusters",
        "apiVersion": "2024-05-01",
        "name": "[concat('aks-', parameters('prefix'))]",
        "location": "[parameters('location')]",
        "tags": _arm_tags(rng, app),
        "sku": {"name": "Base", "tier": rng.choice(["Free", "Standard", "Premium"])},
        "identity": {"type": "SystemAssigned"},
        "properties": props,
    }]


def arm_registry(rng: random.Random, app: str) -> list[dict[str, Any]]:
    sku = rng.choice(["Basic", "Standard", "Premium", "Premium"])
    props: dict[str, Any] = {
        "adminUserEnabled": chance(rng, 0.3),
        "anonymousPullEnabled": chance(rng, 0.1),
        "publicNetworkAccess": rng.choice(["Enabled", "Disabled"]),
    }
    if sku == "Premium":
        props["zoneRedundancy"] = rng.choice(["Enabled", "Disabled"])
    return [{
        "type": "Microsoft.ContainerRegistry/registries",
        "apiVersion": "2023-07-01",
        "name": "[variables('registryName')]",
        "location": "[parameters('location')]",
        "tags": _arm_tags(rng, app),
        "sku": {"name": sku},
        "properties": props,
    }]


ARM: dict[str, Callable[[random.Random, str], list[dict[str, Any]]]] = {
    "postgresql": arm_postgresql, "storage": arm_storage, "keyvault": arm_keyvault, "redis": arm_redis,
    "recovery": arm_recovery, "aks": arm_aks, "registry": arm_registry,
}


def arm_template(rng: random.Random, app: str, kinds: list[str]) -> str:
    prefix = f"erp-{app}"
    template: dict[str, Any] = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "prefix": {"type": "string", "defaultValue": prefix},
            "location": {"type": "string", "defaultValue": rng.choice(REGIONS)},
            "environment": {"type": "string", "defaultValue": rng.choice(["production", "production", "staging"]),
                            "allowedValues": ["production", "staging"]},
        },
        "variables": {
            "pgName": "[concat('pg-', parameters('prefix'))]",
            "storageName": "[toLower(replace(concat(parameters('prefix'), 'files'), '-', ''))]",
            "registryName": "[replace(concat('acr', parameters('prefix')), '-', '')]",
        },
        "resources": [r for kind in kinds for r in ARM[kind](rng, app)],
    }
    return json.dumps(template, indent=2) + "\n"


# --- Terraform -------------------------------------------------------------------------

def hcl(value: Any) -> str:
    """A literal as HCL: strings quoted (JSON escaping is valid HCL), bools lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(hcl(v) for v in value) + "]"
    return json.dumps(value)


class Tf:
    """Writes one resource block; attributes aligned the way `terraform fmt` roughly does."""

    def __init__(self, kind: str, name: str) -> None:
        self.lines = [f'resource "{kind}" "{name}" {{']
        self.depth = 1

    def attr(self, key: str, value: Any, raw: bool = False) -> Tf:
        self.lines.append(f"{'  ' * self.depth}{key} = {value if raw else hcl(value)}")
        return self

    def open(self, block: str) -> Tf:
        self.lines.append(f"{'  ' * self.depth}{block} {{")
        self.depth += 1
        return self

    def close(self) -> Tf:
        self.depth -= 1
        self.lines.append(f"{'  ' * self.depth}}}")
        return self

    def text(self) -> str:
        return "\n".join([*self.lines, "}"]) + "\n"


def _common(tf: Tf, name: str, rng: random.Random) -> Tf:
    tf.attr("name", name, raw=name.startswith('"'))
    tf.attr("resource_group_name", "local.resource_group", raw=True)
    tf.attr("location", "var.location", raw=True)
    if chance(rng, 0.15):
        tf.attr("tags", '{ owner = "erp-team" }', raw=True)
    else:
        tf.attr("tags", f'merge(local.tags, {{ tier = "{rng.choice(TIERS)}" }})', raw=True)
    return tf


def tf_postgresql(rng: random.Random) -> str:
    tf = _common(Tf("azurerm_postgresql_flexible_server", "pg"), '"${local.prefix}-pg"', rng)
    tf.attr("sku_name", rng.choice(["GP_Standard_D4ds_v5", "GP_Standard_D4ds_v5", "MO_Standard_E4ds_v5",
                                    "B_Standard_B2s"]))
    tf.attr("version", rng.choice(["14", "15", "16"])).attr("zone", "1")
    tf.attr("storage_mb", rng.choice([65536, 131072, 262144]))
    tf.attr("backup_retention_days", rng.choice([7, 14, 35]))
    tf.attr("geo_redundant_backup_enabled", chance(rng))
    tf.attr("public_network_access_enabled", chance(rng))
    if chance(rng, 0.8):
        tf.open("high_availability").attr("mode", rng.choice(["ZoneRedundant", "SameZone"]))
        tf.attr("standby_availability_zone", "2").close()
    if chance(rng, 0.6):
        tf.open("authentication").attr("active_directory_auth_enabled", chance(rng))
        tf.attr("password_auth_enabled", chance(rng)).close()
    return tf.text()


def tf_storage(rng: random.Random) -> str:
    tf = _common(Tf("azurerm_storage_account", "files"), '"${local.compact}files"', rng)
    tf.attr("account_tier", "Standard").attr("account_kind", "StorageV2")
    tf.attr("account_replication_type", rng.choice(["LRS", "ZRS", "GRS", "GZRS"]))
    tf.attr("https_traffic_only_enabled", chance(rng, 0.8))
    tf.attr("min_tls_version", rng.choice(["TLS1_2", "TLS1_2", "TLS1_0"]))
    tf.attr("allow_nested_items_to_be_public", chance(rng, 0.3))
    tf.attr("public_network_access_enabled", chance(rng))
    tf.open("blob_properties")
    if chance(rng, 0.7):
        tf.attr("versioning_enabled", chance(rng, 0.7))
    if chance(rng, 0.7):
        tf.open("delete_retention_policy").attr("days", rng.choice([7, 14, 30])).close()
    if chance(rng, 0.7):
        tf.open("container_delete_retention_policy").attr("days", rng.choice([7, 14])).close()
    if chance(rng):
        tf.attr("change_feed_enabled", True)
        tf.open("restore_policy").attr("days", 6).close()
    tf.close()
    if chance(rng, 0.6):
        tf.open("network_rules").attr("default_action", rng.choice(["Allow", "Deny"]))
        tf.attr("bypass", ["AzureServices"]).close()
    return tf.text()


def tf_keyvault(rng: random.Random) -> str:
    tf = _common(Tf("azurerm_key_vault", "kv"), '"kv-${local.prefix}"', rng)
    tf.attr("tenant_id", "var.tenant_id", raw=True)
    tf.attr("sku_name", rng.choice(["standard", "premium"]))
    tf.attr("soft_delete_retention_days", rng.choice([7, 30, 90]))
    tf.attr("public_network_access_enabled", chance(rng))
    if chance(rng, 0.7):
        tf.attr("rbac_authorization_enabled", chance(rng, 0.7))
    if chance(rng, 0.6):
        tf.attr("purge_protection_enabled", True)
    if chance(rng):
        tf.open("network_acls").attr("default_action", rng.choice(["Allow", "Deny"]))
        tf.attr("bypass", "AzureServices").close()
    return tf.text()


def tf_redis(rng: random.Random) -> str:
    tf = _common(Tf("azurerm_redis_cache", "cache"), '"redis-${local.prefix}"', rng)
    premium = chance(rng)
    if premium:
        tf.attr("sku_name", "Premium").attr("family", "P").attr("capacity", 1)
        if chance(rng, 0.6):
            tf.attr("zones", ["1", "2", "3"]).attr("replicas_per_primary", 2)
    else:
        tf.attr("sku_name", rng.choice(["Basic", "Standard"])).attr("family", "C").attr("capacity", 1)
    tf.attr("non_ssl_port_enabled", chance(rng, 0.2))
    tf.attr("minimum_tls_version", rng.choice(["1.2", "1.2", "1.0"]))
    tf.attr("public_network_access_enabled", chance(rng))
    return tf.text()


def tf_recovery(rng: random.Random) -> str:
    tf = _common(Tf("azurerm_recovery_services_vault", "rsv"), '"rsv-${local.prefix}"', rng)
    tf.attr("sku", "Standard")
    tf.attr("storage_mode_type", rng.choice(["LocallyRedundant", "ZoneRedundant", "GeoRedundant"]))
    tf.attr("cross_region_restore_enabled", chance(rng))
    tf.attr("soft_delete_enabled", chance(rng, 0.7))
    if chance(rng, 0.7):
        tf.attr("immutability", rng.choice(["Disabled", "Unlocked", "Locked"]))
    tf.attr("public_network_access_enabled", chance(rng))
    if chance(rng):
        tf.open("monitoring").attr("alerts_for_all_job_failures_enabled", chance(rng))
        tf.attr("alerts_for_critical_operation_failures_enabled", chance(rng)).close()
    return tf.text()


def tf_aks(rng: random.Random) -> str:
    tf = _common(Tf("azurerm_kubernetes_cluster", "aks"), '"aks-${local.prefix}"', rng)
    tf.attr("dns_prefix", "local.prefix", raw=True)
    tf.attr("kubernetes_version", "1.30")
    tf.attr("sku_tier", rng.choice(["Free", "Standard", "Premium"]))
    tf.attr("local_account_disabled", chance(rng, 0.6))
    tf.attr("role_based_access_control_enabled", True)
    tf.open("default_node_pool").attr("name", "system")
    tf.attr("vm_size", rng.choice(["Standard_D4ds_v5", "Standard_B2s"])).attr("node_count", rng.choice([1, 2, 3]))
    zones = rng.choice([["1", "2", "3"], ["1", "2", "3"], ["1"], None])
    if zones is not None:
        tf.attr("zones", zones)
    tf.close()
    tf.open("identity").attr("type", "SystemAssigned").close()
    tf.open("network_profile").attr("network_plugin", "azure")
    tf.attr("network_policy", rng.choice(["cilium", "calico"])).close()
    if chance(rng, 0.7):
        tf.open("key_vault_secrets_provider").attr("secret_rotation_enabled", True).close()
    if chance(rng, 0.6):
        tf.open("azure_active_directory_role_based_access_control")
        tf.attr("azure_rbac_enabled", chance(rng, 0.7)).close()
    return tf.text()


def tf_registry(rng: random.Random) -> str:
    tf = _common(Tf("azurerm_container_registry", "acr"), '"acr${local.compact}"', rng)
    sku = rng.choice(["Basic", "Standard", "Premium", "Premium"])
    tf.attr("sku", sku)
    tf.attr("admin_enabled", chance(rng, 0.3))
    tf.attr("anonymous_pull_enabled", chance(rng, 0.1))
    tf.attr("public_network_access_enabled", chance(rng))
    if sku == "Premium":
        tf.attr("zone_redundancy_enabled", chance(rng))
        if chance(rng):
            tf.open("georeplications").attr("location", "northeurope")
            tf.attr("zone_redundancy_enabled", True).close()
    return tf.text()


TERRAFORM: dict[str, Callable[[random.Random], str]] = {
    "postgresql": tf_postgresql, "storage": tf_storage, "keyvault": tf_keyvault, "redis": tf_redis,
    "recovery": tf_recovery, "aks": tf_aks, "registry": tf_registry,
}


def terraform_file(rng: random.Random, app: str, kinds: list[str]) -> str:
    header = f"""variable "location" {{
  type    = string
  default = {hcl(rng.choice(REGIONS))}
}}

variable "environment" {{
  type    = string
  default = {hcl(rng.choice(["production", "production", "staging"]))}
}}

variable "tenant_id" {{
  type    = string
  default = "00000000-0000-0000-0000-000000000000"
}}

locals {{
  prefix         = "erp-{app}"
  compact        = "erp{app}"
  resource_group = "rg-erp-{app}"
  tags = {{
    environment = var.environment
    owner       = "erp-team"
    app         = "{app}"
  }}
}}
"""
    return header + "".join("\n" + TERRAFORM[kind](rng) for kind in kinds)


# --- the corpus ------------------------------------------------------------------------

def generate(target: Path, apps: int, seed: int = 7) -> dict[str, int]:
    """Write `apps` apps under `target`; returns the counts of what was written."""
    rng = random.Random(seed)
    counts = {"apps": apps, "arm_files": 0, "tf_files": 0, "arm_resources": 0, "tf_resources": 0}
    for index in range(apps):
        app = f"app{index:05d}"
        kinds = list(KINDS)
        rng.shuffle(kinds)
        split = 4 if index % 2 == 0 else 3  # 4 ARM + 3 Terraform, then 3 + 4: half of each overall
        folder = target / app
        folder.mkdir(parents=True, exist_ok=True)
        template = arm_template(rng, app, kinds[:split])
        terraform = terraform_file(rng, app, kinds[split:])
        (folder / "template.json").write_text(template, encoding="utf-8")
        (folder / "main.tf").write_text(terraform, encoding="utf-8")
        counts["arm_files"] += 1
        counts["tf_files"] += 1
        # Resources as tierscan counts them: nested ARM children are resources of their
        # own, and so are the blobServices and registry replications that azurerm writes
        # as blocks inside the storage account and the registry.
        top = json.loads(template)["resources"]
        counts["arm_resources"] += len(top) + sum(len(r.get("resources", [])) for r in top)
        counts["tf_resources"] += sum(terraform.count(mark) for mark in
                                      ('\nresource "', "\n  blob_properties {", "\n  georeplications {"))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("apps", type=int)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    counts = generate(args.directory, args.apps, args.seed)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
