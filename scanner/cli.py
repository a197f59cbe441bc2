"""The `tierscan` command line.

Exit codes: 0 clean; 1 findings at or above --fail-on; 2 usage errors or anything that
could not be scanned (a file, a policy). Heavy modules are imported inside the
commands that need them, so `tierscan scan one-file.yaml` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from scanner import __version__

SEVERITIES = ["critical", "high", "medium", "low", "info"]

SCAN_HELP = """Scan Kubernetes manifests and ARM templates for HA, DR, security,
governance and observability problems, with thresholds set by each resource's tier.

PATHS are files or directories (default: the current directory). Directories are
walked; every file found is scanned, skipped with a stated reason, or reported as
an error.

\b
Examples:
  tierscan scan examples/odoo-on-aks
  tierscan scan k8s/ --format sarif --output tierscan.sarif
  tierscan scan deploy.yaml --fail-on critical
  tierscan scan infra/ --format json --all-outcomes | jq '.summary'

\b
Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  usage error, or something could not be scanned (see errors)
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tierscan")
def main() -> None:
    """tierscan: tier-aware compliance scanning for ERP platforms on Azure and Kubernetes.

    Every workload and data store has a criticality tier (critical, high, medium, low)
    with RTO/RPO targets; policy thresholds follow the tier.

    \b
    Start with:
      tierscan scan examples/odoo-on-aks
      tierscan policies list
      tierscan policies show HA-K8S-001
    """


@main.command(help=SCAN_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True, help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of stdout.")
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "none"]), default="high", show_default=True,
              help="Exit 1 when a failing finding has this severity or worse.")
@click.option("--policy-dir", "policy_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Extra directory of policy files (repeatable); loaded after the built-in ones.")
@click.option("--no-builtin-policies", is_flag=True, help="Use only the policies from --policy-dir.")
@click.option("--default-tier", type=click.Choice(["critical", "high", "medium", "low"]), default="high",
              show_default=True, help="Tier for resources that declare none (label/tag, namespace, RG).")
@click.option("--default-environment", type=click.Choice(["production", "staging", "test", "development"]),
              default="production", show_default=True, help="Environment for resources that declare none.")
@click.option("--all-outcomes", is_flag=True,
              help="Also list passing and not-applicable results (json/text); counts are always shown.")
@click.option("--max-file-size", type=int, default=10 * 1024 * 1024, show_default=True,
              help="Skip (and report) files larger than this many bytes.")
@click.option("--category", default="tierscan", show_default=True,
              help="SARIF automationDetails category, so that different scans don't replace each other.")
def scan(paths: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str, policy_dirs: tuple[Path, ...],
         no_builtin_policies: bool, default_tier: str, default_environment: str, all_outcomes: bool,
         max_file_size: int, category: str) -> None:
    from scanner.engine.evaluate import EvaluationOptions
    from scanner.engine.tiers import TierSettings
    from scanner.scan import ScanOptions, exit_code, load_all_policies, scan_paths

    options = ScanOptions(
        policy_dirs=list(policy_dirs), builtin_policies=not no_builtin_policies,
        tiers=TierSettings(default_tier=default_tier, default_environment=default_environment),
        evaluation=EvaluationOptions(keep_passing=all_outcomes), max_file_size=max_file_size,
    )
    loaded = load_all_policies(options)
    policies = loaded[0]
    result = scan_paths(list(paths) or [Path()], options, loaded)
    text = _render(fmt, result, policies, category, output)
    _emit(text, output)
    if fmt != "text" or output is not None:
        for error in result.errors:
            click.echo(f"tierscan: error: {error.one_line()}", err=True)
    sys.exit(exit_code(result, fail_on))


def _render(fmt: str, result: Any, policies: list[Any], category: str, output: Path | None) -> str:
    from scanner.report import formatter

    render = formatter(fmt)
    if fmt == "sarif":
        return render(result, policies, category=category)
    if fmt == "text":
        return render(result, policies, colour=output is None and sys.stdout.isatty())
    return render(result, policies)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@main.group()
