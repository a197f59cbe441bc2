"""Benchmark harness: tierscan against the YAML parse floor (and optionally Checkov).

Generates Kubernetes corpora with ../shared/bench/gen-k8s-corpus, then, in the same run
and each in its own subprocess (so every figure includes interpreter start-up):

- the parse floor: PyYAML's CSafeLoader `load_all` over every file of the corpus;
- `tierscan scan DIR --format json --output /dev/null`;
- tierscan on a single manifest (the pre-commit case), beside `python -c pass`;
- with --checkov, Checkov from its own virtual environment (bench/.venv-checkov; never a
  project dependency) on the 100- and 300-app corpora;
- for --iac-sizes, an ARM + Terraform corpus from bench/gen_iac_corpus.py: its parse floor
  (json.load of every .json, python-hcl2 of every .tf) and the same tierscan scan.

Reports the median wall time of --repeat runs, the ratio to the floor and the peak RSS
of each child (from GNU time, or os.wait4), as a Markdown table on stdout (and in
--output), and as JSON with --json.

    .venv/bin/python bench/run.py                       # 100 and 1000 apps, 5 runs each
    .venv/bin/python bench/run.py --sizes 100,1000,10000 --repeat 3 --output bench/results.md
    .venv/bin/python bench/run.py --sizes 100 --checkov --checkov-sizes 100,300
    .venv/bin/python bench/run.py --sizes 100 --iac-sizes 100,1000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
GENERATOR = ROOT.parent / "shared" / "bench" / "gen-k8s-corpus"
IAC_GENERATOR = BENCH / "gen_iac_corpus.py"
CHECKOV_VENV = BENCH / ".venv-checkov"
GNU_TIME = "/usr/bin/time"

# The floor: parse every document of every file with libyaml, and nothing else.
PARSE_FLOOR = """
import sys
from pathlib import Path
import yaml
count = 0
for path in sorted(Path(sys.argv[1]).rglob("*.yaml")):
    with open(path, "rb") as handle:
        count += sum(1 for doc in yaml.load_all(handle, Loader=yaml.CSafeLoader) if doc is not None)
print(count)
"""

# The IaC floor: every ARM template through json.load and every .tf file through the HCL
# parser tierscan itself uses (python-hcl2's Lark tree, scanner/sources/terraform_parse.py),
# and nothing else. Prints the number of files of each kind.
IAC_PARSE_FLOOR = """
import json
import sys
from pathlib import Path
import hcl2
arm = tf = 0
for path in sorted(Path(sys.argv[1]).rglob("*")):
    if path.suffix == ".json":
        with open(path, "rb") as handle:
            json.load(handle)
        arm += 1
    elif path.suffix == ".tf":
        hcl2.parses_to_tree(path.read_text(encoding="utf-8-sig"))
        tf += 1
