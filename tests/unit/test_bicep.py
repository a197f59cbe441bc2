"""Bicep source: parameters (defaults, .bicepparam, --parameters), expressions,
conditions, loops, nested and `parent:` children, local modules, lines, and files the
built-in parser cannot read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scanner.model import FileStatus, Position, Resource
from scanner.sources import bicep
from scanner.sources.files import scan_file
from scanner.sources.options import SourceOptions
from tests.conftest import FIXTURES

BICEP = FIXTURES / "bicep"
NO_CLI = pytest.mark.skipif(bicep.bicep_cli() is not None,
                            reason="a bicep compiler is installed; these tests cover the built-in parser")


def _show(path: Path) -> str:
    return Path(path).resolve().relative_to(BICEP.resolve()).as_posix()


def _app() -> dict[str, Resource]:
    scan = bicep.scan_bicep_file(BICEP / "app" / "main.bicep", "app/main.bicep", _show)
    return {f"{r.type}/{r.name}": r for r in scan.resources}


@NO_CLI
def test_bicepparam_next_to_the_template_supplies_parameters() -> None:
    files = _app()["Microsoft.Storage/storageAccounts/odooproductionfiles"]
    # environment and tier come from main.bicepparam; replace() and interpolation resolve.
    assert files.body == {
        "name": "odooproductionfiles", "location": "westeurope",
        "tags": {"environment": "production", "tier": "critical"}, "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False},
        "type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01"}
    assert files.unresolved == {}


@NO_CLI
def test_nested_children_loops_conditions_and_scopes() -> None:
    found = _app()
    assert sorted(found) == [
        "Microsoft.Authorization/locks/files-no-delete",
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations/odoo-production-pg/require_secure_transport",
        "Microsoft.DBforPostgreSQL/flexibleServers/odoo-production-pg",
        "Microsoft.Storage/storageAccounts/blobServices/odooproductionfiles/default",
        "Microsoft.Storage/storageAccounts/fileServices/shares/odooproductionfiles/default/backups",
        "Microsoft.Storage/storageAccounts/fileServices/shares/odooproductionfiles/default/filestore",
        "Microsoft.Storage/storageAccounts/odooproductionfiles",
    ]  # debugVm's condition is false in production: not deployed
    assert found["Microsoft.Authorization/locks/files-no-delete"].body["scope"] == \
        "Microsoft.Storage/storageAccounts/odooproductionfiles"  # as `scope: files` compiles


@NO_CLI
def test_local_module_is_expanded_with_the_parameters_its_caller_passes() -> None:
    pg = _app()["Microsoft.DBforPostgreSQL/flexibleServers/odoo-production-pg"]
    assert pg.origin.file == "modules/pg.bicep"
    assert pg.body["properties"] == {"administratorLogin": "[parameters('adminLogin')]",
                                     "highAvailability": {"mode": "SameZone"}}
    assert pg.body["tags"] == {"environment": "production", "tier": "critical"}
    # A parameter the caller does not pass, with no default, stays unknown.
    assert pg.unresolved == {("properties", "administratorLogin"): "[parameters('adminLogin')]"}
    config = _app()["Microsoft.DBforPostgreSQL/flexibleServers/configurations/odoo-production-pg/"
                    "require_secure_transport"]
    assert config.body["properties"] == {"value": "ON", "source": "user-override"}


@NO_CLI
def test_findings_point_at_the_bicep_line() -> None:
    found = _app()
    pg = found["Microsoft.DBforPostgreSQL/flexibleServers/odoo-production-pg"]
    assert pg.origin.position_of(("properties", "highAvailability", "mode")) == (
        "modules/pg.bicep", Position(18, 7), ("properties", "highAvailability", "mode"))
    # Missing property: its nearest written parent.
    assert pg.origin.position_of(("properties", "backup", "backupRetentionDays"))[1] == Position(15, 3)
    blob = found["Microsoft.Storage/storageAccounts/blobServices/odooproductionfiles/default"]
    assert blob.origin.position_of(("properties", "deleteRetentionPolicy", "days"))[1] == Position(37, 9)


@NO_CLI
def test_defaults_and_a_parameters_file() -> None:
    redis = BICEP / "defaults" / "redis.bicep"
    [cache] = bicep.scan_bicep_file(redis, "redis.bicep", _show).resources
    assert cache.name == "<[parameters('name')]>"
    assert cache.body["location"] == "resourceGroup().location"
    assert cache.unresolved == {("location",): "resourceGroup().location"}
    assert cache.body["properties"]["sku"] == {"name": "Basic", "family": "C", "capacity": 1}
    options = SourceOptions(parameter_files=[BICEP / "defaults" / "redis.parameters.json"])
    scan = scan_file(redis, "defaults/redis.bicep", True, sources=options)
    [cache] = scan.resources
    assert cache.name == "cache-from-file"
    assert cache.body["properties"]["sku"]["capacity"] == 2


@NO_CLI
def test_bicepparam_values_are_read() -> None:
    assert bicep.parameters_from_file(BICEP / "app" / "main.bicepparam") == {
        "environment": "production", "tier": "critical"}


@NO_CLI
def test_unsupported_syntax_is_an_error_naming_file_and_line() -> None:
    scan = scan_file(BICEP / "defaults" / "unsupported.bicep", "defaults/unsupported.bicep", True)
    message = ("Bicep syntax the built-in parser does not support near line 2, column 25; "
               "install the bicep CLI to compile it")
    assert scan.record.status is FileStatus.ERROR
    assert scan.record.reason == message
    assert [(e.file, e.line, e.message) for e in scan.errors] == [("defaults/unsupported.bicep", 2, message)]


def test_module_files_are_scanned_through_their_user() -> None:
    scan = scan_file(BICEP / "modules" / "pg.bicep", "modules/pg.bicep", True)
    assert scan.record.status is FileStatus.SCANNED
    assert scan.record.kind == "bicep-module"
    assert scan.record.reason == "local module of app/main.bicep: scanned through it, with the parameters it passes"
    assert scan.resources == []


@NO_CLI
def test_notes_name_what_was_not_deployed_or_expanded() -> None:
    scan = scan_file(BICEP / "app" / "main.bicep", "app/main.bicep", True)
    assert scan.record.status is FileStatus.SCANNED
    assert scan.record.resources == 5  # declared in main.bicep itself; the module adds 2 more
    assert len(scan.resources) == 7
    assert scan.record.reason == (
        "app/main.bicep:47: resource debugVm is not deployed (its condition is false); "
        "app/main.bicep:70: module br/public:avm/res/key-vault/vault:0.9.0 comes from a registry and is not expanded")


@pytest.mark.skipif(shutil.which("bicep") is None and shutil.which("az") is None,
                    reason="neither the bicep CLI nor az is installed here")
def test_the_real_compiler_is_used_when_installed() -> None:  # pragma: no cover - needs the CLI
    scan = bicep.scan_bicep_file(BICEP / "defaults" / "redis.bicep", "redis.bicep", _show)
    [cache] = scan.resources
    assert cache.type == "Microsoft.Cache/redis"
    assert cache.origin.position_of(("properties", "sku", "capacity"))[1] == Position(12, 7)
