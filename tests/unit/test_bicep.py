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
    assert cache.name == "<name>"  # as the ARM source names it: an unknown parameter as `<name>`
    assert cache.body["location"] == "resourceGroup().location"
    assert cache.unresolved == {("name",): "[parameters('name')]", ("location",): "resourceGroup().location"}
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
    # The spread operator (`...`, Bicep 0.27) is one construct the built-in parser lacks.
    message = ("Bicep syntax the built-in parser does not support near line 2, column 14; "
               "install the bicep CLI to compile it")
    assert scan.record.status is FileStatus.ERROR
    assert scan.record.reason == message
    assert [(e.file, e.line, e.message) for e in scan.errors] == [("defaults/unsupported.bicep", 2, message)]


def test_module_files_are_scanned_through_their_user_when_it_is_in_the_scan() -> None:
    scan = scan_file(BICEP / "modules" / "pg.bicep", "modules/pg.bicep", False,
                     sources=SourceOptions(scan_paths=(BICEP,)))
    assert scan.record.status is FileStatus.SCANNED
    assert scan.record.kind == "bicep-module"
    assert scan.record.reason == "local module of app/main.bicep: scanned through it, with the parameters it passes"
    assert scan.resources == []


@pytest.mark.parametrize("scan_paths", [(BICEP / "modules" / "pg.bicep",), (BICEP / "modules",), ()],
                         ids=["file-named-alone", "directory-named-alone", "paths-unknown"])
def test_a_module_whose_user_is_not_scanned_is_evaluated_on_its_own(scan_paths: tuple[Path, ...]) -> None:
    # pre-commit passes only the changed files: the module must not be skipped for a
    # user that this scan never reads.
    scan = scan_file(BICEP / "modules" / "pg.bicep", "modules/pg.bicep", True,
                     sources=SourceOptions(scan_paths=scan_paths))
    assert (scan.record.status, scan.record.kind) == (FileStatus.SCANNED, "bicep")
    assert [(r.type, r.name) for r in scan.resources] == [
        ("Microsoft.DBforPostgreSQL/flexibleServers", "<serverName>"),
        ("Microsoft.DBforPostgreSQL/flexibleServers/configurations", "<serverName>/require_secure_transport")]


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


# --- newer syntax ----------------------------------------------------------------------

def _shape(node: object) -> object:
    """A parse tree as nested tuples: (rule, children...), tokens as their text."""
    from lark import Tree
    if isinstance(node, Tree):
        return (node.data, *(_shape(c) for c in node.children if c is not None))
    return str(node)


def _declared_type(text: str) -> object:
    """The `data_type` of the one element in `text`."""
    [element] = [c for c in bicep.parse(text).children if getattr(c, "data", None)]
    return next(_shape(c) for c in element.children if getattr(c, "data", None) == "data_type")


KV = "'Microsoft.KeyVault/vaults@2024-11-01'"


def test_resource_derived_types_parse_wherever_a_type_can_appear() -> None:
    derived = ("parameterized_type", "resourceInput", KV)
    assert _declared_type(f"param tags resourceInput<{KV}>.tags?") == (
        "data_type", ("type_term", derived, ("type_property_access", "tags"), ("type_nullable",)))
    assert _declared_type(f"output o resourceOutput<{KV}>.properties.vaultUri = 'x'") == (
        "data_type", ("type_term", ("parameterized_type", "resourceOutput", KV),
                      ("type_property_access", "properties"), ("type_property_access", "vaultUri")))
    # Array items `[*]`, additional properties `.*`, and an array of the result `[]`.
    assert _declared_type(f"type p = resourceInput<{KV}>.properties.accessPolicies[*].permissions.*[]") == (
        "data_type", ("type_term", derived, ("type_property_access", "properties"),
                      ("type_property_access", "accessPolicies"), ("type_index_access", "*"),
                      ("type_property_access", "permissions"), ("type_property_access", "*"), ("type_array",)))
    # The earlier `resource<...>`, spread over lines with a comment inside the chevrons.
    assert _declared_type(f"param p resource<\n  {KV} /* vault */\n>.name") == (
        "data_type", ("type_term", ("parameterized_type", "resource", KV), ("type_property_access", "name")))
    # `sys.`-qualified, and a property by index.
    assert _declared_type(f"param p sys.resourceInput<{KV}>['tags']") == (
        "data_type", ("type_term", ("parameterized_type", "sys.resourceInput", KV), ("type_index_access", "'tags'")))
    # As an object property's type, in a union, in a typed variable.
    assert _declared_type(f"type t = {{\n  tags: resourceInput<{KV}>.tags?\n}}") == (
        "data_type", ("type_term", ("type_object", ("type_property", ("key", "tags"), (
            "data_type", ("type_term", derived, ("type_property_access", "tags"), ("type_nullable",)))))))
    assert _declared_type(f"var v resourceInput<{KV}>.properties.sku.name | 'none' = 'none'") == (
        "data_type", ("type_term", derived, ("type_property_access", "properties"), ("type_property_access", "sku"),
                      ("type_property_access", "name")), ("type_term", ("type_literal", "'none'")))


