"""Compare JSON Schema validators on tierscan's own conditions and subjects.

Loads every shipped policy with tierscan's loader, then scans benchmark corpora with
tierscan's own pipeline (in one process) while recording every (condition, subject)
pair the engine validates: the exact documents the engine builds (views, `context`,
related objects). The recording wraps each compiled condition's `is_valid` at run time,
inside this script only. Then, over exactly the same pairs, it times validity alone
(a boolean) with:

1. `jsonschema`'s Draft202012Validator, one validator built per schema;
2. `fastjsonschema`, installed into bench/.venv-tools on first use (never a project
   dependency; `--no-fastjsonschema` skips it) and imported from there, compiled with
   use_default=False (so it never writes defaults into the subjects) and
   use_formats=False (tierscan treats `format` as an annotation). Its faster
   detailed_exceptions=False mode is not used: in 2.22.3 it fails to compile any schema
   with a sub-schema (KeyError 'definition_rule');
3. tierscan's closure compiler (scanner/engine/compiled_schema.py).

It reports compile time, validation time and µs per validation, whether each engine
agrees with jsonschema (the reference) on every pair, and which of our schemas each
engine cannot compile or would only partly understand (keywords outside the draft it
implements, which it ignores). Markdown on stdout.

    .venv/bin/python bench/schema_engines.py                      # k8s-1000 and iac-1000
    .venv/bin/python bench/schema_engines.py --corpus bench/.corpus/k8s-100 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # run from a checkout: `scanner` is the project's package

from scanner.engine.compiled_schema import Unsupported, compile_schema  # noqa: E402
from scanner.engine.conditions import Condition  # noqa: E402
from scanner.scan import ScanOptions, load_all_policies, scan_paths  # noqa: E402

TOOLS_VENV = BENCH / ".venv-tools"
K8S_GENERATOR = ROOT.parent / "shared" / "bench" / "gen-k8s-corpus"
IAC_GENERATOR = BENCH / "gen_iac_corpus.py"
TIERS = ("critical", "high", "medium", "low")

Check = Callable[[Any], bool]
NOT_COMPILED = "error: not compiled"

# Keywords by draft (https://json-schema.org/draft-07/json-schema-validation and
# https://json-schema.org/draft/2020-12/json-schema-core). fastjsonschema implements
# drafts 04, 06 and 07 and ignores any other keyword.
DRAFT7 = {
    "$id", "$schema", "$ref", "$comment", "title", "description", "default", "examples", "readOnly",
    "writeOnly", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "items", "additionalItems", "maxItems", "minItems",
    "uniqueItems", "contains", "maxProperties", "minProperties", "required", "properties", "patternProperties",
    "additionalProperties", "dependencies", "propertyNames", "if", "then", "else", "allOf", "anyOf", "oneOf",
    "not", "format", "definitions", "contentMediaType", "contentEncoding",
}
# Where sub-schemas sit, to walk a schema's keywords (not its property names).
_SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
_SCHEMA_ONE = {"items", "contains", "not", "if", "then", "else", "additionalProperties", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "additionalItems", "contentSchema"}
_SCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}


def keywords(schema: Any, found: Counter[str] | None = None) -> Counter[str]:
    """Every keyword a schema uses, sub-schemas included."""
    found = Counter() if found is None else found
    if not isinstance(schema, dict):
        return found
    for key, value in schema.items():
        found[key] += 1
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for sub in value.values():
                keywords(sub, found)
        elif key in _SCHEMA_ONE:
            for sub in value if isinstance(value, list) else [value]:
                keywords(sub, found)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            for sub in value:
                keywords(sub, found)
    return found


# --- capture -----------------------------------------------------------------------------

@dataclass
class Captured:
    schemas: list[dict[str, Any]] = field(default_factory=list)
    owners: list[set[str]] = field(default_factory=list)  # "POLICY-ID when|assert" per schema
    pairs: list[tuple[int, Any]] = field(default_factory=list)  # (schema index, subject)
    policies: int = 0
    resources: int = 0
    scan_errors: int = 0


def capture(corpora: list[Path]) -> Captured:
    """Scan `corpora` with tierscan in this process, recording what each condition sees."""
    out = Captured()
    options = ScanOptions()
    # One process: a forked child's validations would not reach the recorder.
    options.parallel_min_files = 10**9
    options.evaluation.parallel_min_resources = 10**9
    policies, errors = load_all_policies(options)
    out.policies = len(policies)
    by_text: dict[str, int] = {}
    wrapped: dict[int, tuple[Condition, Check]] = {}

    def register(condition: Condition, owner: str) -> None:
        text = json.dumps(condition.schema, sort_keys=True)
        index = by_text.setdefault(text, len(out.schemas))
        if index == len(out.schemas):
            out.schemas.append(condition.schema)
            out.owners.append(set())
        out.owners[index].add(owner)
        if id(condition) in wrapped:
            return
        original = condition.is_valid
        pairs = out.pairs

        def recording(document: Any) -> bool:
            pairs.append((index, document))
            return original(document)

        wrapped[id(condition)] = (condition, original)
        condition.is_valid = recording

    for policy in policies:
        for tier in TIERS:
            compiled = policy.conditions_for(tier)
            if compiled.when is not None:
                register(compiled.when, f"{policy.id} when")
            register(compiled.assert_, f"{policy.id} assert")
    try:
        for corpus in corpora:
            result = scan_paths([corpus], options, loaded=(policies, errors))
            out.resources += sum(f.resources or 0 for f in result.files)
            out.scan_errors += len(result.errors)
    finally:
        for condition, original in wrapped.values():
            condition.is_valid = original
    return out


# --- engines -----------------------------------------------------------------------------

@dataclass
class EngineRun:
    name: str
    version: str
    compile_s: float = 0.0
    failed: dict[int, str] = field(default_factory=dict)  # schema index -> why it did not compile
    ignored: dict[int, list[str]] = field(default_factory=dict)  # schema index -> keywords it ignores
    checks: list[Check | None] = field(default_factory=list)
    results: list[bool | str] = field(default_factory=list)  # per pair: validity, or "error: ..."
    validate_s: float = 0.0
    runs_s: list[float] = field(default_factory=list)
    timed_pairs: int = 0
    disagreements: list[int] = field(default_factory=list)


def compile_all(run: EngineRun, schemas: list[dict[str, Any]], make: Callable[[dict[str, Any]], Check]) -> None:
    total = 0.0
    for index, schema in enumerate(schemas):
        start = time.perf_counter()
        try:
            check: Check | None = make(schema)
        except Exception as exc:  # an engine's own reason, reported per schema
            check = None
            run.failed[index] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        total += time.perf_counter() - start
        run.checks.append(check)
    run.compile_s = total


def jsonschema_engine(schemas: list[dict[str, Any]]) -> EngineRun:
    from jsonschema import Draft202012Validator

    run = EngineRun("jsonschema Draft202012Validator", _version("jsonschema"))
    compile_all(run, schemas, lambda schema: Draft202012Validator(schema).is_valid)
    return run


def tierscan_engine(schemas: list[dict[str, Any]]) -> EngineRun:
    run = EngineRun("tierscan compiled closures", _version("tierscan"))
    compile_all(run, schemas, compile_schema)
    for index, why in list(run.failed.items()):
        if why.startswith(Unsupported.__name__):
            run.failed[index] = f"unsupported: {why.split(': ', 1)[-1]}"
    return run


def fastjsonschema_engine(schemas: list[dict[str, Any]], site: Path) -> EngineRun:
    # Imported from the tools venv, ahead of anything else of that name, then the path
    # is dropped again so nothing else resolves there.
    sys.path.insert(0, str(site))
    try:
        import fastjsonschema
    finally:
        sys.path.remove(str(site))

    def make(schema: dict[str, Any]) -> Check:
        validate = fastjsonschema.compile(schema, use_default=False, use_formats=False)
        invalid = fastjsonschema.JsonSchemaValueException

        def is_valid(document: Any) -> bool:
            try:
                validate(document)
            except invalid:
                return False
            return True

        return is_valid

    where = Path(fastjsonschema.__file__).resolve()
    run = EngineRun("fastjsonschema (draft-07)", str(fastjsonschema.VERSION)
                    + ("" if where.is_relative_to(site.resolve()) else f" from {where.parent}"))
    compile_all(run, schemas, make)
    for index, schema in enumerate(schemas):
        unknown = sorted(set(keywords(schema)) - DRAFT7)
        if unknown:
            run.ignored[index] = unknown
    return run


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


def tools_site(spec: str) -> tuple[Path | None, str]:
    """bench/.venv-tools/.../site-packages with fastjsonschema, created on first use."""
    python = TOOLS_VENV / "bin" / "python"
    try:
        if not python.is_file():
            subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True, capture_output=True)
        probe = [str(python), "-c", "import fastjsonschema, sysconfig; print(sysconfig.get_paths()['purelib'])"]
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode != 0:
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", spec], check=True,
                           capture_output=True, text=True)
            found = subprocess.run(probe, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"could not set up {TOOLS_VENV} with {spec}: {str(detail).strip()[-300:]}"
    return Path(found.stdout.strip()), ""


# --- measuring ---------------------------------------------------------------------------

def results_of(run: EngineRun, pairs: list[tuple[int, Any]]) -> None:
    """Untimed pass: every pair's verdict (or the error it raised). Also warms caches."""
    for index, document in pairs:
        check = run.checks[index]
        if check is None:
            run.results.append(NOT_COMPILED)
            continue
        try:
            run.results.append(bool(check(document)))
        except Exception as exc:
            run.results.append(f"error: {type(exc).__name__}: {exc}")


