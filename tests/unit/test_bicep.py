"""Bicep source: parameters (defaults, .bicepparam, --parameters), expressions,
conditions, loops, nested and `parent:` children, local modules, lines, and files the
built-in parser cannot read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scanner.model import FileStatus, Position, Resource
from scanner.sources import bicep, bicep_syntax
from scanner.sources.arm_expressions import Unresolved
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
    # A resource-typed parameter (the experimental `resourceTypedParamsAndOutputs`
    # feature) is one construct the built-in parser lacks: it stops at the type string.
    message = ("Bicep syntax the built-in parser does not support near line 2, column 22; "
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
    module = bicep._Module("x.bicep", path, bicep_syntax._readable(f"var x = {expression}\n"), [])
    module.elements = bicep_syntax._trees(bicep_syntax._parse_readable(module.text))
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
                       "storage": {"storageSizeGB": 128}, "availabilityZone": "3"},
        "type": "Microsoft.DBforPostgreSQL/flexibleServers", "apiVersion": "2024-08-01"}
    assert pg.unresolved == {}  # reduce() over a known array is evaluated
    # Lines stay those of the file, past the multi-line type and conditions.
    assert pg.origin.position_of(("properties", "backup", "geoRedundantBackup"))[1] == Position(31, 7)
    assert pg.origin.position_of(("properties", "storage", "storageSizeGB"))[1] == Position(36, 7)
    assert scan.notes == [
        "newer/main.bicep:44: resource db is not deployed for 1 of 2 loop items (its condition is false)",
        "newer/main.bicep:52: resource pgLock is not deployed (its condition is false)"]  # `lock` is null


def test_every_grammar_fix_applies_to_the_installed_pycep_grammar() -> None:
    from importlib.resources import files
    grammar = (files("pycep") / "bicep.lark").read_text()
    fixes = bicep_syntax._GRAMMAR_FIXES
    assert [wrong in grammar for wrong, _right in fixes] == [True] * len(fixes)


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


# --- spread, reverse index, assertions, lambda functions -----------------------------------

def _element(text: str) -> object:
    """The shape of the first element of `text` (a `var`'s value, or the whole element)."""
    [element] = [c for c in bicep.parse(text).children if getattr(c, "data", None)]
    return _shape(element.children[-1]) if element.data == "var" else _shape(element)


def test_spread_reverse_index_and_assert_parse() -> None:
    assert _element("var x = { a: 1, ...base, 'b': 2 }") == (
        "object", ("pair", ("key", "a"), ("int_type", "1")), ("spread", ("string", "base")),
        ("pair", ("key", "'b'"), ("int_type", "2")))
    # One a line, no commas, and a spread of a whole condition, as the formatter writes them.
    assert _element("var x = {\n  ...a\n  ...(on ? {\n    id: 1\n  } : {})\n  z: 1\n}") == (
        "object", ("spread", ("string", "a")),
        ("spread", ("conditional", ("string", "on"), ("object", ("pair", ("key", "id"), ("int_type", "1"))),
                    ("object",))),
        ("pair", ("key", "z"), ("int_type", "1")))
    assert _element("var x = [\n  1\n  ...more\n  ...concat(a, b)\n]") == (
        "array", ("int_type", "1"), ("spread", ("string", "more")),
        ("spread", ("function", "concat(", ("string", "a"), ("string", "b"))))
    # `^` (from the end) and `?` (safe) are kept as tokens; the index binds before `==`.
    assert _element("var x = zones[^1] == '3'") == (
        "equals", ("index_accessor", ("string", "zones"), "[", "^", ("int_type", "1"), "]"), ("string", "'3'"))
    assert _element("var x = a[?^2].b") == (
        "property_accessor", ("index_accessor", ("string", "a"), "[", "?", "^", ("int_type", "2"), "]"),
        ("string", "b"))
    assert _element("@description('Two zones at least.')\nassert enoughZones = length(zones) >= 2") == (
        "assertion", ("decorators", ("decorator", "description", ("string", "'Two zones at least.'"))),
        "enoughZones", ("greater_than_or_equals", ("function", "length(", ("string", "zones")), ("int_type", "2")))
    # `assert` stays usable as a name where a keyword cannot be.
    assert _element("var assert = { assert: 1 }") == ("object", ("pair", ("key", "assert"), ("int_type", "1")))


@pytest.mark.parametrize(("expression", "value"), [
    # Spread: in order, a later property replacing an earlier one (as shallowMerge does).
    ("{ ...{a: 1, b: 2}, b: 3 }", {"a": 1, "b": 3}),
    ("{ b: 3, ...{a: 1, b: 2} }", {"b": 2, "a": 1}),
    ("{ ...(false ? {id: 1} : {}), alwaysSet: 'v' }", {"alwaysSet": "v"}),
    ("[1, ...[2, 3], 4, ...[2, 3]]", [1, 2, 3, 4, 2, 3]),
    ("[...['a'], 'b'][^1]", "b"),
    # Reverse and safe index.
    ("['a', 'b', 'c'][^1]", "c"),
    ("['a', 'b', 'c'][^3]", "a"),
    ("['a', 'b', 'c'][?^4]", None),
    ("['a'][?1]", None),
    ("{a: 1}[?'b'] ?? 2", 2),
    # Lambda functions, with the documented argument orders and optional index.
    ("map([1, 2], x => x * 10)", [10, 20]),
    ("map(['a', 'b'], (x, i) => '${x}${i}')", ["a0", "b1"]),
    ("filter(range(0, 6), i => 0 == i % 2)", [0, 2, 4]),
    ("filter(['a', 'b', 'c'], (x, i) => i < 2 && x != 'a')", ["b"]),
    ("reduce([5, 3, 2, 8], 0, (cur, next) => cur + next)", 18),
    ("reduce([5, 3, 2, 8], 0, (cur, next, i) => (i % 2 == 0) ? cur + next : cur)", 7),
    ("sort([{age: 5}, {age: 2}, {age: 8}], (a, b) => a.age < b.age)", [{"age": 2}, {"age": 5}, {"age": 8}]),
    ("toObject([{n: 'a', v: 1}, {n: 'b', v: 2}], e => e.n)", {"a": {"n": "a", "v": 1}, "b": {"n": "b", "v": 2}}),
    ("toObject([{n: 'a', v: 1}, {n: 'b', v: 2}], e => e.n, e => e.v)", {"a": 1, "b": 2}),
    ("groupBy(['foo', 'bar', 'baz'], x => substring(x, 0, 1))", {"f": ["foo"], "b": ["bar", "baz"]}),
    ("mapValues({foo: 'foo', bar: 'bar'}, v => toUpper(v))", {"foo": "FOO", "bar": "BAR"}),
    ("sys.flatten([[1, 2], [], [3]])", [1, 2, 3]),
    ("shallowMerge([{one: 'a'}, {two: 'b'}, {two: 'c'}])", {"one": "a", "two": "c"}),
    # The AVM idiom: user-assigned identities folded into one object with `${...}` keys.
    ("reduce(map(['/id/a', '/id/b'], (id) => { '${id}': {} }), {}, (cur, next) => union(cur, next))",
     {"/id/a": {}, "/id/b": {}}),
])
def test_spread_index_and_lambda_values(expression: str, value: object) -> None:
    assert _value(expression) == value


@pytest.mark.parametrize(("expression", "unknown"), [
    ("[1, ...nope]", "[1, ...nope]"),  # the length and every position are unknown
    ("['a'][^2]", "['a'][^2]"),  # past the start: the deployment fails
    ("['a'][^0]", "['a'][^0]"),
    ("['a', 'b'][-1]", "['a', 'b'][-1]"),  # not Python's last item
    ("nope[^1]", "nope[^1]"),
    ("map(nope, x => x)", "map(nope, x => x)"),
    ("filter([1, 2], x => x == nope)", "filter([1, 2], x => x == nope)"),  # an unknown condition
    ("sort([2, 1], (a, b) => nope)", "sort([2, 1], (a, b) => nope)"),
    ("toObject(['a', 'a'], e => e)", "toObject(['a', 'a'], e => e)"),  # which value ARM keeps is undocumented
    ("groupBy([1], x => x)", "groupBy([1], x => x)"),  # a key that is not a string
    ("mapValues({ ...nope, a: 1 }, v => v)", "mapValues({ ...nope, a: 1 }, v => v)"),
    ("length({ ...nope, a: 1 })", "length({ ...nope, a: 1 })"),  # more properties may be in `nope`
    ("{ ...nope, a: 1 }.?b", "{ ...nope, a: 1 }.?b"),  # not null: `nope` may have it
    ("{ ...nope } == {}", "{ ...nope } == {}"),
    ("contains([nope], 'a')", "contains([nope], 'a')"),  # not false
    ("union([nope], ['a'])", "union([nope], ['a'])"),
    ("flatten([[1], nope])", "flatten([[1], nope])"),
])
def test_unknown_inputs_give_unknown_values(expression: str, unknown: str) -> None:
    assert _value(expression) == Unresolved(unknown)


def test_an_unknown_spread_leaves_only_what_follows_it_known() -> None:
    # Whatever comes before an unknown spread may be replaced by it; what follows is known.
    partial = _value("{ a: 1, ...nope, b: 2, ...{c: 3} }")
    assert isinstance(partial, bicep._Partial)
    assert (dict(partial), partial.unknown) == ({"b": 2, "c": 3}, "nope")
    # Spread again, a partial object keeps its known part and its unknown.
    again = _value("{ z: 0, ...({ ...nope, a: 1 }), b: 2 }")
    assert isinstance(again, bicep._Partial)
    assert (dict(again), again.unknown) == ({"a": 1, "b": 2}, "nope")
    assert _value("{ ...nope, a: 1 }.a") == _value("{ ...nope, a: 1 }['a']") == 1
    assert _value("{ ...nope, a: 1 }[?'b']") == Unresolved("{ ...nope, a: 1 }[?'b']")
    # A key made of an unknown `${...}` is as unknown as a spread.
    mapped = _value("map(['x'], id => { first: 0, '${nope}': id, last: id })")
    assert isinstance(mapped, list)
    keyed = mapped[0]
    assert isinstance(keyed, bicep._Partial)
    assert (dict(keyed), keyed.unknown) == ({"last": "x"}, "'${nope}'")
    # Element by element, a map keeps what it knows.
    assert _value("map([1, 2], x => x == 1 ? nope : x)") == [Unresolved("nope"), 2]


def _variables(text: str) -> dict[str, object]:
    """Every `var` of `text`, with its `param`s at their defaults, evaluated in file order."""
    path = Path(f"/nonexistent/{abs(hash(text))}.bicep")
    module = bicep._Module("x.bicep", path, bicep_syntax._readable(text), [])
    module.elements = bicep_syntax._trees(bicep_syntax._parse_readable(module.text))
    for element in module.elements:
        kind = "params_raw" if element.data == "param" else "vars_raw"
        getattr(module, kind)[str(element.children[1])] = element.children[-1]
    evaluator = bicep._Evaluator(module)
    return {name: evaluator._identifier(name, name) for name in list(module.vars_raw)}


def test_lambda_variables_do_not_leak_into_declarations_read_inside_the_lambda() -> None:
    # `suffix` is first needed inside the lambda, whose variable is also named `x`: it is
    # still the parameter `x`, read at module scope.
    assert _variables("param x string = 'p'\nvar names = map(['a', 'b'], x => '${x}${suffix}')\n"
                      "var suffix = '-${x}'\n") == {"names": ["a-p", "b-p"], "suffix": "-p"}


@NO_CLI
def test_spread_lambdas_reverse_index_and_assertions_in_resources() -> None:
    scan = bicep.scan_bicep_file(BICEP / "spread" / "main.bicep", "spread/main.bicep", _show)
    pg, files = scan.resources
    assert pg.body == {
        "name": "odoo-pg", "location": "westeurope", "tags": {"environment": "production", "tier": "critical"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/sub/id-a": {}, "/sub/id-b": {}}},
        "properties": {
            "availabilityZone": "3",
            "highAvailability": {"mode": "ZoneRedundant", "standbyAvailabilityZone": "2"},
            "backup": {"backupRetentionDays": 14, "geoRedundantBackup": "Enabled"},
            # publicNetworkAccess came before the unknown spread, which may replace it.
            "network": {"delegatedSubnetResourceId": "/subnets/pg"}},
        "type": "Microsoft.DBforPostgreSQL/flexibleServers", "apiVersion": "2024-08-01"}
    assert pg.unresolved == {("properties", "network"): "extraProperties"}
    # Spread properties point at the spread; written ones at their own line.
    assert pg.origin.position_of(("location",))[1] == Position(31, 3)
    assert pg.origin.position_of(("tags", "owner"))[1] == Position(31, 3)
    assert pg.origin.position_of(("properties", "backup", "backupRetentionDays"))[1] == Position(43, 7)
    assert pg.origin.position_of(("properties", "backup", "geoRedundantBackup"))[1] == Position(44, 7)
    assert pg.origin.position_of(("properties", "availabilityZone"))[1] == Position(37, 5)
    # An unknown spread at the top of a body: only what follows it is known.
    assert (files.name, files.body) == ("odoofiles", {
        "name": "odoofiles", "kind": "StorageV2", "sku": {"name": "Standard_ZRS"},
        "properties": {"networkAcls": {"ipRules": [{"value": "10.0.0.1"}, {"value": "10.0.0.2"},
                                                   {"value": "10.0.0.3"}]}},
        "type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01"})
    assert files.unresolved == {(): "extraProperties"}
    # Items after an array spread move with its length: they point at the array.
    assert files.origin.position_of(("properties", "networkAcls", "ipRules", 2))[1] == Position(63, 7)
    assert scan.notes == [
        "spread/main.bicep:54: resource files spreads extraProperties, which is not known: "
        "only the properties after it are",
        # enoughZones holds and knownLater is unknown: neither is worth a note.
        "spread/main.bicep:21: assertion noZones is false with these parameters: the deployment would stop"]


@NO_CLI
def test_module_parameters_passed_in_an_unknown_spread_are_unknown_not_their_defaults(tmp_path: Path) -> None:
    (tmp_path / "pg.bicep").write_text(
        "param mode string = 'Disabled'\nparam geo string = 'Disabled'\n"
        "resource pg 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {\n  name: 'pg'\n"
        "  properties: {\n    highAvailability: { mode: mode }\n    backup: { geoRedundantBackup: geo }\n  }\n}\n")
    (tmp_path / "main.bicep").write_text(
        "param overrides object\nparam all object\n"
        "module spread './pg.bicep' = {\n  name: 'spread'\n  params: {\n    ...overrides\n    geo: 'Enabled'\n  }\n}\n"
        "module whole './pg.bicep' = {\n  name: 'whole'\n  params: all\n}\n")
    spread, whole = bicep.scan_bicep_file(tmp_path / "main.bicep", "main.bicep", lambda p: p.name).resources
    assert spread.body["properties"] == {"highAvailability": {"mode": "overrides"},
                                         "backup": {"geoRedundantBackup": "Enabled"}}
    assert spread.unresolved == {("properties", "highAvailability", "mode"): "overrides"}
    assert whole.unresolved == {("properties", "highAvailability", "mode"): "[parameters('all')]",
                                ("properties", "backup", "geoRedundantBackup"): "[parameters('all')]"}