def test_type_declarations_with_decorators_unions_and_nullable_object_arrays_parse() -> None:
    text = ("type lockType = {\n  @description('The kind.')\n  kind: ('CanNotDelete' | 'ReadOnly')?\n"
            "  rules: {\n    value: string\n  }[]?\n  *: int\n}\n")
    assert _declared_type(text) == ("data_type", ("type_term", ("type_object", (
        "type_property", ("decorators", ("decorator", "description", ("string", "'The kind.'"))), ("key", "kind"),
        ("data_type", ("type_term", ("data_type", ("type_term", ("type_literal", "'CanNotDelete'")),
                                     ("type_term", ("type_literal", "'ReadOnly'"))), ("type_nullable",)))), (
        "type_property", ("key", "rules"), ("data_type", ("type_term", ("type_object", (
            "type_property", ("key", "value"), ("data_type", ("type_term", ("type_name", "string"))))),
            ("type_array",), ("type_nullable",)))), (
        "type_property", "*", ("data_type", ("type_term", ("type_name", "int")))))))
    # A long union, one member a line as the formatter writes it.
    assert _declared_type("type kinds = (\n  | 'all'\n  | 'get'\n)[]") == ("data_type", ("type_term", (
        "data_type", ("type_term", ("type_literal", "'all'")), ("type_term", ("type_literal", "'get'"))),
        ("type_array",)))


def _value(expression: str) -> object:
    """`expression` evaluated as a variable of an otherwise empty file."""
    path = Path(f"/nonexistent/{abs(hash(expression))}.bicep")
    module = bicep._Module("x.bicep", path, bicep._readable(f"var x = {expression}\n"), [])
    module.elements = bicep._trees(bicep._parse_readable(module.text))
    return bicep._Evaluator(module).value(module.elements[0].children[-1])


@pytest.mark.parametrize(("expression", "value"), [
    ("{a: {b: 'c'}}.a.b == 'c'", True),  # accessors bind before `==`
    ("'x' != 'y' ? 1 : 2", 1),  # the condition is the whole comparison
    ("!false && false", False),  # `!` binds before `&&`
    ("true || false && false", True),  # `&&` before `||`
    ("1 + 2 * 3 - 4", 3),  # left to right, `*` first
    ("(1 + 2) * 3", 9),
    ("false ? 1 : true ? 2 : 3", 2),  # `?:` right to left
    ("null ?? 'a' == 'a'", True),
    ("{a: 1}.?b ?? 5", 5),  # `.?` is null for a missing property
    ("[1, [2, 3]][1][0] + 1", 3),
    ("-{a: 4}.a", -4),
    ("1 == 1\n  ? 'yes'\n  : 'no'", "yes"),  # a condition over lines
    ("length(concat(\n  [1],\n  [2]\n))", 2),  # a call over lines
])
def test_expressions_follow_bicep_precedence_and_line_continuation(expression: str, value: object) -> None:
    assert _value(expression) == value


def test_lambdas_with_two_parameters_parse() -> None:
    assert _shape(bicep.parse("var x = reduce([1], 0, (cur, next) => cur + next)").children[0].children[-1]) == (
        "function", "reduce(", ("array", ("int_type", "1")), ("int_type", "0"),
        ("lambda_expression", ("string", "cur"), ("string", "next"),
         ("add", ("string", "cur"), ("string", "next"))))


