"""Terraform and Bicep end to end: every corpus file is accounted for, and one
PostgreSQL server written four ways (ARM, Bicep, Terraform HCL, Terraform plan JSON)
gives the same findings, each pointing at its own source line."""

from __future__ import annotations

from pathlib import Path

from scanner.model import FileStatus, Outcome
from scanner.scan import ScanOptions, scan_paths
from tests.conftest import CORPUS, FIXTURES

SAME_POSTGRES = FIXTURES / "e2e" / "same-postgres"
# The line of `highAvailability.mode` (HA-AZ-004's failing property) in each form.
HA_MODE_LINES = {
    "arm/postgres.json": 17,
    "bicep/postgres.bicep": 18,
    "terraform/main.tf": 13,
    "plan/tfplan.json": 26,
}
# The Azure Verified Modules in the Bicep corpus use newer syntax (resource-derived types,
# multi-line conditions, decorated object types). They are local modules of their e2e
# tests, so their resources are evaluated through those tests, located in the module.
AVM_BICEP_MODULES = {
    "bicep-registry-modules/avm/res/db-for-postgre-sql/flexible-server/main.bicep":
        ("Microsoft.DBforPostgreSQL/flexibleServers",
         ["#_namePrefix_#dfpsmin001", "#_namePrefix_#dfpspvt001", "#_namePrefix_#dfpswaf001"]),
    "bicep-registry-modules/avm/res/key-vault/vault/main.bicep":
        ("Microsoft.KeyVault/vaults", ["#_namePrefix_#kvvwaf002"]),
}


def _scan(path: Path) -> object:
    return scan_paths([path], ScanOptions(root=path))


def test_every_terraform_and_bicep_corpus_file_is_accounted_for() -> None:
    for kind in ("terraform", "bicep"):
        root = CORPUS / kind
        on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        result = scan_paths([root], ScanOptions(root=root))
        records = {f.path: f for f in result.files}
        assert sorted(records) == on_disk  # no file unaccounted for, none invented
        for path, record in records.items():
            assert record.status is FileStatus.SCANNED, (path, record.reason)
        if kind == "bicep":
            for path, (rtype, names) in AVM_BICEP_MODULES.items():
                assert records[path].kind == "bicep-module"
                assert sorted(r.name for r in result.resources if r.origin.file == path and r.type == rtype) == names
        if kind == "terraform":
            # The AVM module's own files are the local module its two examples call
            # (`source = "../../"`): read through them, with the values each passes.
            avm = "terraform-azurerm-avm-res-dbforpostgresql-flexibleserver"
            modules = {p: (r.kind, r.resources, r.reason) for p, r in records.items() if r.kind == "terraform-module"}
            assert modules == {f"{avm}/{name}": (
                "terraform-module", 0, f"local module of {avm}/examples/database/main.tf, "
                f"{avm}/examples/default/main.tf: scanned through it, with the variables it passes")
                for name in ("main.tf", "variables.tf")}
        assert not any(f.outcome is Outcome.ERROR for f in result.findings)
        assert result.errors == []


def test_corpus_terraform_lists_unmapped_types_and_maps_the_catalogue_types() -> None:
    root = CORPUS / "terraform" / "terraform-provider-azurerm" / "examples"
    result = scan_paths([root], ScanOptions(root=root))
    records = {f.path: f for f in result.files}
    assert records["storage/storage-container/main.tf"].reason == (
        "not checked, no mapping to a policy shape: azurerm_storage_container.example, "
        "azurerm_storage_container.example2")
    types = {(r.type, r.origin.file) for r in result.resources}
    assert ("Microsoft.Cache/redis", "redis-cache/basic/main.tf") in types
    assert ("Microsoft.ContainerService/managedClusters/agentPools",
            "kubernetes/network-policy-calico/main.tf") in types
    assert ("Microsoft.RecoveryServices/vaults", "recovery-services/basic/main.tf") in types
    assert ("Microsoft.ContainerRegistry/registries", "container-registry/main.tf") in types


def test_same_postgres_in_four_forms_gives_the_same_findings_on_its_own_lines() -> None:
    result = scan_paths([SAME_POSTGRES], ScanOptions(root=SAME_POSTGRES))
    assert not result.errors
    assert {f.path: f.status for f in result.files} == {
        "arm/postgres.json": FileStatus.SCANNED, "bicep/postgres.bicep": FileStatus.SCANNED,
        "terraform/main.tf": FileStatus.SCANNED, "terraform/variables.tf": FileStatus.SCANNED,
        "plan/tfplan.json": FileStatus.SCANNED,
    }
    by_file: dict[str, set[str]] = {name: set() for name in HA_MODE_LINES}
    messages: dict[str, set[str]] = {name: set() for name in HA_MODE_LINES}
    for finding in result.findings:
        assert finding.outcome is Outcome.FAIL
        assert finding.resource.type == "Microsoft.DBforPostgreSQL/flexibleServers"
        assert finding.resource.name == "odoo-pg"
        assert finding.location.file in HA_MODE_LINES
        assert finding.location.line is not None
        by_file[finding.location.file].add(finding.policy_id)
        messages[finding.location.file].add(f"{finding.policy_id}: {finding.message}")
        if finding.policy_id == "HA-AZ-004":
            assert finding.location.line == HA_MODE_LINES[finding.location.file]
            assert finding.location.property_path == "properties.highAvailability.mode"
            assert finding.message == (
                "PostgreSQL server 'odoo-pg' (tier critical) has properties.highAvailability.mode = SameZone; "
                "use ZoneRedundant on a General Purpose or Memory Optimized SKU.")
    # ARM and Bicep name the same resources the same way (so findings and fingerprints match).
    names = {form: sorted((r.type, r.name) for r in result.resources if r.origin.file == form)
             for form in ("arm/postgres.json", "bicep/postgres.bicep")}
    assert names["arm/postgres.json"] == names["bicep/postgres.bicep"] == [
        ("Microsoft.DBforPostgreSQL/flexibleServers", "odoo-pg")]
    arm_ids = by_file["arm/postgres.json"]
    assert "HA-AZ-004" in arm_ids
    for name, ids in by_file.items():
        assert ids == arm_ids, name
        # Same messages too: the four forms normalize to the same resource.
        assert messages[name] == messages["arm/postgres.json"], name
