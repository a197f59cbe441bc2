"""The explicit table from Terraform `azurerm_*` resource types to the ARM resource shape
(type, name, location, sku, zones, tags, properties with ARM property names), so that
one Azure policy covers ARM, Bicep, Terraform and live state alike.

Each mapper records, for every ARM property it writes, the Terraform attribute it came
from; findings then point at that attribute's line. Attribute names follow the azurerm
provider documentation (https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs);
where azurerm 3.x and 4.x spell an attribute differently, both spellings are read.
ARM names follow https://learn.microsoft.com/azure/templates/.

Only what the configuration states is mapped: an attribute that is not written stays
absent, exactly as an ARM template that does not set the property, so both forms
give the same findings. Values not known statically stay `Unresolved`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scanner.model import JsonPath
from scanner.sources.arm_expressions import Unresolved, as_text
from scanner.sources.terraform_block import TfBlock

# (terraform type, terraform name) -> (ARM type, ARM name) of another mapped resource,
# used to name parents of child resources and scopes of locks and diagnostic settings.
RefResolver = Callable[[Any], "tuple[str, str] | None"]


@dataclass
class Mapped:
    type: str
    name: str
    body: dict[str, Any]
    # ARM property path -> Terraform attribute path it was mapped from
    sources: dict[JsonPath, JsonPath] = field(default_factory=dict)


class _Out:
    """Builds one ARM body while remembering where each property came from."""

    def __init__(self, arm_type: str, name: Any) -> None:
        self.body: dict[str, Any] = {"type": arm_type, "name": name}
        self.sources: dict[JsonPath, JsonPath] = {("name",): ("name",)}

    def put(self, path: JsonPath, value: Any, source: JsonPath) -> None:
        node: Any = self.body
        for step, nxt in itertools.pairwise(path):
            empty: Any = [] if isinstance(nxt, int) else {}
            if isinstance(node, list):
                assert isinstance(step, int)
                while len(node) <= step:
                    node.append(empty)
                node = node[step]
            else:
                node = node.setdefault(step, empty)
        last = path[-1]
        if isinstance(node, list):
            assert isinstance(last, int)
            while len(node) <= last:
                node.append(None)
            node[last] = value
        else:
            node[last] = value
        self.sources.setdefault(path, source)

    def attr(self, block: TfBlock, tf_name: str | tuple[str, ...], path: JsonPath,
             convert: Callable[[Any], Any] | None = None, prefix: JsonPath = ()) -> None:
        """Copy the first attribute of `tf_name` (alternative spellings) that is set."""
        names = (tf_name,) if isinstance(tf_name, str) else tf_name
        for name in names:
            if block.has(name) and block.get(name) is not None:
                value = block.get(name)
                if convert is not None and not isinstance(value, Unresolved):
                    try:
                        value = convert(value)
                    except (TypeError, ValueError, KeyError):
                        value = Unresolved(f"{name} = {value!r}")
                self.put(path, value, (*prefix, name))
                return

    def done(self) -> Mapped:
        return Mapped(str(self.body["type"]), as_text(self.body["name"]), self.body, self.sources)



def enabled(value: Any) -> str:
    """Terraform booleans -> ARM's Enabled/Disabled strings."""
    if not isinstance(value, bool):
        raise ValueError(value)
    return "Enabled" if value else "Disabled"