@NO_CLI
def test_newer_syntax_file_is_evaluated() -> None:
    scan = bicep.scan_bicep_file(BICEP / "newer" / "main.bicep", "newer/main.bicep", _show)
    found = {f"{r.type}/{r.name}": r for r in scan.resources}
    assert sorted(found) == ["Microsoft.DBforPostgreSQL/flexibleServers/databases/odoo-pg/odoo",
                             "Microsoft.DBforPostgreSQL/flexibleServers/odoo-pg"]
    pg = found["Microsoft.DBforPostgreSQL/flexibleServers/odoo-pg"]
    # serverName's default names `prefix`, declared after it; tags (nullable, no default) is null.
    assert pg.body == {
        "name": "odoo-pg", "location": "westeurope", "tags": None,
        "properties": {"highAvailability": {"mode": "ZoneRedundant"}, "backup": {"geoRedundantBackup": "Enabled"},
                       "storage": {"storageSizeGB": 128}, "availabilityZone": "string(zones)"},
        "type": "Microsoft.DBforPostgreSQL/flexibleServers", "apiVersion": "2024-08-01"}
    assert pg.unresolved == {("properties", "availabilityZone"): "string(zones)"}  # reduce() is not evaluated
    # Lines stay those of the file, past the multi-line type and conditions.
    assert pg.origin.position_of(("properties", "backup", "geoRedundantBackup"))[1] == Position(31, 7)
    assert pg.origin.position_of(("properties", "storage", "storageSizeGB"))[1] == Position(36, 7)
    assert scan.notes == [
        "newer/main.bicep:44: resource db is not deployed for 1 of 2 loop items (its condition is false)",
        "newer/main.bicep:52: resource pgLock is not deployed (its condition is false)"]  # `lock` is null


def test_every_grammar_fix_applies_to_the_installed_pycep_grammar() -> None:
    from importlib.resources import files
    grammar = (files("pycep") / "bicep.lark").read_text()
    assert [wrong in grammar for wrong, _right in bicep._GRAMMAR_FIXES] == [True] * len(bicep._GRAMMAR_FIXES)


# --- resource names as the ARM source gives them -----------------------------------------

NAMED = """param prefix string
param account string = '${prefix}files'
resource files 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: account
  location: 'westeurope'
}
resource blob 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: files
  name: 'default'
}
resource pg 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: '${toLower(prefix)}-pg'
  location: 'westeurope'
}
"""
# What `bicep build` makes of NAMED (the parts that name resources).
NAMED_ARM = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"prefix": {"type": "string"},
                   "account": {"type": "string", "defaultValue": "[format('{0}files', parameters('prefix'))]"}},
    "resources": [
        {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01",
         "name": "[parameters('account')]", "location": "westeurope"},
        {"type": "Microsoft.Storage/storageAccounts/blobServices", "apiVersion": "2023-05-01",
         "name": "[format('{0}/{1}', parameters('account'), 'default')]"},
        {"type": "Microsoft.DBforPostgreSQL/flexibleServers", "apiVersion": "2024-08-01",
         "name": "[format('{0}-pg', toLower(parameters('prefix')))]", "location": "westeurope"},
    ],
}


@NO_CLI
def test_unknown_names_read_as_the_arm_source_reads_the_compiled_template(tmp_path: Path) -> None:
    from scanner.sources import arm

    path = tmp_path / "named.bicep"
    path.write_text(NAMED)
    from_bicep = [(r.type, r.name) for r in bicep.scan_bicep_file(path, "named.bicep", _show).resources]
    from_arm = [(r.type, r.name) for r in arm.resources_from_template(NAMED_ARM, "named.json", None, {})[0]]
    assert from_bicep == from_arm == [
        ("Microsoft.Storage/storageAccounts", "<account>"),
        ("Microsoft.Storage/storageAccounts/blobServices", "<account>/default"),
        ("Microsoft.DBforPostgreSQL/flexibleServers", "<prefix>-pg"),
    ]
