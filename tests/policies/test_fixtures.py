"""Every policy, on its own fixtures: the exact outcome and message per resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.policies.fixture_harness import all_policies, key, run_fixture

FOLDERS = sorted(p.parent for p in FIXTURES.glob("*/*/expected.yaml"))


@pytest.mark.parametrize("folder", FOLDERS, ids=[f"{p.parent.name}/{p.name}" for p in FOLDERS])
def test_policy_fixtures(folder: Path) -> None:
    actual, expected, errors = run_fixture(folder)
    assert not errors
    actual_keys = sorted(key(r) for r in actual)
    expected_keys = sorted(key(r) for r in expected)
    assert actual_keys == expected_keys
    by_key = {key(r): r for r in actual}
    for row in expected:
        got = by_key[key(row)]
        if row["outcome"] in ("fail", "suppressed") or "message" in row:
            assert got["message"] == row["message"], key(row)
        if "line" in row:
            assert got["line"] == row["line"], key(row)
    outcomes = {r["outcome"] for r in actual}
    assert {"pass", "fail", "not-applicable"} <= outcomes, f"{folder.name} lacks a fixture kind: {outcomes}"


def test_every_policy_has_fixtures() -> None:
    for policy in all_policies().values():
        folder = FIXTURES / policy.platform.value / policy.slug
        assert (folder / "expected.yaml").is_file(), f"{policy.id}: no fixtures at {folder}"
