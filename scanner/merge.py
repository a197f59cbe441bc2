"""`tierscan merge`: combine the JSON reports or SARIF logs of `--shard i/n` runs into one.

A CI matrix scans a large tenant in shards (or a repository in parts); one report is
then uploaded. The merged report is what one scan of everything would have written,
with these rules (summarised in `tierscan merge --help`):

JSON report
- findings: concatenated and sorted with the key of scanner/report/common.py `sort_key`
  (file or live resource ID, line, column, policy, resource identity, container view);
  findings equal under that key keep the order of the FILE arguments.
- files: concatenated and sorted by path, as the JSON report does; equal paths (the
  `(live)` notes) keep the order of the FILE arguments.
- errors: concatenated, exact duplicates dropped (every shard reports the same policy
  load errors), sorted by (file, line, policy, message).
- summary: `outcomes` and `failures_by_severity` are the sums of the shards' summaries,
  because passing and not-applicable findings are only listed with --all-outcomes while
  every shard counts them; `resources` is summed; `files` and `errors` are recounted from
  the merged lists; `policies` must be the same in every shard.
- baseline (present in every shard or in none, naming the same file): `new` and
  `existing` are summed; `resolved` keeps the entries resolved in EVERY shard, since a
  shard reports as resolved each baseline entry it did not see, including those another
  shard scanned.

SARIF log
- one run; `tool.driver.rules` is the union by rule id, in order of first appearance;
  `results` are concatenated with `ruleIndex` remapped to that union and sorted like the
  findings above; the invocations become one whose notifications are the shards'
  (exact duplicates dropped) and which succeeded only if every shard's did;
  `automationDetails`, `originalUriBaseIds`, `columnKind` and the driver's version must
  agree across shards.

Inputs of another kind, or of both kinds at once, are refused with one line naming the file.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scanner.report.json_report import encode

JSON_KEYS = ("version", "tool", "summary", "findings", "files", "errors")


class MergeError(ValueError):
    """A one-line reason the inputs cannot be merged (exit 2)."""


def kind_of(doc: Any) -> str | None:
    """"json", "sarif", or None for anything that is not a tierscan report."""
    if not isinstance(doc, dict):
        return None
    if doc.get("version") == "2.1.0" and isinstance(doc.get("runs"), list):
        runs = doc["runs"]
        if len(runs) == 1 and isinstance(runs[0], dict) and \
                runs[0].get("tool", {}).get("driver", {}).get("name") == "tierscan":
            return "sarif"
        return None
    if all(key in doc for key in JSON_KEYS) and doc.get("version") == 1 and \
            isinstance(doc.get("tool"), dict) and doc["tool"].get("name") == "tierscan":
        return "json"
    return None


def load(files: list[Path]) -> tuple[str, list[tuple[Path, dict[str, Any]]]]:
    """Read every input and check they are all reports of one kind."""
    docs: list[tuple[Path, dict[str, Any]]] = []
    kind: str | None = None
    for file in files:
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise MergeError(f"{file}: cannot read: {exc}") from None
        except ValueError as exc:
            raise MergeError(f"{file}: not JSON: {exc}") from None
        this = kind_of(doc)
        if this is None:
            raise MergeError(f"{file}: not a tierscan JSON report or SARIF log")
        if kind is not None and this != kind:
            raise MergeError(f"{file}: is a {_NAMES[this]}, but {docs[0][0]} is a {_NAMES[kind]}; "
                             f"merge reports of one format")
        kind = this
        docs.append((file, doc))
    if kind is None:
        raise MergeError("no reports to merge")
    return kind, docs


_NAMES = {"json": "JSON report", "sarif": "SARIF log"}


def merge_files(files: list[Path], fmt: str | None = None) -> str:
    """The merged report's text. `fmt`, when given, must be the inputs' format: merging
    does not convert between formats."""
    kind, docs = load(files)
    if fmt is not None and fmt != kind:
        raise MergeError(f"{docs[0][0]}: is a {_NAMES[kind]}; --format {fmt} would need a conversion, "
                         f"which merge does not do")
    return encode(merge_json(docs) if kind == "json" else merge_sarif(docs))


# ---- JSON reports -------------------------------------------------------------------

def _identity(resource: dict[str, Any]) -> str:
    # Resource.identity (scanner/model.py), rebuilt from the report's resource fields.
    if resource.get("platform") == "kubernetes":
        return f"{resource.get('type')}/{resource.get('namespace') or '-'}/{resource.get('name')}"
    return f"{resource.get('type')}/{resource.get('name')}"


def finding_key(finding: dict[str, Any]) -> tuple[str, int, int, str, str, str]:
    """scanner/report/common.py sort_key, read back from a JSON finding: the report
    writes `resource.id` as the live resource ID when there is one, else the identity."""
    resource, location = finding.get("resource") or {}, finding.get("location") or {}
    identity = _identity(resource)
    live_id = resource.get("id") if resource.get("id") != identity else None
    return (location.get("file") or live_id or "", location.get("line") or 0, location.get("column") or 0,
            str(finding.get("policy", "")), identity, str(resource.get("view", "")))


def _same(docs: list[tuple[Path, dict[str, Any]]], what: str, get: Callable[[dict[str, Any]], Any]) -> Any:
    first_file, first = docs[0]
    for file, doc in docs[1:]:
        if get(doc) != get(first):
            raise MergeError(f"{file}: {what} differs from {first_file} ({get(doc)!r} vs {get(first)!r}); "
                             f"shards must be run alike")
    return get(first)


def _sum(counts: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for count in counts:
        for key, value in count.items():
            out[key] = out.get(key, 0) + int(value)
    return out


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    seen: set[str] = set()
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def merge_json(docs: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    tool = _same(docs, "tool", lambda d: d["tool"])
    policies = _same(docs, "summary.policies (policies loaded)", lambda d: d["summary"].get("policies"))
    findings = sorted((f for _file, d in docs for f in d["findings"]), key=finding_key)
    files = sorted((f for _file, d in docs for f in d["files"]), key=lambda f: str(f.get("path", "")))
    errors = sorted(_unique([e for _file, d in docs for e in d["errors"]]),
                    key=lambda e: (e.get("file") or "", e.get("line") or 0, e.get("policy") or "",
                                   e.get("message") or ""))
    summaries = [d["summary"] for _file, d in docs]
    outcomes = _sum([s.get("outcomes", {}) for s in summaries])
    file_counts = {"scanned": 0, "skipped": 0, "error": 0}
    for record in files:
        status = str(record.get("status"))
        file_counts[status] = file_counts.get(status, 0) + 1
    summary: dict[str, Any] = {
        # Key order as in the first shard, so `outcomes` lists pass..error as a scan does.
        "outcomes": {key: outcomes[key] for key in summaries[0].get("outcomes", {})} | outcomes,
        "failures_by_severity": dict(sorted(_sum([s.get("failures_by_severity", {}) for s in summaries]).items())),
        "files": file_counts,
        "resources": sum(int(s.get("resources", 0)) for s in summaries),
        "policies": policies,
        "errors": len(errors),
    }
    baseline = _merge_baselines(docs)
    if baseline is not None:
        summary["baseline"] = baseline
    return {"version": 1, "tool": tool, "summary": summary, "findings": findings, "files": files,
            "errors": errors}


def _merge_baselines(docs: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any] | None:
    file = _same(docs, "summary.baseline.file",
                 lambda d: d["summary"]["baseline"].get("file") if "baseline" in d["summary"] else None)
    if file is None:
        return None
    baselines = [d["summary"]["baseline"] for _file, d in docs]
    # Resolved overall = resolved in every shard (no shard saw the finding).
    resolved = list(baselines[0].get("resolved", []))
    for other in baselines[1:]:
        keys = {json.dumps(entry, sort_keys=True) for entry in other.get("resolved", [])}
        resolved = [entry for entry in resolved if json.dumps(entry, sort_keys=True) in keys]
    return {"file": file, "new": sum(int(b.get("new", 0)) for b in baselines),
            "existing": sum(int(b.get("existing", 0)) for b in baselines), "resolved": resolved}


# ---- SARIF logs ---------------------------------------------------------------------

def result_key(result: dict[str, Any]) -> tuple[str, int, int, str, str]:
    """The findings' sort key, read back from a SARIF result (the container view is not in
    SARIF; results equal on the rest keep the order of the FILE arguments)."""
    location = (result.get("locations") or [{}])[0]
    physical = location.get("physicalLocation") or {}
    logical = (location.get("logicalLocations") or [{}])[0]
    uri = str((physical.get("artifactLocation") or {}).get("uri", ""))
    region = physical.get("region") or {}
    qualified = str(logical.get("fullyQualifiedName", ""))
    live = uri.startswith("tierscan-live/") and "uriBaseId" not in (physical.get("artifactLocation") or {})
    first = qualified if live else urllib.parse.unquote(uri)
    return (first, 0 if live else int(region.get("startLine") or 0), int(region.get("startColumn") or 0),
            str(result.get("ruleId", "")), qualified)


def merge_sarif(docs: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    runs = [(file, d["runs"][0]) for file, d in docs]
    _same(runs, "tool.driver.version", lambda r: r["tool"]["driver"].get("version"))
    automation = _same(runs, "automationDetails (the --category)", lambda r: r.get("automationDetails"))
    uri_bases = _same(runs, "originalUriBaseIds (the directory scanned from)", lambda r: r.get("originalUriBaseIds"))
    column_kind = _same(runs, "columnKind", lambda r: r.get("columnKind"))
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    successful = True
    for file, run in runs:
        shard_rules = run["tool"]["driver"].get("rules", [])
        for rule in shard_rules:
            if rule["id"] not in index:
                index[rule["id"]] = len(rules)
                rules.append(rule)
        for result in run.get("results", []):
            rule_id = result.get("ruleId")
            if rule_id not in index:
                raise MergeError(f"{file}: result for rule {rule_id!r}, which the log does not define")
            results.append({**result, "ruleIndex": index[rule_id]})
        for invocation in run.get("invocations", []):
            successful = successful and bool(invocation.get("executionSuccessful", True))
            notifications.extend(invocation.get("toolExecutionNotifications", []))
    driver = {**runs[0][1]["tool"]["driver"], "rules": rules}
    merged: dict[str, Any] = {"tool": {**runs[0][1]["tool"], "driver": driver}}
    if automation is not None:
        merged["automationDetails"] = automation
    if uri_bases is not None:
        merged["originalUriBaseIds"] = uri_bases
    merged["invocations"] = [{"executionSuccessful": successful,
                              "toolExecutionNotifications": _unique(notifications)}]
    if column_kind is not None:
        merged["columnKind"] = column_kind
    merged["results"] = sorted(results, key=result_key)
    return {"$schema": docs[0][1].get("$schema"), "version": "2.1.0", "runs": [merged]}
