"""Meta-tests over every policy file: schema, naming, catalogue coverage, metadata style;
and the loader's errors for broken policy files (fixtures/bad-policies/<case>/).

Each test collects every offender before asserting, so one run lists all the problems.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from scanner.engine.loader import NON_POLICY_FILES, load_policies
from tests.conftest import FIXTURES, POLICIES, SHARED

CATALOGUE = SHARED / "design" / "CATALOGUE.md"
BAD_POLICIES = FIXTURES / "bad-policies"
ID_PATTERN = re.compile(r"^(HA|DR|SEC|GOV|OBS)-(K8S|AZ)-[0-9]{3}$")
AREA_PREFIX = {"high-availability": "HA", "disaster-recovery": "DR", "security": "SEC",
               "governance": "GOV", "observability": "OBS"}
PLATFORM_PREFIX = {"kubernetes": "K8S", "azure": "AZ"}
POLICY_PLATFORMS = ("kubernetes", "azure")


def policy_files() -> list[Path]:
    return sorted(p for p in POLICIES.rglob("*.yaml") if p.name not in NON_POLICY_FILES)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: a policy file holds one mapping"
    return data


@pytest.fixture(scope="module")
def documents() -> dict[Path, dict[str, Any]]:
    return {path: load(path) for path in policy_files()}


def rel(path: Path) -> str:
    return path.relative_to(POLICIES.parent).as_posix()


def catalogue_ids() -> list[str]:
    """The first column of every table row in the catalogue that holds a policy ID."""
    ids = []
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            first = line.strip("|").split("|", 1)[0].strip()
            if ID_PATTERN.match(first):
                ids.append(first)
    return ids


def test_there_are_policies(documents: dict[Path, dict[str, Any]]) -> None:
    assert rel(POLICIES / "kubernetes/high-availability/workload-replicas.yaml") in {rel(p) for p in documents}


def test_every_policy_file_validates_against_the_policy_schema(documents: dict[Path, dict[str, Any]]) -> None:
    schema = json.loads((POLICIES / "policy.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    problems = [f"{rel(path)}: {'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for path, doc in documents.items() for e in validator.iter_errors(doc)]
    assert problems == []


def test_ids_and_titles_are_unique(documents: dict[Path, dict[str, Any]]) -> None:
    by_id: dict[str, list[str]] = {}
    by_title: dict[str, list[str]] = {}
    for path, doc in documents.items():
        by_id.setdefault(str(doc.get("id")), []).append(rel(path))
        by_title.setdefault(str(doc.get("title", "")).strip().lower(), []).append(rel(path))
    assert {k: v for k, v in by_id.items() if len(v) > 1} == {}
    assert {k: v for k, v in by_title.items() if len(v) > 1} == {}


def test_slug_equals_file_name_and_fixture_folder(documents: dict[Path, dict[str, Any]]) -> None:
    problems = []
    for path, doc in documents.items():
        slug = doc.get("slug")
        if slug != path.stem:
            problems.append(f"{rel(path)}: slug '{slug}' != file name '{path.stem}'")
        platform = doc.get("match", {}).get("platform")
        if not (FIXTURES / str(platform) / path.stem).is_dir():
            problems.append(f"{rel(path)}: no fixture folder fixtures/{platform}/{path.stem}/")
    assert problems == []


def test_every_fixture_folder_belongs_to_a_policy(documents: dict[Path, dict[str, Any]]) -> None:
    slugs = {(doc.get("match", {}).get("platform"), path.stem): doc.get("id") for path, doc in documents.items()}
    problems = []
    for platform in POLICY_PLATFORMS:
        for folder in sorted((FIXTURES / platform).glob("*/")) if (FIXTURES / platform).is_dir() else []:
            policy_id = slugs.get((platform, folder.name))
            if policy_id is None:
                problems.append(f"fixtures/{platform}/{folder.name}/: no policy with slug '{folder.name}'")
                continue
            expected = folder / "expected.yaml"
            if expected.is_file():
                named = (yaml.safe_load(expected.read_text(encoding="utf-8")) or {}).get("policy")
                if named != policy_id:
                    problems.append(f"fixtures/{platform}/{folder.name}/expected.yaml: policy {named}, "
                                    f"but the policy with this slug is {policy_id}")
    assert problems == []


def test_folders_match_platform_and_area_and_the_id_says_both(documents: dict[Path, dict[str, Any]]) -> None:
    problems = []
    for path, doc in documents.items():
        parts = path.relative_to(POLICIES).parts
        platform, area = doc.get("match", {}).get("platform"), doc.get("area")
        if len(parts) != 3:
            problems.append(f"{rel(path)}: expected policies/<platform>/<area>/<slug>.yaml")
            continue
        if parts[0] != platform:
            problems.append(f"{rel(path)}: platform folder '{parts[0]}' but match.platform is '{platform}'")
        if parts[1] != area:
            problems.append(f"{rel(path)}: area folder '{parts[1]}' but area is '{area}'")
        prefix = f"{AREA_PREFIX.get(str(area))}-{PLATFORM_PREFIX.get(str(platform))}-"
        if not str(doc.get("id", "")).startswith(prefix):
            problems.append(f"{rel(path)}: id {doc.get('id')} should start with {prefix} (area {area}, {platform})")
    assert problems == []


def test_catalogue_ids_are_parsed() -> None:
    ids = catalogue_ids()
    assert ids[:2] == ["HA-K8S-001", "HA-K8S-002"]
    assert "DR-AZ-014" in ids and "OBS-AZ-003" in ids
    assert len(ids) == len(set(ids))


def test_every_catalogue_id_is_a_policy(documents: dict[Path, dict[str, Any]]) -> None:
    # A catalogue row that is really two checks is split into IDs with a letter suffix
    # (SEC-AZ-010A, SEC-AZ-010B); either form covers the row.
    present = {str(doc.get("id")) for doc in documents.values()}
    covered = present | {i[:-1] for i in present if i[-1:].isalpha()}
    missing = [i for i in catalogue_ids() if i not in covered]
    assert missing == []


def test_every_policy_id_is_a_catalogue_row_or_a_split_of_one(documents: dict[Path, dict[str, Any]]) -> None:
    catalogue = set(catalogue_ids())
    ids = sorted(str(doc.get("id")) for doc in documents.values())
    problems = [f"{i}: not in the catalogue" for i in ids if i not in catalogue and i[:-1] not in catalogue]
    # A split row is split into at least two policies, and the unsplit ID is not used too.
    for base in sorted({i[:-1] for i in ids if i[-1:].isalpha()}):
        parts = [i for i in ids if i[:-1] == base]
        if len(parts) < 2:
            problems.append(f"{base}: split into {parts} only; a split row has at least two parts")
        if base in ids:
            problems.append(f"{base}: used both whole and split ({parts})")
    assert problems == []


def test_at_least_one_https_reference(documents: dict[Path, dict[str, Any]]) -> None:
    problems = [rel(path) for path, doc in documents.items()
                if not any(isinstance(r, str) and r.startswith("https://") for r in doc.get("references", []))]
    assert problems == []


def test_titles_state_the_compliant_state(documents: dict[Path, dict[str, Any]]) -> None:
    problems = [f"{rel(path)}: {doc.get('title')}" for path, doc in documents.items()
                if str(doc.get("title", "")).lower().startswith(("ensure", "make sure"))]
    assert problems == []


def test_messages_end_with_a_period(documents: dict[Path, dict[str, Any]]) -> None:
    problems = [f"{rel(path)}: {doc.get('message')}" for path, doc in documents.items()
                if not str(doc.get("message", "")).rstrip().endswith(".")]
    assert problems == []


# ---------------------------------------------------------------- broken policy files

# case -> (the file the error must name, what the message must say). The fragments name
# the offending keyword and value; the loader's wording around them may evolve.
BAD_CASES = {
    "unknown-keyword": ("unknown-keyword.yaml", ["unknown keyword 'remedy'", "allowed: area, assert,"]),
    "invalid-assert-schema": ("invalid-assert-schema.yaml",
                              ["policy not loaded: 'assert' is not a valid JSON Schema: ", "'integr'"]),
    "undeclared-param": ("undeclared-param.yaml", ["'assert' uses $param ['minReplicas'] not declared under 'params'"]),
    "duplicate-id": ("second-policy.yaml", [
        "duplicate policy id HA-K8S-904 (already defined in fixtures/bad-policies/duplicate-id/first-policy.yaml)"]),
}
# What still loads next to the bad file: a bad policy never takes the others down.
BAD_CASE_LOADED = {"unknown-keyword": [], "invalid-assert-schema": [], "undeclared-param": [],
                   "duplicate-id": ["HA-K8S-904"]}


def test_every_bad_policy_case_is_tested() -> None:
    assert sorted(p.name for p in BAD_POLICIES.iterdir() if p.is_dir()) == sorted(BAD_CASES)


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_policy_gives_a_clear_error_naming_file_and_keyword(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative paths, so the messages are the ones a user running from the checkout sees.
    monkeypatch.chdir(FIXTURES.parent)
    folder = Path("fixtures/bad-policies") / case
    loaded, errors = load_policies([folder])
    file_name, fragments = BAD_CASES[case]
    assert [e.file for e in errors] == [str(folder / file_name)]
    line = errors[0].one_line()
    assert line.startswith(f"{folder / file_name}: ")
    assert [f for f in fragments if f not in line] == [], line
    assert "\n" not in line
    assert [p.id for p in loaded] == BAD_CASE_LOADED[case]
