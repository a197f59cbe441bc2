"""Lazy line/column locators for YAML and JSON documents.

Bodies are parsed with the fast loaders (libyaml, `json`) which keep no positions. Only
when a file has a finding do we re-read it with a position-keeping parser, once, and
walk the property path to the nearest node that exists.
"""

from __future__ import annotations

import json
from array import array
from typing import Any

import yaml

from scanner.model import JsonPath, Locator, Position

try:  # libyaml is a hard requirement for speed, but stay correct without it.
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


class _TextLines:
    """Line access shared by the locators (split once, on first use)."""

    _text: str
    _lines: list[str] | None = None

    def line_text(self, line: int) -> str:
        if self._lines is None:
            self._lines = self._text.splitlines()
        return self._lines[line - 1] if 1 <= line <= len(self._lines) else ""


class YamlLocator(_TextLines, Locator):
    """Positions from libyaml's event stream.

    Events carry marks and cost a fraction of composing nodes (no tag resolution, no
    objects), so even a scan where most files have findings stays near parse speed.
    The index (path -> position of its key or item, for each document of the file) is
    built once, on the first question, and dropped by `release` once the engine has
    moved past the file (asked again, it is rebuilt).
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._index: dict[int, dict[JsonPath, tuple[int, int]]] | None = None

    def _build(self) -> dict[int, dict[JsonPath, tuple[int, int]]]:
        """path -> (line, column), 0-based, for every key and item of every document.

        This walks every event of a file with findings, so it is written for speed: the
        parser is driven directly (no generator), events are told apart by class
        identity, and positions stay raw tuples until `locate` returns one. A mapping
        value's path takes its key's position, so only keys, items and roots are read.
        """
        out: dict[int, dict[JsonPath, tuple[int, int]]] = {}
        document = -1
        index: dict[JsonPath, tuple[int, int]] = {}
        # Each frame: [path, is_mapping, pending key (mapping) or next index (sequence)]
        stack: list[list[Any]] = []
        loader = _Loader(self._text)
        get_event = loader.get_event
        scalar, alias = yaml.ScalarEvent, yaml.AliasEvent
        mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        collection_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        document_start, stream_end = yaml.DocumentStartEvent, yaml.StreamEndEvent
        try:
            while True:
                event = get_event()
                cls = event.__class__
                if cls is scalar or cls is alias or cls is mapping_start or cls is sequence_start:
                    if stack:
                        frame = stack[-1]
                        parent_path, is_mapping, state = frame
                        if is_mapping and state is None:
                            # A mapping key: remember it; its position is the value's position.
                            mark = event.start_mark
                            frame[2] = (event.value if cls is scalar else "?",
                                        (mark.line, mark.column) if mark is not None else (0, 0))
                            if cls is not scalar:
                                stack.append([None, False, 0])  # a complex key: skip its content
                            continue
                        if parent_path is None:
                            path = None
                        elif is_mapping:
                            path = (*parent_path, state[0])
                            index[path] = state[1]
                        else:
                            path = (*parent_path, state)
                            mark = event.start_mark
                            index[path] = (mark.line, mark.column) if mark is not None else (0, 0)
                    else:
                        path = ()
                        mark = event.start_mark
                        index[path] = (mark.line, mark.column) if mark is not None else (0, 0)
                    if cls is mapping_start:
                        stack.append([path, True, None])
                    elif cls is sequence_start:
                        stack.append([path, False, 0])
                    elif stack:  # a scalar or alias value is done
                        frame = stack[-1]
                        if frame[1]:
                            frame[2] = None
                        else:
                            frame[2] += 1
                elif cls in collection_end:
                    stack.pop()
                    if stack:
                        frame = stack[-1]
                        if frame[1]:
                            frame[2] = None
                        else:
                            frame[2] += 1
                elif cls is document_start:
                    document += 1
                    mark = event.start_mark
                    index = {(): (mark.line, mark.column) if mark is not None else (0, 0)}
                    out[document] = index
                    stack = []
                elif cls is stream_end or event is None:
                    break
        except yaml.YAMLError:
            pass
        finally:
            loader.dispose()
        return out

    def release(self) -> None:
        """Drop the position index (the engine calls this once past the file)."""
        self._index = None

    def locate(self, document: int, path: JsonPath) -> tuple[Position, JsonPath]:
        if self._index is None:
            self._index = self._build()
        index = self._index.get(document)
        if not index:
            return Position(1, 1), ()
        for depth in range(len(path), -1, -1):
            found = index.get(path[:depth])
            if found is not None:
                return Position(found[0] + 1, found[1] + 1), path[:depth]
        return Position(1, 1), ()


class RecordedYamlLocator(Locator):
    """Positions recorded while the file was read (safe_yaml.record_positions).

    The table of each document lists positions in document order; the document's
    values, walked in the same order, say which path each one belongs to. Walking
    dicts is several times cheaper than parsing the text again, and the text itself is
    not kept: only when it holds an inline suppression (`tierscan:ignore`), for
    `line_text`. The per-document index is built on the first question and dropped by
    `release`, as YamlLocator's.
    """

    def __init__(self, documents: list[Any], tables: list[array[int]], text: str) -> None:
        self._documents = documents
        self._tables = tables
        self._lines = text.splitlines() if "tierscan:ignore" in text else None
        self._index: dict[int, dict[JsonPath, tuple[int, int]]] = {}

    def release(self) -> None:
        self._index = {}

    def line_text(self, line: int) -> str:
        # Without the marker in the file, no line can hold a suppression.
        lines = self._lines
        return lines[line - 1] if lines is not None and 1 <= line <= len(lines) else ""

    def locate(self, document: int, path: JsonPath) -> tuple[Position, JsonPath]:
        index = self._index.get(document)
        if index is None:
            index = self._index[document] = self._build(document)
        for depth in range(len(path), -1, -1):
            found = index.get(path[:depth])
            if found is not None:
                return Position(found[0] + 1, found[1] + 1), path[:depth]
        return Position(1, 1), ()

    def _build(self, document: int) -> dict[JsonPath, tuple[int, int]]:
        if not 0 <= document < len(self._tables):
            return {}
        table = self._tables[document]
        index: dict[JsonPath, tuple[int, int]] = {(): (table[0], table[1])}
        seen: set[int] = set()
        cursor = 2

        def visit(value: Any, path: JsonPath) -> None:
            nonlocal cursor
            if id(value) in seen:  # an alias: indexed where its anchor is
                return
            seen.add(id(value))
            pairs = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in pairs:
                child_path = (*path, key)
                index[child_path] = (table[cursor], table[cursor + 1])
                cursor += 2
                if isinstance(child, (dict, list)):
                    visit(child, child_path)

        root = self._documents[document]
        try:
            if isinstance(root, (dict, list)):
                visit(root, ())
        except IndexError:  # more values than positions
            cursor = -1
        if cursor != len(table):
            # The values no longer match what was read (something changed a body):
            # no position is better than a wrong one.
            return {(): (table[0], table[1])}
        return index


class _PosNode:
    __slots__ = ("children", "key_pos", "pos")

    def __init__(self, pos: Position) -> None:
        self.pos = pos
        self.key_pos: Position | None = None
        self.children: dict[str | int, _PosNode] | None = None


class JsonLocator(_TextLines, Locator):
    """Positions for JSON, including ARM's `//` and `/* */` comments."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._root: _PosNode | None = None

    def release(self) -> None:
        """Drop the position tree (the engine calls this once past the file)."""
        self._root = None

    def locate(self, document: int, path: JsonPath) -> tuple[Position, JsonPath]:
        if self._root is None:
            try:
                self._root = _PositionParser(self._text).parse()
            except (ValueError, IndexError, RecursionError):
                self._root = _PosNode(Position(1, 1))
        node = self._root
        pos = node.pos
        found: list[str | int] = []
        for step in path:
            if not node.children or step not in node.children:
                break
            node = node.children[step]
            pos = node.key_pos or node.pos
            found.append(step)
        return pos, tuple(found)


