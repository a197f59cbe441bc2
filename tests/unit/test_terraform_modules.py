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
from scanner.sources.arm_expressions import Unresolved
from scanner.sources.options import SourceOptions
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


def test_named_module_files_bring_their_callers_like_pre_commit_gives_them() -> None:
    # pre-commit names the changed files only: a module file brings the files that call it
    # (found on disk), so the module is read with the values they pass (files.lift_to_units).
    reason = ("local module of envs/prod/main.tf, envs/prod-north/main.tf: scanned through it, "
              "with the variables it passes")
    for named in ([PROD / "main.tf", POSTGRES / "main.tf"], [POSTGRES / "main.tf"]):
        records = {f.path: (f.kind, f.resources, f.reason) for f in _scan(named).files}
        assert records[CHILD] == ("terraform-module", 0, reason)
        assert records["envs/prod/main.tf"][:2] == records["envs/prod-north/main.tf"][:2] == ("terraform", 5)
    # With the kind forced, named files are read as they are: the module on its own.
    forced = scan_paths([POSTGRES / "main.tf"], ScanOptions(root=TREE, sources=SourceOptions(input_kind="terraform")))
    assert [(f.path, f.kind, f.resources) for f in forced.files] == [(CHILD, "terraform", 4)]


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


# --- module outputs (`module.<name>.<output>`) -------------------------------------------

OUTPUTS = FIXTURES / "terraform" / "module-outputs"
SERVER = "modules/server/main.tf"
SERVER_TYPE = "Microsoft.DBforPostgreSQL/flexibleServers"


def _findings(result: ScanResult, policies: tuple[str, ...]) -> set[tuple[str, str, str, str | None, int | None, str]]:
    """(policy, resource, outcome, file, line, message) of the applicable findings of `policies`."""
    return {(f.policy_id, f.resource.name, f.outcome.value, f.location.file, f.location.line, f.message)
            for f in result.findings if f.policy_id in policies and f.outcome is not Outcome.NOT_APPLICABLE}


def test_a_lock_and_a_diagnostic_setting_scoped_through_module_outputs_protect_the_server() -> None:
    result = _scan([OUTPUTS], OUTPUTS)
    assert not result.errors
    complies = "Microsoft.DBforPostgreSQL/flexibleServers {} complies."
    # prod: `module.db.server_id`, the database module passing on its server module's output;
    # staging: `module.pg.server_id` and `module.pg.server.id` (the whole resource as output);
    # unprotected: the same module without either, so both fail as before. The branch server
    # (for_each) has its lock through `module.branch["lyon"].server_id`, which is not read,
    # and no diagnostic setting. DR-AZ-014 does not apply to staging's medium tier.
    assert _findings(result, ("DR-AZ-014", "OBS-AZ-001")) == {
        ("DR-AZ-014", "odoo-prod-pg", "pass", SERVER, None, complies.format("odoo-prod-pg")),
        ("OBS-AZ-001", "odoo-prod-pg", "pass", SERVER, None, complies.format("odoo-prod-pg")),
        ("OBS-AZ-001", "odoo-staging-pg", "pass", SERVER, None, complies.format("odoo-staging-pg")),
        ("OBS-AZ-001", "<module.branch.var.name>", "fail", SERVER, 4,
         "Microsoft.DBforPostgreSQL/flexibleServers '<module.branch.var.name>' (staging) has no diagnostic setting "
         "that sends its resource logs to a Log Analytics workspace (for an AKS cluster, the logs must include "
         "kube-audit or kube-audit-admin)."),
        ("DR-AZ-014", "odoo-dev-pg", "fail", SERVER, 4,
         "Microsoft.DBforPostgreSQL/flexibleServers 'odoo-dev-pg' (production, tier high) is not protected by a "
         "CanNotDelete lock on itself or its resource group."),
        ("OBS-AZ-001", "odoo-dev-pg", "fail", SERVER, 4,
         "Microsoft.DBforPostgreSQL/flexibleServers 'odoo-dev-pg' (production) has no diagnostic setting that "
         "sends its resource logs to a Log Analytics workspace (for an AKS cluster, the logs must include "
         "kube-audit or kube-audit-admin)."),
    }


