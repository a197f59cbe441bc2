"""Inline suppressions declared on the resource itself.

Kubernetes: the annotation `tierscan.io/ignore`. Azure: the tag `tierscan-ignore`
(Azure tag names cannot contain '/'). One entry per line, or separated by `;;`:

    HA-K8S-003: single replica by design; expires 2027-06-30

A suppression needs a reason. An expired one no longer suppresses, and the finding
says so.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass

from scanner.model import Platform, Resource

K8S_ANNOTATION = "tierscan.io/ignore"
AZURE_TAG = "tierscan-ignore"

_ENTRY = re.compile(
    r"^\s*(?P<ids>[A-Z]+-[A-Z0-9]+-[A-Z0-9]+(?:\s*,\s*[A-Z]+-[A-Z0-9]+-[A-Z0-9]+)*)\s*[:\s]\s*(?P<rest>.*)$")
_EXPIRES = re.compile(r";?\s*expires:?\s*(\d{4}-\d{2}-\d{2})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Suppression:
    policy_id: str
    reason: str
    expires: dt.date | None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


@dataclass(frozen=True)
class SuppressionRule:
    """A suppression declared in config: a policy and a glob over resource identities
    (`Deployment/erp-prod/*`, `Microsoft.Storage/storageAccounts/*`)."""

    policy_id: str
    resource: str
    reason: str
    expires: dt.date | None

    def matches(self, policy_id: str, identity: str) -> bool:
        return self.policy_id == policy_id and fnmatch.fnmatchcase(identity, self.resource)

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


def parse_suppressions(text: str) -> list[Suppression]:
    out: list[Suppression] = []
    for raw in re.split(r"\n|;;", text):
        m = _ENTRY.match(raw)
        if not m:
            continue
        rest = m.group("rest").strip()
        expires = None
        em = _EXPIRES.search(rest)
        if em:
            try:
                expires = dt.date.fromisoformat(em.group(1))
            except ValueError:
                expires = None
            rest = rest[: em.start()].strip()
        for policy_id in re.split(r"\s*,\s*", m.group("ids")):
            out.append(Suppression(policy_id, rest.strip(" ;"), expires))
    return out


def resource_suppressions(resource: Resource) -> dict[str, Suppression]:
    if resource.platform is Platform.KUBERNETES:
        text = resource.annotations.get(K8S_ANNOTATION)
    else:
        text = resource.labels.get(AZURE_TAG)
    if not isinstance(text, str):
        return {}
    return {s.policy_id: s for s in parse_suppressions(text)}


def comment_suppressions(line_text: str) -> list[Suppression]:
    """`# tierscan:ignore HA-AZ-004 reason` (YAML, Bicep, Terraform, ARM `//` comments)."""
    m = _COMMENT.search(line_text)
    return parse_suppressions(m.group(1)) if m else []


_COMMENT = re.compile(r"(?:#|//)\s*tierscan:ignore\s+(.*)$")