def time_engine(run: EngineRun, pairs: list[tuple[int, Any]], usable: list[int], repeat: int) -> None:
    checks = [run.checks[pairs[i][0]] for i in usable]
    documents = [pairs[i][1] for i in usable]
    work = list(zip(checks, documents, strict=True))
    run.timed_pairs = len(work)
    gc.collect()
    gc.disable()  # as in a scan (scanner/scan.py pauses the collector), and alike for every engine
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            for check, document in work:
                check(document)  # type: ignore[misc]  # None was filtered out via `usable`
            run.runs_s.append(time.perf_counter() - start)
    finally:
        gc.enable()
    run.validate_s = statistics.median(run.runs_s)


def ensure_corpus(kind: str, apps: int, corpus_dir: Path) -> Path:
    """bench/.corpus/<kind>-<apps>, generated as bench/run.py does (seeded, `.complete`)."""
    target = corpus_dir / f"{kind}-{apps}"
    if (target / ".complete").is_file():
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    generator = K8S_GENERATOR if kind == "k8s" else IAC_GENERATOR
    made = subprocess.run([sys.executable, str(generator), str(target), str(apps)], check=True,
                          capture_output=True, text=True)
    (target / ".complete").write_text(made.stdout if kind == "iac" else f"{apps}\n")
    return target


