"""Live Kubernetes scans against the loopback API server, through a generated kubeconfig.

The official `kubernetes` client talks HTTP to tests/live/k8s_server.py; nothing is
patched. The same objects scanned as files must give the same findings.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from scanner.cli import main
from tests.live.k8s_server import OBJECTS, K8sServer, write_kubeconfig

TEST_POLICIES = Path(__file__).resolve().parent / "policies"
FILES = [OBJECTS / "objects.yaml", OBJECTS / "custom-resources.yaml"]  # generated.yaml: owned objects
SECRET_VALUE = "c2VjcmV0LXZhbHVlLW5ldmVyLXJlYWQ="
NOTES = ["loopback: Secrets were read as metadata only; policies that inspect Secret contents see none in a "
         "live scan",
         "loopback: IngressRoute (traefik.io/v1alpha1 or traefik.containo.us/v1alpha1) is not served; skipped"]


def scan(*args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(main, ["scan", *args, "--format", "json", "--all-outcomes",
                                       "--policy-dir", str(TEST_POLICIES)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout), result.stderr


def outcomes(report: dict[str, Any]) -> Counter[tuple[str, str, str, str, str, str]]:
    return Counter((f["policy"], f["resource"]["type"], f["resource"]["namespace"] or "", f["resource"]["name"],
                    f["outcome"], f.get("message") or "") for f in report["findings"])


def test_live_cluster_gives_the_same_findings_as_its_objects_as_files(
        k8s_server: K8sServer, kubeconfig: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "cluster.json"
    code, live, _stderr = scan("--kubeconfig", str(kubeconfig), "--kube-context", "loopback",
                               "--save-snapshot", str(snapshot))
    file_code, from_files, _ = scan(*map(str, FILES))
    assert outcomes(live) == outcomes(from_files)
    assert code == file_code == 1
    assert live["errors"] == []
    reasons = [f["reason"] for f in live["files"]]
    # Built-in policies may need more custom resources; each unserved one gets a note.
    assert set(NOTES) <= set(reasons)
    assert all(r in NOTES or r.endswith(") is not served; skipped") for r in reasons)
    # Policies the test adds: a custom resource (served) and Secret metadata.
    fails = sorted((f["policy"], f["resource"]["id"]) for f in live["findings"]
                   if f["outcome"] == "fail" and f["policy"].endswith("-901"))
    assert fails == [("DR-K8S-901", "loopback/velero/Schedule/erp-nightly"),
                     ("GOV-K8S-901", "loopback/erp/Secret/odoo-db")]
    # Owned ReplicaSet and Pod were skipped (their Deployment is evaluated).
    names = {(f["resource"]["type"], f["resource"]["name"]) for f in live["findings"]}
    assert ("Pod", "odoo-worker-5d9c7-x2x9q") not in names
    assert ("ReplicaSet", "odoo-worker-5d9c7") not in names
    assert ("Pod", "debug-shell") in names  # a bare Pod has no owner: it is evaluated
    assert ("Pod", "erp-db-1") in names  # an operator's Pod: its owner has no pod template

    # A live object that names its source file is reported against that file.
    files = {(f["resource"]["name"], f["location"]["file"], f["location"]["line"])
             for f in live["findings"] if f["resource"]["namespace"] == "erp"
             and f["resource"]["type"] == "Deployment"}
    assert files == {("odoo-web", "apps/odoo/web-deployment.yaml", None), ("odoo-worker", None, None)}

    # Paging: every list of two or more objects was read page by page with `continue`.
    seen = k8s_server.state.seen
    namespace_reads = [q for path, q, _accept in seen if path == "/api/v1/namespaces"]
    assert [q.get("continue") for q in namespace_reads] == [None, ["MQ=="]]
    # Secrets were asked for as metadata only, and no Secret value reached the snapshot.
    assert {accept for path, _q, accept in seen if path == "/api/v1/secrets"} == {
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"}
    text = snapshot.read_text(encoding="utf-8")
    assert SECRET_VALUE not in text

    again_code, again, _ = scan("--snapshot", str(snapshot))
    assert outcomes(again) == outcomes(live)
    assert again_code == code


def test_one_namespace(k8s_server: K8sServer, kubeconfig: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "tools.json"
    _code, live, _ = scan("--kubeconfig", str(kubeconfig), "--namespace", "tools", "--save-snapshot", str(snapshot))
    [scope] = json.loads(snapshot.read_text(encoding="utf-8"))["scopes"]
    assert sorted((r["type"], r["namespace"], r["name"]) for r in scope["resources"]) == [
        ("DaemonSet", "tools", "node-agent"), ("Namespace", None, "tools"), ("Pod", "tools", "debug-shell")]
    paths = {path for path, _q, _a in k8s_server.state.seen}
    assert "/api/v1/namespaces/tools/pods" in paths
    assert "/api/v1/pods" not in paths
    namespace_queries = [q for path, q, _a in k8s_server.state.seen if path == "/api/v1/namespaces"]
    assert [q["fieldSelector"] for q in namespace_queries] == [["metadata.name=tools"]]
    # The namespace's tier label still applies (tools is labelled low).
    assert {f["tier"] for f in live["findings"]} == {"low"}


def test_two_contexts_are_scanned_as_two_clusters(k8s_server: K8sServer, tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "two", k8s_server.endpoint, ("prod-weu", "prod-neu"))
    _code, live, _ = scan("--kubeconfig", str(config), "--kube-context", "prod-weu", "--kube-context", "prod-neu")
    ids = {f["resource"]["id"] for f in live["findings"] if f["policy"] == "GOV-K8S-901"}
    assert ids == {"prod-weu/erp/Secret/odoo-db", "prod-neu/erp/Secret/odoo-db"}


def test_unreachable_cluster_is_an_error(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "gone", "http://127.0.0.1:9")
    code, live, _ = scan("--kubeconfig", str(config), "--timeout", "2")
    assert code == 2
    assert [e["message"].split(":")[:2] for e in live["errors"]] == [["loopback", " API discovery failed"]]


def test_a_file_that_is_not_a_snapshot_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "night.json"
    bogus.write_text('{"resources": []}', encoding="utf-8")
    code, report, _ = scan("--snapshot", str(bogus))
    assert code == 2
    assert [e["message"] for e in report["errors"]] == [
        f"{bogus}: not a tierscan snapshot (format is not 'tierscan-snapshot')"]


def test_shards_split_contexts_without_overlap(k8s_server: K8sServer, tmp_path: Path) -> None:
    contexts = ("prod-weu", "prod-neu", "stage-weu", "dev-weu")
    config = write_kubeconfig(tmp_path / "four", k8s_server.endpoint, contexts)
    clusters = []
    for shard in ("1/2", "2/2"):
        _code, live, _ = scan("--kubeconfig", str(config), *[a for c in contexts for a in ("--kube-context", c)],
                              "--shard", shard)
        clusters.append({f["resource"]["id"].split("/")[0] for f in live["findings"]})
    assert clusters[0] | clusters[1] == set(contexts)
    assert clusters[0] & clusters[1] == set()


def test_a_kind_rbac_denies_is_an_error_and_the_rest_is_scanned(k8s_server: K8sServer, kubeconfig: Path) -> None:
    k8s_server.state.forbidden.add("secrets")
    code, live, _ = scan("--kubeconfig", str(kubeconfig))
    assert code == 2
    assert [e["message"] for e in live["errors"]] == [
        "loopback: listing Secret (/api/v1/secrets): HTTP 403 Forbidden; not read"]
    assert "loopback/erp/Deployment/odoo-worker" in {f["resource"]["id"] for f in live["findings"]}
