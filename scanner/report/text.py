"""The terminal report: findings grouped by file, colour only on a TTY, one summary line."""

from __future__ import annotations

from collections import defaultdict

from scanner.engine.policy import Policy
from scanner.model import Finding, Outcome, ScanResult
from scanner.report.common import sort_key

_COLOURS = {"critical": "\033[1;31m", "high": "\033[31m", "medium": "\033[33m", "low": "\033[36m",
            "info": "\033[37m", "suppressed": "\033[2m", "error": "\033[1;35m"}
_RESET = "\033[0m"


def render(result: ScanResult, policies: list[Policy], colour: bool = False) -> str:
    def paint(text: str, key: str) -> str:
        return f"{_COLOURS.get(key, '')}{text}{_RESET}" if colour else text

    lines: list[str] = []
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(result.findings, key=sort_key):
        by_file[f.location.file or f.location.live_id or "(no file)"].append(f)
    for file, findings in by_file.items():
        lines.append(paint(file, "info") if colour else file)
        for f in findings:
            where = f"{f.location.line}:{f.location.column}" if f.location.line else "-"
            if f.outcome is Outcome.SUPPRESSED:
                label = paint("suppressed", "suppressed")
                tail = f" [suppressed: {f.justification}]"
            elif f.outcome is Outcome.ERROR:
                label, tail = paint("error", "error"), ""
            else:
                label = paint(f.severity.value, f.severity.value) if f.outcome is Outcome.FAIL \
                    else f.outcome.value
                tail = ""
            lines.append(f"  {where:>8}  {label:<8}  {f.policy_id:<11} {f.message}{tail}")
        lines.append("")
    for error in result.errors:
        lines.append(paint("error: ", "error") + error.one_line())
    skipped = [f for f in result.files if f.status.value == "skipped"]
    if skipped:
        reasons: dict[str, int] = defaultdict(int)
        for record in skipped:
            reasons[record.reason] += 1
        lines.append("skipped: " + "; ".join(f"{n} × {reason}" for reason, n in sorted(reasons.items())))
    counts = result.counts()
    scanned = sum(1 for f in result.files if f.status.value == "scanned")
    lines.append(
        f"{counts['fail']} failed, {counts['pass']} passed, {counts['suppressed']} suppressed, "
        f"{counts['not-applicable']} not applicable, {len(result.errors)} errors "
        f"({len(result.resources)} resources in {scanned} files, {result.policies_loaded} policies)")
    return "\n".join(lines) + "\n"
