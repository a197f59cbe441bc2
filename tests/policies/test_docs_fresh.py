"""The generated policy docs and README rule table match the policy files.

The generator runs into a temporary directory (with a copy of the README) and its output
is compared with docs/policies/ and the README's table. When this fails, run
`tierscan docs` from the repository root and commit the result.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from scanner.docs import TABLE_END, TABLE_START, plan_docs, replace_table, run_docs, trim
from scanner.engine.loader import builtin_policy_dir, load_policies
from tests.conftest import ROOT

DOCS = ROOT / "docs" / "policies"
README = ROOT / "README.md"
HOW_TO_FIX = "the generated docs are stale: run `tierscan docs` from the repository root"


def generate_into(tmp: Path) -> tuple[Path, Path]:
    shutil.copyfile(README, tmp / "README.md")
    code, lines = run_docs(tmp / "docs" / "policies", tmp / "README.md", check=False)
    assert code == 0, lines
    return tmp / "docs" / "policies", tmp / "README.md"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The generator's output for the current policies (docs dir, README copy); read-only."""
    return generate_into(tmp_path_factory.mktemp("docs"))


def table(text: str) -> str:
    return text[text.index(TABLE_START):text.index(TABLE_END)]


def test_policy_pages_and_index_are_fresh(generated: tuple[Path, Path]) -> None:
    docs = generated[0]
    want = {p.name: p.read_text(encoding="utf-8") for p in sorted(docs.iterdir())}
    have = {p.name: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))} if DOCS.is_dir() else {}
    assert sorted(have) == sorted(want), HOW_TO_FIX
    stale = [name for name in sorted(want) if have[name] != want[name]]
    assert stale == [], HOW_TO_FIX


def test_readme_rule_table_is_fresh(generated: tuple[Path, Path]) -> None:
    readme = generated[1]
    current = README.read_text(encoding="utf-8")
    assert TABLE_START in current and TABLE_END in current, "README.md lacks the policy-table markers"
    assert table(current) == table(readme.read_text(encoding="utf-8")), HOW_TO_FIX


def test_every_policy_has_a_page_with_the_fixed_sections(generated: tuple[Path, Path]) -> None:
    docs = generated[0]
    policies, errors = load_policies([builtin_policy_dir()])
    assert errors == []
    sections = ["## Synopsis", "## Rationale", "## Applies to", "## Tiers and parameters", "## How it is checked",
                "## Remediation", "## Examples", "## References"]
    for policy in policies:
        page = (docs / f"{policy.id}.md").read_text(encoding="utf-8")
        assert page.splitlines()[2] == f"# {policy.id}: {policy.title}"
        assert [line for line in page.splitlines() if line.startswith("## ")] == sections, policy.id
        for ref in policy.references:
            assert f"- <{ref}>" in page


def test_workload_replicas_page_shows_tiers_parameters_and_fixture_examples(generated: tuple[Path, Path]) -> None:
    docs = generated[0]
    page = (docs / "HA-K8S-001.md").read_text(encoding="utf-8")
    assert "| critical | yes | 15 min – 1 h | 0 min – 15 min | 3 |" in page
    assert "| high | yes | 1 h – 4 h | 15 min – 30 min | 2 |" in page
    assert "| medium | no | 4 h – 8 h | 30 min – 1 h | — |" in page
    assert ("[`policies/kubernetes/high-availability/workload-replicas.yaml`]"
            "(../../policies/kubernetes/high-availability/workload-replicas.yaml)") in page
    # Every failure the fixtures assert is shown with its line and message, below the input.
    fixtures = ROOT / "fixtures" / "kubernetes" / "workload-replicas"
    fails = [r for r in yaml.safe_load((fixtures / "expected.yaml").read_text())["results"] if r["outcome"] == "fail"]
    assert fails
    for row in fails:
        assert f"- `{row['resource']}` (line {row['line']}, fail): {row['message']}" in page
    assert "`fail.yaml`:\n\n```yaml\n" + trim((fixtures / "fail.yaml").read_text()) + "\n```" in page
    assert "`pass.yaml`:\n\n```yaml\n" + trim((fixtures / "pass.yaml").read_text()) + "\n```" in page


def test_generation_is_deterministic_and_check_detects_staleness(tmp_path: Path) -> None:
    docs, readme = generate_into(tmp_path)
    first = {p.name: p.read_bytes() for p in docs.iterdir()}
    assert run_docs(docs, readme, check=True)[0] == 0
    code, lines = run_docs(docs, readme, check=False)
    assert (code, lines[-1]) == (0, f"0 file(s) changed, {len(first)} generated.")
    assert {p.name: p.read_bytes() for p in docs.iterdir()} == first

    (docs / "HA-K8S-001.md").write_text("edited by hand\n", encoding="utf-8")
    (docs / "HA-K8S-999.md").write_text("a policy that no longer exists\n", encoding="utf-8")
    (docs / "notes.txt").write_text("not generated, left alone\n", encoding="utf-8")
    code, lines = run_docs(docs, readme, check=True)
    assert code == 1
    assert [line for line in lines if line.startswith("stale: ")] == [
        f"stale: {docs / 'HA-K8S-001.md'}", f"stale: {docs / 'HA-K8S-999.md'}"]
    assert lines[-1] == "2 generated file(s) are stale; run `tierscan docs` to regenerate them."
    assert run_docs(docs, readme, check=False)[0] == 0
    assert sorted(p.name for p in docs.iterdir()) == sorted([*first, "notes.txt"])
    assert run_docs(docs, readme, check=True)[0] == 0


def test_readme_without_markers_is_left_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# project\n\nNo table here.\n", encoding="utf-8")
    code, lines = run_docs(tmp_path / "docs", readme, check=False)
    assert code == 0
    assert readme.read_text(encoding="utf-8") == "# project\n\nNo table here.\n"
    assert lines[0] == (f"tierscan: {readme} has no '{TABLE_START}' / '{TABLE_END}' markers; "
                        "the README rule table was left alone.")
    assert run_docs(tmp_path / "docs", readme, check=True)[0] == 0


def test_replace_table_keeps_everything_outside_the_markers() -> None:
    text = f"intro\n{TABLE_START}\nold\n{TABLE_END}\noutro\n"
    assert replace_table(text, "| new |") == f"intro\n{TABLE_START}\n| new |\n{TABLE_END}\noutro\n"
    assert replace_table("no markers\n", "| new |") is None


def test_long_examples_are_trimmed() -> None:
    text = "\n".join(f"line{i}: x" for i in range(70))
    assert trim(text).splitlines()[-2:] == ["line59: x", "# ... (10 more lines in the fixture file)"]
    assert trim(text, comment="//").splitlines()[-1] == "// ... (10 more lines in the fixture file)"
    assert trim(text, max_lines=70) == text


def test_plan_reads_policies_from_the_checkout() -> None:
    policies, _ = load_policies([builtin_policy_dir()])
    plan = plan_docs(policies, builtin_policy_dir(), DOCS, README)
    assert sorted(p.name for p in plan.files) == sorted([*(f"{p.id}.md" for p in policies), "README.md"])
