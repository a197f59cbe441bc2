"""The `tierscan` command line.

Exit codes: 0 clean; 1 findings at or above --fail-on; 2 usage errors or anything that
could not be scanned (a file, a policy). Heavy modules are imported inside the
commands that need them, so `tierscan scan one-file.yaml` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from scanner import __version__
from scanner.sources.live_cli import LIVE_HELP_EXAMPLES, live_options, live_request, progress_for_terminal
from scanner.sources.options import INPUT_KINDS

SEVERITIES = ["critical", "high", "medium", "low", "info"]

SCAN_HELP = """Scan Kubernetes manifests, Helm charts, Kustomize overlays, ARM, Bicep and
Terraform (or live Azure subscriptions and clusters) for HA, DR, security, governance
and observability problems, with thresholds set by each resource's tier.

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


def _dash_is_stdout(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """`-o -` means stdout, as in most command-line tools (it used to create a file named `-`)."""
    return None if value is not None and str(value) == "-" else value


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tierscan")
def main() -> None:
    """tierscan: tier-aware compliance scanning for ERP platforms on Azure and Kubernetes.

    Every workload and data store has a criticality tier (critical, high, medium, low)
    with RTO/RPO targets; policy thresholds follow the tier.

    \b
    Start with:
      tierscan scan examples/odoo-on-aks
      tierscan recovery examples/odoo-on-aks    # achievable RPO/RTO against each tier
      tierscan policies list
      tierscan policies show HA-K8S-001
    """


@main.command(help=SCAN_HELP + LIVE_HELP_EXAMPLES)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "junit", "markdown", "github"]),
              default="text", show_default=True,
              help="Report format: text, json, sarif (GitHub code scanning), junit (CI test reporters), "
                   "markdown (job summary), github (workflow annotations).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Config file (default: the nearest .tierscan.yaml from the first PATH up to the repo root).")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="Report only findings that are not in this baseline file; list fixed ones as resolved.")
@click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="Record the current failing findings in this file (then exit 0 unless something failed to scan).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), callback=_dash_is_stdout,
              help="Write the report to FILE instead of stdout (`-` is stdout).")
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "none"]), default=None,
              help="Exit 1 when a failing finding has this severity or worse.  [default: config's fail_on, or high]")
@click.option("--policy-dir", "policy_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Extra directory of policy files (repeatable); loaded after the built-in ones.")
@click.option("--no-builtin-policies", is_flag=True, help="Use only the policies from --policy-dir.")
@click.option("--default-tier", type=click.Choice(["critical", "high", "medium", "low"]), default=None,
              help="Tier for resources that declare none (label/tag, namespace, RG).  [default: config, or high]")
@click.option("--default-environment", type=click.Choice(["production", "staging", "test", "development"]),
              default=None, help="Environment for resources that declare none.  [default: config, or production]")
@click.option("--all-outcomes", is_flag=True,
              help="Also list passing and not-applicable results (json/text); counts are always shown.")
@click.option("--max-file-size", type=int, default=10 * 1024 * 1024, show_default=True,
              help="Skip (and report) files larger than this many bytes.")
@click.option("--report", "extra_reports", multiple=True, metavar="FORMAT=FILE",
              help="Also write FORMAT to FILE from the same scan (repeatable), e.g. --report sarif=out.sarif "
                   "--report markdown=$GITHUB_STEP_SUMMARY. A markdown report is appended, not overwritten.")
@click.option("--category", default="tierscan", show_default=True,
              help="SARIF automationDetails category, so that different scans don't replace each other.")
@click.option("--input-kind", type=click.Choice(list(INPUT_KINDS)), default="auto", show_default=True,
              help="Read the inputs as this kind instead of recognising each by content and name: in a "
                   "directory only that kind's files are read (the rest are listed as skipped); a named manifest, "
                   "ARM template or plan is read as that kind whatever its name. helm/kustomize render each named "
                   "directory.")
@click.option("--parameters", "parameter_files", multiple=True, type=click.Path(dir_okay=False, exists=True,
              path_type=Path), help="ARM parameter file (repeatable; later files win). Default: "
              "<template>.parameters.json beside each template.")
