"""Evaluate policies against resources: the heart of the scanner.

Policies are indexed by (platform, type) once, so a resource meets only the policies
that can apply to it. For each (policy, subject) the outcome is:

- not-applicable: the resource's tier or environment is outside the policy's scope,
  or the subject fails the `when` precondition;
- pass / fail: the subject is valid / invalid against `assert`;
- suppressed: it failed, and the resource carries a live suppression for the policy;
- error: evaluating it raised (reported, never swallowed).

Large scans are evaluated in two processes (see `Engine._evaluate_forked`); the result
is byte for byte the one a single process gives.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from scanner.engine.messages import REDACTED, dotted, render, show
from scanner.engine.policy import Policy
from scanner.engine.relations import RelationIndex
from scanner.engine.suppress import (
    Suppression,
    SuppressionRule,
    comment_suppressions,
    resource_suppressions,
)
from scanner.engine.views import Subject, base_context, subjects, with_related
from scanner.model import (
    Finding,
    JsonPath,
    Location,
    Locator,
    Outcome,
    Platform,
    Resource,
    ScanError,
    Severity,
    value_at,
)
from scanner.parallel import can_fork, in_two_processes


@dataclass
class EvaluationOptions:
    keep_passing: bool = False  # keep pass / not-applicable findings (tests, --all-outcomes)
    today: dt.date = field(default_factory=dt.date.today)
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    suppression_rules: list[SuppressionRule] = field(default_factory=list)  # from config
    # Scans with at least this many resources evaluate in two processes (see Engine).
    parallel_min_resources: int = 500


class PolicyIndex:
    def __init__(self, policies: list[Policy]) -> None:
        self._by_type: dict[tuple[Platform, str], list[Policy]] = defaultdict(list)
        for policy in sorted(policies, key=lambda p: p.id):
            for kind in policy.kinds:
                key = kind.lower() if policy.platform is Platform.AZURE else kind
                self._by_type[(policy.platform, key)].append(policy)

    def for_resource(self, resource: Resource) -> list[Policy]:
        key = resource.type.lower() if resource.platform is Platform.AZURE else resource.type
        return self._by_type.get((resource.platform, key), [])


class Engine:
    def __init__(self, policies: list[Policy], options: EvaluationOptions | None = None) -> None:
        self.policies = policies
        self.index = PolicyIndex(policies)
        self.options = options or EvaluationOptions()
        self.counts: Counter[str] = Counter()

    def evaluate(self, resources: list[Resource]) -> tuple[list[Finding], list[ScanError]]:
        relations = RelationIndex(resources)
        split = self._split_point(resources)
        if split is None:
            return self._evaluate_range(resources, 0, len(resources), relations)
        return self._evaluate_forked(resources, split, relations)

    def _split_point(self, resources: list[Resource]) -> int | None:
        """Where to cut the resources in two for a second process, or None to stay in one.

        Only large scans on Linux with two or more usable CPUs and no other threads fork
        (a fork copies only the calling thread). The cut falls on a file boundary so no
        file's positions are indexed twice.
        """
        if len(resources) < max(2, self.options.parallel_min_resources) or not can_fork():
            return None
        split = len(resources) // 2
        while 0 < split < len(resources) and resources[split].origin.locator is not None and \
                resources[split].origin.locator is resources[split - 1].origin.locator:
            split += 1
        return split if 0 < split < len(resources) else None

    def _evaluate_forked(self, resources: list[Resource], split: int,
                         relations: RelationIndex) -> tuple[list[Finding], list[ScanError]]:
        """Evaluate resources[split:] in a forked child while this process does the rest.

        The child sees every resource (relations and tiers are already resolved), so its
        outcomes are exactly those of a sequential run. Its findings come back with
        resources as indexes; findings, errors and counts are joined in resource order,
        so the result is identical to one process (see scanner.parallel).
        """
        def there() -> tuple[list[tuple[Any, ...]], list[ScanError], list[tuple[str, int]]]:
            self.counts = Counter()  # in the child (or after `here`, on fallback): its own counts
            found, errors = self._evaluate_range(resources, split, len(resources), relations)
            position = {id(r): i for i, r in enumerate(resources[split:], split)}
            # Flat tuples of strings and ints: pickling dataclasses and enums costs several
            # times more (measured: 0.7 s for the 167,000 findings of half a 10,000-app scan).
            return ([(position[id(f.resource)], f.policy_id, f.outcome.value, f.severity.value, f.message,
                      f.location.file, f.location.line, f.location.column, f.location.property_path,
                      f.location.live_id, f.view_path, f.justification) for f in found],
                    errors, list(self.counts.items()))

        counts = self.counts
        (findings, errors), (sent, sent_errors, sent_counts) = in_two_processes(
            lambda: self._evaluate_range(resources, 0, split, relations), there)
        self.counts = counts
        # Policy findings carry no `detail` (only the recovery assessment's do).
        outcomes, severities = {o.value: o for o in Outcome}, {s.value: s for s in Severity}
        for (index, policy_id, outcome, severity, message, file, line, column, property_path, live_id,
             view_path, justification) in sent:
            findings.append(Finding(policy_id, outcomes[outcome], severities[severity], resources[index], message,
                                    Location(file, line, column, property_path, live_id), view_path,
                                    justification))
        errors.extend(sent_errors)
        for key, value in sent_counts:  # in first-seen order, as one process would count
            self.counts[key] += value
        return findings, errors

    def _evaluate_range(self, resources: list[Resource], start: int, stop: int,
                        relations: RelationIndex) -> tuple[list[Finding], list[ScanError]]:
        findings: list[Finding] = []
        errors: list[ScanError] = []
        previous: Locator | None = None
        for resource in resources[start:stop]:
            locator = resource.origin.locator
            if locator is not previous:
                # Resources of a file are adjacent: once past a file, free its position
                # index (it is rebuilt if asked again). Keeps memory flat on big scans.
                _release(previous)
                previous = locator
            applicable = self.index.for_resource(resource)
            if not applicable:
                continue
            suppressions = resource_suppressions(resource)
            context = base_context(resource)
            # Views are built once per resource and shared by every policy that uses them.
            views: dict[str, list[Subject]] = {}
            for policy in applicable:
                try:
                    if policy.view not in views:
                        views[policy.view] = list(subjects(resource, policy.view, context))
                    self._evaluate_one(policy, resource, views[policy.view], relations, suppressions, findings)
                except Exception as exc:  # a policy bug must not stop the scan
                    message = f"policy {policy.id} could not be evaluated on {resource.display_name}: {exc}"
                    errors.append(ScanError(message, file=resource.origin.file, policy_id=policy.id))
                    findings.append(self._finding(policy, resource, Outcome.ERROR, message,
                                                  Location(resource.origin.file)))
                    self.counts[Outcome.ERROR.value] += 1
        _release(previous)
        return findings, errors

    def _severity(self, policy: Policy) -> Severity:
        return self.options.severity_overrides.get(policy.id, policy.severity)

    def _finding(self, policy: Policy, resource: Resource, outcome: Outcome, message: str,
                 location: Location, subject: Subject | None = None) -> Finding:
        return Finding(policy.id, outcome, self._severity(policy), resource, message, location,
                       view_path=subject.label if subject else "")

    def _record(self, findings: list[Finding], finding: Finding) -> None:
        self.counts[finding.outcome.value] += 1
        if self.options.keep_passing or finding.outcome not in (Outcome.PASS, Outcome.NOT_APPLICABLE):
            findings.append(finding)

    def _evaluate_one(self, policy: Policy, resource: Resource, view: list[Subject],
                      relations: RelationIndex, suppressions: dict[str, Suppression],
                      findings: list[Finding]) -> None:
        keep = self.options.keep_passing
        out_of_scope = None
        if resource.tier not in policy.tiers:
            out_of_scope = f"is tier {resource.tier}; the policy covers {', '.join(policy.tiers)}"
        elif policy.environments is not None and resource.environment not in policy.environments:
            out_of_scope = (f"is in environment {resource.environment}; the policy covers "
                            f"{', '.join(policy.environments)}")
        if out_of_scope is not None:
            self.counts[Outcome.NOT_APPLICABLE.value] += 1
            if keep:
                findings.append(self._finding(policy, resource, Outcome.NOT_APPLICABLE,
                                              f"{resource.display_name} {out_of_scope}.",
                                              Location(resource.origin.file)))
            return
        if policy.relations:
            related = {name: [r.body for r in relations.related(resource, spec)]
                       for name, spec in policy.relations.items()}
            view = [with_related(subject, related) for subject in view]
        conditions = policy.conditions_for(resource.tier)
        for subject in view:
            doc = subject.document
            # A precondition that reads inside a value not known statically cannot rule the
            # resource out: it stays applicable (and then fails as not known, below).
            if conditions.when is not None and not conditions.when.is_valid(doc) and not (
                    resource.unresolved and _unknown_inspected(resource, subject, conditions.when)):
                self.counts[Outcome.NOT_APPLICABLE.value] += 1
                if keep:
                    findings.append(self._finding(
                        policy, resource, Outcome.NOT_APPLICABLE,
                        f"{resource.display_name}{_of(subject)} does not meet the policy's precondition.",
                        Location(resource.origin.file), subject))
                continue
            if conditions.assert_.is_valid(doc):
                unknown = _unknown_inspected(resource, subject, conditions.assert_) if resource.unresolved else None
                if unknown is not None:
                    self._record(findings, self._unknown(policy, resource, subject, unknown, suppressions))
                    continue
                self.counts[Outcome.PASS.value] += 1
                if keep:
                    findings.append(self._finding(
                        policy, resource, Outcome.PASS, f"{resource.display_name}{_of(subject)} complies.",
                        Location(resource.origin.file), subject))
                continue
            self._record(findings, self._failure(policy, resource, subject, conditions.params,
                                                 suppressions))

    def _failure(self, policy: Policy, resource: Resource, subject: Subject,
                 params: dict[str, Any], suppressions: dict[str, Suppression]) -> Finding:
        conditions = policy.conditions_for(resource.tier)
        violation = conditions.assert_.violation(subject.document)
        sub_path: JsonPath = violation.path if violation else ()
        body_path = subject.body_path(sub_path)
        missing = violation.missing if violation else None
        property_path: JsonPath = body_path + ((missing,) if missing else ())
        if sub_path[:1] == ("context",):
            # Relation failures (no PDB selects it, ...) point at the resource's name.
            body_path = ("metadata", "name") if resource.platform is Platform.KUBERNETES else ("name",)
            property_path = ()
        shown_path = dotted(property_path)
        value: Any = "missing" if missing else value_at(subject.document, sub_path)
        if policy.sensitive:
            value = REDACTED
        fields = {
            "id": policy.id, "kind": resource.type, "name": resource.name,
            "namespace": resource.namespace or "default", "tier": resource.tier,
            "environment": resource.environment, "replicas": subject.document.get("context", {}).get("replicas"),
            "container": subject.container or "", "property": shown_path or "(resource)",
            "value": value if isinstance(value, str) else show(value, prose=False), "param": params,
            "derived": subject.document.get("context", {}).get("derived", {}),
        }
        message = render(policy.message, fields)
        unresolved = _unresolved_note(resource, property_path)
        if unresolved:
            message = f"{message} The value is not known statically ({unresolved}); treated as non-compliant."
        return self._failing(policy, resource, subject, message, body_path, shown_path, suppressions)

    def _unknown(self, policy: Policy, resource: Resource, subject: Subject,
                 unknown: tuple[JsonPath, str], suppressions: dict[str, Suppression]) -> Finding:
        """A passing subject whose pass rests on a value not known statically: the policy
        could only pass it by reading a placeholder, so it fails (never taken as compliant)."""
        path, expression = unknown
        shown_path = dotted(path)
        message = (f"{resource.display_name}{_of(subject)} cannot be checked: {shown_path or 'the resource'} is not "
                   f"known statically ({expression}); treated as non-compliant.")
        return self._failing(policy, resource, subject, message, path, shown_path, suppressions)

    def _failing(self, policy: Policy, resource: Resource, subject: Subject, message: str, body_path: JsonPath,
                 shown_path: str, suppressions: dict[str, Suppression]) -> Finding:
        """A failing finding located at `body_path` (or its nearest parent with a
        position), with its suppression applied."""
        file, position, _found = resource.origin.position_of(body_path)
        location = Location(file, position.line if position else None, position.column if position else None,
                            shown_path, resource.origin.live_id)
        finding = self._finding(policy, resource, Outcome.FAIL, message, location, subject)
        self._apply_suppression(finding, self._suppression(policy.id, resource, location, suppressions))
        return finding

    def _suppression(self, policy_id: str, resource: Resource, location: Location,
                     on_resource: dict[str, Suppression]) -> Suppression | SuppressionRule | None:
        """The resource's own annotation/tag first, then config, then an inline comment
        on the finding's line or the line above it."""
        found: Suppression | SuppressionRule | None = on_resource.get(policy_id)
        if found is None and self.options.suppression_rules:
            found = next((r for r in self.options.suppression_rules if r.matches(policy_id, resource.identity)),
                         None)
        if found is None and location.line:
            for text in resource.origin.comment_lines(location.line):
                if not text:
                    continue
                found = next((s for s in comment_suppressions(text) if s.policy_id == policy_id), None)
                if found is not None:
                    break
        return found

    def _apply_suppression(self, finding: Finding, suppression: Suppression | SuppressionRule | None) -> None:
        if suppression is None:
            return
        if not suppression.reason:
            finding.message += " (A suppression without a reason was ignored.)"
        elif suppression.expired(self.options.today):
            expiry = suppression.expires.isoformat() if suppression.expires else ""
            finding.message += f" (Suppression expired on {expiry}.)"
        else:
            finding.outcome = Outcome.SUPPRESSED
            finding.justification = suppression.reason


