"""Live Azure scans against the loopback HTTPS ARM / Resource Graph server.

The real azure-identity-free path (`--azure-token-env`), the real ResourceGraphClient
and ResourceManagementClient talk TLS to tests/live/arm_server.py; nothing is patched.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scanner.cli import main
from tests.live.arm_server import TOKEN, ArmServer, Faults
from tests.live.azure_world import ARM_FIXTURE, ROOT, SUB_A, SUB_B, SUB_FORBIDDEN, arm_template, build_estate

TEST_POLICIES = ROOT / "tests" / "live" / "policies"
ISOLATED = ["--no-builtin-policies", "--policy-dir", str(TEST_POLICIES)]
RG_QUERY_PAGES = 1  # two resource groups, three rows a page
RESOURCE_QUERY_PAGES = 3  # nine resources of the types the test policies need

# Every failure the test policies must find in subscriptions A and B (policy, type, name).
EXPECTED_FAILURES = sorted([
    ("DR-AZ-902", "microsoft.recoveryservices/vaults/backupconfig", "patchtest/vaultconfig"),
    ("DR-AZ-902", "microsoft.recoveryservices/vaults/backupconfig", "swaggerexample/vaultconfig"),
    ("DR-AZ-902", "microsoft.recoveryservices/vaults/backupconfig", "today1/vaultconfig"),
    ("DR-AZ-903", "microsoft.dbforpostgresql/flexibleservers/configurations", "pgtestsvc1/require_secure_transport"),
    ("DR-AZ-903", "microsoft.dbforpostgresql/flexibleservers/configurations", "pgtestsvc4/require_secure_transport"),
    ("DR-AZ-904", "microsoft.keyvault/vaults", "sample-vault"),
    ("DR-AZ-905", "microsoft.keyvault/vaults", "sample-vault"),
    ("DR-AZ-906", "microsoft.keyvault/vaults", "sample-vault"),
    ("DR-AZ-906", "microsoft.recoveryservices/vaults", "patchtest"),
    ("DR-AZ-906", "microsoft.recoveryservices/vaults", "swaggerexample"),
    ("DR-AZ-906", "microsoft.recoveryservices/vaults", "today1"),
    ("DR-AZ-907", "microsoft.dbforpostgresql/flexibleservers", "pgtestsvc1"),
])


def live_scan(server: ArmServer, ca: Path, *subs: str, extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any], str]:
    args = ["scan", "--azure", *[a for s in subs for a in ("--subscription", s)], "--azure-token-env", "ARM_TOKEN",
            "--arm-endpoint", server.endpoint, "--ca-bundle", str(ca), "--format", "json", "--all-outcomes", *extra]
    result = CliRunner().invoke(main, args, env={"ARM_TOKEN": TOKEN})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout), result.stderr


def file_scan(path: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["scan", str(path), "--format", "json", "--all-outcomes", *extra])
    return result.exit_code, json.loads(result.stdout)


def outcomes(report: dict[str, Any]) -> Counter[tuple[str, str, str, str, str]]:
    return Counter((f["policy"], f["resource"]["type"].lower(), f["resource"]["name"].lower(), f["outcome"],
                    (f.get("message") or "").lower()) for f in report["findings"])


def failures(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((f["policy"], f["resource"]["type"].lower(), f["resource"]["name"].lower())
                  for f in report["findings"] if f["outcome"] == "fail")


def test_arm_fixture_is_current() -> None:
    """fixtures/live/azure-estate.json is generated from the corpus (python tests/live/azure_world.py)."""
    assert json.loads(ARM_FIXTURE.read_text(encoding="utf-8")) == arm_template(build_estate([SUB_A, SUB_B]))


def test_live_scan_finds_what_the_arm_template_shows(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    code, live, _stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=tuple(ISOLATED))
    file_code, from_file = file_scan(ARM_FIXTURE, tuple(ISOLATED))
    assert (code, file_code) == (1, 1)
    assert failures(live) == EXPECTED_FAILURES
    assert outcomes(live) == outcomes(from_file)
    assert live["errors"] == []
    # Resource IDs are kept as the live location, with the casing ARM uses for types.
    vault = next(f for f in live["findings"] if f["policy"] == "DR-AZ-904")
    assert vault["resource"]["id"] == (f"/subscriptions/{SUB_A}/resourceGroups/rg-erp-prod/providers/"
                                       "Microsoft.KeyVault/vaults/sample-vault")
    assert vault["resource"]["type"] == "Microsoft.KeyVault/vaults"
    assert vault["resource"]["namespace"] == "rg-erp-prod"
    # One batch for both subscriptions, every page followed, a bearer token on every call.
    posts = [s for s in arm_server.state.seen if s.method == "POST"]
    assert [s.subscriptions for s in posts] == [[SUB_A, SUB_B]] * (RG_QUERY_PAGES + RESOURCE_QUERY_PAGES)
    assert {s.authorization for s in arm_server.state.seen} == {f"Bearer {TOKEN}"}
    assert {s.status for s in arm_server.state.seen} == {200}
    # Locks are listed once per subscription, following nextLink (two locks a page).
    assert sorted(s.path for s in arm_server.state.seen if "locks" in s.path.lower()) == [
        f"/subscriptions/{SUB_A}/providers/Microsoft.Authorization/locks",
        f"/subscriptions/{SUB_B}/providers/Microsoft.Authorization/locks",
        f"/subscriptions/{SUB_B}/providers/Microsoft.Authorization/locks"]
    gets = sorted(s.path for s in arm_server.state.seen if s.method == "GET" and "blobServices" in s.path)
    assert gets == [f"/subscriptions/{SUB_A}/resourceGroups/rg-erp-prod/providers/Microsoft.Storage/"
                    "storageAccounts/sto4036/blobServices/default",
                    f"/subscriptions/{SUB_B}/resourceGroups/rg-erp-shared/providers/Microsoft.Storage/"
                    "storageAccounts/sto4452/blobServices/default",
                    f"/subscriptions/{SUB_B}/resourceGroups/rg-erp-shared/providers/Microsoft.Storage/"
                    "storageAccounts/sto8596/blobServices/default"]


def test_live_scan_matches_arm_with_builtin_policies(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    """Whatever the built-in Azure policies are, live and ARM views agree on them."""
    extra: tuple[str, ...] = ()
    _code, live, _stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=extra)
    _file_code, from_file = file_scan(ARM_FIXTURE, extra)
    assert outcomes(live) == outcomes(from_file)


@pytest.mark.parametrize("arm_faults", [Faults(throttle={SUB_B: 1}, unavailable={SUB_A: 1})])
def test_throttled_and_failing_subscriptions_still_complete(arm_server: ArmServer,
                                                            tls_files: tuple[Path, ...]) -> None:
    code, live, _stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=tuple(ISOLATED))
    assert code == 1
    assert live["errors"] == []
    assert failures(live) == EXPECTED_FAILURES
    statuses = [s.status for s in arm_server.state.seen]
    assert statuses.count(429) == 1
    throttled = statuses.index(429)
    after = arm_server.state.seen[throttled + 1]
    assert after.at - arm_server.state.seen[throttled].at >= 0.9  # Retry-After: 1 was honoured
    assert statuses.count(503) == 1
    assert arm_server.state.faults.throttle == {SUB_B: 0}


@pytest.mark.parametrize("arm_faults", [Faults(forbidden={SUB_FORBIDDEN})])
def test_forbidden_subscription_is_reported_and_the_rest_scanned(
        arm_server: ArmServer, tls_files: tuple[Path, ...], tmp_path: Path) -> None:
    snapshot = tmp_path / "night.json"
    code, live, stderr = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, SUB_FORBIDDEN,
                                   extra=(*ISOLATED, "--save-snapshot", str(snapshot)))
    assert code == 2
    message = (f"subscription {SUB_FORBIDDEN}: forbidden (403, AuthorizationFailed): The client does not have "
               "authorization to perform action 'Microsoft.ResourceGraph/resources/read' over scope "
               f"'/subscriptions/{SUB_FORBIDDEN}'; grant the scanner Reader there")
    assert [e["message"] for e in live["errors"]] == [message]
    assert stderr.splitlines() == [f"tierscan: error: {message}"]
    assert failures(live) == EXPECTED_FAILURES  # A and B were read in full
    assert not any(SUB_FORBIDDEN in (s.path or "") for s in arm_server.state.seen if s.method == "GET")

    # The snapshot rescans offline to the same findings and the same unread subscription.
    text = snapshot.read_text(encoding="utf-8")
    assert TOKEN not in text
    result = CliRunner().invoke(main, ["scan", "--snapshot", str(snapshot), "--format", "json", "--all-outcomes",
                                       *ISOLATED])
    again = json.loads(result.stdout)
    assert result.exit_code == 2
    assert outcomes(again) == outcomes(live)
    assert [f["resource"]["id"] for f in again["findings"]] == [f["resource"]["id"] for f in live["findings"]]
    assert [e["message"] for e in again["errors"]] == [f"(from snapshot) {message}"]


def test_token_from_an_empty_variable_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["scan", "--azure", "--subscription", SUB_A, "--azure-token-env", "NOPE"],
                                env={"NOPE": ""})
    assert result.exit_code == 2
    assert "--azure-token-env NOPE: the environment variable is empty or unset" in result.stderr


def test_azure_needs_a_scope() -> None:
    result = CliRunner().invoke(main, ["scan", "--azure"])
    assert result.exit_code == 2
    assert "--azure needs --subscription, --management-group or --all-subscriptions" in result.stderr


def test_file_scan_does_not_import_the_live_sdks() -> None:
    code = ("import sys\nfrom scanner.cli import main\n"
            "try:\n    main(['scan', sys.argv[1], '--format', 'json'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'kubernetes')), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "fixtures" / "live" / "kubernetes" / "objects.yaml")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("arm_faults", [Faults(forbidden={SUB_FORBIDDEN})])
def test_all_subscriptions_are_discovered_and_sharded(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    code, live, _ = live_scan(arm_server, tls_files[0], extra=("--all-subscriptions", *ISOLATED))
    assert code == 2  # the forbidden one is found by discovery, then reported
    assert [e["message"].split(":")[0] for e in live["errors"]] == [f"subscription {SUB_FORBIDDEN}"]
    assert failures(live) == EXPECTED_FAILURES
    read: list[set[str]] = []
    for shard in ("1/2", "2/2"):
        _code, part, _ = live_scan(arm_server, tls_files[0], extra=("--all-subscriptions", "--shard", shard,
                                                                    *ISOLATED))
        read.append({f["resource"]["id"].split("/")[2] for f in part["findings"]})
    assert read[0] | read[1] == {SUB_A, SUB_B}
    assert read[0] & read[1] == set()


@pytest.mark.parametrize("arm_faults", [Faults(quota_spent_once=True)])
def test_spent_resource_graph_quota_pauses_the_next_query(arm_server: ArmServer,
                                                          tls_files: tuple[Path, ...]) -> None:
    code, _live, _ = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=tuple(ISOLATED))
    assert code == 1
    posts = [s for s in arm_server.state.seen if s.method == "POST"]
    assert posts[1].at - posts[0].at >= 0.9  # x-ms-user-quota-resets-after: 00:00:01


def test_an_untrusted_certificate_is_an_error_not_a_pass(arm_server: ArmServer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    args = ["scan", "--azure", "--subscription", SUB_A, "--azure-token-env", "ARM_TOKEN",
            "--arm-endpoint", arm_server.endpoint, "--format", "json", *ISOLATED]
    result = CliRunner().invoke(main, args, env={"ARM_TOKEN": TOKEN})
    assert result.exit_code == 2
    assert [e["message"] for e in json.loads(result.stdout)["errors"]] == [
        f"subscription {SUB_A}: TLS certificate not trusted; pass --ca-bundle (or set REQUESTS_CA_BUNDLE) "
        "for a private CA"]
    assert arm_server.state.seen == []  # no request got through, so no token was sent


@pytest.mark.parametrize("arm_faults", [Faults(slow={SUB_A: 1})])
def test_a_timed_out_read_is_retried(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    code, live, _ = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=("--timeout", "1", *ISOLATED))
    assert live["errors"] == []
    assert code == 1
    assert failures(live) == EXPECTED_FAILURES


@pytest.mark.parametrize("arm_faults", [Faults(forbidden={SUB_FORBIDDEN})])  # not readable: not returned
def test_a_management_group_is_one_scope(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    code, live, _ = live_scan(arm_server, tls_files[0], extra=("--management-group", "mg-erp", *ISOLATED))
    assert code == 1
    assert failures(live) == EXPECTED_FAILURES
    assert {s.subscriptions == [] for s in arm_server.state.seen if s.method == "POST"} == {True}


@pytest.mark.parametrize("arm_faults", [Faults(reads_low_once=True)])
def test_a_nearly_empty_arm_read_bucket_slows_the_reads(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    code, _live, _ = live_scan(arm_server, tls_files[0], SUB_A, SUB_B,
                               extra=("--max-concurrency", "1", *ISOLATED))
    assert code == 1
    gets = [s for s in arm_server.state.seen if s.method == "GET"]
    assert gets[1].at - gets[0].at >= 0.9  # x-ms-ratelimit-remaining-subscription-reads: 3
    assert all(b.at - a.at < 0.5 for a, b in itertools.pairwise(gets[1:]))


@pytest.mark.parametrize("arm_faults", [Faults(forbidden_paths={"/sto4036/blobServices/default"})])
def test_a_forbidden_child_read_is_reported(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    code, live, _ = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, extra=tuple(ISOLATED))
    assert code == 2
    account = f"/subscriptions/{SUB_A}/resourceGroups/rg-erp-prod/providers/Microsoft.Storage/storageAccounts/sto4036"
    assert [e["message"] for e in live["errors"]] == [
        f"Microsoft.Storage/storageAccounts/blobServices of {account}: forbidden (403, AuthorizationFailed): "
        "The client does not have authorization to perform action "
        "'Microsoft.Storage/storageAccounts/blobServices/read'; grant the scanner Reader there"]
    assert failures(live) == EXPECTED_FAILURES


def test_a_subscription_with_nothing_visible_gets_a_note(arm_server: ArmServer, tls_files: tuple[Path, ...]) -> None:
    empty = "44444444-4444-4444-4444-444444444444"
    code, live, _ = live_scan(arm_server, tls_files[0], SUB_A, SUB_B, empty, extra=tuple(ISOLATED))
    assert code == 1
    assert [f["reason"] for f in live["files"]] == [
        f"subscription {empty}: no resource group visible; check that the scanner has Reader there"]
