"""The assessment: estimate every component of every service, compare each service's
achievable RPO and RTO per failure scope with its tier's targets, and turn each gap
into a finding (`DR-SVC-RPO`, `DR-SVC-RTO`) that carries the chain of evidence and
points at the property that causes it. A data store used by a more critical service
than its own tag says gets `DR-SVC-TIER`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.engine.loader import builtin_policy_dir
from scanner.engine.policy import SECURITY_SEVERITY
from scanner.engine.tiers import Tier, load_tier_table
from scanner.model import Finding, JsonPath, Location, Outcome, Platform, Resource, Severity
from scanner.recovery.estimate import SCOPE_LABEL, SCOPES, UNBOUNDED, Estimate, Estimator, Reason
from scanner.recovery.figures import RecoveryModel
from scanner.recovery.platform import Component, PlatformModel, Service, build_platform, tier_rank


@dataclass(frozen=True)
class RuleMeta:
    """A rule that is not a policy file: the recovery findings, for SARIF and reports."""

    id: str
    name: str
    title: str
    description: str
    remediation: str
    severity: Severity
    references: tuple[str, ...]


RULES: dict[str, RuleMeta] = {
    "DR-SVC-RPO": RuleMeta(
        "DR-SVC-RPO", "ServiceRecoveryPointWithinTier",
        "Each service's achievable recovery point meets its tier's RPO for pod/node, zone and region loss and "
        "data corruption or deletion",
        "Compares the data loss the configuration allows (HA mode, geo-redundant backup, read replicas, storage "
        "replication, backup schedules; after a corruption or deletion only backup retention, blob versioning "
        "and soft delete count, since replicas copy the damage) with the tier's RPO target from "
        "policies/tiers.yaml.",
        "Change the setting named in the finding: for example enable geo-redundant backup or a cross-region "
        "read replica for PostgreSQL, a geo-redundant storage SKU, a backup schedule at least as frequent as "
        "the RPO, or backup retention, blob versioning and soft delete that outlast the time it takes to notice "
        "a corruption.", Severity.HIGH,
        ("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-business-continuity",
         "https://learn.microsoft.com/azure/storage/common/storage-redundancy")),
    "DR-SVC-RTO": RuleMeta(
        "DR-SVC-RTO", "ServiceRecoveryTimeWithinTier",
        "Each service's achievable recovery time meets its tier's RTO for pod/node, zone and region loss and "
        "data corruption or deletion",
        "Compares how long recovery takes given the configuration (replicas, zone spread, disruption budgets, "
        "HA failover, restore times) with the tier's RTO target from policies/tiers.yaml.",
        "Change the setting named in the finding: for example zone-redundant HA for PostgreSQL, more replicas "
        "spread across zones, or a drilled standby in another region (then record its time in .tierscan.yaml "
        "`recovery.figures`).", Severity.HIGH,
        ("https://learn.microsoft.com/azure/reliability/concept-business-continuity-high-availability-disaster-"
         "recovery",)),
    "DR-SVC-TIER": RuleMeta(
        "DR-SVC-TIER", "DataStoreTierMatchesItsServices",
        "Data stores declare at least the tier of the most critical service that depends on them",
        "A data store inherits the highest tier of the services that use it; its own tag or label claims less, "
        "so tier-based policies would hold it to a weaker standard.",
        "Set the store's `tier` tag (Azure) or `tierscan.io/tier` label (Kubernetes) to the tier named in the "
        "finding.", Severity.MEDIUM,
        ("https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources",)),
}
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}


def sarif_rules() -> list[dict[str, Any]]:
    """SARIF reportingDescriptors for the recovery rules (see scanner/report/sarif.py)."""
    return [{
        "id": meta.id,
        "name": meta.name,
        "shortDescription": {"text": meta.title},
        "fullDescription": {"text": meta.description},
        "help": {"text": f"{meta.description}\n\nRemediation: {meta.remediation}",
                 "markdown": f"**{meta.title}**\n\n{meta.description}\n\n**Remediation**\n\n{meta.remediation}\n\n"
                             + "\n".join(f"- <{ref}>" for ref in meta.references)},
        "helpUri": meta.references[0],
        "defaultConfiguration": {"level": _LEVEL[meta.severity]},
        "properties": {"tags": ["disaster-recovery", "recovery-objectives"],
                       "security-severity": SECURITY_SEVERITY[meta.severity], "precision": "medium"},
    } for meta in RULES.values()]


def fmt_minutes(value: float | None) -> str:
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "unbounded"
    if value == 0:
        return "0 min"
    if value < 1:
        return f"{value * 60:.0f} s"
    if value >= 2880 and value % 1440 == 0:  # retention and detection windows are set in days
        return f"{value / 1440:.0f} days"
    if value >= 120 and value % 60 == 0:
        return f"{value / 60:.0f} h"
    return f"{value:g} min"


@dataclass
class ComponentResult:
    component: Component
    estimates: dict[str, Estimate]
    tier: str  # effective tier: the highest of its own and its services'


@dataclass
class Gap:
    metric: str  # RPO | RTO
    scope: str
    achievable: float
    target: int
    reason: Reason
    components: list[Component]
    finding: Finding | None = None


@dataclass
class ScopeResult:
    scope: str
    rpo: float | None
    rto: float
    target_rpo: int
    target_rto: int
    gaps: list[Gap] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        return not self.gaps


@dataclass
class ServiceResult:
    service: Service
    components: list[ComponentResult]
    scopes: dict[str, ScopeResult]

    @property
    def compliant(self) -> bool:
        return all(s.compliant for s in self.scopes.values())


@dataclass
class Assessment:
    services: list[ServiceResult]
    unlinked: list[ComponentResult]
    findings: list[Finding]
    model: RecoveryModel
    targets: dict[str, Tier]


def _property_path(path: JsonPath) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _location(resource: Resource, path: JsonPath) -> Location:
    file, position, _found = resource.origin.position_of(path)
    return Location(file, position.line if position else None, position.column if position else None,
                    _property_path(path), resource.origin.live_id)


def _severity(achievable: float, target: int) -> Severity:
    if math.isinf(achievable):
        return Severity.CRITICAL
    ratio = achievable / max(target, 1)
    return Severity.HIGH if ratio >= 4 else Severity.MEDIUM if ratio >= 2 else Severity.LOW


def _gap_finding(service: Service, gap: Gap, model: RecoveryModel) -> Finding:
    first, *others = gap.components
    also = f" (also {', '.join(c.label for c in others)})" if others else ""
    assumed = [key for key in gap.reason.figures if model.figures[key].assumption]
    configured = [key for key in gap.reason.figures if model.figures[key].overridden]
    note = "".join([f" (assumption: {', '.join(assumed)})" if assumed else "",
                    f" (configured: {', '.join(configured)})" if configured else ""])
    message = (f"service {service.name} ({service.tier}, {gap.metric} ≤ {fmt_minutes(gap.target)}): "
               f"{SCOPE_LABEL[gap.scope]} → {first.label}{also} {gap.reason.text} → "
               f"{gap.metric} {fmt_minutes(gap.achievable)}{note}.")
    return Finding(f"DR-SVC-{gap.metric}", Outcome.FAIL, _severity(gap.achievable, gap.target), gap.reason.resource,
                   message, _location(gap.reason.resource, gap.reason.path), view_path=f"{service.name}:{gap.scope}",
                   detail={"service": service.name, "scope": gap.scope, "metric": gap.metric,
                           "achievable": None if math.isinf(gap.achievable) else gap.achievable,
                           "target": gap.target})


def _tier_path(resource: Resource) -> JsonPath:
    for key in ("tierscan.io/tier", "tier", "criticality"):
        if key in resource.labels:
            return ("metadata", "labels", key) if resource.platform is Platform.KUBERNETES else ("tags", key)
    return ("metadata", "name") if resource.platform is Platform.KUBERNETES else ("name",)


def _scope_result(scope: str, service: Service, results: list[ComponentResult], target: Tier) -> ScopeResult:
    # A vault holds backup copies: an alternative way back for whatever it protects, which
    # the configuration does not show, so it is reported but not counted in the service.
    results = [r for r in results if r.component.kind != "vault"]
    rpos = [r.estimates[scope].rpo for r in results if scope in r.estimates]
    known = [v for v in rpos if v is not None]
    rto = max((r.estimates[scope].rto for r in results if scope in r.estimates), default=0.0)
    out = ScopeResult(scope, max(known) if known else None, rto, target.rpo_minutes, target.rto_minutes)
    gaps: dict[tuple[str, int, JsonPath], Gap] = {}
    for r in results:
        estimate = r.estimates.get(scope)
        if estimate is None:
            continue
        for metric, value, reason, limit in (("RPO", estimate.rpo, estimate.rpo_reason, target.rpo_minutes),
                                             ("RTO", estimate.rto, estimate.rto_reason, target.rto_minutes)):
            if value is None or reason is None or value <= limit:
                continue
            key = (metric, id(reason.resource), reason.path)
            if key in gaps:
                gaps[key].components.append(r.component)
                gaps[key].achievable = max(gaps[key].achievable, value)
            else:
                gaps[key] = Gap(metric, scope, value, limit, reason, [r.component])
    out.gaps = sorted(gaps.values(), key=lambda g: (g.metric, -g.achievable if not math.isinf(g.achievable)
                                                    else -UNBOUNDED, g.reason.text))
    return out


def assess_platform(platform: PlatformModel, model: RecoveryModel, targets: dict[str, Tier]) -> Assessment:
    estimator = Estimator(model, platform)
    # By what a component stands for, not its resource: a StatefulSet is a workload and
    # its claim templates are volumes.
    cache: dict[tuple[int, str, int | None], dict[str, Estimate]] = {}

    def estimates(component: Component) -> dict[str, Estimate]:
        key = component.key
        if key not in cache:
            cache[key] = estimator.estimate(component)
        return cache[key]

    # A data store inherits the highest tier of the services that depend on it.
    inherited: dict[tuple[int, str, int | None], tuple[str, Service]] = {}
    for service in platform.services:
        for c in service.components:
            if c.is_store:
                current = inherited.get(c.key)
                if current is None or tier_rank(service.tier) > tier_rank(current[0]):
                    inherited[c.key] = (service.tier, service)
    findings: list[Finding] = []
    reported_tiers: set[int] = set()
    results: list[ServiceResult] = []
    for service in platform.services:
        components = []
        for c in service.components:
            tier = c.resource.tier
            if c.is_store and c.key in inherited:
                wanted, by = inherited[c.key]
                own = c.resource.tier_source in ("tag", "label")
                if tier_rank(wanted) > tier_rank(tier):
                    if own and id(c.resource) not in reported_tiers:
                        reported_tiers.add(id(c.resource))
                        path = _tier_path(c.resource)
                        findings.append(Finding(
                            "DR-SVC-TIER", Outcome.FAIL, Severity.MEDIUM, c.resource,
                            f"{c.label} is tagged tier {tier}, but service {by.name} ({wanted}) depends on it; "
                            f"it is assessed as {wanted}.", _location(c.resource, path),
                            detail={"service": by.name, "declared": tier, "inherited": wanted}))
                    tier = wanted
            components.append(ComponentResult(c, estimates(c), tier))
        target = targets[service.tier]
        scopes = {scope: _scope_result(scope, service, components, target) for scope in SCOPES}
        for scope in scopes.values():
            for gap in scope.gaps:
                gap.finding = _gap_finding(service, gap, model)
                findings.append(gap.finding)
        results.append(ServiceResult(service, components, scopes))
    unlinked = [ComponentResult(c, estimates(c), c.resource.tier) for c in platform.unlinked]
    return Assessment(results, unlinked, findings, model, targets)


def load_targets(path: Path | None = None) -> dict[str, Tier]:
    return load_tier_table(path or builtin_policy_dir() / "tiers.yaml")


def assess(resources: list[Resource], model: RecoveryModel, declared: list[dict[str, Any]] | None = None,
           targets: dict[str, Tier] | None = None) -> Assessment:
    """Group `resources` (tiers resolved, as a scan returns them) into services and assess them."""
    return assess_platform(build_platform(resources, declared), model, targets or load_targets())
