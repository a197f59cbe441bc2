"""The shared vocabulary of the scanner: resources, outcomes, findings and the scan record.

Every source yields `Resource` objects; the engine turns (policy, resource) pairs into
`Finding` objects; every report formatter reads a `ScanResult`. Nothing in this module
does I/O, so every stage can be tested on its own.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

JsonPath = tuple[str | int, ...]


def value_at(document: Any, path: JsonPath) -> Any:
    """The value at a property path (keys and list indexes), or None where it stops."""
    for step in path:
        if isinstance(step, str) and isinstance(document, dict):
            document = document.get(step)
        elif isinstance(step, int) and isinstance(document, list) and 0 <= step < len(document):
            document = document[step]
        else:
            return None
    return document


class Platform(str, enum.Enum):
    KUBERNETES = "kubernetes"
    AZURE = "azure"


class Outcome(str, enum.Enum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    NOT_APPLICABLE = "not-applicable"
    SUPPRESSED = "suppressed"
    ERROR = "error"


class Severity(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for `--fail-on` and for sorting."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}

TIERS = ("critical", "high", "medium", "low")
ENVIRONMENTS = ("production", "staging", "test", "development")


class FileStatus(str, enum.Enum):
    SCANNED = "scanned"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Position:
    line: int
    column: int


class Locator:
    """Maps a property path inside a document to a line and column.

    Sources hand out locators that parse lazily: positions are only computed for files
    that end up with findings, which keeps the common (clean) path at parse speed.
    """

    def locate(self, document: int, path: JsonPath) -> tuple[Position, JsonPath]:
        """Return the position of `path`, or of its nearest existing parent, and the
        part of the path that was found."""
        raise NotImplementedError

    def line_text(self, line: int) -> str:
        """The source text of a 1-based line ('' when unknown); for inline suppressions."""
        return ""


@dataclass(slots=True)  # many thousands per scan: slots halve their memory
class Origin:
    """Where a resource came from: a file (with a locator) or a live resource ID."""

    file: str | None = None  # path as given on the command line, or relative to the scan root
    document: int = 0  # index of the YAML document / JSON file part
    base_path: JsonPath = ()  # where the resource's body sits inside that document
    locator: Locator | None = None
    live_id: str | None = None  # Azure resource ID or cluster/namespace/kind/name
    # Source-specific remapping (Helm `# Source:` comments, Kustomize origins): when set,
    # it turns a found position into (file, position) in the file the user wrote.
    remap: Callable[[Position], tuple[str, Position]] | None = None

    def comment_lines(self, line: int) -> list[str]:
        """The finding's line and the one above it, where inline suppressions live."""
        if self.locator is None or self.remap is not None:
            return []
        return [self.locator.line_text(line), self.locator.line_text(line - 1)]

    def position_of(self, path: JsonPath) -> tuple[str | None, Position | None, JsonPath]:
        """The file and position of `path` (relative to the resource body)."""
        if self.locator is None or self.file is None:
            return self.file, None, path
        position, found = self.locator.locate(self.document, self.base_path + path)
        found_rel = found[len(self.base_path):] if len(found) >= len(self.base_path) else ()
        if self.remap is not None:
            file, position = self.remap(position)
            return file, position, found_rel
        return self.file, position, found_rel


@dataclass(slots=True)
class Resource:
    """One normalized object: a Kubernetes API object or an Azure resource in ARM shape."""

    platform: Platform
    type: str  # Kubernetes kind, or the full Azure type (Microsoft.Storage/storageAccounts/blobServices)
    name: str
    body: dict[str, Any]
    origin: Origin
    namespace: str | None = None  # Kubernetes namespace; Azure resource group when known
    api_version: str | None = None
    # Paths (relative to body) whose value could not be resolved statically, with the
    # expression that was kept. Policies treat them as unknown, never as compliant.
    unresolved: dict[JsonPath, str] = field(default_factory=dict)
    tier: str = "high"
    environment: str = "production"
    tier_source: str = "default"
    environment_source: str = "default"

    @property
    def labels(self) -> dict[str, Any]:
        """Kubernetes labels or Azure tags (both are the declaration surface)."""
        if self.platform is Platform.KUBERNETES:
            meta = self.body.get("metadata")
            labels = meta.get("labels") if isinstance(meta, dict) else None
        else:
            labels = self.body.get("tags")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, Any]:
        meta = self.body.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        return annotations if isinstance(annotations, dict) else {}

    @property
    def identity(self) -> str:
        """A stable key for baselines and fingerprints (no line numbers)."""
        if self.platform is Platform.KUBERNETES:
            return f"{self.type}/{self.namespace or '-'}/{self.name}"
        return f"{self.type}/{self.name}"

    @property
    def display_name(self) -> str:
        if self.platform is Platform.KUBERNETES and self.namespace:
            return f"{self.type} {self.namespace}/{self.name}"
        return f"{self.type} {self.name}"


@dataclass(slots=True)
class Location:
    file: str | None
    line: int | None = None
    column: int | None = None
    property_path: str = ""  # dotted path of the offending (or missing) property
    live_id: str | None = None


@dataclass(slots=True)
class Finding:
    policy_id: str
    outcome: Outcome
    severity: Severity
    resource: Resource
    message: str
    location: Location
    view_path: str = ""  # e.g. "containers[0]" for container-view findings
    justification: str | None = None  # for suppressed findings
    # Extra facts for reports that need them (the recovery assessment's); most findings
    # have none, and share one read-only empty mapping instead of a dict each.
    detail: Mapping[str, Any] = field(default_factory=lambda: NO_DETAIL)


NO_DETAIL: Mapping[str, Any] = MappingProxyType({})


@dataclass
class FileRecord:
    path: str
    status: FileStatus
    kind: str = ""  # kubernetes, arm, ...
    reason: str = ""
    resources: int = 0


@dataclass
class ScanError:
    """Something that could not be read or evaluated. Always printed and exit code 2."""

    message: str
    file: str | None = None
    line: int | None = None
    policy_id: str | None = None

    def one_line(self) -> str:
        where = self.file or (f"policy {self.policy_id}" if self.policy_id else "")
        if self.file and self.line:
            where = f"{self.file}:{self.line}"
        return f"{where}: {self.message}" if where else self.message


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    policies_loaded: int = 0
    # Every outcome is counted, including pass and not-applicable findings that are not
    # kept in `findings` (they are only kept with --all-outcomes).
    outcome_counts: dict[str, int] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None  # {"new", "existing", "resolved"} with --baseline

    def counts(self) -> dict[str, int]:
        return {o.value: self.outcome_counts.get(o.value, 0) for o in Outcome}
