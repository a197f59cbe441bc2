"""Shared test helpers: paths and a scan runner that keeps every outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = ROOT / "fixtures"
POLICIES = ROOT / "policies"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
