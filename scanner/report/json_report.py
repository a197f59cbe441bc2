"""The JSON report: a documented, stable shape (see README, "JSON report").

    {"version": 1, "tool": {...}, "summary": {...},
     "findings": [{policy, title, outcome, severity, area, tier, environment,
                   resource: {platform, type, name, namespace, id},
                   location: {file, line, column, property}, message, justification}],
     "files": [{path, status, kind, reason, resources}],
     "errors": [{message, file, line, policy}]}
"""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Callable, Iterable, Sequence
from json.encoder import encode_basestring_ascii as _escape
from typing import Any

from scanner import __version__
from scanner.engine.policy import Policy
from scanner.model import Finding, ScanResult
from scanner.parallel import can_fork, in_two_processes
from scanner.report.common import fingerprint, sort_key


def finding_dict(f: Finding, policies: dict[str, Policy]) -> dict[str, Any]:
    policy = policies.get(f.policy_id)
    r = f.resource
    out: dict[str, Any] = {
        "policy": f.policy_id,
        "title": policy.title if policy else "",
        "outcome": f.outcome.value,
        "severity": f.severity.value,
        "area": policy.area if policy else "",
        "tier": r.tier,
        "environment": r.environment,
        "resource": {
            "platform": r.platform.value, "type": r.type, "name": r.name,
            "namespace": r.namespace, "id": r.origin.live_id or r.identity,
        },
        "location": {
            "file": f.location.file, "line": f.location.line, "column": f.location.column,
            "property": f.location.property_path,
        },
        "message": f.message,
        "fingerprint": fingerprint(f),
    }
    if f.view_path:
        out["resource"]["view"] = f.view_path
    if f.justification is not None:
        out["justification"] = f.justification
    return out


def render(result: ScanResult, policies: list[Policy]) -> str:
    buffer = io.StringIO()
    render_to(result, policies, buffer.write)
    return buffer.getvalue()


def render_to(result: ScanResult, policies: list[Policy], write: Callable[[str], object]) -> None:
    """Write the report piece by piece; each finding's dict is built only as it is written,
    so a large report never exists whole in memory (10,000 apps: ~300 MB of text)."""
    by_id = {p.id: p for p in policies}
    doc = {
        "version": 1,
        "tool": {"name": "tierscan", "version": __version__},
        "summary": summary(result),
        "findings": LazyArray(sorted(result.findings, key=sort_key), lambda f: finding_dict(f, by_id)),
        "files": LazyArray({"path": f.path, "status": f.status.value, "kind": f.kind, "reason": f.reason,
                            "resources": f.resources} for f in sorted(result.files, key=lambda f: f.path)),
        "errors": [{"message": e.message, "file": e.file, "line": e.line, "policy": e.policy_id}
                   for e in result.errors],
    }
    encode_to(doc, write)


class LazyArray:
    """Items the encoder writes as a JSON array, each turned into its JSON value by
    `make` only as it is written (so a report's findings never exist as dicts all at
    once). A long sequence is encoded in two processes: see _IndentedEncoder._in_halves."""

    __slots__ = ("items", "make")

    def __init__(self, items: Iterable[Any], make: Callable[[Any], Any] | None = None) -> None:
        self.items = items
        self.make = make


def encode(doc: Any) -> str:
    """json.dumps(doc, indent=2) + "\n", byte for byte; see encode_to."""
    buffer = io.StringIO()
    encode_to(doc, buffer.write)
    return buffer.getvalue()


def encode_to(doc: Any, write: Callable[[str], object]) -> None:
    """Write json.dumps(doc, indent=2) + "\n", byte for byte, about twice as fast, in
    pieces of a few thousand values (LazyArray values are written as arrays).

    With an indent, CPython 3.11's `json` falls back to its pure-Python, generator-based
    encoder, which was a third of a 1000-app scan. This walks the tree with plain loops
    and escapes strings with the same C function `json` uses (`encode_basestring_ascii`).
    tests/unit/test_json_encode.py checks it against json.dumps on awkward values.
    """
    _IndentedEncoder(write).encode(doc)


_CONTAINERS = (dict, list, tuple, LazyArray)


