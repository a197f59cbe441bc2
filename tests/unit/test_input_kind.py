"""`--input-kind` forces how files are read: inside a directory only the files of that
kind are read and every other file is listed as skipped, with why; a file named on the
command line is read as that kind (Kubernetes, ARM, plan) or refused by name (Terraform,
Bicep, which their own tools also recognise by name only)."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.model import FileStatus
from scanner.scan import ScanOptions, scan_paths
from scanner.sources.options import SourceOptions
from tests.conftest import FIXTURES
from tests.e2e.cli_runner import tierscan

SAME_POSTGRES = FIXTURES / "e2e" / "same-postgres"
FILES = ("arm/postgres.json", "bicep/postgres.bicep", "plan/tfplan.json", "terraform/main.tf",
         "terraform/variables.tf")


def _records(kind: str, *paths: Path) -> dict[str, tuple[FileStatus, str, str]]:
    options = ScanOptions(root=SAME_POSTGRES, sources=SourceOptions(input_kind=kind))
    result = scan_paths(list(paths) or [SAME_POSTGRES], options)
    return {f.path: (f.status, f.kind, f.reason) for f in result.files}


def _skipped(kind: str, suffixes: str) -> tuple[FileStatus, str, str]:
    return FileStatus.SKIPPED, "", f"not read: --input-kind {kind} reads only {suffixes} files in a directory"


def test_terraform_reads_only_the_tf_files_of_a_directory() -> None:
    records = _records("terraform")
    assert sorted(records) == list(FILES)
    for other in ("arm/postgres.json", "bicep/postgres.bicep", "plan/tfplan.json"):
        assert records[other] == _skipped("terraform", ".tf, .tfvars")
    assert records["terraform/main.tf"][:2] == (FileStatus.SCANNED, "terraform")


def test_bicep_reads_only_the_bicep_files_of_a_directory() -> None:
    records = _records("bicep")
    assert records["bicep/postgres.bicep"][:2] == (FileStatus.SCANNED, "bicep")
    for other in ("arm/postgres.json", "plan/tfplan.json", "terraform/main.tf", "terraform/variables.tf"):
        assert records[other] == _skipped("bicep", ".bicep, .bicepparam")


def test_terraform_plan_reads_every_json_file_as_a_plan_and_says_which_are_not() -> None:
    records = _records("terraform-plan")
    assert records["plan/tfplan.json"][:2] == (FileStatus.SCANNED, "terraform-plan")
    assert records["arm/postgres.json"] == (
        FileStatus.ERROR, "terraform-plan", "--input-kind terraform-plan: this file is not a Terraform plan "
        "in JSON (make one with `terraform show -json PLANFILE > plan.json`)")
    for other in ("bicep/postgres.bicep", "terraform/main.tf", "terraform/variables.tf"):
        assert records[other] == _skipped("terraform-plan", ".json")


def test_a_named_plan_is_read_whatever_its_name(tmp_path: Path) -> None:
    saved = tmp_path / "tfplan.out"
    saved.write_bytes((SAME_POSTGRES / "plan" / "tfplan.json").read_bytes())
    options = ScanOptions(root=tmp_path, sources=SourceOptions(input_kind="terraform-plan"))
    result = scan_paths([saved], options)
    assert [(f.path, f.status, f.kind) for f in result.files] == [
        ("tfplan.out", FileStatus.SCANNED, "terraform-plan")]
    assert {r.type for r in result.resources} == {"Microsoft.DBforPostgreSQL/flexibleServers"}
    auto = scan_paths([saved], ScanOptions(root=tmp_path))
    assert [(f.path, f.status) for f in auto.files] == [("tfplan.out", FileStatus.SKIPPED)]


def test_a_named_file_of_another_kind_is_refused_by_name() -> None:
    records = _records("terraform", SAME_POSTGRES / "bicep" / "postgres.bicep")
    assert records == {"bicep/postgres.bicep": (
        FileStatus.ERROR, "terraform",
        "--input-kind terraform reads only .tf, .tfvars files; rename it to .tf or drop --input-kind")}


def test_arm_refuses_json_without_resources() -> None:
    records = _records("arm")
    assert records["arm/postgres.json"][:2] == (FileStatus.SCANNED, "arm")
    assert records["plan/tfplan.json"] == (
        FileStatus.ERROR, "arm", "--input-kind arm: this file is not an ARM template (no `resources`)")
    assert records["terraform/main.tf"] == _skipped("arm", ".json")


def test_output_dash_is_stdout(tmp_path: Path) -> None:
    done = tierscan("scan", SAME_POSTGRES / "plan", "--format", "json", "-o", "-", "--fail-on", "none",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [f["kind"] for f in json.loads(done.stdout)["files"]] == ["terraform-plan"]
    assert list(tmp_path.iterdir()) == []  # no file named `-`
    refused = tierscan("scan", SAME_POSTGRES / "plan", "--report", "sarif=-", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("tierscan: error: --report sarif=-: stdout takes the main report; "
                                      "use --format sarif (and --output -) or name a file")
