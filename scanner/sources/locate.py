"""Lazy line/column locators for YAML and JSON documents.

Bodies are parsed with the fast loaders (libyaml, `json`) which keep no positions. Only
when a file has a finding do we re-read it with a position-keeping parser, once, and
walk the property path to the nearest node that exists.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from scanner.model import JsonPath, Locator, Position

try:  # libyaml is a hard requirement for speed, but stay correct without it.
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


class YamlLocator(Locator):
    def __init__(self, text: str) -> None:
        self._text = text
        self._docs: list[yaml.Node | None] | None = None

    def _documents(self) -> list[yaml.Node | None]:
        if self._docs is None:
            try:
                self._docs = list(yaml.compose_all(self._text, Loader=_Loader))
            except yaml.YAMLError:
                self._docs = []
        return self._docs

    def locate(self, document: int, path: JsonPath) -> tuple[Position, JsonPath]:
        docs = self._documents()
        if document >= len(docs) or docs[document] is None:
            return Position(1, 1), ()
        node = docs[document]
        assert node is not None
        mark = node.start_mark
        found: list[str | int] = []
        for step in path:
            nxt = None
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == step:
                        nxt, mark = value, key.start_mark
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
                nxt = node.value[step]
                mark = nxt.start_mark
            if nxt is None:
                break
            node = nxt
            found.append(step)
        return Position(mark.line + 1, mark.column + 1), tuple(found)


class _PosNode:
    __slots__ = ("children", "key_pos", "pos")

    def __init__(self, pos: Position) -> None:
        self.pos = pos
        self.key_pos: Position | None = None
        self.children: dict[str | int, _PosNode] | None = None


class JsonLocator(Locator):
    """Positions for JSON, including ARM's `//` and `/* */` comments."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._root: _PosNode | None = None

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
