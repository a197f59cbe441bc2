"""Spot checks of the Azure PostgreSQL policies on real third-party templates (issue 3).

The quickstart PostgreSQL templates (ARM, and the Bicep sources of the same quickstarts)
deploy a server without HA and without geo-redundant backup, so they fail HA-AZ-004 and
DR-AZ-002. The Azure Verified Module for flexible servers defaults to zone-redundant HA
and geo-redundant backup, so at its parameter defaults it passes both. Its `tier`
parameter has no default (it is required), so `sku.tier` stays unknown there; HA-AZ-004
only rejects a known Burstable tier, because Azure refuses HA on Burstable at deployment.
The module's Bicep source, read by the built-in parser at the same defaults, gives the
same outcomes and messages as the ARM JSON it compiles to.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.engine.evaluate import EvaluationOptions
from scanner.engine.policy import Policy
from scanner.model import Outcome, ScanResult
from scanner.scan import ScanOptions, evaluate_resources, scan_paths
from scanner.sources import bicep
from tests.conftest import CORPUS
from tests.policies.fixture_harness import all_policies

PG_TYPE = "Microsoft.DBforPostgreSQL/flexibleServers"
QUICKSTART_ARM = (CORPUS / "arm/azure-quickstart-templates/quickstarts/microsoft.dbforpostgresql/"
                  "flexible-postgresql-with-vnet/azuredeploy.json")
QUICKSTART_BICEP = sorted((CORPUS / "bicep/azure-quickstart-templates/quickstarts/microsoft.dbforpostgresql")
                          .glob("*/main.bicep"))
AVM_FLEXIBLE_SERVER = CORPUS / "arm/bicep-registry-modules/avm/res/db-for-postgre-sql/flexible-server/main.json"
AVM_FLEXIBLE_SERVER_BICEP = (CORPUS / "bicep/bicep-registry-modules/avm/res/db-for-postgre-sql/flexible-server/"
                             "main.bicep")

HA_DISABLED = ("PostgreSQL server '{name}' (tier high) has properties.highAvailability.mode = Disabled; "
               "use ZoneRedundant or SameZone on a General Purpose or Memory Optimized SKU.")
GEO_DISABLED = ("PostgreSQL server '{name}' (tier high) has properties.backup.geoRedundantBackup = Disabled; "
                "set geoRedundantBackup to Enabled for cross-region recovery.")


def _options() -> ScanOptions:
    return ScanOptions(builtin_policies=False, evaluation=EvaluationOptions(keep_passing=True), root=CORPUS)


def _policies() -> list[Policy]:
    policies = all_policies()
    return [policies["HA-AZ-004"], policies["DR-AZ-002"]]


def scan(path: Path) -> ScanResult:
    return scan_paths([path], _options(), loaded=(_policies(), []))


def outcomes(result: ScanResult) -> list[tuple[str, str, str, str]]:
    """(policy, resource type, outcome, message) for every PostgreSQL finding."""
    return sorted((f.policy_id, f.resource.type, f.outcome.value, f.message)
                  for f in result.findings if f.resource.type == PG_TYPE)


def test_quickstart_arm_template_fails_ha_and_geo_backup() -> None:
    result = scan(QUICKSTART_ARM)
    assert result.errors == []
    name = "<serverName>"
    assert outcomes(result) == [
        ("DR-AZ-002", PG_TYPE, Outcome.FAIL.value, GEO_DISABLED.format(name=name)),
        ("HA-AZ-004", PG_TYPE, Outcome.FAIL.value, HA_DISABLED.format(name=name)),
    ]


@pytest.mark.parametrize("path", QUICKSTART_BICEP, ids=[p.parent.name for p in QUICKSTART_BICEP])
def test_quickstart_bicep_templates_fail_ha_and_geo_backup(path: Path) -> None:
    result = scan(path)
    assert result.errors == []
    found = outcomes(result)
    assert [(policy, outcome) for policy, _type, outcome, _message in found] == [
        ("DR-AZ-002", Outcome.FAIL.value), ("HA-AZ-004", Outcome.FAIL.value)]
    assert "properties.backup.geoRedundantBackup = Disabled" in found[0][3]
    assert "properties.highAvailability.mode = Disabled" in found[1][3]


def test_quickstart_bicep_templates_are_in_the_corpus() -> None:
    assert [p.parent.name for p in QUICKSTART_BICEP] == [
        "flexible-postgresql-with-aad", "flexible-postgresql-with-vnet",
        "flexible-postgresql-with-vnet-dataencryption"]


def test_verified_module_passes_at_its_parameter_defaults() -> None:
    result = scan(AVM_FLEXIBLE_SERVER)
    assert result.errors == []
    name = "<name>"
    assert outcomes(result) == [
        ("DR-AZ-002", PG_TYPE, Outcome.PASS.value, f"{PG_TYPE} {name} complies."),
        ("HA-AZ-004", PG_TYPE, Outcome.PASS.value, f"{PG_TYPE} {name} complies."),
    ]
    server = next(r for r in result.resources if r.type == PG_TYPE)
    # What the defaults resolve to, and what stays unknown (a required parameter).
    assert server.body["properties"]["highAvailability"]["mode"] == "ZoneRedundant"
    assert server.body["properties"]["backup"]["geoRedundantBackup"] == "Enabled"
    assert server.unresolved[("sku", "tier")] == "[parameters('tier')]"


@pytest.mark.skipif(bicep.bicep_cli() is not None, reason="covers the built-in Bicep parser")
def test_verified_module_bicep_source_matches_its_arm_json_at_the_defaults() -> None:
    # A directory scan reads main.bicep through its e2e tests (it is their local module);
    # read on its own, it is evaluated at its parameter defaults, like main.json.
    source = bicep.scan_bicep_file(AVM_FLEXIBLE_SERVER_BICEP, "main.bicep", lambda p: p.as_posix())
    result = ScanResult()
    evaluate_resources(source.resources, _policies(), _options(), result)
    assert result.errors == []
    assert outcomes(result) == outcomes(scan(AVM_FLEXIBLE_SERVER)) == [
        ("DR-AZ-002", PG_TYPE, Outcome.PASS.value, f"{PG_TYPE} <name> complies."),
        ("HA-AZ-004", PG_TYPE, Outcome.PASS.value, f"{PG_TYPE} <name> complies."),
    ]
    server = next(r for r in source.resources if r.type == PG_TYPE)
    # `createMode != 'Replica' ? geoRedundantBackup : null` and the other conditions resolve.
    assert server.body["properties"]["highAvailability"]["mode"] == "ZoneRedundant"
    assert server.body["properties"]["backup"]["geoRedundantBackup"] == "Enabled"
    assert server.unresolved[("sku", "tier")] == "[parameters('tier')]"
