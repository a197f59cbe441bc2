"""GitHub Actions workflow commands: one annotation per failing finding.

    ::error file=k8s/odoo.yaml,line=12,col=3,title=HA-K8S-001::Deployment 'odoo' runs 1 replica...

Properties and messages are escaped as the workflow-command syntax requires.
"""

from __future__ import annotations

from scanner.engine.policy import Policy
from scanner.model import Outcome, ScanResult, Severity
from scanner.report.common import sort_key

_COMMAND = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
            Severity.LOW: "notice", Severity.INFO: "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(result: ScanResult, policies: list[Policy]) -> str:
    lines = []
    for f in sorted(result.findings, key=sort_key):
        if f.outcome is not Outcome.FAIL:
            continue
        props = []
        if f.location.file:
            props.append(f"file={_property(f.location.file)}")
            if f.location.line:
                props.append(f"line={f.location.line}")
                if f.location.column:
                    props.append(f"col={f.location.column}")
        props.append(f"title={_property(f'{f.policy_id} ({f.severity.value})')}")
        lines.append(f"::{_COMMAND[f.severity]} {','.join(props)}::{_data(f.message)}")
    for error in result.errors:
        where = f" file={_property(error.file)}" + (f",line={error.line}" if error.line else "") if error.file else ""
        lines.append(f"::error{where}::{_data('not scanned: ' + error.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
