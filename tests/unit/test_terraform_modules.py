"""Terraform local child modules: expanded with the arguments their caller passes, with
their resources at their own lines and under their module address; discovery reads a
module directory through its callers, never twice; registry sources, count = 0, cycles
and depth are noted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scanner.engine.evaluate import EvaluationOptions
from scanner.model import FileStatus, Outcome, Position, ScanResult
from scanner.scan import ScanOptions, scan_paths
from scanner.sources import terraform_hcl
from tests.conftest import FIXTURES

TREE = FIXTURES / "terraform" / "modules"
PROD = TREE / "envs" / "prod"
POSTGRES = TREE / "modules" / "postgres"
CHILD = "modules/postgres/main.tf"
THROUGH_BOTH = ("local module of envs/prod/main.tf, envs/prod-north/main.tf: scanned through it, "
                "with the variables it passes")


def _scan(paths: list[Path], root: Path = TREE) -> ScanResult:
    return scan_paths(paths, ScanOptions(root=root, evaluation=EvaluationOptions(keep_passing=True)))


def _outcomes(result: ScanResult, rtype: str) -> set[tuple[str, str, str, str | None, int | None]]:
    """(policy, resource, outcome, file, line) of every applicable finding on `rtype`."""
    return {(f.policy_id, f.resource.name, f.outcome.value, f.location.file, f.location.line)
            for f in result.findings if f.resource.type == rtype and f.outcome is not Outcome.NOT_APPLICABLE}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_each_caller_evaluates_the_child_with_its_own_values() -> None:
    result = _scan([TREE])
    assert not result.errors
    # prod passes ZoneRedundant; prod-north passes SameZone, not enough for its critical tier.
    # Both fail DR-AZ-003: the replica module is not deployed (count = 0).
    assert _outcomes(result, "Microsoft.DBforPostgreSQL/flexibleServers") == {
        *((policy, server, "pass", CHILD, None)
          for policy in ("DR-AZ-001", "DR-AZ-002", "DR-AZ-014", "GOV-AZ-001", "OBS-AZ-001", "SEC-AZ-006", "SEC-AZ-008")
          for server in ("odoo-prod-pg", "odoo-prod-north-pg")),
        ("DR-AZ-003", "odoo-prod-pg", "fail", CHILD, 4),
        ("DR-AZ-003", "odoo-prod-north-pg", "fail", CHILD, 4),
        ("HA-AZ-004", "odoo-prod-pg", "pass", CHILD, None),
        ("HA-AZ-004", "odoo-prod-north-pg", "fail", CHILD, 15),
    }
    [failure] = [f for f in result.findings if f.policy_id == "HA-AZ-004" and f.outcome is Outcome.FAIL]
    assert failure.message == ("PostgreSQL server 'odoo-prod-north-pg' (tier critical) has "
                               "properties.highAvailability.mode = SameZone; use ZoneRedundant on a General "
                               "Purpose or Memory Optimized SKU.")
    assert failure.location.property_path == "properties.highAvailability.mode"
    servers = {r.name: r for r in result.resources if r.type == "Microsoft.DBforPostgreSQL/flexibleServers"}
    prod = servers["odoo-prod-pg"]
    # Literals, the caller's variables, locals and resource attributes all reach the child.
    assert prod.body["properties"]["highAvailability"] == {"mode": "ZoneRedundant", "standbyAvailabilityZone": "3"}
    assert prod.body["properties"]["availabilityZone"] == "1"  # var.primary_zone of envs/prod
    assert prod.body["location"] == "westeurope"  # azurerm_resource_group.main.location of envs/prod
    assert (prod.namespace, prod.tier, prod.tier_source) == ("rg-odoo-prod", "critical", "tag")
    # Not passed: the child's default.
    assert servers["odoo-prod-north-pg"].body["properties"]["highAvailability"] == {
        "mode": "SameZone", "standbyAvailabilityZone": "2"}
    assert servers["odoo-prod-north-pg"].body["location"] == "northeurope"


def test_relations_inside_a_child_link_its_own_resources() -> None:
    result = _scan([TREE])
    locks = {r.name: r.body["scope"] for r in result.resources if r.type == "Microsoft.Authorization/locks"}
    assert locks == {
        "odoo-prod-pg-no-delete": "Microsoft.DBforPostgreSQL/flexibleServers/odoo-prod-pg",
        "odoo-prod-north-pg-no-delete": "Microsoft.DBforPostgreSQL/flexibleServers/odoo-prod-north-pg",
    }
    assert _outcomes(result, "Microsoft.DBforPostgreSQL/flexibleServers/configurations") == {
        ("SEC-AZ-007", "odoo-prod-pg/require_secure_transport", "pass", CHILD, None),
        ("SEC-AZ-007", "odoo-prod-north-pg/require_secure_transport", "pass", CHILD, None),
    }


def test_module_files_are_recorded_as_read_through_their_callers() -> None:
    result = _scan([TREE])
    assert {f.path: (f.status, f.kind, f.resources, f.reason) for f in result.files} == {
        "envs/prod/main.tf": (
            FileStatus.SCANNED, "terraform", 5,
            "not checked, no mapping to a policy shape: module.pg.random_password.admin; "
            'envs/prod/main.tf:37: module "network" (source Azure/avm-res-network-virtualnetwork/azurerm) is not a '
            "local path, so it is not expanded; scan a plan (`terraform show -json`) to check what it deploys; "
            "module.pg_replica has count = 0 (not deployed)"),
        "envs/prod/variables.tf": (
            FileStatus.SCANNED, "terraform", 0,
            "declares no resources (variables, outputs or providers, used by the module's other files)"),
        "envs/prod-north/main.tf": (
            FileStatus.SCANNED, "terraform", 5,
            "not checked, no mapping to a policy shape: module.pg.random_password.admin"),
        "modules/postgres/main.tf": (FileStatus.SCANNED, "terraform-module", 0, THROUGH_BOTH),
        "modules/postgres/variables.tf": (FileStatus.SCANNED, "terraform-module", 0, THROUGH_BOTH),
    }
    # Counted once, through each caller: 1 resource group + 4 from the module, twice.
    assert len(result.resources) == 10
    assert sum(f.resources for f in result.files) == 10


def test_child_resources_carry_the_module_address_and_their_own_file() -> None:
    module = terraform_hcl.load_module(PROD, lambda p: p.relative_to(TREE).as_posix())
    assert [(r.address, r.file, r.via, r.count_zero) for r in module.resources] == [
        ("azurerm_resource_group.main", "envs/prod/main.tf", "", False),
        ("module.pg.azurerm_postgresql_flexible_server.main", CHILD, "envs/prod/main.tf", False),
        ("module.pg.azurerm_postgresql_flexible_server_configuration.tls", CHILD, "envs/prod/main.tf", False),
        ("module.pg.azurerm_management_lock.main", CHILD, "envs/prod/main.tf", False),
        ("module.pg.azurerm_monitor_diagnostic_setting.main", CHILD, "envs/prod/main.tf", False),
        ("module.pg.random_password.admin", CHILD, "envs/prod/main.tf", False),
    ]
    assert module.idle == [("envs/prod/main.tf", "module.pg_replica")]


def test_a_module_directory_named_alone_is_scanned_as_a_root_module() -> None:
    result = _scan([POSTGRES])
    assert {f.path: (f.status, f.kind, f.resources) for f in result.files} == {
        "modules/postgres/main.tf": (FileStatus.SCANNED, "terraform", 4),
        "modules/postgres/variables.tf": (FileStatus.SCANNED, "terraform", 0),
    }
    [server] = [r for r in result.resources if r.type == "Microsoft.DBforPostgreSQL/flexibleServers"]
    assert server.name == "<var.name>"  # no caller: the variable has no value
    assert server.body["properties"]["highAvailability"] == {"mode": "SameZone", "standbyAvailabilityZone": "2"}
    # Today's standalone reading: no tags, so tier high (SameZone passes), and the lock and
    # diagnostic setting cannot be tied to a server whose name is unknown.
    assert _outcomes(result, server.type) == {
        *((policy, "<var.name>", "pass", CHILD, None)
          for policy in ("DR-AZ-001", "DR-AZ-002", "GOV-AZ-002", "HA-AZ-004", "SEC-AZ-006", "SEC-AZ-008")),
        ("DR-AZ-014", "<var.name>", "fail", CHILD, 4),
        ("GOV-AZ-001", "<var.name>", "fail", CHILD, 24),
        ("OBS-AZ-001", "<var.name>", "fail", CHILD, 4),
    }


def test_named_files_count_as_in_the_scan_like_pre_commit_gives_them() -> None:
    both = _scan([PROD / "main.tf", POSTGRES / "main.tf"])
    records = {f.path: (f.kind, f.resources, f.reason) for f in both.files}
    assert records[CHILD] == ("terraform-module", 0, "local module of envs/prod/main.tf: scanned through it, "
                                                     "with the variables it passes")
    assert records["envs/prod/main.tf"][:2] == ("terraform", 5)
    alone = _scan([POSTGRES / "main.tf"])
    assert [(f.path, f.kind, f.resources) for f in alone.files] == [(CHILD, "terraform", 4)]


def test_nested_local_modules_recurse_with_the_full_module_path(tmp_path: Path) -> None:
    _write(tmp_path, {
        "live/main.tf": 'module "platform" {\n  source = "../platform"\n  env    = "production"\n}\n',
        "platform/main.tf": ('variable "env" {}\n'
                             'module "group" {\n  source = "./group"\n  name   = "rg-${var.env}"\n}\n'),
        "platform/group/main.tf": ('variable "name" {}\n'
                                   'resource "azurerm_resource_group" "this" {\n'
                                   '  name     = var.name\n  location = "westeurope"\n'
                                   '  tags     = { environment = "production", tier = "high" }\n}\n'),
    })
    result = _scan([tmp_path], tmp_path)
    assert [(r.name, r.origin.file, r.origin.position_of(("name",))[1]) for r in result.resources] == [
        ("rg-production", "platform/group/main.tf", Position(3, 3))]
    assert {f.path: (f.kind, f.resources) for f in result.files} == {
        "live/main.tf": ("terraform", 1),
        "platform/main.tf": ("terraform-module", 0),
        "platform/group/main.tf": ("terraform-module", 0),
    }
    module = terraform_hcl.load_module(tmp_path / "live", lambda p: p.name)
    assert [r.address for r in module.resources] == ["module.platform.module.group.azurerm_resource_group.this"]


def test_empty_for_each_and_count_zero_deploy_nothing(tmp_path: Path) -> None:
    _write(tmp_path, {
        "main.tf": ('module "none" {\n  source   = "./child"\n  for_each = {}\n}\n'
                    'module "off" {\n  source = "./child"\n  count  = 0\n}\n'),
        "child/main.tf": 'resource "azurerm_resource_group" "this" {\n  name = "rg"\n  location = "westeurope"\n}\n',
    })
    result = _scan([tmp_path / "main.tf"], tmp_path)
    assert not result.resources
    assert [(f.path, f.reason) for f in result.files] == [
        ("main.tf", "module.none has count = 0 (not deployed); module.off has count = 0 (not deployed)")]


def test_null_replaces_a_default_unless_the_variable_is_not_nullable(tmp_path: Path) -> None:
    _write(tmp_path, {
        "main.tf": 'module "m" {\n  source = "./child"\n  plain  = null\n  strict = null\n}\n',
        "child/main.tf": ('variable "plain" {\n  default = "x"\n}\n'
                          'variable "strict" {\n  default  = "kept"\n  nullable = false\n}\n'
                          'resource "azurerm_resource_group" "this" {\n  name = "rg"\n'
                          '  location = var.strict\n  tags = { plain = var.plain }\n}\n'),
    })
    [group] = _scan([tmp_path], tmp_path).resources
    assert (group.body["location"], group.body["tags"]) == ("kept", {"plain": None})


def test_unknown_arguments_stay_unknown_and_name_their_module(tmp_path: Path) -> None:
    _write(tmp_path, {
        "main.tf": ('resource "random_pet" "p" {}\n'
                    'module "a" {\n  source = "./child"\n  name   = random_pet.p.id\n}\n'
                    'module "b" {\n  source = "./child"\n  name   = random_pet.p.id\n}\n'),
        "child/main.tf": ('variable "name" {}\n'
                          'resource "azurerm_resource_group" "this" {\n  name = var.name\n'
                          '  location = "westeurope"\n}\n'),
    })
    result = _scan([tmp_path], tmp_path)
    groups = sorted((r.name, r.unresolved) for r in result.resources)
    assert groups == [("<module.a.var.name>", {("name",): "var.name"}),
                      ("<module.b.var.name>", {("name",): "var.name"})]


@pytest.mark.parametrize("files", [
    {"a/main.tf": 'module "b" {\n  source = "../b"\n}\n', "b/main.tf": 'module "a" {\n  source = "../a"\n}\n'},
    {"a/main.tf": 'module "self" {\n  source = "./"\n}\n'},
])
def test_a_module_cycle_is_noted_and_ends(tmp_path: Path, files: dict[str, str]) -> None:
    group = 'resource "azurerm_resource_group" "g" {\n  name = "rg-${path.module}"\n  location = "westeurope"\n}\n'
    _write(tmp_path, {name: text + group for name, text in files.items()})
    result = _scan([tmp_path], tmp_path)
    # A cycle is not a valid configuration: each directory is read as a root, and says where it loops.
    assert {f.path: f.kind for f in result.files} == {name: "terraform" for name in files}
    notes = {f.path: f.reason for f in result.files}
    if "b/main.tf" in files:
        assert notes["a/main.tf"] == (
            'b/main.tf:1: module "a" (source ../a) calls a, which is already being expanded (a module cycle, '
            "which Terraform rejects); not expanded again")
        assert notes["b/main.tf"] == (
            'a/main.tf:1: module "b" (source ../b) calls b, which is already being expanded (a module cycle, '
            "which Terraform rejects); not expanded again")
        assert len(result.resources) == 4  # each root: its own group and the other's
    else:
        assert notes["a/main.tf"] == (
            'a/main.tf:1: module "self" (source ./) calls a, which is already being expanded (a module cycle, '
            "which Terraform rejects); not expanded again")
        assert len(result.resources) == 1


def test_nesting_deeper_than_the_limit_is_noted(tmp_path: Path) -> None:
    depth = terraform_hcl.MAX_MODULE_DEPTH + 2
    for level in range(depth + 1):
        _write(tmp_path, {f"m{level}/main.tf": (
            f'resource "azurerm_resource_group" "g" {{\n  name = "rg-{level}"\n  location = "westeurope"\n}}\n'
            + (f'module "next" {{\n  source = "../m{level + 1}"\n}}\n' if level < depth else ""))})
    module = terraform_hcl.load_module(tmp_path / "m0", lambda p: p.relative_to(tmp_path).as_posix())
    limit = terraform_hcl.MAX_MODULE_DEPTH
    assert len(module.resources) == limit + 1  # the root and ten levels below it
    assert module.resources[-1].address == "module.next." * limit + "azurerm_resource_group.g"
    assert module.notes == [("m0/main.tf", f'm{limit}/main.tf:5: module "next" (source ../m{limit + 1}) is nested '
                                           f"more than {limit} modules deep; not expanded")]


def test_missing_module_directory_is_noted(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": 'module "gone" {\n  source = "./nowhere"\n}\n'})
    [record] = _scan([tmp_path], tmp_path).files
    assert record.reason == 'main.tf:1: module "gone" (source ./nowhere): no .tf files in nowhere; nothing to expand'


def test_a_broken_child_file_is_reported_once(tmp_path: Path) -> None:
    _write(tmp_path, {
        "root/main.tf": 'module "m" {\n  source = "../child"\n}\n',
        "child/main.tf": 'resource "azurerm_resource_group" "g" {\n  name = "rg"\n  location = "westeurope"\n}\n',
        "child/bad.tf": 'resource "x" "y" {\n  = broken\n}\n',
    })
    message = "invalid HCL near line 2, column 3; fix the syntax"
    # Both in the scan: the broken file's own record says so, the caller does not repeat it.
    both = _scan([tmp_path], tmp_path)
    assert [(e.file, e.line, e.message) for e in both.errors] == [("child/bad.tf", 2, message)]
    assert {f.path: (f.status, f.kind) for f in both.files} == {
        "root/main.tf": (FileStatus.SCANNED, "terraform"),
        "child/main.tf": (FileStatus.SCANNED, "terraform-module"),
        "child/bad.tf": (FileStatus.ERROR, "terraform"),
    }
    assert [r.name for r in both.resources] == ["rg"]  # the module's readable files still count
    # Only the caller in the scan: the caller reports the child's broken file.
    alone = _scan([tmp_path / "root"], tmp_path)
    assert [(e.file, e.line, e.message) for e in alone.errors] == [("child/bad.tf", 2, message)]


def test_a_child_used_by_two_callers_with_the_same_values_is_evaluated_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    child = ('variable "zone" {}\n'
             'resource "azurerm_resource_group" "g" {\n  name = "rg-${var.zone}"\n  location = "x"\n}\n')
    # depends_on and providers are Terraform's own arguments, not inputs of the child.
    call = ('module "m" {{\n  source     = "../child"\n  zone       = "{zone}"\n  depends_on = []\n'
            '  providers  = {{}}\n}}\n')
    _write(tmp_path, {"one/main.tf": call.format(zone="1"), "one/vars.tf": "", "two/main.tf": call.format(zone="1"),
                      "three/main.tf": call.format(zone="2"), "child/main.tf": child})
    calls: list[Any] = []
    real: Callable[..., terraform_hcl.TfModule] = terraform_hcl.load_module

    def counting(directory: Path, *args: Any, **kwargs: Any) -> terraform_hcl.TfModule:
        calls.append((directory.name, kwargs.get("inputs")))
        return real(directory, *args, **kwargs)

    monkeypatch.setattr(terraform_hcl, "load_module", counting)
    result = _scan([tmp_path], tmp_path)
    assert sorted(r.name for r in result.resources) == ["rg-1", "rg-1", "rg-2"]
    # Each root once (though `one` has two files), the child once per distinct set of values.
    assert sorted((name, str(inputs)) for name, inputs in calls) == [
        ("child", "{'zone': '1'}"), ("child", "{'zone': '2'}"), ("one", "None"), ("three", "None"), ("two", "None")]


def test_only_real_module_calls_make_a_directory_a_module(tmp_path: Path) -> None:
    _write(tmp_path, {
        "root/main.tf": ('/* module "old" {\n  source = "../a"\n} */\n'
                         '# module "older" { source = "../a" }\n'
                         'module "b" { source = "../b" }\n'
                         'module "c" {\n  source = "git::https://example.com/c.git"\n  tags = {\n'
                         '    source = "../c"\n  }\n}\n'),
        **{f"{name}/main.tf": f'resource "azurerm_resource_group" "g" {{\n  name = "rg-{name}"\n  location = "x"\n}}\n'
           for name in ("a", "b", "c")},
    })
    result = _scan([tmp_path], tmp_path)
    assert {f.path: f.kind for f in result.files} == {
        "root/main.tf": "terraform", "a/main.tf": "terraform", "b/main.tf": "terraform-module",
        "c/main.tf": "terraform"}
    assert sorted(r.name for r in result.resources) == ["rg-a", "rg-b", "rg-c"]
