"""SARIF 2.1.0 for GitHub code scanning.

- One run per log, one rule per policy (help text, `security-severity`, tags).
- Relative `artifactLocation.uri` under `%SRCROOT%`, with a region at the offending
  property's line.
- `partialFingerprints` built from policy + resource identity + file, so alerts
  survive code moving up and down a file.
- Suppressed findings carry SARIF `suppressions` with their justification.
- Files that could not be read become tool execution notifications.

The `sarif-om` package was considered as the object model (the design card names it)
and not used: it ships attrs classes without a serializer, so we would still write
the dict mapping by hand, and it adds import time to every pre-commit run. The
output is instead checked against the OASIS schema and the Multitool in the tests.
"""

from __future__ import annotations

import io
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.engine.policy import SECURITY_SEVERITY, Policy
from scanner.model import Finding, Outcome, ScanResult, Severity
from scanner.report.common import fingerprint, sort_key
from scanner.report.json_report import LazyArray, encode_to

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LIVE_URI_PREFIX = "tierscan-live"
INFORMATION_URI = "https://github.com/tierscan/tierscan"
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}


def _uri(path: str) -> str:
    return urllib.parse.quote(path.replace("\\", "/"), safe="/-_.~")


def _pascal(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.split("-"))


def rule(policy: Policy) -> dict[str, Any]:
    tags = [policy.area, policy.platform.value, *policy.tags]
    if policy.area == "security":
        tags.append("security")
    help_md = (
        f"**{policy.title}**\n\n{policy.rationale}\n\n**Remediation**\n\n{policy.remediation}\n\n"
        f"Tiers: {', '.join(policy.tiers)}\n\n"
        + "\n".join(f"- <{ref}>" for ref in policy.references)
    )
    return {
        "id": policy.id,
        "name": _pascal(policy.slug),
        "shortDescription": {"text": policy.title},
        "fullDescription": {"text": policy.rationale},
        "help": {"text": f"{policy.rationale}\n\nRemediation: {policy.remediation}", "markdown": help_md},
        "helpUri": policy.references[0],
        "defaultConfiguration": {"level": _LEVEL[policy.severity]},
        "properties": {
            "tags": list(dict.fromkeys(tags)),
            "security-severity": SECURITY_SEVERITY[policy.severity],
            "precision": "high",
            "problem.severity": "error" if policy.severity.rank >= 3 else "warning",
            "tiers": policy.tiers,
        },
    }


def _location(f: Finding) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": f.location.line or 1}
    if f.location.column:
        region["startColumn"] = f.location.column
    location: dict[str, Any] = {}
    if f.location.file:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": _uri(f.location.file), "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    elif f.location.live_id:
        # A live resource with no source file. GitHub needs a physical location, so it
        # gets a stable relative URI of its own (see README, "Live findings in SARIF"):
        #   tierscan-live/azure/subscriptions/<sub>/resourceGroups/<rg>/providers/<type>/<name>
        #   tierscan-live/kubernetes/<context>/<namespace>/<kind>/<name>
        platform = "azure" if f.resource.platform.value == "azure" else "kubernetes"
        location["physicalLocation"] = {
            "artifactLocation": {"uri": _uri(f"{LIVE_URI_PREFIX}/{platform}/{f.location.live_id.lstrip('/')}")},
            "region": {"startLine": 1},
        }
    logical = {"name": f.resource.name, "fullyQualifiedName": f.location.live_id or f.resource.identity,
               "kind": "resource"}
    location["logicalLocations"] = [logical]
    return location


def result(f: Finding, rule_index: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.policy_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": f.message},
        "locations": [_location(f)],
        "partialFingerprints": {"tierscanFingerprint/v1": fingerprint(f)},
        "properties": {
            "tier": f.resource.tier,
            "environment": f.resource.environment,
            "resourceType": f.resource.type,
            "property": f.location.property_path,
        },
    }
    if f.outcome is Outcome.SUPPRESSED:
        out["suppressions"] = [{"kind": "inSource", "status": "accepted",
                                "justification": f.justification or ""}]
    return out


def render(result_: ScanResult, policies: list[Policy], category: str = "tierscan",
           root: Path | None = None, extra_rules: Sequence[dict[str, Any]] = ()) -> str:
    buffer = io.StringIO()
    render_to(result_, policies, buffer.write, category, root, extra_rules)
    return buffer.getvalue()


def render_to(result_: ScanResult, policies: list[Policy], write: Callable[[str], object],
              category: str = "tierscan", root: Path | None = None,
              extra_rules: Sequence[dict[str, Any]] = ()) -> None:
    """Write the log piece by piece; each result is built only as it is written.
    `extra_rules`: ready reportingDescriptors for findings that come from code rather
    than policy files (the recovery assessment's DR-SVC-* rules); listed after the policies."""
    ordered = sorted(policies, key=lambda p: p.id)
    index = {p.id: i for i, p in enumerate(ordered)}
    index.update({r["id"]: len(ordered) + i for i, r in enumerate(extra_rules)})
    reported = [f for f in sorted(result_.findings, key=sort_key)
                if f.outcome in (Outcome.FAIL, Outcome.SUPPRESSED) and f.policy_id in index]
    notifications = []
    for error in result_.errors:
        note: dict[str, Any] = {"level": "error", "message": {"text": error.one_line()}}
        if error.file:
            region = {"startLine": error.line} if error.line else None
            physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(error.file), "uriBaseId": "%SRCROOT%"}}
            if region:
                physical["region"] = region
            note["locations"] = [{"physicalLocation": physical}]
        notifications.append(note)
    root_uri = (root or Path.cwd()).resolve().as_uri().rstrip("/") + "/"
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "tierscan",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": INFORMATION_URI,
            "rules": [*(rule(p) for p in ordered), *extra_rules],
        }},
        "automationDetails": {"id": f"{category.strip('/')}/"},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
        "invocations": [{
            "executionSuccessful": not result_.errors,
            "toolExecutionNotifications": notifications,
        }],
        "columnKind": "unicodeCodePoints",
        "results": LazyArray(reported, lambda f: result(f, index[f.policy_id])),
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    encode_to(log, write)
