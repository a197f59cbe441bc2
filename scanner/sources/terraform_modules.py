"""Which Terraform directories of a scan are local child modules of a module that the scan
reads too. Such a directory is evaluated through its callers, with the arguments each one
passes; read again on its own, its variables would be unknown and every finding doubled.

A directory named on its own (no caller in the scan) is still read as a root module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scanner.sources import terraform_hcl

# A cheap test first: only files that mention a local `source` can call a module by path.
_LOCAL_SOURCE = re.compile(r'\bsource\s*=\s*"\.{1,2}[/\\]')
# Where a `module` block starts (not after `#` or `//`), and block comments to blank out
# first, so that a commented-out call is not read as one.
_MODULE_HEADER = re.compile(r'^[ \t]*module[ \t]+"[^"\n]*"[ \t]*\{', re.MULTILINE)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_SOURCE = re.compile(r'(?:^|\{)[ \t]*source[ \t]*=[ \t]*"([^"\n]*)"', re.MULTILINE)


@dataclass
class ModuleCalls:
    """The local module calls made by the .tf files of one scan."""

    files: set[str] = field(default_factory=set)  # resolved paths of every .tf file in the scan
    callers: dict[str, list[Path]] = field(default_factory=dict)  # resolved directory -> calling files
    calls: dict[str, set[str]] = field(default_factory=dict)  # resolved directory -> directories it calls

    def callers_of(self, directory: Path) -> list[Path]:
        """The files of the scan that call `directory` as a local module. A caller that
        `directory` itself calls, directly or further down, forms a cycle (which Terraform
        rejects): neither is then read through the other, and each notes the cycle."""
        key = str(directory.resolve())
        found = [c for c in self.callers.get(key, []) if str(c.parent.resolve()) != key]
        if not found:
            return []
        below = self._reachable(key)
        return [c for c in found if str(c.parent.resolve()) not in below]

    def _reachable(self, start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in self.calls.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen


def callers_on_disk(directory: Path) -> list[Path]:
    """The .tf files on disk that call `directory` as a local module (see
    scanner.sources.nearby for where they are looked for). Pre-commit names only the
    changed files: a changed module is then read through these callers, with the values
    they pass."""
    from scanner.sources import nearby

    target = directory.resolve()
    found = nearby.files_under(nearby.search_root(target), ".tf")
    return index_calls(f for f in found if f.parent.resolve() != target).callers_of(target)


def index_calls(tf_files: Iterable[Path]) -> ModuleCalls:
    """Read the local module calls of every given .tf file (the files of one scan)."""
    index = ModuleCalls()
    for file in tf_files:
        index.files.add(str(file.resolve()))
        try:
            text = file.read_text(encoding="utf-8-sig", errors="replace")
        except OSError:
            continue  # its own scan reports it
        if not _LOCAL_SOURCE.search(text):
            continue
        caller = str(file.parent.resolve())
        for source in _local_sources(file, text):
            target = str(terraform_hcl.module_directory(file.parent, source).resolve())
            index.callers.setdefault(target, [])
            if file not in index.callers[target]:
                index.callers[target].append(file)
            index.calls.setdefault(caller, set()).add(target)
    return index


def _local_sources(file: Path, text: str) -> list[str]:
    """The local sources the file's `module` blocks name, read from the text: Terraform
    requires `source` to be a literal string. Parsing every caller here as well as in its
    own scan doubled the parse time of a repository of many root modules. Blocks whose
    braces do not close (a brace inside a string or comment) send it to the full parse."""
    blocks = _module_blocks(text)
    if blocks is None:
        return terraform_hcl.local_module_sources(file)
    sources: list[str] = []
    for block in blocks:
        for match in _SOURCE.finditer(block):
            # The block's own argument, not a key of a map inside it.
            if block.count("{", 0, match.start(1)) - block.count("}", 0, match.start(1)) == 1:
                if terraform_hcl.is_local_source(match.group(1)):
                    sources.append(match.group(1))
                break
    return sources


def _module_blocks(text: str) -> list[str] | None:
    """The text of each `module` block, by counting braces; None when they do not close."""
    text = _BLOCK_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    blocks: list[str] = []
    for header in _MODULE_HEADER.finditer(text):
        depth = 0
        for index in range(header.end() - 1, len(text)):
            char = text[index]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    blocks.append(text[header.start():index + 1])
                    break
        else:
            return None
    return blocks
