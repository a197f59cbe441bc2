"""Live Azure scans under network and service faults (issue 8, item 4).

The loopback ARM server (tests/live/arm_server.py) resets connections, stalls past
`--timeout`, cuts JSON bodies short, repeats paging tokens, lets the token expire and
deletes a resource between the inventory and its child reads. Every scan completes and
says exactly what it did not read. Faults that clear on a retry go through the CLI;
faults that never clear go through `scan_live` with one fast retry (the CLI sets how
many retries with `--retries`, not how fast: its backoff would take close to a minute).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.engine.loader import load_policies
from scanner.scan import LiveScan, ScanOptions, exit_code, scan_live
from scanner.sources.live_azure import AzureLiveOptions, AzureReader, StaticTokenCredential
from tests.live.arm_server import TOKEN, ArmServer, Faults
from tests.live.azure_world import SUB_A, SUB_B
from tests.live.test_live_azure import EXPECTED_FAILURES, ISOLATED, TEST_POLICIES, failures, live_scan

ACCOUNT = f"/subscriptions/{SUB_A}/resourceGroups/rg-erp-prod/providers/Microsoft.Storage/storageAccounts/sto4036"
DIAGNOSTICS = "/sto4036/providers/Microsoft.Insights/diagnosticSettings"
ALWAYS = 1000  # answers to spoil: every one


def persistent_scan(server: ArmServer, ca: Path, monkeypatch: pytest.MonkeyPatch,
                    timeout: float = 1.0) -> tuple[int, list[str], list[str], list[tuple[str, str, str]]]:
    """(exit code, error lines, notes, failures) of a scan with one quick retry per read."""
    monkeypatch.setenv("ARM_TOKEN", TOKEN)
    options = AzureLiveOptions(subscriptions=[SUB_A, SUB_B], token_env="ARM_TOKEN", arm_endpoint=server.endpoint,
                               ca_bundle=str(ca), timeout=timeout, retry_total=1, retry_backoff_factor=0.05,
                               retry_backoff_max=0.1, max_concurrency=1)
    policies, policy_errors = load_policies([TEST_POLICIES])
    assert policy_errors == []
    result = scan_live(LiveScan(azure=options), ScanOptions(builtin_policies=False), (policies, []))
    fails = sorted((f.policy_id, f.resource.type.lower(), f.resource.name.lower()) for f in result.findings
                   if f.outcome.value == "fail")
    return (exit_code(result, "high"), [e.one_line() for e in result.errors],
            [f.reason or "" for f in result.files], fails)


BLOB = "/sto4036/blobServices/default"
GRAPH = "/providers/Microsoft.ResourceGraph/resources"


@pytest.mark.parametrize(("arm_faults", "spoiled"), [
    (Faults(reset={"graph": 1, BLOB: 1}), [("GET", ACCOUNT + "/blobServices/default"), ("POST", GRAPH)]),
    (Faults(truncate={"graph": 1, BLOB: 1}), [("GET", ACCOUNT + "/blobServices/default"), ("POST", GRAPH)]),
    (Faults(stall={BLOB: 1}), [("GET", ACCOUNT + "/blobServices/default")]),
], ids=["reset", "truncated", "slow"])
def test_a_fault_that_clears_on_retry_loses_nothing(arm_server: ArmServer, tls_files: tuple[Path, ...],
                                                    spoiled: list[tuple[str, str]]) -> None:
    code, live, stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=("--timeout", "1", *ISOLATED))
    assert (code, live["errors"], stderr) == (1, [], "")
    assert failures(live) == EXPECTED_FAILURES
    assert sorted((s.method, s.path) for s in arm_server.state.seen if s.status == 0) == spoiled


@pytest.mark.parametrize("arm_faults", [
    Faults(reset={DIAGNOSTICS: ALWAYS}), Faults(truncate={DIAGNOSTICS: ALWAYS}), Faults(stall={DIAGNOSTICS: ALWAYS}),
], ids=["reset", "truncated", "slow"])
def test_a_read_that_keeps_failing_is_reported_and_its_parent_not_judged(
        arm_server: ArmServer, tls_files: tuple[Path, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    code, errors, notes, fails = persistent_scan(arm_server, tls_files[0], monkeypatch)
    faults = arm_server.state.faults
    why = ("the connection was reset" if faults.reset else
           "the answer was cut off or is not JSON (IncompleteReadError)" if faults.truncate else
           "no answer within --timeout")
    assert code == 2
    assert errors == [f"Microsoft.Insights/diagnosticSettings of {ACCOUNT}: {why}, after retries"]
    # DR-AZ-906 relates storage accounts to their diagnostic settings: without them the
    # account is not judged at all (not failed for "no diagnostic setting").
    assert notes == [f"{ACCOUNT}: not evaluated, its Microsoft.Insights/diagnosticSettings could not be read"]
    assert fails == EXPECTED_FAILURES
    assert [s.status for s in arm_server.state.seen if s.path.endswith(DIAGNOSTICS)] == [0, 0]  # tried twice


@pytest.mark.parametrize("arm_faults", [Faults(skip_token_loop=True)])
def test_a_repeated_skip_token_stops_the_query(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    code, live, stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=tuple(ISOLATED))
    message = (f"subscription {SUB_A}, {SUB_B}: Resource Graph sent the same $skipToken twice after 6 rows; the "
               "query was stopped and none of its rows were used")
    assert code == 2
    assert [e["message"] for e in live["errors"]] == [message]
    assert stderr.splitlines() == [f"tierscan: error: {message}"]
    assert failures(live) == []  # no resource was read, so none is judged
    posts = [s for s in arm_server.state.seen if s.method == "POST"]
    assert len(posts) == 1 + 2  # resource groups; resources: page 1, then page 2 naming itself


@pytest.mark.parametrize("arm_faults", [Faults(next_link_loop=True)])
def test_a_repeated_next_link_stops_the_list(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    code, live, _stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=tuple(ISOLATED))
    assert code == 2
    assert [e["message"] for e in live["errors"]] == [
        f"Microsoft.Authorization/locks of /subscriptions/{SUB_B}: ARM sent the same nextLink twice after 2 pages; "
        "the list was stopped and none of it was used"]
    # The lock policy relates every data store to its locks: subscription B's are not judged.
    not_judged = sorted(f["reason"] for f in live["files"])
    assert not_judged == sorted(
        f"/subscriptions/{SUB_B}/resourceGroups/rg-erp-shared/providers/{t}: not evaluated, its "
        "Microsoft.Authorization/locks could not be read"
        for t in ("Microsoft.DBforPostgreSQL/flexibleServers/pgtestsvc1",
                  "Microsoft.RecoveryServices/vaults/patchtest", "Microsoft.RecoveryServices/vaults/today1",
                  "Microsoft.Storage/storageAccounts/sto4452", "Microsoft.Storage/storageAccounts/sto8596"))
    judged = {f["resource"]["id"].split("/")[2] for f in live["findings"]
              if f["resource"]["type"].count("/") == 1 and f["policy"] in ("DR-AZ-905", "DR-AZ-906")}
    assert judged == {SUB_A}


@pytest.mark.parametrize("arm_faults", [
    Faults(deleted={ACCOUNT.lower()})])
def test_a_resource_deleted_during_the_scan_is_a_note(arm_server: ArmServer, tls_files: tuple[Path, ...],
                                                     tmp_path: Path) -> None:
    snapshot = tmp_path / "night.json"
    code, live, stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B,
                                   extra=(*ISOLATED, "--save-snapshot", str(snapshot)))
    assert (code, live["errors"], stderr) == (1, [], "")
    assert [f["reason"] for f in live["files"]] == [
        f"{ACCOUNT}: listed by Resource Graph but gone from ARM (HTTP 404 ResourceNotFound); deleted during the "
        "scan, not evaluated"]
    assert failures(live) == EXPECTED_FAILURES
    assert not any("sto4036" in f["resource"]["id"] for f in live["findings"])
    # The blob service's 404 was checked against the account itself before calling it gone.
    assert ("GET", ACCOUNT, 404) in {(s.method, s.path, s.status) for s in arm_server.state.seen}
    # A rescan of the snapshot tells the same story.
    result = CliRunner().invoke(main, ["scan", "--snapshot", str(snapshot), "--format", "json", "--all-outcomes",
                                       *ISOLATED])
    again = json.loads(result.stdout)
    assert (result.exit_code, again["errors"], again["files"]) == (1, [], live["files"])
    assert failures(again) == EXPECTED_FAILURES


@pytest.mark.parametrize("arm_faults", [Faults(expire_after=4)])
def test_an_expired_static_token_is_reported_read_by_read(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    code, live, stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B,
                                   extra=("--max-concurrency", "1", *ISOLATED))
    errors = [e["message"] for e in live["errors"]]
    assert code == 2
    assert stderr.splitlines() == [f"tierscan: error: {e}" for e in errors]
    assert TOKEN not in stderr
    # Resource Graph (4 pages) was read before the token expired; every ARM read after
    # it failed with 401, is listed, and the static credential is named once as the cause.
    gets = [s for s in arm_server.state.seen if s.method == "GET"]
    assert {(s.status, s.authorization) for s in gets} == {(401, f"Bearer {TOKEN}")}
    expired = ": HTTP 401 ExpiredAuthenticationToken: The access token has expired"
    assert [e for e in errors if not e.endswith(expired)] == [
        f"--azure-token-env ARM_TOKEN: ARM refused the token (HTTP 401) on {len(gets)} reads, listed above; a "
        "token from the environment cannot be refreshed, so use a credential that can (DefaultAzureCredential) "
        "for scans that outlive it"]
    assert sorted(e.split(" of ")[1].removesuffix(expired) for e in errors[:-1]) == sorted(
        s.path.split("/providers/Microsoft.Authorization")[0] if "locks" in s.path else s.path.rsplit("/", 2)[0]
        if s.path.endswith(("/default", "/vaultconfig", "/require_secure_transport")) else
        s.path.split("/providers/Microsoft.Insights")[0] for s in gets)
    # No data store is judged half-read (every one relates to locks and diagnostics).
    assert failures(live) == []
    assert len(live["files"]) == 9
    assert {f["reason"].split(": ")[1] for f in live["files"]} == {
        "not evaluated, its Microsoft.Authorization/locks could not be read"}


@pytest.mark.parametrize("arm_faults", [Faults(expire_after=4)])
def test_after_a_401_the_credential_is_asked_again(arm_server: ArmServer, tls_files: tuple[Path, ...],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """azure-core drops its cached token on a 401 and asks the credential again before the
    next request; a static token can only hand back the same token, which ARM refuses."""
    monkeypatch.setenv("ARM_TOKEN", TOKEN)
    options = AzureLiveOptions(subscriptions=[SUB_A, SUB_B], token_env="ARM_TOKEN", arm_endpoint=arm_server.endpoint,
                               ca_bundle=str(tls_files[0]), max_concurrency=1)
    policies, _errors = load_policies([TEST_POLICIES])
    reader = AzureReader(options, policies)
    read = reader.run()
    gets = [s for s in arm_server.state.seen if s.method == "GET"]
    assert isinstance(reader._credential, StaticTokenCredential)
    # One ask for the Resource Graph client; on each subscription's ARM client, one for its
    # first read and one after each 401 before the next: every GET was preceded by an ask.
    assert reader._credential.asked == 1 + len(gets)
    assert [e.message for e in read.errors][-1].startswith("--azure-token-env ARM_TOKEN: ARM refused the token")


@pytest.mark.parametrize("arm_faults", [Faults(groups_fail=True)])
def test_without_resource_groups_no_resource_is_judged_at_a_guessed_tier(
        arm_server: ArmServer, tls_files: tuple[Path, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    code, errors, notes, fails = persistent_scan(arm_server, tls_files[0], monkeypatch)
    assert code == 2
    assert errors == [f"subscription {SUB_A}, {SUB_B}: HTTP 500 InternalServerError: Encountered internal server "
                      "error. Please try again"]
    assert notes == [f"subscription {SUB_A}, {SUB_B}: resources not read, their tier comes from resource group "
                     "tags, which could not be read"]
    assert fails == []
    # The group query and its one retry; the resource query is never sent.
    assert [(s.method, s.status) for s in arm_server.state.seen] == [("POST", 500), ("POST", 500)]


@pytest.mark.parametrize("arm_faults", [Faults(reset={DIAGNOSTICS: ALWAYS})], ids=["reset"])
def test_the_retries_option_sets_how_often_a_read_is_tried(arm_server: ArmServer,
                                                           tls_files: tuple[Path, ...]) -> None:
    code, live, _stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=("--retries", "0", *ISOLATED))
    assert code == 2
    assert [e["message"] for e in live["errors"]] == [
        f"Microsoft.Insights/diagnosticSettings of {ACCOUNT}: the connection was reset, after retries"]
    tried = [s for s in arm_server.state.seen if s.path.endswith(DIAGNOSTICS)]
    assert len(tried) == 1  # --retries 0: asked once, never again
