"""Markdown: the same content as the GitHub job summary.

Counts by severity, area and tier, then the top failing findings with links to the
files (relative links work in a job summary when GITHUB_SERVER_URL, GITHUB_REPOSITORY
and GITHUB_SHA are set; plain paths otherwise).
"""

from __future__ import annotations

import os
from collections import Counter

from scanner.engine.policy import Policy
from scanner.model import Finding, Outcome, ScanResult
from scanner.report.common import sort_key

TOP = 25


def _link(f: Finding) -> str:
    file = f.location.file or f.location.live_id or ""
    label = f"{file}:{f.location.line}" if f.location.line else file
    server, repo, sha = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    if server and repo and sha and f.location.file and not f.location.file.startswith(".."):
        anchor = f"#L{f.location.line}" if f.location.line else ""
        return f"[`{label}`]({server}/{repo}/blob/{sha}/{f.location.file}{anchor})"
    return f"`{label}`"


def _table(title: str, counts: Counter[str], order: list[str]) -> list[str]:
    keys = [k for k in order if counts.get(k)] + sorted(k for k in counts if k not in order)
    if not keys:
        return []
    return [f"| {title} | failing |", "|---|---:|", *(f"| {k} | {counts[k]} |" for k in keys), ""]


def render(result: ScanResult, policies: list[Policy]) -> str:
    areas = {p.id: p.area for p in policies}
    failing = [f for f in sorted(result.findings, key=lambda f: (-f.severity.rank, *sort_key(f)))
               if f.outcome is Outcome.FAIL]
    counts = result.counts()
    lines = ["## tierscan", ""]
    lines.append(f"**{counts['fail']} failing**, {counts['pass']} passing, {counts['suppressed']} suppressed, "
                 f"{counts['not-applicable']} not applicable, {len(result.errors)} errors — "
                 f"{len(result.resources)} resources, {result.policies_loaded} policies.")
    if result.baseline is not None:
        lines.append(f"Baseline: {result.baseline['new']} new, {result.baseline['existing']} known, "
                     f"{len(result.baseline['resolved'])} resolved.")
    lines.append("")
    lines += _table("severity", Counter(f.severity.value for f in failing),
                    ["critical", "high", "medium", "low", "info"])
    lines += _table("area", Counter(areas.get(f.policy_id, "") for f in failing), [])
    lines += _table("tier", Counter(f.resource.tier for f in failing), ["critical", "high", "medium", "low"])
    if failing:
        lines += [f"### Top findings ({min(TOP, len(failing))} of {len(failing)})", "",
                  "| severity | policy | resource | where | message |", "|---|---|---|---|---|"]
        for f in failing[:TOP]:
            message = f.message.replace("|", "\\|")
            lines.append(f"| {f.severity.value} | {f.policy_id} | {f.resource.display_name} | {_link(f)} | {message} |")
        lines.append("")
    suppressed = [f for f in result.findings if f.outcome is Outcome.SUPPRESSED]
    if suppressed:
        lines += ["### Suppressed", "", "| policy | resource | reason |", "|---|---|---|"]
        lines += [f"| {f.policy_id} | {f.resource.display_name} | {f.justification} |" for f in suppressed]
        lines.append("")
    if result.errors:
        lines += ["### Not scanned", ""] + [f"- {e.one_line()}" for e in result.errors] + [""]
    return "\n".join(lines) + "\n"
