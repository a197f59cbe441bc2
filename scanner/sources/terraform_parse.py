"""Reading one Terraform HCL file (a `.tf` file, or a `.tfvars` one) into `RawBlock`s:
blocks with their labels, their attributes as unevaluated expression trees, and where each
one is written.

Its job is syntax only; what an expression means is `terraform_eval`'s, and what a module's
files add up to is `terraform_hcl`'s. It is apart because both of those read the trees it
gives, and because it alone touches python-hcl2 (imported when the first file is parsed).

Parsing uses python-hcl2's grammar (the raw Lark tree, which keeps positions), so every
attribute and nested block keeps its line for findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.model import Position

if TYPE_CHECKING:  # lark comes with python-hcl2, imported only when a .tf file is read
    from lark import Tree


class HclError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class RawBlock:
    """A parsed, not yet evaluated block."""

    type: str
    labels: list[str]
    attrs: dict[str, tuple[Tree[Any], Position]]
    blocks: list[RawBlock]
    pos: Position
    file: str
    text: str


def _position(node: Any) -> Position:
    if is_token(node):
        return Position(node.line or 1, node.column or 1)
    meta = node.meta
    return Position(getattr(meta, "line", 1) or 1, getattr(meta, "column", 1) or 1)


def trees(node: Tree[Any]) -> list[Tree[Any]]:
    return [c for c in node.children if is_tree(c) and c.data != "new_line_or_comment"]


def is_tree(node: Any) -> bool:
    return hasattr(node, "data") and hasattr(node, "children")


def is_token(node: Any) -> bool:
    return isinstance(node, str) and hasattr(node, "type")


def name_of(node: Any) -> str:
    """Text of an identifier, keyword, literal or quoted-label node."""
    if is_token(node):
        return str(node)
    if node.data == "string":
        return "".join(str(first_token(p)) for p in trees(node))
    return "".join(str(t) for t in node.scan_values(lambda v: is_token(v)))


def first_token(node: Tree[Any]) -> Any:
    for child in node.children:
        if is_token(child):
            return child
        return first_token(child)
    return ""


@lru_cache(maxsize=256)
def _parse_cached(path: str, mtime_ns: int, size: int) -> tuple[str, Tree[Any]]:
    import hcl2  # deferred: only Terraform scans pay for the grammar (and pre-commit starts fast)

    text = Path(path).read_text(encoding="utf-8-sig")
    return text, hcl2.parses_to_tree(text)


def parse_file(path: Path) -> tuple[str, Tree[Any]]:
    try:
        from lark.exceptions import LarkError, UnexpectedInput
    except ImportError as exc:
        raise HclError("the Terraform parser is not installed: `pip install python-hcl2`") from exc
    stat = path.stat()
    try:
        return _parse_cached(str(path), stat.st_mtime_ns, stat.st_size)
    except UnexpectedInput as exc:
        line = exc.line if isinstance(exc.line, int) and exc.line > 0 else None
        raise HclError(f"invalid HCL near line {exc.line}, column {exc.column}; fix the syntax", line) from exc
    except LarkError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HclError(f"invalid HCL: {first}") from exc
    except UnicodeDecodeError as exc:
        raise HclError(f"not valid UTF-8 (byte {exc.start}); save it as UTF-8") from exc


def raw_blocks(body: Tree[Any], file: str, text: str) -> tuple[dict[str, tuple[Tree[Any], Position]], list[RawBlock]]:
    attrs: dict[str, tuple[Tree[Any], Position]] = {}
    blocks: list[RawBlock] = []
    for child in trees(body):
        if child.data == "attribute":
            parts = trees(child)
            name = name_of(parts[0])
            attrs[name] = (parts[-1], _position(child))
        elif child.data == "block":
            parts = trees(child)
            inner = parts[-1]
            header = parts[:-1]
            block_attrs, block_children = raw_blocks(inner, file, text)
            blocks.append(RawBlock(name_of(header[0]), [name_of(h) for h in header[1:]],
                                    block_attrs, block_children, _position(child), file, text))
    return attrs, blocks


def top_body(tree: Tree[Any]) -> Tree[Any]:
    bodies = trees(tree)
    if bodies:
        return bodies[0]
    from lark import Tree
    return Tree("body", [])