def _release(locator: Locator | None) -> None:
    release = getattr(locator, "release", None)
    if release is not None:
        release()


def _of(subject: Subject) -> str:
    return f" {subject.label}" if subject.label else ""


def _unknown_inspected(resource: Resource, subject: Subject, condition: Any) -> tuple[JsonPath, str] | None:
    """The first value not known statically (body path, expression) that holds a value
    the condition inspects (an unknown `properties` object holds every property a policy
    reads, and a schema's `properties` keyword silently skips a string), or None.

    Two kinds of unknown do not count here: one deeper than anything inspected (descending
    into `properties` to read one setting does not depend on the others), and one that is
    itself the inspected value: there the policy's own condition decides, and the failure
    message says the value is not known (HA-AZ-004's `not Burstable` passes an unknown
    tier on purpose; an `enum` fails it)."""
    for inspected in condition.inspected:
        if inspected[:1] == ("context",):
            continue  # relations and derived facts: not part of the body
        body = subject.body_path(inspected)
        for unresolved_path, expression in resource.unresolved.items():
            n = len(unresolved_path)
            if n and n < len(body) and all(a == b or (b == "*" and isinstance(a, int))
                                            for a, b in zip(unresolved_path, body[:n], strict=True)):
                return unresolved_path, expression
    return None


def _unresolved_note(resource: Resource, path: JsonPath) -> str:
    for unresolved_path, expression in resource.unresolved.items():
        n = min(len(unresolved_path), len(path))
        if n and unresolved_path[:n] == path[:n]:
            return expression
    return ""