print(arm, tf)
"""


@dataclass
class Run:
    seconds: float
    exit_code: int
    peak_rss_mb: float
    stdout: str
    stderr: str


@dataclass
class Measurement:
    median_s: float
    runs_s: list[float]
    peak_rss_mb: float
    exit_codes: list[int]


@dataclass
class CorpusResult:
    apps: int
    files: int
    documents: int
    resources: int
    findings_failing: int
    floor: Measurement
    tierscan: Measurement
    ratio: float
    checkov: Measurement | None = None
    checkov_ratio: float | None = None
    checkov_resources: int | None = None


@dataclass
class IacCorpusResult:
    apps: int
    arm_files: int
    tf_files: int
    resources: int
    arm_resources: int
    tf_resources: int
    findings_passing: int
    findings_failing: int
    scan_errors: int
    floor: Measurement
    tierscan: Measurement
    ratio: float


@dataclass
class Report:
    date: str
    machine: str
    python: str
    repeat: int
    policies: int
    tierscan_version: str
    corpora: list[CorpusResult] = field(default_factory=list)
    single_file: dict[str, Any] = field(default_factory=dict)
    checkov_version: str | None = None
    iac_corpora: list[IacCorpusResult] = field(default_factory=list)


def run_once(cmd: list[str], cwd: Path = ROOT) -> Run:
    """One subprocess: wall time, exit code and its peak RSS.

    Linux carries a process's peak RSS across fork and exec, so a child forked from this
    (larger) Python process would report at least our own size. The command therefore
    runs under GNU time, whose own footprint is a few hundred KiB, and the peak comes from
    its report; without /usr/bin/time it falls back to the child's ru_maxrss (KiB).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss.name, *cmd] if Path(GNU_TIME).is_file() else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; tell Popen
        reported = rss.read().split()  # "Command exited with non-zero status N" may come first
        peak_kib = int(reported[-1]) if wrapped is not cmd and reported and reported[-1].isdigit() \
            else usage.ru_maxrss
        out.seek(0)
        err.seek(0)
        return Run(seconds, proc.returncode, peak_kib / 1024, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"))


def measure(cmd: list[str], repeat: int, ok_codes: tuple[int, ...] = (0,),
            cwd: Path = ROOT) -> tuple[Measurement, Run]:
    runs = [run_once(cmd, cwd) for _ in range(repeat)]
    for run in runs:
        if run.exit_code not in ok_codes:
            print(f"bench: warning: {' '.join(cmd)} exited {run.exit_code}: {run.stderr.strip()[-2000:]}",
                  file=sys.stderr)
    times = [r.seconds for r in runs]
    return (Measurement(round(statistics.median(times), 3), [round(t, 3) for t in times],
                        round(max(r.peak_rss_mb for r in runs), 1), [r.exit_code for r in runs]), runs[-1])


def generate(apps: int, corpus_dir: Path, generator: Path) -> Path:
    """The corpus for `apps` apps, generated once and reused (the generator is seeded)."""
    target = corpus_dir / f"k8s-{apps}"
    done = target / ".complete"
    if done.is_file():
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    subprocess.run([sys.executable, str(generator), str(target), str(apps)], check=True)
    done.write_text(f"{apps}\n")
    return target


def generate_iac(apps: int, corpus_dir: Path) -> tuple[Path, dict[str, int]]:
    """The ARM + Terraform corpus for `apps` apps, generated once and reused (seeded); the
    `.complete` marker keeps the generator's counts."""
    target = corpus_dir / f"iac-{apps}"
    done = target / ".complete"
    if done.is_file():
        return target, dict(json.loads(done.read_text()))
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    made = subprocess.run([sys.executable, str(IAC_GENERATOR), str(target), str(apps)], check=True,
                          capture_output=True, text=True)
    counts: dict[str, int] = json.loads(made.stdout)
    done.write_text(json.dumps(counts) + "\n")
    return target, counts


def bench_iac(args: argparse.Namespace, tierscan: list[str]) -> list[IacCorpusResult]:
    """Parse floor and tierscan on each ARM + Terraform corpus, in the same run."""
    floor_cmd = [sys.executable, "-c", IAC_PARSE_FLOOR]
    results = []
    for n in sorted(set(args.iac_sizes)):
        target, counts = generate_iac(n, args.corpus_dir)
        summary = scan_summary(tierscan, target)
        errors = int(summary.get("errors", 0)) + int(summary.get("files", {}).get("error", 0))
        if errors:
            print(f"bench: warning: tierscan reported {errors} error(s) on {target}", file=sys.stderr)
        if int(summary.get("resources", 0)) != counts["arm_resources"] + counts["tf_resources"]:
            print(f"bench: warning: tierscan found {summary.get('resources')} resources in {target}, the "
                  f"generator wrote {counts['arm_resources']} + {counts['tf_resources']}", file=sys.stderr)
        floor, floor_run = measure([*floor_cmd, str(target)], args.repeat)
        timed, _ = measure(scan_cmd(tierscan, target), args.repeat)
        parsed = [int(part) for part in floor_run.stdout.split()] or [0, 0]
        outcomes = summary.get("outcomes", {})
        results.append(IacCorpusResult(
            apps=n, arm_files=parsed[0], tf_files=parsed[-1], resources=int(summary.get("resources", 0)),
            arm_resources=counts["arm_resources"], tf_resources=counts["tf_resources"],
            findings_passing=int(outcomes.get("pass", 0)), findings_failing=int(outcomes.get("fail", 0)),
            scan_errors=errors, floor=floor, tierscan=timed, ratio=round(timed.median_s / floor.median_s, 2),
        ))
        print(f"bench: IaC {n} apps done", file=sys.stderr)
    return results


def tierscan_command(explicit: str | None) -> list[str]:
    if explicit:
        return explicit.split()
    script = Path(sys.executable).parent / "tierscan"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "scanner.cli"]


def scan_cmd(tierscan: list[str], target: Path, output: str = "/dev/null") -> list[str]:
    return [*tierscan, "scan", str(target), "--format", "json", "--output", output, "--fail-on", "none"]


