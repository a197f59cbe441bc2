"""Snapshots: what a live scan read, saved as JSON and read back for an offline rescan.

A snapshot holds every resource (platform, type, name, namespace, API version, live ID
and body) grouped by scope (one Kubernetes cluster, or the Azure tenant), plus the
errors and notes of the live read, so that a rescan gives the same findings and the
same "could not read" errors (and exit code) as the night it was taken.
Secret data is never in a snapshot: the live reader keeps metadata only.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.model import Origin, Platform, Resource, ScanError
from scanner.sources.live_azure import LiveRead

FORMAT = "tierscan-snapshot"
FORMAT_VERSION = 1


def snapshot_document(read: LiveRead) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "tool": f"tierscan {__version__}",
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "scopes": [
            {"scope": scope, "resources": [{
                "platform": r.platform.value, "type": r.type, "name": r.name, "namespace": r.namespace,
                "apiVersion": r.api_version, "id": r.origin.live_id, "body": r.body,
            } for r in resources]}
            for scope, resources in read.groups.items()
        ],
        "errors": [e.message for e in read.errors],
        "notes": list(read.notes),
    }


def save_snapshot(read: LiveRead, path: Path) -> None:
    path.write_text(json.dumps(snapshot_document(read), indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load_snapshot(path: Path) -> LiveRead:
    """Read a snapshot back; a file that is not one raises ValueError with the reason."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read snapshot: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not a tierscan snapshot (format is not '{FORMAT}')")
    if doc.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: snapshot version {doc.get('version')} is not supported "
                         f"(this tierscan reads version {FORMAT_VERSION})")
    read = LiveRead()
    for group in doc.get("scopes") or []:
        resources = []
        for item in group.get("resources") or []:
            resources.append(Resource(
                platform=Platform(item["platform"]), type=str(item["type"]), name=str(item["name"]),
                body=item["body"], origin=Origin(live_id=item.get("id")), namespace=item.get("namespace"),
                api_version=item.get("apiVersion")))
        read.add(str(group.get("scope") or ""), resources)
    read.errors = [ScanError(f"(from snapshot) {message}") for message in doc.get("errors") or []]
    read.notes = [str(n) for n in doc.get("notes") or []]
    return read
