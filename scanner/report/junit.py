"""JUnit XML: one testsuite per policy, one testcase per policy x resource.

Read by the common CI test reporters (GitHub test-reporter actions, Azure Pipelines,
GitLab, Jenkins). Passing and not-applicable outcomes are included only when they were
kept (--all-outcomes); failures are <failure>, errors <error>, suppressed <skipped>.
"""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from scanner.engine.policy import Policy
from scanner.model import Finding, Outcome, ScanResult
from scanner.report.common import sort_key


def render(result: ScanResult, policies: list[Policy]) -> str:
    by_policy: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(result.findings, key=sort_key):
        by_policy[f.policy_id].append(f)
    titles = {p.id: p.title for p in policies}
    root = ET.Element("testsuites", name="tierscan")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for policy_id in sorted(by_policy):
        findings = by_policy[policy_id]
        suite = ET.SubElement(root, "testsuite", name=f"{policy_id} {titles.get(policy_id, '')}".strip())
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for f in findings:
            name = f.resource.display_name + (f" {f.view_path}" if f.view_path else "")
            case = ET.SubElement(suite, "testcase", name=name, classname=policy_id,
                                 file=f.location.file or "", line=str(f.location.line or ""))
            counts["tests"] += 1
            if f.outcome is Outcome.FAIL:
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=f.message, type=f.severity.value)
                failure.text = f"{f.location.file}:{f.location.line}: {f.message}"
            elif f.outcome is Outcome.ERROR:
                counts["errors"] += 1
                ET.SubElement(case, "error", message=f.message)
            elif f.outcome in (Outcome.SUPPRESSED, Outcome.NOT_APPLICABLE):
                counts["skipped"] += 1
                reason = f"suppressed: {f.justification}" if f.outcome is Outcome.SUPPRESSED else f.message
                ET.SubElement(case, "skipped", message=reason)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
