"""A value not known statically is never taken as compliant, also when it is a whole
object: `properties: serverProperties` (a parameter without default) once made every
PostgreSQL policy not applicable or passing, because a schema's `properties` keyword
skips a string placeholder and a precondition's `not` turned that into "not applicable"."""

from __future__ import annotations

from scanner.engine.tiers import TierSettings
from scanner.model import Outcome
from scanner.scan import ScanOptions, scan_paths
from tests.conftest import FIXTURES

UNKNOWN = FIXTURES / "e2e" / "unknown-objects"
PG = "Microsoft.DBforPostgreSQL/flexibleServers pg-erp"


def _outcomes(name: str) -> dict[str, tuple[str, int | None, str]]:
    options = ScanOptions(root=UNKNOWN, tiers=TierSettings(default_tier="critical"))
    options.evaluation.keep_passing = True
    result = scan_paths([UNKNOWN / name], options)
    assert result.errors == []
    return {f.policy_id: (f.outcome.value, f.location.line, f.message) for f in result.findings
            if f.policy_id in ("DR-AZ-001", "DR-AZ-002", "HA-AZ-004", "SEC-AZ-006", "SEC-AZ-008", "GOV-AZ-001")}


def test_an_unknown_properties_object_fails_every_policy_that_reads_inside_it() -> None:
    unknown = f"{PG} cannot be checked: properties is not known statically ([parameters('serverProperties')]); " \
              "treated as non-compliant."
    tags = ("Microsoft.DBforPostgreSQL/flexibleServers 'pg-erp' has tags = [parameters('tags')]; tag it with "
            "environment, tier (or criticality) and owner, using values tierscan understands. The value is not "
            "known statically ([parameters('tags')]); treated as non-compliant.")
    for name, properties_line, tags_line in (("pg.json", 16, 14), ("pg.bicep", 12, 7)):
        assert _outcomes(name) == {
            **{policy: (Outcome.FAIL.value, properties_line, unknown)
               for policy in ("DR-AZ-001", "DR-AZ-002", "HA-AZ-004", "SEC-AZ-006", "SEC-AZ-008")},
            "GOV-AZ-001": (Outcome.FAIL.value, tags_line, tags),
        }, name
