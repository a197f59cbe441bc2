"""Helpers shared by the report formatters: stable ordering and identities."""

from __future__ import annotations

import hashlib

from scanner.model import Finding

OUTCOME_ORDER = {"error": 0, "fail": 1, "suppressed": 2, "pass": 3, "not-applicable": 4}


def sort_key(f: Finding) -> tuple[str, int, int, str, str, str]:
    return (f.location.file or f.location.live_id or "", f.location.line or 0, f.location.column or 0,
            f.policy_id, f.resource.identity, f.view_path)


def fingerprint(f: Finding) -> str:
    """Stable across line moves: policy + resource identity + file (+ container)."""
    key = "|".join((f.policy_id, f.resource.identity, f.location.file or f.location.live_id or "",
                    f.view_path))
    return hashlib.sha256(key.encode()).hexdigest()[:32]