class _IndentedEncoder:
    """One use: encode(doc) writes what json.dumps(doc, indent=2) + "\n" gives."""

    FLUSH_EVERY = 4096  # pieces; a flush joins them and hands the text to `write`
    # Arrays this long are encoded in two processes (forking costs a few milliseconds).
    PARALLEL_MIN_ITEMS = 2000

    def __init__(self, write: Callable[[str], object]) -> None:
        self.write = write
        self.parts: list[str] = []
        # Separators per depth: "\n" + two spaces per level, made once.
        self.newlines: list[str] = ["\n"]

    def encode(self, doc: Any) -> None:
        if isinstance(doc, _CONTAINERS):
            self._container(doc, 0)
        else:
            self.parts.append(_scalar(doc))
        self.parts.append("\n")
        self.write("".join(self.parts))
        self.parts.clear()

    def _newline(self, depth: int) -> str:
        while len(self.newlines) <= depth:
            self.newlines.append("\n" + "  " * len(self.newlines))
        return self.newlines[depth]

    def _container(self, value: Any, depth: int) -> None:
        parts, out = self.parts, self.parts.append
        inner, outer = self._newline(depth + 1), self._newline(depth)
        separator = "," + inner
        if isinstance(value, dict):
            if not value:
                out("{}")
                return
            out("{" + inner)
            for key, item in value.items():
                out(_escape(key if isinstance(key, str) else _key_text(key)))
                out(": ")
                if isinstance(item, str):
                    out(_escape(item))
                elif isinstance(item, _CONTAINERS):
                    self._container(item, depth + 1)
                else:
                    out(_scalar(item))
                out(separator)
            parts[-1] = outer + "}"  # the last separator becomes the closing brace
        elif isinstance(value, LazyArray) and isinstance(value.items, Sequence) and \
                len(value.items) >= self.PARALLEL_MIN_ITEMS and can_fork():
            out("[" + inner)
            self._in_halves(value.items, value.make, depth + 1, separator)
            out(outer + "]")
        else:
            out("[" + inner)
            items = value.items if isinstance(value, LazyArray) else value
            make = value.make if isinstance(value, LazyArray) else None
            if not self._items(map(make, items) if make else items, depth + 1, separator):
                parts[-1] = "[]"
                return
            parts[-1] = outer + "]"  # the last separator becomes the closing bracket
        self._maybe_flush()

    def _items(self, items: Iterable[Any], depth: int, separator: str) -> bool:
        """Each item then `separator`; False when there was none."""
        out = self.parts.append
        empty = True
        for item in items:
            empty = False
            if isinstance(item, str):
                out(_escape(item))
            elif isinstance(item, _CONTAINERS):
                self._container(item, depth)
            else:
                out(_scalar(item))
            out(separator)
        return not empty

    def _in_halves(self, items: Sequence[Any], make: Callable[[Any], Any] | None, depth: int,
                   separator: str) -> None:
        """Encode items[:half] here while a forked child encodes items[half:] into a
        temporary file, then copy that file in. Encoding is half the time of a large
        report, and its halves are independent: the bytes are the same as one pass."""
        half = len(items) // 2

        def encode_half(part: Sequence[Any], encoder: _IndentedEncoder) -> None:
            encoder._items(map(make, part) if make else part, depth, separator)
            encoder.parts.pop()  # no separator after the half's last item

        try:
            spill_file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by the `with` below
        except OSError:  # no writable temporary directory: one process it is
            self._items(map(make, items) if make else items, depth, separator)
            self.parts.pop()
            return
        with spill_file as spill:
            def there() -> bool:
                spill.seek(0)
                spill.truncate()
                encoder = _IndentedEncoder(spill.write)
                encoder.newlines = self.newlines
                encode_half(items[half:], encoder)
                encoder._maybe_flush(force=True)
                spill.flush()
                return True

            in_two_processes(lambda: encode_half(items[:half], self), there)
            self.parts.append(separator)
            self._maybe_flush(force=True)
            spill.seek(0)
            while chunk := spill.read(1 << 20):
                self.write(chunk)

    def _maybe_flush(self, force: bool = False) -> None:
        if force or len(self.parts) > self.FLUSH_EVERY:
            self.write("".join(self.parts))
            self.parts.clear()


def _scalar(value: Any) -> str:
    """A non-container value as `json` writes it (allow_nan=True, as json.dumps)."""
    if isinstance(value, str):
        return _escape(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key_text(key: Any) -> str:
    """A non-string dict key as `json` turns it into a string (it never escapes it twice)."""
    if isinstance(key, (int, float)) or key is None:
        return _scalar(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def summary(result: ScanResult) -> dict[str, Any]:
    files: dict[str, int] = {"scanned": 0, "skipped": 0, "error": 0}
    for record in result.files:
        files[record.status.value] += 1
    failing_by_severity: dict[str, int] = {}
    for finding in result.findings:
        if finding.outcome.value == "fail":
            severity = finding.severity.value
            failing_by_severity[severity] = failing_by_severity.get(severity, 0) + 1
    return {
        "outcomes": result.counts(),
        "failures_by_severity": dict(sorted(failing_by_severity.items())),
        "files": files,
        "resources": len(result.resources),
        "policies": result.policies_loaded,
        "errors": len(result.errors),
        **({"baseline": result.baseline} if result.baseline is not None else {}),
    }