@click.option("--var-file", "var_files", multiple=True, type=click.Path(dir_okay=False, exists=True,
              path_type=Path), help="Terraform variables file for the root modules (repeatable; later files win), like "
              "`-var-file`; a local child module gets the values its `module` block passes.")
@click.option("--helm-values", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Values file for Helm charts (repeatable; later files win), like `helm -f`.")
@click.option("--helm-set", multiple=True, metavar="KEY=VALUE",
              help="Set a Helm value (repeatable), like `helm --set`; wins over --helm-values.")
@click.option("--helm-release", default="release-name", show_default=True, help="Release name Helm renders with.")
@click.option("--helm-namespace", help="Namespace Helm renders and installs into (default: Helm's default).")
@live_options
def scan(paths: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str | None, policy_dirs: tuple[Path, ...],
         no_builtin_policies: bool, default_tier: str | None, default_environment: str | None, all_outcomes: bool,
         max_file_size: int, category: str, config_path: Path | None, baseline: Path | None,
         write_baseline: Path | None, input_kind: str, parameter_files: tuple[Path, ...],
         helm_values: tuple[Path, ...], helm_set: tuple[str, ...], helm_release: str, helm_namespace: str | None,
         extra_reports: tuple[str, ...], var_files: tuple[Path, ...], **live: Any) -> None:
    from scanner.config import ConfigError, apply_to_policies, find_config, load_config
    from scanner.engine.evaluate import EvaluationOptions
    from scanner.scan import ScanOptions, exit_code, load_all_policies, scan_paths
    from scanner.sources.options import SourceOptions

    targets = list(paths) or [Path()]
    extras = [_parse_report(spec) for spec in extra_reports]
    for destination, option in [(output, "--output"), *((file, "--report") for _fmt, file in extras)]:
        _check_writable(destination, option)
    try:
        config = load_config(config_path or find_config(targets[0]))
    except ConfigError as exc:
        _fail_usage(str(exc))
    tiers = config.tiers
    tiers.default_tier = default_tier or tiers.default_tier
    tiers.default_environment = default_environment or tiers.default_environment
    options = ScanOptions(
        policy_dirs=[*config.policy_dirs, *policy_dirs], builtin_policies=not no_builtin_policies, tiers=tiers,
        evaluation=EvaluationOptions(keep_passing=all_outcomes, suppression_rules=config.suppressions),
        max_file_size=max_file_size, exclude=config.is_excluded if config.exclude else None,
        sources=SourceOptions(input_kind=input_kind, parameter_files=list(parameter_files), var_files=list(var_files),
                              helm_values=list(helm_values), helm_set=list(helm_set), helm_release=helm_release,
                              helm_namespace=helm_namespace),
    )
    loaded_policies, load_errors = load_all_policies(options)
    policies, config_errors = apply_to_policies(loaded_policies, config)
    # live_request imports the live sources; a file scan (no live option set beyond the
    # two tuning options, which have defaults and alone ask for nothing) skips it.
    asked = any(value for key, value in live.items() if key not in ("live_max_concurrency", "live_timeout"))
    live_scan = live_request(live, paths) if asked else None
    if live_scan is not None:
        from scanner.scan import scan_live

        progress = progress_for_terminal()
        result = scan_live(live_scan, options, (policies, load_errors + config_errors), progress)
        if progress is not None:
            progress.close()
    else:
        result = scan_paths(targets, options, (policies, load_errors + config_errors))
    if write_baseline is not None:
        from scanner.baseline import write_baseline as write

        count = write(result, write_baseline)
        click.echo(f"tierscan: wrote {count} findings to baseline {write_baseline}", err=True)
    _apply_baseline(result, baseline or (config.baseline if write_baseline is None else None))
    from scanner.scan import no_cycle_collection

    with no_cycle_collection():  # rendering builds many objects and no cycles; see scan.py
        _write_report(fmt, result, policies, category, output)
    for extra_format, extra_file in extras:
        with no_cycle_collection():
            if extra_format != "markdown":
                _write_report(extra_format, result, policies, category, extra_file, option="--report")
                continue
            rendered = _render(extra_format, result, policies, category, extra_file)
        # Markdown is appended: it is meant for $GITHUB_STEP_SUMMARY, which other steps share.
        try:
            with extra_file.open("a", encoding="utf-8") as handle:
                handle.write(rendered)
        except OSError as exc:
            _fail_usage(f"--report {extra_file}: cannot write the report ({exc.strerror}); "
                        "check the path and permissions")
    if fmt != "text" or output is not None:
        for error in result.errors:
            click.echo(f"tierscan: error: {error.one_line()}", err=True)
    code = exit_code(result, fail_on or config.fail_on or "high")
    sys.exit(min(code, 0 if not result.errors else 2) if write_baseline is not None else code)


def _parse_report(spec: str) -> tuple[str, Path]:
    from scanner.report import FORMATS

    name, sep, file = spec.partition("=")
    if not sep or name not in FORMATS or not file:
        _fail_usage(f"--report {spec!r}: expected FORMAT=FILE with FORMAT one of {', '.join(FORMATS)}")
    if file == "-":
        _fail_usage(f"--report {spec}: stdout takes the main report; use --format {name} (and --output -) "
                    "or name a file")
    return name, Path(file)


def _check_writable(path: Path | None, option: str) -> None:
    """Fail before scanning, not after, when a report could not be written."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path()
    if not parent.is_dir():
        _fail_usage(f"{option} {path}: directory {parent} does not exist; create it or choose another path")
    if path.is_dir():
        _fail_usage(f"{option} {path}: is a directory; give a file name")


def _fail_usage(message: str) -> NoReturn:
    click.echo(f"tierscan: error: {message}", err=True)
    sys.exit(2)


def _apply_baseline(result: Any, path: Path | None) -> None:
    if path is None:
        return
    from scanner.baseline import BaselineError, apply_baseline, read_baseline

    try:
        known = read_baseline(path)
    except BaselineError as exc:
        _fail_usage(str(exc))
    diff = apply_baseline(result, known)
    result.baseline = {"file": str(path), "new": diff.new, "existing": diff.existing, "resolved": diff.resolved}


def _render(fmt: str, result: Any, policies: list[Any], category: str, output: Path | None) -> str:
    from scanner.report import formatter

    render = formatter(fmt)
    if fmt == "sarif":
        return render(result, policies, category=category)
    if fmt == "text":
        return render(result, policies, colour=output is None and sys.stdout.isatty())
    return render(result, policies)


def _write_report(fmt: str, result: Any, policies: list[Any], category: str, output: Path | None,
                  option: str = "--output") -> None:
    """Render the report to `output` (or stdout). JSON and SARIF are written as they are
    encoded, so a 10,000-app report (hundreds of MB) is never held in memory whole."""
    from scanner.report import streaming_formatter

    render_to = streaming_formatter(fmt)
    if render_to is None:
        _emit(_render(fmt, result, policies, category, output), output, option)
        return
    extra = {"category": category} if fmt == "sarif" else {}
    if output is None:
        render_to(result, policies, sys.stdout.write, **extra)
        sys.stdout.flush()
        return
    try:
        with output.open("w", encoding="utf-8") as handle:
            render_to(result, policies, handle.write, **extra)
    except OSError as exc:
        _fail_usage(f"{option} {output}: cannot write the report ({exc.strerror}); check the path and permissions")


def _emit(text: str, output: Path | None, option: str = "--output") -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            _fail_usage(f"{option} {output}: cannot write the report ({exc.strerror}); check the path and permissions")


@main.command()
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), default=Path(".tierscan.yaml"),
              show_default=True, help="Where to write the config.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter .tierscan.yaml.

    \b
    Example:
      tierscan init && $EDITOR .tierscan.yaml
    """
    from scanner.config import STARTER

    if path.exists() and not force:
        _fail_usage(f"{path} exists; use --force to overwrite it")
    path.write_text(STARTER, encoding="utf-8")
    click.echo(f"wrote {path}: edit it, then run `tierscan scan`")


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


@main.command("recovery")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "sarif"]), default="text",
              show_default=True, help="text: a table per service; json: the assessment (input of --history); "
              "html: a self-contained posture report; sarif: the DR-SVC-* findings for code scanning.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), callback=_dash_is_stdout,
              help="Write the report to FILE instead of stdout (`-` is stdout).")