def _not(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(value)
    return not value


def _str_bool(value: Any) -> str:
    if not isinstance(value, bool):
        raise ValueError(value)
    return "true" if value else "false"


def _zones(value: Any) -> Any:
    return [str(z) for z in value] if isinstance(value, list) else value


def _common(out: _Out, block: TfBlock) -> None:
    out.attr(block, "location", ("location",))
    out.attr(block, "tags", ("tags",))
    identity = block.block("identity")
    if identity is not None:
        out.attr(identity, "type", ("identity", "type"), prefix=("identity", 0))
        out.attr(identity, "identity_ids", ("identity", "userAssignedIdentities"),
                 lambda ids: {str(i): {} for i in ids}, prefix=("identity", 0))


def parent_name(value: Any, resolve: RefResolver) -> str | Unresolved:
    """The name of the resource an ID attribute points at: a reference to a resource in
    the same configuration (`azurerm_x.y.id`), or a literal ARM resource ID."""
    found = resolve(value)
    if found is not None:
        return found[1]
    if isinstance(value, str) and "/" in value:
        return value.rstrip("/").rsplit("/", 1)[-1]
    return Unresolved(str(value))


def resource_id_of(value: Any, resolve: RefResolver) -> Any:
    """An ID attribute that references a resource of the configuration
    (`azurerm_log_analytics_workspace.law.id`), written as the ARM source writes
    `resourceId(...)`: `/providers/<namespace>/<type>/<name>`, the scope left symbolic
    (only known after apply). Anything else is kept as it is."""
    found = resolve(value)
    if found is None:
        return value
    segments, names = found[0].split("/"), found[1].split("/")
    path = f"/providers/{segments[0]}"
    for segment, name in zip(segments[1:], names, strict=False):
        path += f"/{segment}/{name}"
    return path


def _id_attr(out: _Out, block: TfBlock, tf_name: str, path: JsonPath, resolve: RefResolver,
             prefix: JsonPath = ()) -> None:
    if block.has(tf_name) and block.get(tf_name) is not None:
        out.put(path, resource_id_of(block.get(tf_name), resolve), (*prefix, tf_name))


def scope_of(value: Any, resolve: RefResolver) -> Any:
    """A scope (lock, diagnostic setting) in the form Bicep compiles `scope: res` to:
    `<ARM type>/<name>`, or the literal resource ID."""
    found = resolve(value)
    if found is not None:
        return f"{found[0]}/{found[1]}"
    return value


# --- PostgreSQL ------------------------------------------------------------------------

_PG_SKU_TIERS = {"B": "Burstable", "GP": "GeneralPurpose", "MO": "MemoryOptimized"}


def _pg_sku(value: Any) -> dict[str, str]:
    """`GP_Standard_D4s_v3` -> {name: Standard_D4s_v3, tier: GeneralPurpose} (azurerm docs:
    sku_name is the tier prefix and the SKU name joined by `_`)."""
    prefix, _, name = str(value).partition("_")
    return {"name": name, "tier": _PG_SKU_TIERS[prefix]}


def postgresql_flexible_server(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.DBforPostgreSQL/flexibleServers", block.get("name"))
    _common(out, block)
    sku = block.get("sku_name")
    if isinstance(sku, Unresolved):
        out.put(("sku", "name"), sku, ("sku_name",))
        out.put(("sku", "tier"), sku, ("sku_name",))
    elif sku is not None:
        try:
            parsed = _pg_sku(sku)
            out.put(("sku", "name"), parsed["name"], ("sku_name",))
            out.put(("sku", "tier"), parsed["tier"], ("sku_name",))
        except KeyError:
            out.put(("sku", "name"), sku, ("sku_name",))
    out.attr(block, "version", ("properties", "version"), str)
    out.attr(block, "zone", ("properties", "availabilityZone"), str)
    out.attr(block, "administrator_login", ("properties", "administratorLogin"))
    out.attr(block, "create_mode", ("properties", "createMode"))
    out.attr(block, "source_server_id", ("properties", "sourceServerResourceId"))
    out.attr(block, "replication_role", ("properties", "replicationRole"))
    ha = block.block("high_availability")
    if ha is not None:
        prefix: JsonPath = ("high_availability", 0)
        out.put(("properties", "highAvailability"), {}, prefix)
        out.attr(ha, "mode", ("properties", "highAvailability", "mode"), prefix=prefix)
        out.attr(ha, "standby_availability_zone", ("properties", "highAvailability", "standbyAvailabilityZone"),
                 str, prefix=prefix)
    out.attr(block, "backup_retention_days", ("properties", "backup", "backupRetentionDays"))
    out.attr(block, "geo_redundant_backup_enabled", ("properties", "backup", "geoRedundantBackup"), enabled)
    out.attr(block, "storage_mb", ("properties", "storage", "storageSizeGB"), lambda mb: int(mb) // 1024)
    out.attr(block, "auto_grow_enabled", ("properties", "storage", "autoGrow"), enabled)
    out.attr(block, "storage_tier", ("properties", "storage", "tier"))
    out.attr(block, "public_network_access_enabled", ("properties", "network", "publicNetworkAccess"), enabled)
    out.attr(block, "delegated_subnet_id", ("properties", "network", "delegatedSubnetResourceId"))
    out.attr(block, "private_dns_zone_id", ("properties", "network", "privateDnsZoneArmResourceId"))
    auth = block.block("authentication")
    if auth is not None:
        prefix = ("authentication", 0)
        out.attr(auth, "active_directory_auth_enabled", ("properties", "authConfig", "activeDirectoryAuth"),
                 enabled, prefix=prefix)
        out.attr(auth, "password_auth_enabled", ("properties", "authConfig", "passwordAuth"), enabled, prefix=prefix)
        out.attr(auth, "tenant_id", ("properties", "authConfig", "tenantId"), prefix=prefix)
    window = block.block("maintenance_window")
    if window is not None:
        prefix = ("maintenance_window", 0)
        out.attr(window, "day_of_week", ("properties", "maintenanceWindow", "dayOfWeek"), prefix=prefix)
        out.attr(window, "start_hour", ("properties", "maintenanceWindow", "startHour"), prefix=prefix)
        out.attr(window, "start_minute", ("properties", "maintenanceWindow", "startMinute"), prefix=prefix)
    return [out.done()]


def postgresql_flexible_server_configuration(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    server = parent_name(block.get("server_id"), resolve)
    name = block.get("name")
    full = f"{as_text(server)}/{as_text(name)}"
    out = _Out("Microsoft.DBforPostgreSQL/flexibleServers/configurations", full)
    out.attr(block, "value", ("properties", "value"), str)
    out.put(("properties", "source"), "user-override", ("value",))
    return [out.done()]


# --- AKS -------------------------------------------------------------------------------

def _agent_pool(out: _Out, pool: TfBlock, base: JsonPath, prefix: JsonPath) -> None:
    out.attr(pool, "name", (*base, "name"), prefix=prefix)
    out.attr(pool, "vm_size", (*base, "vmSize"), prefix=prefix)
    out.attr(pool, "node_count", (*base, "count"), prefix=prefix)
    out.attr(pool, "min_count", (*base, "minCount"), prefix=prefix)
    out.attr(pool, "max_count", (*base, "maxCount"), prefix=prefix)
    out.attr(pool, ("zones", "availability_zones"), (*base, "availabilityZones"), _zones, prefix=prefix)
    out.attr(pool, ("auto_scaling_enabled", "enable_auto_scaling"), (*base, "enableAutoScaling"), prefix=prefix)
    out.attr(pool, "max_pods", (*base, "maxPods"), prefix=prefix)
    out.attr(pool, "os_disk_size_gb", (*base, "osDiskSizeGB"), prefix=prefix)
    out.attr(pool, "os_type", (*base, "osType"), prefix=prefix)
    out.attr(pool, "vnet_subnet_id", (*base, "vnetSubnetID"), prefix=prefix)
    out.attr(pool, "node_taints", (*base, "nodeTaints"), prefix=prefix)
    out.attr(pool, "orchestrator_version", (*base, "orchestratorVersion"), prefix=prefix)


def kubernetes_cluster(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.ContainerService/managedClusters", block.get("name"))
    _common(out, block)
    if block.has("sku_tier"):
        out.put(("sku", "name"), "Base", ("sku_tier",))
        out.attr(block, "sku_tier", ("sku", "tier"))
    out.attr(block, "kubernetes_version", ("properties", "kubernetesVersion"))
    out.attr(block, "dns_prefix", ("properties", "dnsPrefix"))
    out.attr(block, "node_resource_group", ("properties", "nodeResourceGroup"))
    out.attr(block, "disk_encryption_set_id", ("properties", "diskEncryptionSetID"))
    out.attr(block, "local_account_disabled", ("properties", "disableLocalAccounts"))
    out.attr(block, "role_based_access_control_enabled", ("properties", "enableRBAC"))
    out.attr(block, ("automatic_upgrade_channel", "automatic_channel_upgrade"),
             ("properties", "autoUpgradeProfile", "upgradeChannel"))
    out.attr(block, "oidc_issuer_enabled", ("properties", "oidcIssuerProfile", "enabled"))
    out.attr(block, "workload_identity_enabled", ("properties", "securityProfile", "workloadIdentity", "enabled"))
    pool = block.block("default_node_pool")
    if pool is not None:
        base: JsonPath = ("properties", "agentPoolProfiles", 0)
        out.put(("properties", "agentPoolProfiles"), [{"mode": "System"}], ("default_node_pool", 0))
        _agent_pool(out, pool, base, ("default_node_pool", 0))
        if not pool.has("type") or pool.get("type") == "VirtualMachineScaleSets":
            out.put((*base, "type"), "VirtualMachineScaleSets", ("default_node_pool", 0))
    aad = block.block("azure_active_directory_role_based_access_control")
    if aad is not None:
        prefix: JsonPath = ("azure_active_directory_role_based_access_control", 0)
        # azurerm 4.x removed `managed`: the block always configures managed Entra ID.
        out.put(("properties", "aadProfile", "managed"), aad.get("managed", True), prefix)
        out.attr(aad, "azure_rbac_enabled", ("properties", "aadProfile", "enableAzureRBAC"), prefix=prefix)
        out.attr(aad, "admin_group_object_ids", ("properties", "aadProfile", "adminGroupObjectIDs"), prefix=prefix)
        out.attr(aad, "tenant_id", ("properties", "aadProfile", "tenantID"), prefix=prefix)
    network = block.block("network_profile")
    if network is not None:
        prefix = ("network_profile", 0)
        for tf, arm in (("network_plugin", "networkPlugin"), ("network_policy", "networkPolicy"),
                        ("network_plugin_mode", "networkPluginMode"), ("network_data_plane", "networkDataplane"),
                        ("load_balancer_sku", "loadBalancerSku"), ("outbound_type", "outboundType"),
                        ("pod_cidr", "podCidr"), ("service_cidr", "serviceCidr"),
                        ("dns_service_ip", "dnsServiceIP")):
            out.attr(network, tf, ("properties", "networkProfile", arm), prefix=prefix)
    out.attr(block, "private_cluster_enabled", ("properties", "apiServerAccessProfile", "enablePrivateCluster"))
    out.attr(block, "api_server_authorized_ip_ranges", ("properties", "apiServerAccessProfile", "authorizedIPRanges"))
    access = block.block("api_server_access_profile")
    if access is not None:
        out.attr(access, "authorized_ip_ranges", ("properties", "apiServerAccessProfile", "authorizedIPRanges"),
                 prefix=("api_server_access_profile", 0))
    addons: JsonPath = ("properties", "addonProfiles")
    secrets = block.block("key_vault_secrets_provider")
    if secrets is not None:
        prefix = ("key_vault_secrets_provider", 0)
        out.put((*addons, "azureKeyvaultSecretsProvider", "enabled"), True, prefix)
        out.attr(secrets, "secret_rotation_enabled",
                 (*addons, "azureKeyvaultSecretsProvider", "config", "enableSecretRotation"), _str_bool, prefix=prefix)
    out.attr(block, "azure_policy_enabled", (*addons, "azurepolicy", "enabled"))
    out.attr(block, "http_application_routing_enabled", (*addons, "httpApplicationRouting", "enabled"))
    oms = block.block("oms_agent")
    if oms is not None:
        prefix = ("oms_agent", 0)
        out.put((*addons, "omsagent", "enabled"), True, prefix)
        _id_attr(out, oms, "log_analytics_workspace_id",
                 (*addons, "omsagent", "config", "logAnalyticsWorkspaceResourceID"), resolve, prefix=prefix)
    if block.block("monitor_metrics") is not None:
        out.put(("properties", "azureMonitorProfile", "metrics", "enabled"), True, ("monitor_metrics", 0))
    return [out.done()]


def kubernetes_cluster_node_pool(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    cluster = parent_name(block.get("kubernetes_cluster_id"), resolve)
    out = _Out("Microsoft.ContainerService/managedClusters/agentPools",
               f"{as_text(cluster)}/{as_text(block.get('name'))}")
    base: JsonPath = ("properties",)
    _agent_pool(out, block, base, ())
    out.body["properties"].pop("name", None)
    # azurerm's default mode for an extra node pool is User.
    out.put((*base, "mode"), block.get("mode", "User"), ("mode",) if block.has("mode") else ())
    out.attr(block, "tags", ("tags",))
    return [out.done()]


# --- Storage ---------------------------------------------------------------------------

def storage_account(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.Storage/storageAccounts", block.get("name"))
    _common(out, block)
    tier, replication = block.get("account_tier"), block.get("account_replication_type")
    if tier is not None and replication is not None:
        unknown = next((v for v in (tier, replication) if isinstance(v, Unresolved)), None)
        out.put(("sku", "name"), unknown or f"{tier}_{replication}", ("account_replication_type",))
    out.attr(block, "account_tier", ("sku", "tier"))
    out.attr(block, "account_kind", ("kind",))
    out.attr(block, "access_tier", ("properties", "accessTier"))
    out.attr(block, ("https_traffic_only_enabled", "enable_https_traffic_only"),
             ("properties", "supportsHttpsTrafficOnly"))
    out.attr(block, "min_tls_version", ("properties", "minimumTlsVersion"))
    out.attr(block, ("allow_nested_items_to_be_public", "allow_blob_public_access"),
             ("properties", "allowBlobPublicAccess"))
    out.attr(block, "shared_access_key_enabled", ("properties", "allowSharedKeyAccess"))
    out.attr(block, "public_network_access_enabled", ("properties", "publicNetworkAccess"), enabled)
    out.attr(block, "cross_tenant_replication_enabled", ("properties", "allowCrossTenantReplication"))
    out.attr(block, "default_to_oauth_authentication", ("properties", "defaultToOAuthAuthentication"))
    out.attr(block, "is_hns_enabled", ("properties", "isHnsEnabled"))
    out.attr(block, "infrastructure_encryption_enabled",
             ("properties", "encryption", "requireInfrastructureEncryption"))
    rules = block.block("network_rules")
    if rules is not None:
        prefix: JsonPath = ("network_rules", 0)
        acls: JsonPath = ("properties", "networkAcls")
        out.attr(rules, "default_action", (*acls, "defaultAction"), prefix=prefix)
        out.attr(rules, "bypass", (*acls, "bypass"), lambda b: ", ".join(b), prefix=prefix)
        out.attr(rules, "ip_rules", (*acls, "ipRules"),
                 lambda ips: [{"value": ip, "action": "Allow"} for ip in ips], prefix=prefix)
        out.attr(rules, "virtual_network_subnet_ids", (*acls, "virtualNetworkRules"),
                 lambda ids: [{"id": i, "action": "Allow"} for i in ids], prefix=prefix)
    immutability = block.block("immutability_policy")
    if immutability is not None:
        prefix = ("immutability_policy", 0)
        base: JsonPath = ("properties", "immutableStorageWithVersioning")
        out.put((*base, "enabled"), True, prefix)
        out.attr(immutability, "state", (*base, "immutabilityPolicy", "state"), prefix=prefix)
        out.attr(immutability, "period_since_creation_in_days",
                 (*base, "immutabilityPolicy", "immutabilityPeriodSinceCreationInDays"), prefix=prefix)
        out.attr(immutability, "allow_protected_append_writes",
                 (*base, "immutabilityPolicy", "allowProtectedAppendWrites"), prefix=prefix)
    mapped = [out.done()]
    blob = block.block("blob_properties")
    if blob is not None:
        mapped.append(_blob_services(blob, mapped[0].name))
    return mapped


def _blob_services(blob: TfBlock, account: str) -> Mapped:
    """`blob_properties` is the account's `blobServices/default` child in ARM."""
    out = _Out("Microsoft.Storage/storageAccounts/blobServices", f"{account}/default")
    prefix: JsonPath = ("blob_properties", 0)
    out.sources[("name",)] = prefix
    props: JsonPath = ("properties",)
    out.put(props, {}, prefix)
    out.attr(blob, "versioning_enabled", (*props, "isVersioningEnabled"), prefix=prefix)
    out.attr(blob, "change_feed_enabled", (*props, "changeFeed", "enabled"), prefix=prefix)
    out.attr(blob, "change_feed_retention_in_days", (*props, "changeFeed", "retentionInDays"), prefix=prefix)
    out.attr(blob, "last_access_time_enabled", (*props, "lastAccessTimeTrackingPolicy", "enable"), prefix=prefix)
    # A retention block in azurerm switches the feature on; `days` defaults to 7.
    for tf, arm in (("delete_retention_policy", "deleteRetentionPolicy"),
                    ("container_delete_retention_policy", "containerDeleteRetentionPolicy"),
                    ("restore_policy", "restorePolicy")):
        policy = blob.block(tf)
        if policy is None:
            continue
        sub: JsonPath = (*prefix, tf, 0)
        out.put((*props, arm, "enabled"), True, sub)
        out.attr(policy, "days", (*props, arm, "days"), prefix=sub)
        if not policy.has("days") and arm != "restorePolicy":
            out.put((*props, arm, "days"), 7, sub)
    return out.done()


# --- Redis, Key Vault, Recovery Services, ACR -----------------------------------------

def redis_cache(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.Cache/redis", block.get("name"))
    _common(out, block)
    out.attr(block, "zones", ("zones",), _zones)
    out.attr(block, "sku_name", ("properties", "sku", "name"))
    out.attr(block, "family", ("properties", "sku", "family"))
    out.attr(block, "capacity", ("properties", "sku", "capacity"))
    out.attr(block, ("non_ssl_port_enabled", "enable_non_ssl_port"), ("properties", "enableNonSslPort"))
    out.attr(block, "minimum_tls_version", ("properties", "minimumTlsVersion"), str)
    out.attr(block, "public_network_access_enabled", ("properties", "publicNetworkAccess"), enabled)
    out.attr(block, "replicas_per_master", ("properties", "replicasPerMaster"))
    out.attr(block, "replicas_per_primary", ("properties", "replicasPerPrimary"))
    out.attr(block, "shard_count", ("properties", "shardCount"))
    out.attr(block, "redis_version", ("properties", "redisVersion"), str)
    out.attr(block, "subnet_id", ("properties", "subnetId"))
    out.attr(block, "access_keys_authentication_enabled", ("properties", "disableAccessKeyAuthentication"), _not)
    config = block.block("redis_configuration")
    if config is not None:
        prefix: JsonPath = ("redis_configuration", 0)
        base: JsonPath = ("properties", "redisConfiguration")
        for tf, arm, convert in (
            ("rdb_backup_enabled", "rdb-backup-enabled", _str_bool),
            ("rdb_backup_frequency", "rdb-backup-frequency", str),
            ("rdb_backup_max_snapshot_count", "rdb-backup-max-snapshot-count", str),
            ("aof_backup_enabled", "aof-backup-enabled", _str_bool),
            ("maxmemory_policy", "maxmemory-policy", str),
            ("active_directory_authentication_enabled", "aad-enabled", _str_bool),
            ("authentication_enabled", "authnotrequired", lambda v: _str_bool(_not(v))),
        ):
            out.attr(config, tf, (*base, arm), convert, prefix=prefix)
    return [out.done()]


def key_vault(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.KeyVault/vaults", block.get("name"))
    _common(out, block)
    if block.has("sku_name"):
        out.put(("properties", "sku", "family"), "A", ("sku_name",))
        out.attr(block, "sku_name", ("properties", "sku", "name"))
    out.attr(block, "tenant_id", ("properties", "tenantId"))
    # azurerm 3.0 removed `soft_delete_enabled`: soft delete is always on since then.
    if block.has("soft_delete_enabled"):
        out.attr(block, "soft_delete_enabled", ("properties", "enableSoftDelete"))
    else:
        out.put(("properties", "enableSoftDelete"), True, ())
    out.attr(block, "soft_delete_retention_days", ("properties", "softDeleteRetentionInDays"))
    out.attr(block, "purge_protection_enabled", ("properties", "enablePurgeProtection"))
    out.attr(block, ("rbac_authorization_enabled", "enable_rbac_authorization"),
             ("properties", "enableRbacAuthorization"))
    out.attr(block, "public_network_access_enabled", ("properties", "publicNetworkAccess"), enabled)
    out.attr(block, "enabled_for_deployment", ("properties", "enabledForDeployment"))
    out.attr(block, "enabled_for_disk_encryption", ("properties", "enabledForDiskEncryption"))
    out.attr(block, "enabled_for_template_deployment", ("properties", "enabledForTemplateDeployment"))
    acls = block.block("network_acls")
    if acls is not None:
        prefix: JsonPath = ("network_acls", 0)
        base: JsonPath = ("properties", "networkAcls")
        out.attr(acls, "default_action", (*base, "defaultAction"), prefix=prefix)
        out.attr(acls, "bypass", (*base, "bypass"), prefix=prefix)
        out.attr(acls, "ip_rules", (*base, "ipRules"), lambda ips: [{"value": ip} for ip in ips], prefix=prefix)
        out.attr(acls, "virtual_network_subnet_ids", (*base, "virtualNetworkRules"),
                 lambda ids: [{"id": i} for i in ids], prefix=prefix)
    return [out.done()]


def recovery_services_vault(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.RecoveryServices/vaults", block.get("name"))
    _common(out, block)
    if block.has("sku"):
        out.attr(block, "sku", ("sku", "name"))
        out.put(("sku", "tier"), "Standard", ("sku",))
    redundancy: JsonPath = ("properties", "redundancySettings")
    out.attr(block, "storage_mode_type", (*redundancy, "standardTierStorageRedundancy"))
    out.attr(block, "cross_region_restore_enabled", (*redundancy, "crossRegionRestore"), enabled)
    security: JsonPath = ("properties", "securitySettings")
    out.attr(block, "soft_delete_enabled", (*security, "softDeleteSettings", "softDeleteState"), enabled)
    out.attr(block, "immutability", (*security, "immutabilitySettings", "state"))
    out.attr(block, "public_network_access_enabled", ("properties", "publicNetworkAccess"), enabled)
    monitoring = block.block("monitoring")
    if monitoring is not None:
        prefix: JsonPath = ("monitoring", 0)
        base: JsonPath = ("properties", "monitoringSettings")
        out.attr(monitoring, "alerts_for_all_job_failures_enabled",
                 (*base, "azureMonitorAlertSettings", "alertsForAllJobFailures"), enabled, prefix=prefix)
        out.attr(monitoring, "alerts_for_critical_operation_failures_enabled",
                 (*base, "classicAlertSettings", "alertsForCriticalOperations"), enabled, prefix=prefix)
    return [out.done()]


def container_registry(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.ContainerRegistry/registries", block.get("name"))
    _common(out, block)
    out.attr(block, "sku", ("sku", "name"))
    out.attr(block, "admin_enabled", ("properties", "adminUserEnabled"))
    out.attr(block, "anonymous_pull_enabled", ("properties", "anonymousPullEnabled"))
    out.attr(block, "zone_redundancy_enabled", ("properties", "zoneRedundancy"), enabled)
    out.attr(block, "public_network_access_enabled", ("properties", "publicNetworkAccess"), enabled)
    out.attr(block, "data_endpoint_enabled", ("properties", "dataEndpointEnabled"))
    out.attr(block, "quarantine_policy_enabled", ("properties", "policies", "quarantinePolicy", "status"), enabled)
    out.attr(block, "trust_policy_enabled", ("properties", "policies", "trustPolicy", "status"), enabled)
    out.attr(block, "export_policy_enabled", ("properties", "policies", "exportPolicy", "status"), enabled)
    rule_set = block.block("network_rule_set")
    if rule_set is not None:
        out.attr(rule_set, "default_action", ("properties", "networkRuleSet", "defaultAction"),
                 prefix=("network_rule_set", 0))
    registry = out.done()
    mapped = [registry]
    # `georeplications` blocks are the registry's `replications` children in ARM.
    for index, replica in enumerate(block.all_blocks("georeplications")):
        location = replica.get("location")
        child = _Out("Microsoft.ContainerRegistry/registries/replications",
                     f"{registry.name}/{as_text(location)}")
        prefix: JsonPath = ("georeplications", index)
        child.sources[("name",)] = prefix
        child.attr(replica, "location", ("location",), prefix=prefix)
        child.attr(replica, "zone_redundancy_enabled", ("properties", "zoneRedundancy"), enabled, prefix=prefix)
        child.attr(replica, "regional_endpoint_enabled", ("properties", "regionEndpointEnabled"), prefix=prefix)
        child.attr(replica, "tags", ("tags",), prefix=prefix)
        mapped.append(child.done())
    return mapped


# --- locks and diagnostic settings (extension resources with a scope) -----------------

def management_lock(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.Authorization/locks", block.get("name"))
    if block.has("scope"):
        out.put(("scope",), scope_of(block.get("scope"), resolve), ("scope",))
    out.attr(block, "lock_level", ("properties", "level"))
    out.attr(block, "notes", ("properties", "notes"))
    return [out.done()]


def monitor_diagnostic_setting(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.Insights/diagnosticSettings", block.get("name"))
    if block.has("target_resource_id"):
        out.put(("scope",), scope_of(block.get("target_resource_id"), resolve), ("target_resource_id",))
    props: JsonPath = ("properties",)
    _id_attr(out, block, "log_analytics_workspace_id", (*props, "workspaceId"), resolve)
    out.attr(block, "log_analytics_destination_type", (*props, "logAnalyticsDestinationType"))
    out.attr(block, "storage_account_id", (*props, "storageAccountId"))
    out.attr(block, "eventhub_authorization_rule_id", (*props, "eventHubAuthorizationRuleId"))
    out.attr(block, "eventhub_name", (*props, "eventHubName"))
    logs: list[dict[str, Any]] = []
    first: JsonPath = ()
    # `enabled_log` (azurerm >= 3.39) is always enabled; the older `log` block has `enabled`.
    for tf in ("enabled_log", "log"):
        for index, log in enumerate(block.all_blocks(tf)):
            entry: dict[str, Any] = {"enabled": log.get("enabled", True)}
            if log.has("category"):
                entry["category"] = log.get("category")
            if log.has("category_group"):
                entry["categoryGroup"] = log.get("category_group")
            out.sources.setdefault((*props, "logs", len(logs)), (tf, index))
            first = first or (tf, index)
            logs.append(entry)
    if logs:
        out.put((*props, "logs"), logs, first)
    metrics: list[dict[str, Any]] = []
    first = ()
    for tf in ("enabled_metric", "metric"):
        for index, metric in enumerate(block.all_blocks(tf)):
            out.sources.setdefault((*props, "metrics", len(metrics)), (tf, index))
            first = first or (tf, index)
            metrics.append({"category": metric.get("category"), "enabled": metric.get("enabled", True)})
    if metrics:
        out.put((*props, "metrics"), metrics, first)
    return [out.done()]


def resource_group(block: TfBlock, resolve: RefResolver) -> list[Mapped]:
    out = _Out("Microsoft.Resources/resourceGroups", block.get("name"))
    _common(out, block)
    return [out.done()]


# The table: every azurerm type the catalogue checks, plus resource groups (their tags
# carry tiers). Anything else is reported as unmapped by the caller.
AZURERM_TYPES: dict[str, Callable[[TfBlock, RefResolver], list[Mapped]]] = {
    "azurerm_resource_group": resource_group,
    "azurerm_kubernetes_cluster": kubernetes_cluster,
    "azurerm_kubernetes_cluster_node_pool": kubernetes_cluster_node_pool,
    "azurerm_postgresql_flexible_server": postgresql_flexible_server,
    "azurerm_postgresql_flexible_server_configuration": postgresql_flexible_server_configuration,
    "azurerm_storage_account": storage_account,
    "azurerm_redis_cache": redis_cache,
    "azurerm_key_vault": key_vault,
    "azurerm_recovery_services_vault": recovery_services_vault,
    "azurerm_container_registry": container_registry,
    "azurerm_management_lock": management_lock,
    "azurerm_monitor_diagnostic_setting": monitor_diagnostic_setting,
}

# The ARM type each mapped azurerm type becomes (for references from other resources).
ARM_TYPE_OF: dict[str, str] = {
    "azurerm_resource_group": "Microsoft.Resources/resourceGroups",
    "azurerm_kubernetes_cluster": "Microsoft.ContainerService/managedClusters",
    "azurerm_kubernetes_cluster_node_pool": "Microsoft.ContainerService/managedClusters/agentPools",
    "azurerm_postgresql_flexible_server": "Microsoft.DBforPostgreSQL/flexibleServers",
    "azurerm_postgresql_flexible_server_configuration": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
    "azurerm_storage_account": "Microsoft.Storage/storageAccounts",
    "azurerm_redis_cache": "Microsoft.Cache/redis",
    "azurerm_key_vault": "Microsoft.KeyVault/vaults",
    "azurerm_recovery_services_vault": "Microsoft.RecoveryServices/vaults",
    "azurerm_container_registry": "Microsoft.ContainerRegistry/registries",
    "azurerm_management_lock": "Microsoft.Authorization/locks",
    "azurerm_monitor_diagnostic_setting": "Microsoft.Insights/diagnosticSettings",
    # Not checked by a policy, but referred to by ID (diagnostic settings, AKS monitoring).
    "azurerm_log_analytics_workspace": "Microsoft.OperationalInsights/workspaces",
}

REFERENCE = re.compile(r"^(azurerm_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.id$")
