"""A locator backed by a table of known positions, for sources whose resource bodies are
built (Terraform, Bicep) rather than read verbatim from the file.

The source records, while it builds a body, where each property came from; a lookup
walks up the requested path to the nearest recorded one, which is the "nearest
existing parent" the engine expects.
"""

from __future__ import annotations

from scanner.model import JsonPath, Locator, Position


class LineTableLocator(Locator):
    def __init__(self, table: dict[JsonPath, Position] | None = None,
                 default: Position | None = None) -> None:
        self.table: dict[JsonPath, Position] = dict(table or {})
        self.default = default or Position(1, 1)

    def record(self, path: JsonPath, position: Position) -> None:
        # The first record wins: a property mapped from one attribute keeps that line
        # even if a later, broader mapping touches the same path.
        self.table.setdefault(path, position)

    def locate(self, document: int, path: JsonPath) -> tuple[Position, JsonPath]:
        for end in range(len(path), 0, -1):
            position = self.table.get(path[:end])
            if position is not None:
                return position, path[:end]
        return self.table.get((), self.default), ()
