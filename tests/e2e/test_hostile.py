"""Hostile and broken inputs: each gives its exact, one-line outcome; the scan goes on
with the other files; the exit code is 2; nothing escapes as a traceback."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.scan import ScanOptions, scan_paths
from tests.conftest import FIXTURES
from tests.e2e.cli_runner import scan_json

HOSTILE = FIXTURES / "hostile"


def test_hostile_corpus_exact_outcomes() -> None:
    expected: dict[str, dict[str, Any]] = yaml.safe_load((HOSTILE / "expected.yaml").read_text())
    code, report, stderr = scan_json(HOSTILE, "--fail-on", "none")
    assert code == 2
    assert "Traceback" not in stderr
    files = {Path(f["path"]).name: f for f in report["files"]}
    errors = {Path(e["file"]).name: e for e in report["errors"]}
    assert set(files) == set(expected) | {"expected.yaml"}
    for name, want in expected.items():
        got = files[name]
        assert got["status"] == want["status"], name
        if want["status"] == "error":
            assert errors[name]["message"] == want["message"], name
            assert errors[name]["line"] == want.get("line"), name
            # One line on stderr, naming the file (and line).
            where = f"{name}:{want['line']}:" if "line" in want else f"{name}:"
            [line] = [x for x in stderr.splitlines() if f"/{name}" in x]
            assert where in line and want["message"] in line
        elif want["status"] == "skipped":
            assert got["reason"] == want["reason"], name
        else:
            assert got["resources"] == want["resources"], name
    # The unknown kind is read but no policy applies to it: no finding at all.
    assert not [f for f in report["findings"] if f["resource"]["type"] == "FluxCapacitor"]


def test_size_limit_symlinks_and_unreadable_files(tmp_path: Path) -> None:
    good = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n"
    (tmp_path / "ok.yaml").write_text(good)
    (tmp_path / "big.yaml").write_text(good + "# padding\n" * 200)
    (tmp_path / "loop-a.yaml").symlink_to(tmp_path / "loop-b.yaml")
    (tmp_path / "loop-b.yaml").symlink_to(tmp_path / "loop-a.yaml")
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "again").symlink_to(tmp_path, target_is_directory=True)  # a directory loop
    code, report, stderr = scan_json(".", "--max-file-size", "1000", "--fail-on", "none", cwd=tmp_path)
    files = {f["path"]: f for f in report["files"]}
    assert files["ok.yaml"]["status"] == "scanned"
    assert (files["big.yaml"]["status"], files["big.yaml"]["reason"]) == (
        "skipped", "larger than --max-file-size (2052 > 1000 bytes); not scanned")
    for name in ("loop-a.yaml", "loop-b.yaml"):
        assert (files[name]["status"], files[name]["reason"]) == (
            "error", "cannot read: Too many levels of symbolic links"), name
    assert (files["dangling.yaml"]["status"], files["dangling.yaml"]["reason"]) == (
        "error", "cannot read: No such file or directory")
    assert (files["sub/again"]["status"], files["sub/again"]["reason"]) == (
        "skipped", "symbolic link to a directory; not followed (scan its target directly)")
    assert code == 2 and "Traceback" not in stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n")
    path.chmod(0)
    code, report, _ = scan_json(tmp_path)
    assert report["files"][0]["reason"] == "cannot read: Permission denied" and code == 2


def test_file_scans_make_no_network_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a file scan tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    result = scan_paths([FIXTURES.parent / "examples", HOSTILE], ScanOptions())
    assert result.resources and result.findings