def test_an_output_naming_a_child_resource_is_that_resource_s_arm_id() -> None:
    result = _scan([OUTPUTS], OUTPUTS)
    scoped = {(r.type.rsplit("/", 1)[-1], r.name): (r.body.get("scope"), r.namespace, r.unresolved)
              for r in result.resources if r.type in ("Microsoft.Authorization/locks",
                                                      "Microsoft.Insights/diagnosticSettings")}
    assert scoped == {
        # Two modules down, and read through a third; the setting, written in the caller,
        # lives in the server's resource group (the relations tie it by group).
        ("locks", "odoo-prod-pg-lock"): (f"{SERVER_TYPE}/odoo-prod-pg", "rg-odoo-prod", {}),
        ("diagnosticSettings", "odoo-prod-pg-logs"): (f"{SERVER_TYPE}/odoo-prod-pg", "rg-odoo-prod", {}),
        # A known output (`server_name`, the server's literal name) is its value.
        ("locks", "odoo-staging-pg-lock"): (f"{SERVER_TYPE}/odoo-staging-pg", "rg-odoo-staging", {}),
        ("diagnosticSettings", "odoo-staging-pg-logs"): (f"{SERVER_TYPE}/odoo-staging-pg", "rg-odoo-staging", {}),
        ("locks", "odoo-staging-pg-lyon-lock"): ('module.branch["lyon"].server_id', None,
                                                 {("scope",): 'module.branch["lyon"].server_id'}),
    }
    # Known values pass from one module's outputs into another's variables: the group
    # module's name, location and tags reach the server, whose tier comes from the tags.
    [prod] = [r for r in result.resources if r.name == "odoo-prod-pg"]
    assert (prod.namespace, prod.body["location"], prod.tier, prod.tier_source) == (
        "rg-odoo-prod", "westeurope", "critical", "tag")
    # The child's own values: the reference stays relative to the child, one evaluation
    # serving every caller that passes the same arguments.
    child = terraform_hcl.load_module(OUTPUTS / "modules" / "server", lambda p: p.name,
                                      inputs={"name": "pg", "resource_group_name": "rg"})
    assert child.outputs["server_id"] == Unresolved("azurerm_postgresql_flexible_server.this.id")
    assert child.outputs["server_name"] == "pg"


def test_outputs_of_a_module_with_for_each_stay_unknown_and_say_so() -> None:
    result = _scan([OUTPUTS / "envs" / "staging"], OUTPUTS)
    assert [(f.path, f.reason) for f in result.files if f.path.startswith("envs/")] == [
        ("envs/staging/main.tf",
         'envs/staging/main.tf:12: module "branch" has for_each, so its outputs are per instance and not read: '
         'module.branch["lyon"].server_id stays unknown')]
    [lock] = [r for r in result.resources if r.name == "odoo-staging-pg-lyon-lock"]
    assert lock.unresolved == {("scope",): 'module.branch["lyon"].server_id'}


def test_references_pass_into_modules_and_unknown_outputs_stay_unknown(tmp_path: Path) -> None:
    _write(tmp_path, {
        "root/main.tf": (
            'module "a" {\n  source = "../server"\n  name   = "pg-a"\n}\n'
            'module "b" {\n  source = "../server"\n  name   = "pg-b"\n}\n'
            'resource "azurerm_postgresql_flexible_server" "c" {\n  name = "pg-c"\n'
            '  resource_group_name = "rg-x"\n  location = "westeurope"\n}\n'
            # A lock written in another module, given the server's id by the caller: from a
            # module's output, and from a resource of the caller itself.
            'module "guard_a" {\n  source    = "../guard"\n  target_id = module.a.id\n}\n'
            'module "guard_c" {\n  source    = "../guard"\n  target_id = azurerm_postgresql_flexible_server.c.id\n}\n'
            # Not a local module, and an output that does not exist: unknown, as before.
            'module "remote" {\n  source = "Azure/avm/azurerm"\n}\n'
            'resource "azurerm_management_lock" "b" {\n  name = "lock-b"\n  scope = module.remote.id\n'
            '  lock_level = "CanNotDelete"\n}\n'
            'resource "azurerm_management_lock" "b2" {\n  name = "lock-b2"\n  scope = module.b.no_such_output\n'
            '  lock_level = "CanNotDelete"\n}\n'
            # Two modules reading each other's outputs (Terraform rejects the cycle): ends, unknown.
            'module "x" {\n  source = "../echo"\n  v = module.y.out\n}\n'
            'module "y" {\n  source = "../echo"\n  v = module.x.out\n}\n'
            'resource "azurerm_resource_group" "g" {\n  name = "rg-g"\n  location = module.x.out\n}\n'
            # An output object read whole: its unknown parts say which module's they are.
            'resource "azurerm_resource_group" "h" {\n  name = "rg-h"\n  location = "westeurope"\n'
            '  tags = module.a.info\n}\n'),
        "server/main.tf": ('variable "name" {}\n'
                           'resource "azurerm_postgresql_flexible_server" "this" {\n  name = var.name\n'
                           '  resource_group_name = "rg-x"\n  location = "westeurope"\n}\n'
                           'output "id" {\n  value = azurerm_postgresql_flexible_server.this.id\n}\n'
                           'output "info" {\n  value = { server = azurerm_postgresql_flexible_server.this.id,'
                           ' name = var.name }\n}\n'),
        "guard/main.tf": ('variable "target_id" {}\n'
                          'resource "azurerm_management_lock" "this" {\n  name = var.target_id\n'
                          '  scope = var.target_id\n  lock_level = "CanNotDelete"\n}\n'),
        "echo/main.tf": 'variable "v" {}\noutput "out" {\n  value = var.v\n}\n',
    })
    result = _scan([tmp_path / "root"], tmp_path)
    assert not result.errors
    assert sorted((r.name, r.body.get("scope"), r.namespace, r.unresolved) for r in result.resources
                  if r.type == "Microsoft.Authorization/locks") == [
        # Unknown where read as a value (the lock's name), a reference where it names a scope.
        ("<module.guard_a.var.target_id>", f"{SERVER_TYPE}/pg-a", "rg-x", {("name",): "var.target_id"}),
        ("<module.guard_c.var.target_id>", f"{SERVER_TYPE}/pg-c", "rg-x", {("name",): "var.target_id"}),
        ("lock-b", "module.remote.id", None, {("scope",): "module.remote.id"}),
        ("lock-b2", "module.b.no_such_output", None, {("scope",): "module.b.no_such_output"}),
    ]
    assert {(name, outcome) for _p, name, outcome, *_rest in _findings(result, ("DR-AZ-014",))} == {
        ("pg-a", "pass"), ("pg-b", "fail"), ("pg-c", "pass")}
    groups = {r.name: (r.body.get("tags"), r.unresolved) for r in result.resources
              if r.type == "Microsoft.Resources/resourceGroups"}
    assert groups == {
        "rg-g": (None, {("location",): "module.x.out"}),
        "rg-h": ({"server": "module.a.azurerm_postgresql_flexible_server.this.id", "name": "pg-a"},
                 {("tags", "server"): "module.a.azurerm_postgresql_flexible_server.this.id"}),
    }


