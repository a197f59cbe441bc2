"""The JSON report: a documented, stable shape (see README, "JSON report").

    {"version": 1, "tool": {...}, "summary": {...},
     "findings": [{policy, title, outcome, severity, area, tier, environment,
                   resource: {platform, type, name, namespace, id},
                   location: {file, line, column, property}, message, justification}],
     "files": [{path, status, kind, reason, resources}],
     "errors": [{message, file, line, policy}]}
"""

from __future__ import annotations

import io
import json
from typing import Any

from scanner import __version__
from scanner.engine.policy import Policy
from scanner.model import Finding, ScanResult
from scanner.report.common import fingerprint, sort_key


def finding_dict(f: Finding, policies: dict[str, Policy]) -> dict[str, Any]:
    policy = policies.get(f.policy_id)
    r = f.resource
    out: dict[str, Any] = {
        "policy": f.policy_id,
        "title": policy.title if policy else "",
        "outcome": f.outcome.value,
        "severity": f.severity.value,
        "area": policy.area if policy else "",
        "tier": r.tier,
        "environment": r.environment,
        "resource": {
            "platform": r.platform.value, "type": r.type, "name": r.name,
            "namespace": r.namespace, "id": r.origin.live_id or r.identity,
        },
        "location": {
            "file": f.location.file, "line": f.location.line, "column": f.location.column,
            "property": f.location.property_path,
        },
        "message": f.message,
        "fingerprint": fingerprint(f),
    }
    if f.view_path:
        out["resource"]["view"] = f.view_path
    if f.justification is not None:
        out["justification"] = f.justification
    return out


def render(result: ScanResult, policies: list[Policy]) -> str:
    by_id = {p.id: p for p in policies}
    doc = {
        "version": 1,
        "tool": {"name": "tierscan", "version": __version__},
        "summary": summary(result),
        "findings": [finding_dict(f, by_id) for f in sorted(result.findings, key=sort_key)],
        "files": [{"path": f.path, "status": f.status.value, "kind": f.kind, "reason": f.reason,
                   "resources": f.resources} for f in sorted(result.files, key=lambda f: f.path)],
        "errors": [{"message": e.message, "file": e.file, "line": e.line, "policy": e.policy_id}
                   for e in result.errors],
    }
    return encode(doc)


def encode(doc: Any) -> str:
    """json.dumps(doc, indent=2), streamed: with an indent, `json` uses its pure-Python
    encoder, and joining its millions of pieces at once doubled peak memory on large
    scans. Writing them into a buffer as they come is byte-identical."""
    buffer = io.StringIO()
    for chunk in json.JSONEncoder(indent=2).iterencode(doc):
        buffer.write(chunk)
    buffer.write("\n")
    return buffer.getvalue()


def summary(result: ScanResult) -> dict[str, Any]:
    files: dict[str, int] = {"scanned": 0, "skipped": 0, "error": 0}
    for record in result.files:
        files[record.status.value] += 1
    failing_by_severity: dict[str, int] = {}
    for finding in result.findings:
        if finding.outcome.value == "fail":
            severity = finding.severity.value
            failing_by_severity[severity] = failing_by_severity.get(severity, 0) + 1
    return {
        "outcomes": result.counts(),
        "failures_by_severity": dict(sorted(failing_by_severity.items())),
        "files": files,
        "resources": len(result.resources),
        "policies": result.policies_loaded,
        "errors": len(result.errors),
        **({"baseline": result.baseline} if result.baseline is not None else {}),
    }
