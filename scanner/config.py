"""`.tierscan.yaml`: find it, validate it, and apply it to the policies and the scan.

The file is found upward from the first scanned path (stopping at the repository root,
the directory holding `.git`), or given with `--config`. It is validated against
`scanner/config.schema.json`; a bad config is a clear error naming the file and the
key, and the scan does not start (exit 2), because scanning with half a config would
report the wrong thing.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from scanner.engine.compiled_schema import compile_schema
from scanner.engine.policy import Policy
from scanner.engine.suppress import SuppressionRule
from scanner.engine.tiers import TierSettings
from scanner.model import ScanError, Severity

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CONFIG_NAMES = (".tierscan.yaml", ".tierscan.yml")
SCHEMA_PATH = Path(__file__).with_name("config.schema.json")
# The policy whose allow-list `allowed_registries` feeds, and its parameter name.
REGISTRY_POLICY, REGISTRY_PARAM = "GOV-K8S-004", "allowedRegistries"


class ConfigError(ValueError):
    pass


@dataclass
class Config:
    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def tiers(self) -> TierSettings:
        settings = TierSettings()
        defaults = self.data.get("defaults", {})
        settings.default_tier = defaults.get("tier", settings.default_tier)
        settings.default_environment = defaults.get("environment", settings.default_environment)
        keys = self.data.get("keys", {})
        k8s, az = keys.get("kubernetes", {}), keys.get("azure", {})
        settings.k8s_tier_keys = k8s.get("tier", settings.k8s_tier_keys)
        settings.k8s_env_keys = k8s.get("environment", settings.k8s_env_keys)
        settings.az_tier_keys = az.get("tier", settings.az_tier_keys)
        settings.az_env_keys = az.get("environment", settings.az_env_keys)
        return settings

    @property
    def fail_on(self) -> str | None:
        value = self.data.get("fail_on")
        return str(value) if value is not None else None

    @property
    def exclude(self) -> list[str]:
        return list(self.data.get("exclude", []))

    @property
    def baseline(self) -> Path | None:
        value = self.data.get("baseline")
        if value is None:
            return None
        base = self.path.parent if self.path else Path.cwd()
        return base / str(value)

    @property
    def policy_dirs(self) -> list[Path]:
        base = self.path.parent if self.path else Path.cwd()
        return [base / d for d in self.data.get("policies", {}).get("directories", [])]

    @property
    def suppressions(self) -> list[SuppressionRule]:
        out = []
        for entry in self.data.get("suppressions", []):
            expires = dt.date.fromisoformat(entry["expires"]) if "expires" in entry else None
            out.append(SuppressionRule(entry["policy"], entry["resource"], entry["reason"], expires))
        return out

    @property
    def services(self) -> list[dict[str, Any]]:
        """Declared services for `tierscan recovery` (see scanner/recovery/platform.py)."""
        return [dict(entry) for entry in self.data.get("services", [])]

    @property
    def recovery_figures(self) -> dict[str, Any]:
        """Overrides of policies/recovery-model.yaml figures, by key."""
        return dict(self.data.get("recovery", {}).get("figures", {}))

    def is_excluded(self, shown_path: str) -> bool:
        return any(fnmatch.fnmatch(shown_path, pattern) or fnmatch.fnmatch(f"./{shown_path}", pattern)
                   for pattern in self.exclude)


def find_config(start: Path) -> Path | None:
    """The nearest `.tierscan.yaml` from `start` upward, up to the repository root."""
    here = start.resolve()
    if here.is_file() or not here.exists():
        here = here.parent
    for directory in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
        if (directory / ".git").exists():
            return None
    return None


@cache
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe loader
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: config is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    data = data or {}
    if not compile_schema(_schema())(data):
        from jsonschema import Draft202012Validator  # only for the message, on the error path

        error = min(Draft202012Validator(_schema()).iter_errors(data), key=lambda e: len(e.path))
        where = ".".join(map(str, error.absolute_path)) or "<top level>"
        raise ConfigError(f"{path}: '{where}': {error.message} (see `tierscan init` for a commented example)")
    return Config(path, data)


def _selected(policy: Policy, selectors: list[str]) -> bool:
    names = {policy.id, f"area:{policy.area}", f"platform:{policy.platform.value}",
             *(f"tag:{tag}" for tag in policy.tags)}
    return any(selector in names for selector in selectors)


def apply_to_policies(policies: list[Policy], config: Config) -> tuple[list[Policy], list[ScanError]]:
    """Enable/disable, severity overrides and parameter overrides, checked by name."""
    section = config.data.get("policies", {})
    errors: list[ScanError] = []
    where = str(config.path) if config.path else None
    known = {p.id: p for p in policies}
    for policy_id in [*section.get("severity", {}), *section.get("params", {})]:
        if policy_id not in known:
            errors.append(ScanError(f"config names unknown policy {policy_id}; see `tierscan policies list`",
                                    file=where))
    chosen = policies
    if "enable" in section:
        chosen = [p for p in chosen if _selected(p, section["enable"])]
    if "disable" in section:
        chosen = [p for p in chosen if not _selected(p, section["disable"])]
    for policy_id, severity in section.get("severity", {}).items():
        if policy_id in known:
            known[policy_id].severity = Severity(severity)
    overrides: dict[str, dict[str, Any]] = {k: dict(v) for k, v in section.get("params", {}).items()}
    if "allowed_registries" in config.data:
        overrides.setdefault(REGISTRY_POLICY, {})[REGISTRY_PARAM] = {"default": config.data["allowed_registries"]}
    for policy_id, params in overrides.items():
        policy = known.get(policy_id)
        if policy is None:
            continue
        for name, by_tier in params.items():
            if name not in policy.params:
                errors.append(ScanError(f"config sets unknown parameter {name!r} of {policy_id} "
                                        f"(it has: {', '.join(sorted(policy.params)) or 'none'})", file=where))
                continue
            policy.params[name] = {**policy.params[name], **by_tier}
        policy.reset_compiled()
        try:
            for tier in policy.tiers:
                policy.conditions_for(tier)
        except (TypeError, ValueError, KeyError) as exc:
            errors.append(ScanError(f"parameter override for {policy_id} does not compile: {exc}", file=where))
    return chosen, errors


STARTER = """\
# tierscan configuration. Every key is optional; delete what you don't need.
# Found upward from the scanned path (up to the repository root), or --config FILE.
# Schema: scanner/config.schema.json in the tierscan repository.

