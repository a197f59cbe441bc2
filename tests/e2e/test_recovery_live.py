"""`tierscan recovery` on live inputs, through the same options and `scan_live` as
`tierscan scan`.

A live scan of the loopback Azure (HTTPS ARM / Resource Graph) and Kubernetes API
servers of tests/live/ is saved as a snapshot; `tierscan recovery --snapshot` on it, and
`tierscan recovery --azure ... --kubeconfig ...` on the servers themselves, must give
the same assessment as `tierscan recovery` on the same objects written as files.

What legitimately differs between a live resource and its file is left out of the
comparison (see `comparable`): where it is (file and line; a live object has none),
the resource group a live Azure resource carries as its namespace (an ARM template does
not name it), the casing of an Azure type (ARM returns `managedClusters`, the template
spells `ManagedClusters`), and the order of the unlinked components (it follows the
order the resources were read in).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from scanner.cli import main
from tests.live.arm_server import TOKEN, ArmServer
from tests.live.azure_world import ARM_FIXTURE, SUB_A, SUB_B
from tests.live.conftest import arm_faults, arm_server, k8s_server, kubeconfig, tls_files  # noqa: F401 (fixtures)
from tests.live.k8s_server import OBJECTS

K8S_FILES = [OBJECTS / "objects.yaml", OBJECTS / "custom-resources.yaml"]  # generated.yaml: owned objects
WHERE = {"file", "line", "column", "generated_at"}
GAPS = [
    ("DR-SVC-RTO", "medium", "service erp/odoo-web (critical, RTO ≤ 60 min): region loss → Deployment odoo-web runs "
     "on AKS cluster clustername1 in location1 and has no standby cluster in another region: the cluster is rebuilt "
     "and the workloads redeployed → RTO 2 h (assumption: k8s_cluster_rebuild_minutes)."),
    ("DR-SVC-RTO", "medium", "service erp/odoo-worker (critical, RTO ≤ 60 min): region loss → Deployment odoo-worker "
     "runs on AKS cluster clustername1 in location1 and has no standby cluster in another region: the cluster is "
     "rebuilt and the workloads redeployed → RTO 2 h (assumption: k8s_cluster_rebuild_minutes)."),
    ("DR-SVC-RTO", "medium", "service erp/redis (critical, RTO ≤ 60 min): region loss → StatefulSet redis runs on AKS "
     "cluster clustername1 in location1 and has no standby cluster in another region: the cluster is rebuilt and the "
     "workloads redeployed → RTO 2 h (assumption: k8s_cluster_rebuild_minutes)."),
]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"ARM_TOKEN": TOKEN})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def recovery_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = invoke("recovery", *args, "--format", "json")
    assert err == ""
    return code, json.loads(out)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _strip(v) for k, v in value.items() if k not in WHERE}
        if str(value.get("type", "")).startswith("Microsoft."):
            out["namespace"] = None  # the resource group (live only)
        return out
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, str) and value.startswith("Microsoft."):
        return value.lower()
    return value


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _strip(report)
    out["unlinked"] = sorted(out["unlinked"], key=lambda c: str(c["identity"]))
    return out


def live_args(server: ArmServer, ca: Path, kubeconfig_file: Path) -> list[str]:
    return ["--azure", "--subscription", SUB_A, "--subscription", SUB_B, "--azure-token-env", "ARM_TOKEN",
            "--arm-endpoint", server.endpoint, "--ca-bundle", str(ca), "--kubeconfig", str(kubeconfig_file)]


def test_recovery_of_a_snapshot_equals_recovery_of_the_same_objects_as_files(
        arm_server: ArmServer, tls_files: tuple[Path, ...], kubeconfig: Path, tmp_path: Path) -> None:  # noqa: F811
    snapshot = tmp_path / "night.json"
    scan_code, _out, _err = invoke("scan", *live_args(arm_server, tls_files[0], kubeconfig),
                                   "--save-snapshot", str(snapshot), "--format", "json")
    assert scan_code == 1  # the built-in policies find failures; the snapshot is written regardless

    code, from_snapshot = recovery_json("--snapshot", str(snapshot))
    file_code, from_files = recovery_json(str(ARM_FIXTURE), *map(str, K8S_FILES))
    assert comparable(from_snapshot) == comparable(from_files)
    assert code == file_code == 0  # the gaps are medium, under the default --fail-on high
    # The assessment is a real one, not two empty documents that agree.
    assert [(s["name"], s["tier"], s["compliant"]) for s in from_snapshot["services"]] == [
        ("erp/odoo-web", "critical", False), ("erp/odoo-worker", "critical", False),
        ("erp/redis", "critical", False), ("tools/node-agent", "low", True)]
    assert [(f["rule"], f["severity"], f["message"]) for f in from_snapshot["findings"]] == GAPS
    assert sorted(c["identity"] for c in from_snapshot["unlinked"]) == [
        "Microsoft.Cache/redis/cache1", "Microsoft.DBforPostgreSQL/flexibleServers/pgtestsvc1",
        "Microsoft.DBforPostgreSQL/flexibleServers/pgtestsvc4", "Microsoft.RecoveryServices/vaults/patchtest",
        "Microsoft.RecoveryServices/vaults/swaggerExample", "Microsoft.RecoveryServices/vaults/today1",
        "Microsoft.Storage/storageAccounts/sto4036", "Microsoft.Storage/storageAccounts/sto4452",
        "Microsoft.Storage/storageAccounts/sto8596"]
    # A live finding has no file: it points at the live resource.
    assert {f["location"]["file"] for f in from_snapshot["findings"]} == {None}

    # Recovery straight from the servers gives what the snapshot gives, to the byte.
    live_code, live = recovery_json(*live_args(arm_server, tls_files[0], kubeconfig))
    assert live_code == code
    assert {**live, "generated_at": None} == {**from_snapshot, "generated_at": None}


def test_recovery_text_of_a_snapshot(arm_server: ArmServer, tls_files: tuple[Path, ...], kubeconfig: Path,  # noqa: F811
                                     tmp_path: Path) -> None:
    snapshot = tmp_path / "night.json"
    invoke("scan", *live_args(arm_server, tls_files[0], kubeconfig), "--save-snapshot", str(snapshot))
    code, out, err = invoke("recovery", "--snapshot", str(snapshot))
    assert (code, err) == (0, "")
    assert out.startswith("Recovery objectives: 4 services, 1 meets the targets of its tier.\n")
    assert ("    DR-SVC-RTO [medium] " + GAPS[0][2] + "\n"
            "      at Microsoft.ContainerService/managedClusters/clustername1 (location)\n") in out


def test_paths_and_a_snapshot_cannot_be_combined(tmp_path: Path) -> None:
    snapshot = tmp_path / "night.json"
    snapshot.write_text("{}", encoding="utf-8")
    code, _out, err = invoke("recovery", "examples/odoo-on-aks", "--snapshot", str(snapshot))
    assert code == 2
    assert err.splitlines()[-1] == ("Error: PATHS cannot be combined with a live scan or --snapshot; run two scans")


def test_a_file_that_is_not_a_snapshot_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"format": "other"}', encoding="utf-8")
    code, out, err = invoke("recovery", "--snapshot", str(bogus), "--format", "json")
    assert code == 2
    assert json.loads(out)["services"] == []
    assert err == f"tierscan: error: {bogus}: not a tierscan snapshot (format is not 'tierscan-snapshot')\n"
