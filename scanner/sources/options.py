"""Options that shape how inputs are read (not how policies are evaluated): the input
kind override, parameter files, and the values Helm renders a chart with.

They travel from the CLI through `ScanOptions.sources` to the file discovery, so that
every source reads its own settings from one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Input kinds `--input-kind` accepts. "auto" recognises each input by content and name.
INPUT_KINDS = ("auto", "kubernetes", "arm", "helm", "kustomize", "bicep", "terraform", "terraform-plan")
# Helm's own default when `helm template` is given no release name.
DEFAULT_HELM_RELEASE = "release-name"


@dataclass
class SourceOptions:
    input_kind: str = "auto"
    parameter_files: list[Path] = field(default_factory=list)  # ARM parameter files given explicitly
    helm_values: list[Path] = field(default_factory=list)  # -f/--values files, in order (last wins)
    helm_set: list[str] = field(default_factory=list)  # --set key=value, in order (last wins)
    helm_release: str = DEFAULT_HELM_RELEASE
    helm_namespace: str | None = None  # None: Helm's default, and objects keep no namespace
    var_files: list[Path] = field(default_factory=list)  # Terraform -var-file files, in order
    # The files this scan reads (set by the scan, after the config's `exclude`; directories
    # here stand for every file under them): a Terraform or Bicep module is read through
    # the file that calls it only when that file is read too.
    scan_paths: tuple[Path, ...] = ()
    # Facts about the whole scan that a source computes once, on first need (which Terraform
    # directories are called as modules). Per scan: the scan works on its own copy.
    scan_memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