def markdown(captured: Captured, corpora: list[Path], runs: list[EngineRun], skipped: str, repeat: int) -> str:
    reference = runs[0]
    used = Counter[str]()
    for schema in captured.schemas:
        keywords(schema, used)
    lines = [
        f"Measured {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, Python "
        f"{platform.python_version()}; {captured.policies} policies, {len(captured.schemas)} distinct compiled "
        f"conditions (`when`/`assert` per tier parameter set); corpora "
        f"{', '.join(c.name for c in corpora)} ({captured.resources} resources, {captured.scan_errors} scan "
        f"errors): {len(captured.pairs)} (schema, subject) pairs the engine validated. Validation time is the "
        f"median of {repeat} passes over the same pairs, validity only.",
        "",
        f"Timed over the {runs[0].timed_pairs} pairs whose schema every engine compiled and on which none raised "
        f"({sum(reference.results[i] is True for i in range(len(captured.pairs)))} of all pairs valid, the rest "
        "invalid: the engine also validates `when` preconditions, and the corpora are half non-compliant).",
        "",
        "| engine | version | schemas compiled | compile time (all schemas) | validate the common pairs "
        "| µs per validation | agrees with jsonschema | pairs it raised on |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        compiled = len(captured.schemas) - len(run.failed)
        per = run.validate_s / run.timed_pairs * 1e6 if run.timed_pairs else 0.0
        agree = "reference" if run is reference else (
            f"{run.timed_pairs - len(run.disagreements)} / {run.timed_pairs}"
            + (f" (**{len(run.disagreements)} differ**)" if run.disagreements else ""))
        lines.append(f"| {run.name} | {run.version} | {compiled} / {len(captured.schemas)} | "
                     f"{run.compile_s * 1000:.1f} ms | {run.validate_s:.3f} s ({run.timed_pairs} pairs) | "
                     f"{per:.2f} | {agree} | {sum(isinstance(r, str) and r != NOT_COMPILED for r in run.results)} |")
    if skipped:
        lines += ["", f"fastjsonschema skipped: {skipped}"]
    lines += ["", "Keywords our schemas use (occurrences): "
              + ", ".join(f"`{k}` {n}" for k, n in sorted(used.items()))]
    for run in runs:
        for index, why in sorted(run.failed.items()):
            lines.append(f"- {run.name} cannot compile schema {index} "
                         f"({', '.join(sorted(captured.owners[index]))}): {why}")
        for index, unknown in sorted(run.ignored.items()):
            lines.append(f"- {run.name} ignores {', '.join(f'`{k}`' for k in unknown)} in schema {index} "
                         f"({', '.join(sorted(captured.owners[index]))})")
        shown = run.disagreements[:10]
        for position in shown:
            index, _ = captured.pairs[position]
            lines.append(f"- {run.name} says {run.results[position]} where jsonschema says "
                         f"{reference.results[position]}: schema {index} "
                         f"({', '.join(sorted(captured.owners[index]))})")
        if len(run.disagreements) > len(shown):
            lines.append(f"- ... {len(run.disagreements) - len(shown)} more disagreements for {run.name}")
    return "\n".join(lines) + "\n"


def summary(captured: Captured, corpora: list[Path], runs: list[EngineRun], skipped: str) -> dict[str, Any]:
    """The figures as JSON (for --json and the smoke test)."""
    return {
        "corpora": [c.name for c in corpora], "policies": captured.policies, "resources": captured.resources,
        "scan_errors": captured.scan_errors, "schemas": len(captured.schemas), "pairs": len(captured.pairs),
        "fastjsonschema_skipped": skipped,
        "engines": [{
            "name": run.name, "version": run.version, "compiled": len(captured.schemas) - len(run.failed),
            "failed": {str(i): why for i, why in run.failed.items()},
            "ignored_keywords": {str(i): unknown for i, unknown in run.ignored.items()},
            "compile_s": round(run.compile_s, 6), "validate_s": round(run.validate_s, 6),
            "runs_s": [round(t, 6) for t in run.runs_s], "timed_pairs": run.timed_pairs,
            "disagreements": len(run.disagreements),
            "raised": sum(isinstance(r, str) and r != NOT_COMPILED for r in run.results),
        } for run in runs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, action="append",
                        help="corpus directory to scan (repeatable; default: bench/.corpus/k8s-1000 and iac-1000, "
                             "generated if missing)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per engine; the median is reported")
    parser.add_argument("--no-fastjsonschema", action="store_true", help="skip fastjsonschema (no venv, no pip)")
    parser.add_argument("--fastjsonschema-spec", default="fastjsonschema", help="pip requirement for fastjsonschema")
    parser.add_argument("--output", type=Path, help="also write the Markdown here")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)

    corpora = args.corpus or [ensure_corpus("k8s", 1000, BENCH / ".corpus"),
                              ensure_corpus("iac", 1000, BENCH / ".corpus")]
    started = time.perf_counter()
    captured = capture([c.resolve() for c in corpora])
    print(f"schema_engines: captured {len(captured.pairs)} pairs over {len(captured.schemas)} schemas "
          f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    runs = [jsonschema_engine(captured.schemas)]
    skipped = ""
    if args.no_fastjsonschema:
        skipped = "--no-fastjsonschema"
    else:
        site, skipped = tools_site(args.fastjsonschema_spec)
        if site is not None:
            runs.append(fastjsonschema_engine(captured.schemas, site))
    runs.append(tierscan_engine(captured.schemas))

    for run in runs:
        results_of(run, captured.pairs)
    # Timed over the same pairs for every engine: those no engine failed to compile or raised on.
    usable = [i for i in range(len(captured.pairs))
              if all(isinstance(run.results[i], bool) for run in runs)]
    reference = runs[0]
    for run in runs:
        run.disagreements = [i for i in usable if run.results[i] != reference.results[i]]
        time_engine(run, captured.pairs, usable, args.repeat)
        print(f"schema_engines: {run.name}: {run.validate_s:.3f} s", file=sys.stderr)

    text = markdown(captured, corpora, runs, skipped, args.repeat)
    print(text, end="")
    if args.output:
        args.output.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(summary(captured, corpora, runs, skipped), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
