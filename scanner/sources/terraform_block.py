"""The evaluated form of a Terraform resource block, shared by the HCL and plan readers
and the mappings: attributes, nested blocks (lists, as in Terraform's JSON), and where
each was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.model import JsonPath, Position
from scanner.sources.arm_expressions import Unresolved


@dataclass
class TfBlock:
    """A block with evaluated attributes; nested blocks are lists, as Terraform's JSON
    representation has them. Positions are empty for plan JSON (located separately)."""

    attrs: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, list[TfBlock]] = field(default_factory=dict)
    attr_pos: dict[str, Position] = field(default_factory=dict)
    pos: Position = field(default_factory=lambda: Position(1, 1))

    def get(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.attrs

    def block(self, name: str) -> TfBlock | None:
        found = self.blocks.get(name)
        return found[0] if found else None

    def all_blocks(self, name: str) -> list[TfBlock]:
        return self.blocks.get(name, [])

    def position_of(self, path: JsonPath) -> Position:
        """The line of a Terraform attribute path, or of its nearest written parent."""
        block: TfBlock = self
        position = self.pos
        i = 0
        while i < len(path):
            step = path[i]
            if not isinstance(step, str):
                break
            if step in block.blocks:
                nxt = path[i + 1] if i + 1 < len(path) else None
                index = nxt if isinstance(nxt, int) else 0
                children = block.blocks[step]
                if not 0 <= index < len(children):
                    break
                block = children[index]
                position = block.pos
                i += 2 if isinstance(nxt, int) else 1
                continue
            if step in block.attr_pos:
                position = block.attr_pos[step]
            break
        return position



def walk_unresolved(value: Any, path: JsonPath, found: dict[JsonPath, str]) -> Any:
    """Replace Unresolved markers by their expression text and remember where they were."""
    if isinstance(value, Unresolved):
        found[path] = value.expression
        return value.expression
    if isinstance(value, dict):
        return {k: walk_unresolved(v, (*path, k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [walk_unresolved(v, (*path, i), found) for i, v in enumerate(value)]
    return value
