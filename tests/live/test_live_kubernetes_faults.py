"""Live Kubernetes scans under faults (issue 8, item 4): the loopback API server
(tests/live/k8s_server.py) resets, stalls, cuts bodies short, repeats a `continue`
token, refuses an expired token and stops serving a CRD. Each scan completes and
says exactly which lists it did not read; a list read in part is never used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scanner.cli import main
from tests.live.k8s_server import K8sServer
from tests.live.test_live_kubernetes import NOTES, TEST_POLICIES

ALWAYS = 1000  # answers to spoil: every one
SECRETS = "/api/v1/secrets"
SCHEDULES = "/apis/velero.io/v1/schedules"


def scan(*args: str) -> tuple[int, dict[str, Any], str]:
    """A live scan with the test policies only (kinds: IngressRoute, Namespace, Schedule, Secret)."""
    result = CliRunner().invoke(main, ["scan", *args, "--format", "json", "--all-outcomes", "--fail-on", "medium",
                                       "--no-builtin-policies",
                                       "--policy-dir", str(TEST_POLICIES)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout), result.stderr


def secret_ids(report: dict[str, Any]) -> set[str]:
    return {f["resource"]["id"] for f in report["findings"] if f["resource"]["type"] == "Secret"}


@pytest.mark.parametrize("fault", ["reset", "truncate", "stall", "throttle"])
def test_a_fault_that_clears_on_retry_loses_nothing(k8s_server: K8sServer, kubeconfig: Path, fault: str) -> None:
    getattr(k8s_server.state, fault)[SECRETS] = 1
    code, live, stderr = scan("--kubeconfig", str(kubeconfig), "--timeout", "1")
    assert (code, live["errors"], stderr) == (1, [], "")
    assert [f["reason"] for f in live["files"]] == NOTES
    assert secret_ids(live) == {"loopback/erp/Secret/odoo-db"}
    assert getattr(k8s_server.state, fault)[SECRETS] == 0  # the fault did happen


@pytest.mark.parametrize(("fault", "why"), [
    ("reset", "the connection was reset, after retries"),
    ("truncate", "the answer was cut off, after retries"),
    ("stall", "no answer within --timeout, after retries"),
])
def test_a_list_that_keeps_failing_is_reported_and_the_rest_scanned(
        k8s_server: K8sServer, kubeconfig: Path, fault: str, why: str) -> None:
    getattr(k8s_server.state, fault)[SECRETS] = ALWAYS
    code, live, stderr = scan("--kubeconfig", str(kubeconfig), "--timeout", "1")
    message = f"loopback: listing Secret: {why}; not read"
    assert code == 2
    assert [e["message"] for e in live["errors"]] == [message]
    assert stderr.splitlines() == [f"tierscan: error: {message}"]
    assert secret_ids(live) == set()
    assert ("Schedule", "erp-nightly") in {(f["resource"]["type"], f["resource"]["name"]) for f in live["findings"]}


def test_a_throttle_that_never_clears_is_reported_after_the_retries_asked_for(
        k8s_server: K8sServer, kubeconfig: Path) -> None:
    k8s_server.state.throttle[SECRETS] = ALWAYS
    code, live, stderr = scan("--kubeconfig", str(kubeconfig), "--retries", "1")
    message = "loopback: listing Secret (/api/v1/secrets): HTTP 429 Too Many Requests, after 1 retry; not read"
    assert (code, [e["message"] for e in live["errors"]]) == (2, [message])
    assert stderr.splitlines() == [f"tierscan: error: {message}"]
    assert [path for path, _query, _accept in k8s_server.state.seen].count(SECRETS) == 2  # once, then 1 retry
    assert ("Schedule", "erp-nightly") in {(f["resource"]["type"], f["resource"]["name"]) for f in live["findings"]}


def test_a_repeated_continue_token_stops_the_list(k8s_server: K8sServer, kubeconfig: Path) -> None:
    k8s_server.state.continue_loop.add("/api/v1/namespaces")
    code, live, _ = scan("--kubeconfig", str(kubeconfig))
    assert code == 2
    assert [e["message"] for e in live["errors"]] == [
        "loopback: listing Namespace (/api/v1/namespaces): the API server sent the same continue token twice "
        "after 2 pages; the list was stopped and not used"]
    # Without Namespaces no tier is known: nothing in the cluster is judged, and each
    # kind left out is named.
    assert [f["reason"] for f in live["files"]] == [
        *NOTES,
        "loopback: 1 Schedule object not evaluated: their tier comes from Namespace labels, and Namespaces could "
        "not be read",
        "loopback: 1 Secret object not evaluated: their tier comes from Namespace labels, and Namespaces could "
        "not be read"]
    assert live["findings"] == []
    # Page 2 named itself (MQ== again): not asked for a third time.
    assert [q.get("continue") for p, q, _a in k8s_server.state.seen if p == "/api/v1/namespaces"] == [
        None, ["MQ=="]]


def test_a_custom_kind_removed_mid_scan_is_a_note(k8s_server: K8sServer, kubeconfig: Path) -> None:
    k8s_server.state.gone.add(SCHEDULES)
    code, live, _ = scan("--kubeconfig", str(kubeconfig))
    assert (code, live["errors"]) == (1, [])
    assert [f["reason"] for f in live["files"]] == [
        *NOTES, "loopback: Schedule (velero.io/v1) stopped being served during the scan (HTTP 404, its CRD was "
                "removed?); skipped"]
    assert "Schedule" not in {f["resource"]["type"] for f in live["findings"]}


def test_an_expired_token_is_reported_list_by_list(k8s_server: K8sServer, kubeconfig: Path) -> None:
    k8s_server.state.expire_after = 3  # discovery and Namespace pages 1 and 2 (IngressRoute is not served)
    code, live, stderr = scan("--kubeconfig", str(kubeconfig))
    errors = [e["message"] for e in live["errors"]]
    assert code == 2
    assert errors == [
        "loopback: listing Schedule (/apis/velero.io/v1/schedules): HTTP 401 Unauthorized; not read",
        "loopback: listing Secret (/api/v1/secrets): HTTP 401 Unauthorized; not read",
        "loopback: the API server refused the credentials (HTTP 401) on 2 lists, listed above; a token that "
        "expired mid-scan is refreshed only by a kubeconfig exec or auth-provider plugin, not a static token"]
    assert stderr.splitlines() == [f"tierscan: error: {e}" for e in errors]
    assert live["findings"] == []


def test_a_kind_that_relates_to_an_unread_kind_is_not_judged(k8s_server: K8sServer, kubeconfig: Path) -> None:
    """With the built-in policies: the default-deny policy judges each Namespace by its
    NetworkPolicies; when those cannot be listed, no Namespace is failed for lacking one."""
    k8s_server.state.forbidden.add("networkpolicies")
    result = CliRunner().invoke(main, ["scan", "--kubeconfig", str(kubeconfig), "--format", "json",
                                       "--all-outcomes"])
    live = json.loads(result.stdout)
    assert result.exit_code == 2
    assert [e["message"] for e in live["errors"]] == [
        "loopback: listing NetworkPolicy (/apis/networking.k8s.io/v1/networkpolicies): HTTP 403 Forbidden; not read"]
    assert [f["reason"] for f in live["files"]][-1] == (
        "loopback: 2 Namespace objects not evaluated: a policy relates them to NetworkPolicy, which could not be read")
    types = {f["resource"]["type"] for f in live["findings"]}
    assert "Namespace" not in types
    assert "Deployment" in types
