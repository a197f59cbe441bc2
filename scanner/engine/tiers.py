"""Resolve each resource's criticality tier and environment.

Order: the resource's own label (Kubernetes) or tag (Azure); then its namespace's
labels or its resource group's tags, when that object is part of the scan; then the
configured default. The built-in defaults are the safe ones (tier `high`,
environment `production`): a missing declaration must never make a rule go quiet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.model import ENVIRONMENTS, TIERS, Platform, Resource

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Azure tag names cannot contain '/', so the Azure keys differ from the Kubernetes labels.
DEFAULT_K8S_TIER_KEYS = ["tierscan.io/tier", "criticality"]
DEFAULT_K8S_ENV_KEYS = ["tierscan.io/environment", "environment"]
DEFAULT_AZ_TIER_KEYS = ["tier", "criticality"]
DEFAULT_AZ_ENV_KEYS = ["environment", "env"]

# Common spellings people already use, mapped to the canonical values.
_TIER_ALIASES = {"lower": "low", "mission-critical": "critical"}
_ENV_ALIASES = {"prod": "production", "prd": "production", "stage": "staging", "stg": "staging",
                "dev": "development", "qa": "test", "testing": "test"}


@dataclass
class TierSettings:
    default_tier: str = "high"
    default_environment: str = "production"
    k8s_tier_keys: list[str] = field(default_factory=lambda: list(DEFAULT_K8S_TIER_KEYS))
    k8s_env_keys: list[str] = field(default_factory=lambda: list(DEFAULT_K8S_ENV_KEYS))
    az_tier_keys: list[str] = field(default_factory=lambda: list(DEFAULT_AZ_TIER_KEYS))
    az_env_keys: list[str] = field(default_factory=lambda: list(DEFAULT_AZ_ENV_KEYS))


@dataclass(frozen=True)
class Tier:
    name: str
    rto_minutes: int  # the commitment (upper bound)
    rpo_minutes: int


def load_tier_table(path: Path) -> dict[str, Tier]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe loader
    return {name: Tier(name, int(spec["rto_minutes"]["max"]), int(spec["rpo_minutes"]["max"]))
            for name, spec in data["tiers"].items()}


def normalize_tier(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = _TIER_ALIASES.get(value.strip().lower(), value.strip().lower())
    return value if value in TIERS else None


def normalize_environment(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = _ENV_ALIASES.get(value.strip().lower(), value.strip().lower())
    return value if value in ENVIRONMENTS else None


def _first(labels: dict[str, Any], keys: list[str], normalize: Any) -> str | None:
    for key in keys:
        if key in labels:
            value: str | None = normalize(labels[key])
            if value is not None:
                return value
    return None


def resolve_tiers(resources: list[Resource], settings: TierSettings) -> None:
    """Set `tier`/`environment` (and where they came from) on every resource."""
    namespaces: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    for r in resources:
        if r.platform is Platform.KUBERNETES and r.type == "Namespace":
            namespaces[r.name] = r.labels
        elif r.platform is Platform.AZURE and r.type.lower() == "microsoft.resources/resourcegroups":
            groups[r.name.lower()] = r.labels

    for r in resources:
        if r.platform is Platform.KUBERNETES:
            tier_keys, env_keys = settings.k8s_tier_keys, settings.k8s_env_keys
            parent = namespaces.get(r.name if r.type == "Namespace" else (r.namespace or "default"))
            parent_name = "namespace"
        else:
            tier_keys, env_keys = settings.az_tier_keys, settings.az_env_keys
            parent = groups.get((r.namespace or "").lower())
            parent_name = "resource group"
        own = r.labels
        for attr, keys, normalize, default in (
            ("tier", tier_keys, normalize_tier, settings.default_tier),
            ("environment", env_keys, normalize_environment, settings.default_environment),
        ):
            value = _first(own, keys, normalize)
            source = "label" if r.platform is Platform.KUBERNETES else "tag"
            if value is None and parent is not None:
                value, source = _first(parent, keys, normalize), parent_name
            if value is None:
                value, source = default, "default"
            setattr(r, attr, value)
            setattr(r, f"{attr}_source", source)