def test_a_sensitive_output_is_used_and_not_shown(tmp_path: Path) -> None:
    secret = "Wh4t-a-s3cret"
    _write(tmp_path, {
        "root/main.tf": ('module "secrets" {\n  source = "../secrets"\n}\n'
                         'resource "kubernetes_config_map_v1" "odoo" {\n'
                         '  metadata {\n    name = "odoo-config"\n    namespace = "erp"\n  }\n'
                         '  data = {\n    DB_PASSWORD = module.secrets.db_password\n'
                         '    DB_HOST = module.secrets.db_host\n  }\n}\n'),
        "secrets/main.tf": (f'locals {{\n  password = "{secret}"\n}}\n'
                            'output "db_password" {\n  value     = local.password\n  sensitive = true\n}\n'
                            'output "db_host" {\n  value = "pg.internal"\n}\n'),
    })
    result = _scan([tmp_path / "root"], tmp_path)
    [config] = result.resources
    # Terraform's `sensitive` hides a value from its own display; the value is still the value.
    assert config.body["data"] == {"DB_PASSWORD": secret, "DB_HOST": "pg.internal"}
    [finding] = [f for f in result.findings if f.policy_id == "SEC-K8S-008"]
    assert finding.outcome is Outcome.FAIL
    assert finding.location.file == "root/main.tf"
    shown = [f.message for f in result.findings] + [f.reason or "" for f in result.files]
    assert shown and not [text for text in shown if secret in text]


def test_outputs_are_evaluated_with_their_child_once_per_set_of_arguments(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    caller = ('module "m" {{\n  source = "../child"\n  zone = "{zone}"\n}}\n'
              'resource "azurerm_resource_group" "g" {{\n  name = module.m.name\n  location = "x"\n}}\n')
    _write(tmp_path, {"one/main.tf": caller.format(zone="1"), "two/main.tf": caller.format(zone="1"),
                      "three/main.tf": caller.format(zone="2"),
                      "child/main.tf": 'variable "zone" {}\noutput "name" {\n  value = "rg-${var.zone}"\n}\n'})
    evaluated: list[str] = []
    real: Callable[..., Any] = terraform_hcl.Evaluator.value

    def counting(self: terraform_hcl.Evaluator, node: Any) -> Any:
        if self.depth == 0 and "rg-${var.zone}" in self.text:
            evaluated.append(self.source(node) if not isinstance(node, str) else node)
        return real(self, node)

    monkeypatch.setattr(terraform_hcl.Evaluator, "value", counting)
    result = _scan([tmp_path], tmp_path)
    assert sorted(r.name for r in result.resources) == ["rg-1", "rg-1", "rg-2"]
    # The child's output expression: once for zone 1 (both callers), once for zone 2.
    assert evaluated == ['"rg-${var.zone}"', '"rg-${var.zone}"']


def test_reading_modules_leaves_no_reference_cycle_behind() -> None:
    # The scan pauses the cyclic garbage collector (scanner/scan.py), so a cycle between a
    # module's scope and its `module` calls kept every parse in memory until the scan
    # ended (+43 MB on the 1000-app IaC benchmark corpus).
    import gc

    from scanner.sources import terraform_hcl

    def scopes() -> int:
        return sum(isinstance(o, terraform_hcl.Scope) for o in gc.get_objects())

    gc.collect()
    gc.disable()
    try:
        before = scopes()
        module = terraform_hcl.load_module(FIXTURES / "terraform" / "module-outputs" / "envs" / "prod",
                                           lambda p: p.as_posix())
        left = scopes() - before
    finally:
        gc.enable()
    assert module.resources  # the module and its children were read
    assert left == 0