class _PositionParser:
    """A small recursive-descent JSON reader that records where every value starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.col = 1

    def _advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.text[self.i] == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
            self.i += 1

    def _skip(self) -> None:
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch in " \t\r\n\ufeff":
                self._advance()
            elif text.startswith("//", self.i):
                while self.i < len(text) and text[self.i] != "\n":
                    self._advance()
            elif text.startswith("/*", self.i):
                end = text.find("*/", self.i + 2)
                self._advance((len(text) if end < 0 else end + 2) - self.i)
            else:
                return

    def _pos(self) -> Position:
        return Position(self.line, self.col)

    def parse(self) -> _PosNode:
        self._skip()
        return self._value()

    def _value(self) -> _PosNode:
        node = _PosNode(self._pos())
        ch = self.text[self.i]
        if ch == "{":
            node.children = {}
            self._advance()
            self._skip()
            while self.text[self.i] != "}":
                key_pos = self._pos()
                key = self._string()
                self._skip()
                self._advance()  # ':'
                self._skip()
                child = self._value()
                child.key_pos = key_pos
                node.children[key] = child
                self._skip()
                if self.text[self.i] == ",":
                    self._advance()
                    self._skip()
            self._advance()
        elif ch == "[":
            node.children = {}
            self._advance()
            self._skip()
            index = 0
            while self.text[self.i] != "]":
                node.children[index] = self._value()
                index += 1
                self._skip()
                if self.text[self.i] == ",":
                    self._advance()
                    self._skip()
            self._advance()
        elif ch == '"':
            self._string()
        else:
            while self.i < len(self.text) and self.text[self.i] not in ",}] \t\r\n/":
                self._advance()
        return node

    def _string(self) -> str:
        start = self.i
        self._advance()
        while self.text[self.i] != '"':
            self._advance(2 if self.text[self.i] == "\\" else 1)
        self._advance()
        return str(json.loads(self.text[start:self.i], strict=False))