def scan_summary(tierscan: list[str], target: Path) -> dict[str, Any]:
    """Untimed run that keeps the report, for the resource and finding counts."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        run = run_once(scan_cmd(tierscan, target, str(report)))
        if not report.is_file():
            raise SystemExit(f"bench: tierscan wrote no report (exit {run.exit_code}): {run.stderr.strip()}")
        data = json.loads(report.read_text())
        summary: dict[str, Any] = data["summary"]
        summary["version"] = data["tool"]["version"]
        return summary


def checkov_command(spec: str) -> list[str]:
    """Checkov from bench/.venv-checkov, created and installed on first use."""
    exe = CHECKOV_VENV / "bin" / "checkov"
    if not exe.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet", spec], check=True)
    return [str(exe)]


def checkov_scan(checkov: list[str], target: Path) -> tuple[list[str], Path]:
    """Checkov's command and the directory to run it in. Checkov skips every path with a
    hidden directory in it (and the corpora live in bench/.corpus/), so it is run from
    inside the corpus on a relative path."""
    if target.is_file():
        where, flag, arg = target.parent, "-f", target.name
    else:
        where, flag, arg = target, "-d", "."
    return [*checkov, flag, arg, "--framework", "kubernetes", "--quiet", "--compact", "--output", "json",
            "--soft-fail"], where


def checkov_resources(run: Run) -> int:
    """Resources Checkov says it scanned (a guard against it silently scanning nothing)."""
    try:
        data = json.loads(run.stdout)
    except json.JSONDecodeError:
        return 0
    reports = data if isinstance(data, list) else [data]
    return sum(int(r.get("summary", r).get("resource_count", 0)) for r in reports if isinstance(r, dict))


def bench(args: argparse.Namespace) -> Report:
    tierscan = tierscan_command(args.tierscan)
    sizes = sorted(set(args.sizes) | (set(args.checkov_sizes) if args.checkov else set()))
    corpora = {n: generate(n, args.corpus_dir, args.generator) for n in sizes}
    checkov = checkov_command(args.checkov_spec) if args.checkov else None
    floor_cmd = [sys.executable, "-c", PARSE_FLOOR]

    first = scan_summary(tierscan, corpora[sizes[0]])
    report = Report(
        date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        machine=f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        python=platform.python_version(), repeat=args.repeat, policies=int(first.get("policies", 0)),
        tierscan_version=str(first.get("version", "?")),
    )
    if checkov is not None:
        report.checkov_version = run_once([*checkov, "--version"]).stdout.strip()
    for n in sizes:
        target = corpora[n]
        files = sum(1 for _ in target.rglob("*.yaml"))
        summary = scan_summary(tierscan, target)
        floor, floor_run = measure([*floor_cmd, str(target)], args.repeat)
        timed, _ = measure(scan_cmd(tierscan, target), args.repeat)
        result = CorpusResult(
            apps=n, files=files, documents=int(floor_run.stdout.strip() or 0),
            resources=int(summary.get("resources", 0)),
            findings_failing=int(summary.get("outcomes", {}).get("fail", 0)),
            floor=floor, tierscan=timed, ratio=round(timed.median_s / floor.median_s, 2),
        )
        if checkov is not None and n in args.checkov_sizes:
            command, where = checkov_scan(checkov, target)
            result.checkov, last = measure(command, args.checkov_repeat, ok_codes=(0, 1), cwd=where)
            result.checkov_ratio = round(result.checkov.median_s / timed.median_s, 1)
            result.checkov_resources = checkov_resources(last)
            if not result.checkov_resources:
                print(f"bench: warning: Checkov scanned no resources in {target}", file=sys.stderr)
        report.corpora.append(result)
        print(f"bench: {n} apps done", file=sys.stderr)

    one = next(iter(sorted(corpora[sizes[0]].rglob("*.yaml"))))
    single: dict[str, Any] = {
        "file": one.relative_to(args.corpus_dir).as_posix(),
        "python_startup": asdict(measure([sys.executable, "-c", "pass"], args.repeat)[0]),
        "floor": asdict(measure([*floor_cmd, str(one.parent)], args.repeat)[0]),
        "tierscan": asdict(measure(scan_cmd(tierscan, one), args.repeat)[0]),
    }
    if checkov is not None:
        command, where = checkov_scan(checkov, one)
        single["checkov"] = asdict(measure(command, args.checkov_repeat, ok_codes=(0, 1), cwd=where)[0])
    report.single_file = single
    report.iac_corpora = bench_iac(args, tierscan)
    return report


def markdown(report: Report) -> str:
    lines = [
        f"Measured {report.date} on {report.machine}, Python {report.python}; tierscan {report.tierscan_version} "
        f"with {report.policies} policies. Median wall time of {report.repeat} run(s), each a fresh process "
        "(interpreter start-up included); peak RSS of that process."
        + (f" Checkov {report.checkov_version} (`--framework kubernetes`), median of its own runs."
           if report.checkov_version else ""),
        "",
        "| corpus | files | documents | resources | parse floor | tierscan | ratio to floor | tierscan peak RSS "
        "| Checkov | Checkov ÷ tierscan |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in report.corpora:
        checkov = f"{c.checkov.median_s:.2f} s ({c.checkov_resources} resources)" if c.checkov else "—"
        ratio = f"{c.checkov_ratio}×" if c.checkov_ratio is not None else "—"
        lines.append(f"| {c.apps} apps | {c.files} | {c.documents} | {c.resources} | {c.floor.median_s:.2f} s | "
                     f"{c.tierscan.median_s:.2f} s | {c.ratio:.2f}× | {c.tierscan.peak_rss_mb:.0f} MB | "
                     f"{checkov} | {ratio} |")
    s = report.single_file
    lines += [
        "",
        f"Single file (`{s['file']}`, the pre-commit case):",
        "",
        "| command | median wall | peak RSS |",
        "|---|---|---|",
        f"| `python -c pass` (interpreter start) | {s['python_startup']['median_s']:.3f} s | "
        f"{s['python_startup']['peak_rss_mb']:.0f} MB |",
        f"| parse floor | {s['floor']['median_s']:.3f} s | {s['floor']['peak_rss_mb']:.0f} MB |",
        f"| `tierscan scan FILE` | {s['tierscan']['median_s']:.3f} s | {s['tierscan']['peak_rss_mb']:.0f} MB |",
    ]
    if "checkov" in s:
        lines.append(f"| `checkov -f FILE` | {s['checkov']['median_s']:.3f} s | {s['checkov']['peak_rss_mb']:.0f} MB |")
    if report.iac_corpora:
        lines += [
            "",
            "ARM + Terraform corpora (`bench/gen_iac_corpus.py`; floor = `json.load` of every template and "
            "python-hcl2 of every `.tf` file):",
            "",
            "| IaC corpus | ARM files | Terraform files | resources (ARM + Terraform) | pass | fail | scan errors "
            "| parse floor | tierscan | ratio to floor | tierscan peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for i in report.iac_corpora:
            lines.append(f"| {i.apps} apps | {i.arm_files} | {i.tf_files} | {i.resources} ({i.arm_resources} + "
                         f"{i.tf_resources}) | {i.findings_passing} | {i.findings_failing} | {i.scan_errors} | "
                         f"{i.floor.median_s:.2f} s | {i.tierscan.median_s:.2f} s | {i.ratio:.2f}× | "
                         f"{i.tierscan.peak_rss_mb:.0f} MB |")
    return "\n".join(lines) + "\n"


def sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def optional_sizes(text: str) -> list[int]:
    """Like `sizes`, but "" or 0 switches the corpus off."""
    return [n for n in sizes(text) if n > 0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=sizes, default=[100, 1000], help="corpus sizes in apps (default 100,1000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is reported")
    parser.add_argument("--corpus-dir", type=Path, default=BENCH / ".corpus")
    parser.add_argument("--generator", type=Path, default=GENERATOR)
    parser.add_argument("--tierscan", help="command that runs tierscan (default: the venv's tierscan script)")
    parser.add_argument("--output", type=Path, help="also write the Markdown table here")
    parser.add_argument("--json", type=Path, help="write the full results as JSON here")
    parser.add_argument("--checkov", action="store_true", help="also time Checkov (installed in bench/.venv-checkov)")
    parser.add_argument("--checkov-sizes", type=sizes, default=[100, 300])
    parser.add_argument("--checkov-repeat", type=int, default=1)
    parser.add_argument("--checkov-spec", default="checkov", help="pip requirement for Checkov, e.g. checkov==3.2.0")
    parser.add_argument("--iac-sizes", type=optional_sizes, default=[100, 1000],
                        help="ARM + Terraform corpus sizes in apps (default 100,1000; \"\" or 0: none)")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE if set (default: unset it for the children)")
    args = parser.parse_args(argv)
    args.corpus_dir = args.corpus_dir.resolve()
    if not args.no_bytecode_cache:
        # An installed tierscan runs from cached bytecode; some sandboxes and CI images set
        # PYTHONDONTWRITEBYTECODE, which would charge every run for compiling the package.
        # The first (untimed) scan writes the cache; every timed run then uses it.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

    report = bench(args)
    text = markdown(report)
    print(text, end="")
    if args.output:
        args.output.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2) + "\n")
    codes = {code for c in report.corpora for code in c.tierscan.exit_codes}
    codes |= set(report.single_file["tierscan"]["exit_codes"])
    codes |= {code for i in report.iac_corpora for code in i.tierscan.exit_codes}
    codes |= {1 for i in report.iac_corpora if i.scan_errors}
    return 0 if codes == {0} else 1


if __name__ == "__main__":
    sys.exit(main())
