"""ARM templates as ARM deploys them: parameter files, copy loops, conditions, nested
and linked deployments, symbolic names, `existing` references, and unknown values
that policies treat as non-compliant (saying so in the finding)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.engine.evaluate import EvaluationOptions
from scanner.model import FileStatus, Outcome
from scanner.scan import ScanOptions, scan_paths
from scanner.sources import arm
from scanner.sources.arm_expressions import Unresolved
from scanner.sources.files import scan_file
from scanner.sources.locate import JsonLocator
from scanner.sources.options import SourceOptions
from tests.conftest import CORPUS, FIXTURES, ROOT

ARM_FIXTURES = FIXTURES / "arm"
# A test policy with fixed wording (tests/source_policies/postgresql-ha-mode.yaml).
POLICY = ScanOptions(root=FIXTURES, evaluation=EvaluationOptions(keep_passing=True), builtin_policies=False,
                     policy_dirs=[ROOT / "tests" / "source_policies"])
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def summary(path: Path, sources: SourceOptions | None = None) -> tuple[Any, list[tuple[str, str, Any]]]:
    scanned = scan_file(path, path.relative_to(FIXTURES).as_posix(), True, sources=sources)
    return scanned, [(r.type, r.name, r.origin.base_path) for r in scanned.resources]


def test_parameter_file_beside_the_template_is_applied() -> None:
    scanned, _ = summary(ARM_FIXTURES / "with-parameters" / "azuredeploy.json")
    (pg,) = scanned.resources
    assert scanned.record.reason == "parameters from azuredeploy.parameters.json"
    assert (pg.name, pg.body["sku"]["tier"], pg.body["properties"]["highAvailability"]["mode"]) == (
        "odoo-pg-prod", "GeneralPurpose", "ZoneRedundant")
    # A Key Vault reference is a secret read at deployment time: unknown, never a value.
    assert pg.unresolved == {("properties", "administratorLoginPassword"): "[parameters('adminPassword')]"}


def test_explicit_parameter_files_win_in_order() -> None:
    folder = ARM_FIXTURES / "with-parameters"
    sources = SourceOptions(parameter_files=[folder / "azuredeploy.parameters.json",
                                             folder / "staging.parameters.json"])
    scanned, _ = summary(folder / "azuredeploy.json", sources)
    (pg,) = scanned.resources
    assert (pg.name, pg.body["sku"]["tier"], pg.body["properties"]["highAvailability"]["mode"]) == (
        "odoo-pg-staging", "GeneralPurpose", "SameZone")


def test_a_broken_parameter_file_is_an_error_naming_it(tmp_path: Path) -> None:
    template = tmp_path / "main.json"
    template.write_text(json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": []}))
    (tmp_path / "main.parameters.json").write_text('{"parameters": {"a": ')
    scanned = scan_file(template, "main.json", True)
    assert scanned.record.status is FileStatus.ERROR
    assert [e.one_line() for e in scanned.errors] == [
        f"main.json: invalid JSON in parameter file {tmp_path / 'main.parameters.json'}: "
        "Expecting value (line 1)"]


def test_copy_conditions_nested_and_linked_deployments() -> None:
    scanned, resources = summary(ARM_FIXTURES / "deploy-logic" / "azuredeploy.json")
    assert resources == [
        ("Microsoft.Storage/storageAccounts", "odoost1", ("resources", 0)),
        ("Microsoft.Storage/storageAccounts", "odoost2", ("resources", 0)),
        ("Microsoft.Network/virtualNetworks", "odoo-vnet", ("resources", 1)),
        # resources[2] (condition false) is not deployed; resources[3] has an unknown condition
        ("Microsoft.KeyVault/vaults", "odoo-kv", ("resources", 3)),
        ("Microsoft.Resources/deployments", "database", ("resources", 4)),
        ("Microsoft.DBforPostgreSQL/flexibleServers", "odoo-pg", ("resources", 4, "properties", "template",
                                                                  "resources", 0)),
        ("Microsoft.Resources/deployments", "registry", ("resources", 5)),
        ("Microsoft.ContainerRegistry/registries", "odooacr", ("resources", 5, "properties", "template",
                                                               "resources", 0)),
        ("Microsoft.Resources/deployments", "cache-0", ("resources", 6)),
        ("Microsoft.Cache/redis", "odoo-redis-0", ("resources", 0)),
        ("Microsoft.Resources/deployments", "cache-1", ("resources", 6)),
        ("Microsoft.Cache/redis", "odoo-redis-1", ("resources", 0)),
        # resources[7] is `existing`: deployed elsewhere, skipped
    ]
    assert scanned.record.reason == (
        "resources[2]: condition is false; not deployed, not scanned; "
        "resources[3]: condition [not(empty(parameters('zonesFrom')))] is not known statically; scanned as deployed")
    by_name = {r.name: r for r in scanned.resources}
    # A property copy loop (using a variable copy loop) becomes the array it builds.
    assert by_name["odoo-vnet"].body["properties"] == {"subnets": [
        {"name": "snet-0", "properties": {"addressPrefix": "10.0.0.0/24"}},
        {"name": "snet-1", "properties": {"addressPrefix": "10.0.1.0/24"}}]}
    # Inner scope: the nested template sees the parameters passed to it, not the parent's.
    assert by_name["odoo-pg"].body["properties"]["highAvailability"] == {"mode": "ZoneRedundant"}
    # Outer scope: the nested template's expressions use the parent's parameters.
    assert by_name["odooacr"].body["sku"] == {"name": "Premium"}
    # The inline template is expanded, not kept as a property of the deployment.
    assert "template" not in by_name["database"].body["properties"]
    # Linked templates point at their own file and lines.
    redis = by_name["odoo-redis-1"]
    assert redis.origin.file == "arm/deploy-logic/linked/redis.json"
    file, position, _ = redis.origin.position_of(("zones",))
    assert (file, position.line if position else None) == ("arm/deploy-logic/linked/redis.json", 11)
    nested_file, nested_position, _ = by_name["odoo-pg"].origin.position_of(("properties", "highAvailability"))
    assert (nested_file, nested_position.line if nested_position else None) == (
        "arm/deploy-logic/azuredeploy.json", 74)


def test_unknown_copy_count_scans_one_instance_and_says_so() -> None:
    template = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "parameters": {"n": {"type": "int"}},
                "resources": [{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01",
                               "name": "[concat('st', copyIndex())]",
                               "copy": {"name": "l", "count": "[parameters('n')]"}},
                              {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01",
                               "name": "never", "copy": {"name": "z", "count": 0}}]}
    resources, notes = arm.resources_from_template(template, "t.json", None)
    assert [(r.name, r.unresolved) for r in resources] == [
        ("<[concat('st', copyIndex())]>", {("name",): "[concat('st', copyIndex())]"})]
    assert notes == ["resources[0]: copy count [parameters('n')] is not known statically; one instance scanned"]


def test_language_version_2_symbolic_names_nullable_parameters_and_existing() -> None:
    template = {
        "$schema": SCHEMA, "languageVersion": "2.0", "contentVersion": "1.0.0.0",
        "parameters": {"lock": {"type": "object", "nullable": True},
                       "rules": {"type": "array", "nullable": True}},
        "resources": {
            "vault": {"existing": True, "type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv"},
            "server": {"type": "Microsoft.DBforPostgreSQL/flexibleServers", "apiVersion": "2024-08-01",
                       "name": "pg", "properties": {"highAvailability": {
                           "mode": "[coalesce(tryGet(parameters('lock'), 'mode'), 'ZoneRedundant')]"}}},
            "server_lock": {"condition": "[not(empty(coalesce(parameters('lock'), createObject())))]",
                            "type": "Microsoft.Authorization/locks", "apiVersion": "2020-05-01", "name": "lock"},
            "server_rules": {"copy": {"name": "rules",
                                      "count": "[length(coalesce(parameters('rules'), createArray()))]"},
                             "type": "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",
                             "apiVersion": "2024-08-01", "name": "[format('pg/r{0}', copyIndex())]"},
        }}
    resources, notes = arm.resources_from_template(template, "t.json", None)
    assert [(r.type, r.name, r.origin.base_path, r.body["properties"]) for r in resources] == [
        ("Microsoft.DBforPostgreSQL/flexibleServers", "pg", ("resources", "server"),
         {"highAvailability": {"mode": "ZoneRedundant"}})]
    assert notes == ["resources.server_lock: condition is false; not deployed, not scanned"]


def test_parameter_file_values_and_defaults() -> None:
    template = {"parameters": {"a": {"type": "string", "defaultValue": "x"},
                               "b": {"type": "string", "defaultValue": "[concat(parameters('a'), '-b')]"},
                               "c": {"type": "string"}}}
    assert arm.parameter_values(template) == {"a": "x", "b": "x-b", "c": Unresolved("parameters('c')")}
    assert arm.parameter_values(template, {"A": "y"}) == {"a": "y", "b": "y-b", "c": Unresolved("parameters('c')")}
    assert arm.parameter_file_values({"parameters": {"a": {"value": 1}, "k": {"reference": {}}}}) == {
        "a": 1, "k": Unresolved("Key Vault reference for parameter 'k'")}


def test_unresolved_value_fails_the_policy_and_the_finding_says_so() -> None:
    result = scan_paths([ARM_FIXTURES / "unresolved"], POLICY)
    (finding,) = [f for f in result.findings if f.policy_id == "HA-AZ-901"]
    assert finding.outcome is Outcome.FAIL
    assert finding.message == (
        "PostgreSQL server 'odoo-pg' has properties.highAvailability.mode = [parameters('haMode')]; "
        "use ZoneRedundant. The value is not known statically ([parameters('haMode')]); treated as non-compliant.")
    assert (finding.location.file, finding.location.line, finding.location.property_path) == (
        "arm/unresolved/azuredeploy.json", 16, "properties.highAvailability.mode")


def test_the_same_template_with_its_parameter_file_passes() -> None:
    result = scan_paths([ARM_FIXTURES / "with-parameters"], POLICY)
    assert [(f.policy_id, f.outcome) for f in result.findings] == [("HA-AZ-901", Outcome.PASS)]
    assert {f.path: (f.status, f.reason) for f in result.files} == {
        "arm/with-parameters/azuredeploy.json": (FileStatus.SCANNED, "parameters from azuredeploy.parameters.json"),
        "arm/with-parameters/azuredeploy.parameters.json": (FileStatus.SKIPPED,
                                                            "ARM parameters file (applied with its template)"),
        "arm/with-parameters/staging.parameters.json": (FileStatus.SKIPPED,
                                                        "ARM parameters file (applied with its template)"),
    }


def test_input_kind_arm_reads_a_template_without_schema(tmp_path: Path) -> None:
    path = tmp_path / "infra.json"
    path.write_text(json.dumps({"resources": [{"type": "Microsoft.Cache/redis", "apiVersion": "2024-03-01",
                                               "name": "r"}]}))
    assert scan_file(path, "infra.json", True).record.status is FileStatus.SKIPPED
    forced = scan_file(path, "infra.json", True, sources=SourceOptions(input_kind="arm"))
    assert [(r.type, r.name) for r in forced.resources] == [("Microsoft.Cache/redis", "r")]


def test_avm_module_from_the_corpus_expands_its_nested_deployments() -> None:
    path = CORPUS / "arm/bicep-registry-modules/avm/res/db-for-postgre-sql/flexible-server/main.json"
    text = path.read_text(encoding="utf-8")
    resources, notes = arm.resources_from_template(json.loads(text), "main.json", JsonLocator(text))
    assert [r.type for r in resources] == [
        "Microsoft.Resources/deployments", "Microsoft.DBforPostgreSQL/flexibleServers",
        "Microsoft.Resources/deployments", "Microsoft.DBforPostgreSQL/flexibleServers/advancedThreatProtectionSettings"]
    assert notes == [
        "resources.flexibleServer_lock: condition is false; not deployed, not scanned",
        "resources.flexibleServer_advancedThreatProtection.properties.template.resources[0]: "
        "condition is false; not deployed, not scanned"]


def test_a_linked_template_is_scanned_through_the_template_that_deploys_it() -> None:
    result = scan_paths([ARM_FIXTURES / "deploy-logic"], POLICY)
    assert {f.path: (f.status, f.resources, f.reason) for f in result.files} == {
        "arm/deploy-logic/azuredeploy.json": (FileStatus.SCANNED, 12, (
            "resources[2]: condition is false; not deployed, not scanned; resources[3]: condition "
            "[not(empty(parameters('zonesFrom')))] is not known statically; scanned as deployed")),
        "arm/deploy-logic/linked/redis.json": (FileStatus.SCANNED, 0, (
            "linked template: scanned through arm/deploy-logic/azuredeploy.json, with the parameters it passes")),
    }
    # Not scanned a second time on its own, with an unknown name.
    assert sorted(r.name for r in result.resources if r.type == "Microsoft.Cache/redis") == [
        "odoo-redis-0", "odoo-redis-1"]


def test_cli_parameters_option_and_input_kind() -> None:
    from tests.e2e.cli_runner import scan_json, tierscan

    policies = ("--no-builtin-policies", "--policy-dir", str(ROOT / "tests" / "source_policies"))
    code, report, stderr = scan_json("arm/with-parameters/azuredeploy.json", "--parameters",
                                     "arm/with-parameters/staging.parameters.json", *policies, cwd=FIXTURES)
    assert (code, stderr) == (1, "")
    assert [(f["resource"]["name"], f["message"]) for f in report["findings"]] == [
        ("odoo-pg-staging", "PostgreSQL server 'odoo-pg-staging' has properties.highAvailability.mode = SameZone; "
                            "use ZoneRedundant.")]
    assert report["files"][0]["reason"] == "parameters from staging.parameters.json"
    done = tierscan("scan", "arm/with-parameters", "--input-kind", "nonsense", cwd=FIXTURES)
    assert done.returncode == 2 and "Invalid value for '--input-kind'" in done.stderr


def test_parameter_files_are_recognised_by_schema_or_shape() -> None:
    assert arm.is_arm_parameters({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
                                             "deploymentParameters.json#", "parameters": {}}) is True
    assert arm.is_arm_parameters({"parameters": {"a": {"value": 1}, "k": {"reference": {}}}}) is True
    assert arm.is_arm_parameters({"parameters": {"a": {"type": "string"}}}) is False  # a template fragment
    assert arm.is_arm_parameters({"parameters": {"a": {"value": 1}}, "resources": []}) is False
