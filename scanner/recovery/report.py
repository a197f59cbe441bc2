"""Text and JSON renderings of a recovery assessment.

The JSON document is also the input of `--history` (the HTML trend chart), so its
`summary` keys are kept stable:

    {"version": 1, "kind": "tierscan-recovery", "generated_at": ISO-8601,
     "targets": {tier: {rpo_minutes, rto_minutes}},
     "summary": {services, compliant, gaps, by_tier: {tier: {services, compliant}},
                 findings_by_severity, scan_failures_by_area},
     "services": [{name, tier, environment, namespace, hosts, compliant,
                   scopes: {scope: {rpo, rto, target_rpo, target_rto, compliant}},
                   components: [{kind, label, tier, links, estimates: {scope: {rpo, rto, rpo_reason, rto_reason}}}]}],
     "unlinked": [component...], "findings": [...], "figures": {key: {...}}}

Scopes are `node`, `zone`, `region` and `corruption` (data corruption or deletion; added
after the others, so earlier documents lack it). Minutes are numbers; "unbounded" means
no recovery is possible from the configuration; null means not applicable (a component
that holds no data has no RPO). A volume that is a StatefulSet's claim template has the
StatefulSet's type, name and identity, and also `claim_template` (the template's name).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from scanner import __version__
from scanner.model import Finding
from scanner.recovery.assess import RULES, Assessment, ComponentResult, ServiceResult, fmt_minutes
from scanner.recovery.estimate import SCOPE_LABEL, SCOPES, Estimate, Reason


def _num(value: float | None) -> float | str | None:
    if value is None:
        return None
    return "unbounded" if math.isinf(value) else value


def _reason(reason: Reason | None, model_figures: Any) -> dict[str, Any] | None:
    if reason is None:
        return None
    file, position, _ = reason.resource.origin.position_of(reason.path)
    return {"text": reason.text, "resource": reason.resource.identity, "file": file,
            "line": position.line if position else None, "figures": list(reason.figures)}


def _estimate(e: Estimate, figures: Any) -> dict[str, Any]:
    return {"rpo": _num(e.rpo), "rto": _num(e.rto), "rpo_reason": _reason(e.rpo_reason, figures),
            "rto_reason": _reason(e.rto_reason, figures)}


def _component(r: ComponentResult, figures: Any) -> dict[str, Any]:
    res = r.component.resource
    links = []
    for link in r.component.links:
        file, position, _ = link.source.origin.position_of(link.path)
        entry = {"text": link.text, "file": file, "line": position.line if position else None}
        if entry not in links:
            links.append(entry)
    return {"kind": r.component.kind, "label": r.component.label, "type": res.type, "name": res.name,
            "namespace": res.namespace, "identity": res.identity, "tier": r.tier, "declared_tier": res.tier,
            "links": links, "estimates": {s: _estimate(e, figures) for s, e in r.estimates.items()},
            **({"claim_template": r.component.template_name} if r.component.claim_template is not None else {})}


def finding_dict(f: Finding) -> dict[str, Any]:
    return {"rule": f.policy_id, "title": RULES[f.policy_id].title, "severity": f.severity.value,
            "message": f.message, **{k: f.detail.get(k) for k in ("service", "scope", "metric", "achievable",
                                                                  "target") if k in f.detail},
            "resource": {"platform": f.resource.platform.value, "type": f.resource.type, "name": f.resource.name,
                         "namespace": f.resource.namespace, "id": f.resource.identity},
            "location": {"file": f.location.file, "line": f.location.line, "column": f.location.column,
                         "property": f.location.property_path}}


def _service(s: ServiceResult, figures: Any) -> dict[str, Any]:
    return {"name": s.service.name, "tier": s.service.tier, "environment": s.service.environment,
            "namespace": s.service.namespace, "hosts": s.service.hosts, "declared": s.service.declared,
            "compliant": s.compliant,
            "scopes": {scope: {"rpo": _num(r.rpo), "rto": _num(r.rto), "target_rpo": r.target_rpo,
                               "target_rto": r.target_rto, "compliant": r.compliant}
                       for scope, r in s.scopes.items()},
            "components": [_component(c, figures) for c in s.components]}


def to_dict(a: Assessment, scan_failures_by_area: dict[str, dict[str, int]] | None = None,
            now: dt.datetime | None = None) -> dict[str, Any]:
    by_tier: dict[str, dict[str, int]] = {}
    for s in a.services:
        entry = by_tier.setdefault(s.service.tier, {"services": 0, "compliant": 0})
        entry["services"] += 1
        entry["compliant"] += int(s.compliant)
    severities: dict[str, int] = {}
    for f in a.findings:
        severities[f.severity.value] = severities.get(f.severity.value, 0) + 1
    return {
        "version": 1,
        "kind": "tierscan-recovery",
        "tool": {"name": "tierscan", "version": __version__},
        "generated_at": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        "targets": {name: {"rpo_minutes": t.rpo_minutes, "rto_minutes": t.rto_minutes}
                    for name, t in a.targets.items()},
        "summary": {
            "services": len(a.services), "compliant": sum(s.compliant for s in a.services),
            "gaps": sum(f.policy_id in ("DR-SVC-RPO", "DR-SVC-RTO") for f in a.findings),
            "by_tier": by_tier, "findings_by_severity": dict(sorted(severities.items())),
            "scan_failures_by_area": scan_failures_by_area or {},
        },
        "services": [_service(s, a.model.figures) for s in a.services],
        "unlinked": [_component(c, a.model.figures) for c in a.unlinked],
        "findings": [finding_dict(f) for f in a.findings],
        "figures": {key: {"minutes": f.minutes, "description": f.description, "source": f.source,
                          "assumption": f.assumption, "note": f.note, "overridden": f.overridden}
                    for key, f in a.model.figures.items()},
    }


def render_json(a: Assessment, scan_failures_by_area: dict[str, dict[str, int]] | None = None,
                now: dt.datetime | None = None) -> str:
    return json.dumps(to_dict(a, scan_failures_by_area, now), indent=2, ensure_ascii=False) + "\n"


def _cell(value: float | None, target: int) -> str:
    mark = "" if value is None or value <= target else "  ✗"
    return f"{fmt_minutes(value)} / {fmt_minutes(target)}{mark}"


def _table(s: ServiceResult) -> list[str]:
    rows = [("failure scope", "RPO achievable / target", "RTO achievable / target")]
    for scope in SCOPES:
        r = s.scopes[scope]
        rows.append((SCOPE_LABEL[scope], _cell(r.rpo, r.target_rpo), _cell(r.rto, r.target_rto)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return lines


def render_text(a: Assessment) -> str:
    out: list[str] = []
    compliant = sum(s.compliant for s in a.services)
    out.append(f"Recovery objectives: {len(a.services)} service{'s' if len(a.services) != 1 else ''}, "
               f"{compliant} meet{'s' if compliant == 1 else ''} the targets of {'its' if compliant == 1 else 'their'} "
               f"tier.")
    used: dict[str, None] = {}
    for s in a.services:
        target = a.targets[s.service.tier]
        out.append("")
        out.append(f"service {s.service.name}  tier {s.service.tier} (RPO ≤ {fmt_minutes(target.rpo_minutes)}, "
                   f"RTO ≤ {fmt_minutes(target.rto_minutes)})  {s.service.environment}"
                   + (f"  hosts: {', '.join(s.service.hosts)}" if s.service.hosts else ""))
        for c in s.components:
            tier = f" [{c.tier}, tagged {c.component.resource.tier}]" if c.tier != c.component.resource.tier else ""
            if c.component.kind == "vault":
                tier += " [backup copies: shown, not counted]"
            via = list(dict.fromkeys(link.text for link in c.component.links))
            out.append(f"  - {c.component.label}{tier}" + (f"  ({'; '.join(via)})" if via else ""))
        out.append("")
        out.extend(_table(s))
        gaps = [g for scope in SCOPES for g in s.scopes[scope].gaps]
        if gaps:
            out.append("  gaps:")
        for gap in gaps:
            f = gap.finding
            if f is None:
                continue
            where = f"{f.location.file}:{f.location.line}" if f.location.file and f.location.line else \
                (f.location.file or f.resource.identity)
            out.append(f"    {f.policy_id} [{f.severity.value}] {f.message}")
            out.append(f"      at {where} ({f.location.property_path})")
            used.update(dict.fromkeys(gap.reason.figures))
    tier_findings = [f for f in a.findings if f.policy_id == "DR-SVC-TIER"]
    if tier_findings:
        out.append("")
        out.append("Tier inheritance:")
        for f in tier_findings:
            out.append(f"  DR-SVC-TIER [{f.severity.value}] {f.message}")
            out.append(f"    at {f.location.file}:{f.location.line} ({f.location.property_path})")
    if a.unlinked:
        out.append("")
        out.append("Data stores no service was found to use (declare links in .tierscan.yaml `services:`):")
        out.extend(f"  - {c.component.label}" for c in a.unlinked)
    if used:
        out.append("")
        out.append("Figures behind the gaps (policies/recovery-model.yaml; override in .tierscan.yaml `recovery:`):")
        for key in used:
            fig = a.model.figures[key]
            out.append(f"  {key} = {fmt_minutes(fig.minutes)}: {fig.cite()}")
    return "\n".join(out) + "\n"