def policies() -> None:
    """List and explain the policies.

    \b
    Examples:
      tierscan policies list --platform azure --area disaster-recovery
      tierscan policies list --tier critical --format json
      tierscan policies show DR-AZ-002
    """


@policies.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--area", type=click.Choice(["high-availability", "disaster-recovery", "security",
                                           "governance", "observability"]), help="Only this area.")
@click.option("--platform", type=click.Choice(["kubernetes", "azure"]), help="Only this platform.")
@click.option("--severity", type=click.Choice(SEVERITIES), help="Only this severity.")
@click.option("--tier", type=click.Choice(["critical", "high", "medium", "low"]),
              help="Only policies that apply to this tier.")
@click.option("--policy-dir", "policy_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Extra directory of policy files (repeatable).")
def policies_list(fmt: str, area: str | None, platform: str | None, severity: str | None, tier: str | None,
                  policy_dirs: tuple[Path, ...]) -> None:
    """List policies, optionally filtered.

    \b
    Examples:
      tierscan policies list
      tierscan policies list --area security --platform kubernetes
      tierscan policies list --format json | jq -r '.[].id'
    """
    from scanner.scan import ScanOptions, load_all_policies

    loaded, errors = load_all_policies(ScanOptions(policy_dirs=list(policy_dirs)))
    chosen = [p for p in sorted(loaded, key=lambda p: p.id)
              if (area is None or p.area == area) and (platform is None or p.platform.value == platform)
              and (severity is None or p.severity.value == severity) and (tier is None or tier in p.tiers)]
    if fmt == "json":
        click.echo(json.dumps([{
            "id": p.id, "slug": p.slug, "title": p.title, "severity": p.severity.value, "area": p.area,
            "platform": p.platform.value, "tiers": p.tiers, "environments": p.environments,
            "applies_to": p.kinds, "view": p.view, "references": p.references,
        } for p in chosen], indent=2))
    else:
        for p in chosen:
            click.echo(f"{p.id:<11} {p.severity.value:<8} {p.platform.value:<10} {p.title}")
        click.echo(f"{len(chosen)} policies")
    for error in errors:
        click.echo(f"tierscan: error: {error.one_line()}", err=True)
    sys.exit(2 if errors else 0)


@policies.command("show")
@click.argument("policy_id")
def policies_show(policy_id: str) -> None:
    """Explain one policy: what it checks, why, how to fix it, and the thresholds per tier.

    \b
    Example:
      tierscan policies show HA-K8S-001
    """
    from scanner.scan import ScanOptions, load_all_policies

    loaded, _ = load_all_policies(ScanOptions())
    found = {p.id.upper(): p for p in loaded}.get(policy_id.upper())
    if found is None:
        click.echo(f"tierscan: no policy {policy_id}; see `tierscan policies list`", err=True)
        sys.exit(2)
    p = found
    click.echo(f"{p.id}  {p.title}")
    click.echo(f"severity: {p.severity.value}   area: {p.area}   platform: {p.platform.value}")
    click.echo(f"applies to: {', '.join(p.kinds)} (view: {p.view})")
    click.echo(f"tiers: {', '.join(p.tiers)}"
               + (f"   environments: {', '.join(p.environments)}" if p.environments else ""))
    if p.params:
        for name, by_tier in p.params.items():
            click.echo(f"parameter {name}: " + ", ".join(f"{k}={v}" for k, v in by_tier.items()))
    click.echo(f"\nWhy:\n  {p.rationale}\n\nFix:\n  {p.remediation}\n")
    click.echo("References:\n" + "\n".join(f"  {ref}" for ref in p.references))
    click.echo(f"\nDefined in {p.file}")


if __name__ == "__main__":  # pragma: no cover
    main()