@click.option("--history", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Directory of earlier `--format json` reports; the HTML report draws their trend.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Config file (default: the nearest .tierscan.yaml from the first PATH up to the repo root).")
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "none"]), default=None,
              help="Exit 1 when a gap has this severity or worse.  [default: config's fail_on, or high]")
@click.option("--default-tier", type=click.Choice(["critical", "high", "medium", "low"]), default=None,
              help="Tier for resources that declare none.  [default: config, or high]")
@click.option("--default-environment", type=click.Choice(["production", "staging", "test", "development"]),
              default=None, help="Environment for resources that declare none.  [default: config, or production]")
@click.option("--category", default="tierscan-recovery", show_default=True, help="SARIF automationDetails category.")
@live_options
def recovery_command(paths: tuple[Path, ...], fmt: str, output: Path | None, history: Path | None,
                     config_path: Path | None, fail_on: str | None, default_tier: str | None,
                     default_environment: str | None, category: str, **live: Any) -> None:
    """Can this platform meet the RPO and RTO of its tiers, and where not, why not?

    Groups workloads and the data stores they use into services, estimates the
    recovery point and time each can achieve for pod/node, zone and region loss and
    for data corruption or deletion (figures cited in policies/recovery-model.yaml), and reports every gap with its
    chain of evidence. Reads PATHS (default: the current directory), or live state
    with the same options as `tierscan scan` (--azure, --kubernetes), or a snapshot
    saved by a live scan (--snapshot FILE).

    \b
    Examples:
      tierscan recovery examples/odoo-on-aks
      tierscan recovery infra/ k8s/ --format html --output posture.html --history reports/
      tierscan recovery . --format json --output reports/$(date +%F).json
      tierscan recovery --azure --subscription 0000-... --kube-context prod-weu --format html -o posture.html
      tierscan recovery --snapshot night.json      # the assessment of a saved live scan
    """
    from scanner.recovery.command import RecoveryRequest
    from scanner.recovery.command import main as run_recovery

    # As in `scan`: the two tuning options have defaults and alone ask for no live scan.
    asked = any(value for key, value in live.items() if key not in ("live_max_concurrency", "live_timeout"))
    live_scan = live_request(live, paths) if asked else None
    progress = progress_for_terminal() if live_scan is not None else None
    code = run_recovery(RecoveryRequest(list(paths), fmt, output, history, config_path, default_tier,
                                        default_environment, fail_on, category, live_scan, progress))
    if progress is not None:
        progress.close()
    sys.exit(code)


