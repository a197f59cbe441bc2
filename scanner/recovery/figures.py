"""The recovery model's figures: load `policies/recovery-model.yaml`, apply the config's
overrides, and hand each estimate the figure it relies on (with its source or its
assumption note), so that every number in a report can be traced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.engine.loader import builtin_policy_dir

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MODEL_FILE = "recovery-model.yaml"


class ModelError(ValueError):
    """The model file or a config override is malformed."""


@dataclass(frozen=True)
class Figure:
    key: str
    minutes: float
    description: str
    source: str | None = None
    assumption: bool = False
    note: str = ""
    overridden: bool = False  # set from .tierscan.yaml `recovery.figures`

    def cite(self) -> str:
        """How reports credit the figure: its source, or that it is an assumption."""
        if self.overridden:
            return f"configured in .tierscan.yaml{': ' + self.note if self.note else ''}"
        if self.assumption:
            return f"assumption: {self.note}" if self.note else "assumption"
        return self.source or ""


@dataclass
class RecoveryModel:
    figures: dict[str, Figure]
    storage_classes: dict[str, str] = field(default_factory=dict)  # AKS built-in class -> SKU
    storage_classes_source: str = ""

    def minutes(self, key: str) -> float:
        return self.figures[key].minutes


def _figure(key: str, raw: Any) -> Figure:
    if not isinstance(raw, dict) or not isinstance(raw.get("minutes"), (int, float)):
        raise ModelError(f"figure {key!r} needs a number of `minutes`")
    assumption = bool(raw.get("assumption", False))
    source = raw.get("source")
    if not assumption and not (isinstance(source, str) and source.startswith("https://")):
        raise ModelError(f"figure {key!r} cites no https source and is not marked `assumption: true`")
    if assumption and not raw.get("note"):
        raise ModelError(f"figure {key!r} is an assumption without a `note` saying why")
    return Figure(key, float(raw["minutes"]), str(raw.get("description", "")),
                  source if isinstance(source, str) else None, assumption, str(raw.get("note", "")))


def load_model(path: Path | None = None, overrides: dict[str, Any] | None = None) -> RecoveryModel:
    """The model from `path` (default: the shipped one), with config overrides applied.

    An override is `{minutes: N, note: "..."}` or a bare number; it must name a known
    figure, so that a typo never silently leaves the default in place."""
    file = path or builtin_policy_dir() / MODEL_FILE
    data = yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe loader
    if not isinstance(data, dict) or not isinstance(data.get("figures"), dict):
        raise ModelError(f"{file}: expected a `figures` mapping")
    figures = {key: _figure(key, raw) for key, raw in data["figures"].items()}
    for key, raw in (overrides or {}).items():
        if key not in figures:
            raise ModelError(f"recovery.figures.{key}: no such figure (known: {', '.join(sorted(figures))})")
        spec = raw if isinstance(raw, dict) else {"minutes": raw}
        minutes = spec.get("minutes")
        if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or minutes < 0:
            raise ModelError(f"recovery.figures.{key}: `minutes` must be a number >= 0")
        base = figures[key]
        figures[key] = Figure(key, float(minutes), base.description, base.source, False,
                              str(spec.get("note", "")), overridden=True)
    classes = data.get("aks_storage_classes") or {}
    return RecoveryModel(figures, {str(k): str(v) for k, v in (classes.get("classes") or {}).items()},
                         str(classes.get("source", "")))