# Resources that declare no tier or environment get these. The strict defaults
# (high, production) mean a missing label never makes a rule go quiet.
defaults:
  tier: high
  environment: production

# Which labels (Kubernetes) and tags (Azure) declare tier and environment; first match wins.
keys:
  kubernetes:
    tier: [tierscan.io/tier, criticality]
    environment: [tierscan.io/environment, environment]
  azure:
    tier: [tier, criticality]          # Azure tag names cannot contain '/'
    environment: [environment, env]

# Exit 1 when a failing finding has this severity or worse (critical|high|medium|low|info|none).
fail_on: high

policies:
  # enable: [area:disaster-recovery, platform:azure]   # if set, only these run
  disable: []                                          # IDs, area:NAME, platform:NAME or tag:NAME
  severity: {}                                         # e.g. {HA-K8S-003: low}
  params: {}                                           # e.g. {HA-K8S-001: {minReplicas: {critical: 4}}}

# Registries images may come from (GOV-K8S-004).
# allowed_registries: [contoso.azurecr.io, mcr.microsoft.com]

# Path globs not to scan (reported as skipped).
exclude: []

# Known exceptions: a policy, a resource glob (its identity), a reason, optionally an expiry.
suppressions: []
#  - policy: HA-K8S-001
#    resource: Deployment/erp-prod/odoo-cron
#    reason: scheduled actions tolerate a restart; one replica avoids duplicate cron runs
#    expires: 2027-06-30

# Report only findings that are not in this file (write it with --write-baseline).
# baseline: .tierscan-baseline.json

# `tierscan recovery`: services whose links cannot be inferred from the configuration,
# as resource identity globs, and figures measured in your own recovery drills.
# services:
#   - name: odoo-production
#     tier: critical
#     workloads: [Deployment/erp-prod/odoo-*]
#     depends_on: [Microsoft.DBforPostgreSQL/flexibleServers/pg-erp-prod]
# recovery:
#   figures: {}          # see policies/recovery-model.yaml for the names
"""