@main.command("merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "sarif"]), default=None,
              help="Format of the inputs and the output (merge does not convert).  [default: the inputs']")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), callback=_dash_is_stdout,
              help="Write the report to FILE instead of stdout (`-` is stdout).")
def merge_command(files: tuple[Path, ...], fmt: str | None, output: Path | None) -> None:
    """Combine the JSON reports or SARIF logs of `--shard I/N` runs into one report.

    JSON: findings, files and errors in one sorted list each (errors every shard
    reports, such as a broken policy, once); the summary's outcome counts are summed
    from the shards' summaries, so passes count even when not listed; a baseline entry
    is resolved only if every shard resolved it. SARIF: one run with the union of the
    rules, every result and every notification; the shards' --category must agree.
    Paths split so that no relation crosses the split merge into the report of
    one scan of all the paths.

    \b
    Examples:
      tierscan merge shard-*.json --output nightly.json
      tierscan merge shard-*.sarif --format sarif -o nightly.sarif

    \b
    Exit codes:
      0  merged
      2  an input is not a tierscan report, formats are mixed, or shards disagree
    """
    from scanner.merge import MergeError, merge_files

    try:
        text = merge_files(list(files), fmt)
    except MergeError as exc:
        _fail_usage(str(exc))
    _emit(text, output)


@main.command("docs")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/policies"),
              show_default=True, help="Directory for the per-policy pages and their index.")
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path), default=Path("README.md"),
              show_default=True, help="README whose rule table (between the policy-table markers) is rewritten.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any generated file is stale.")
def docs_command(output_dir: Path, readme: Path, check: bool) -> None:
    """Generate the policy reference (one page per policy, an index) and the README rule table.

    \b
    Examples:
      tierscan docs
      tierscan docs --check      # in CI: fail when the docs are stale
    """
    from scanner.docs import run_docs

    code, lines = run_docs(output_dir, readme, check)
    for line in lines:
        click.echo(line, err=line.startswith("tierscan:") or code != 0)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
