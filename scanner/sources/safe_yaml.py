"""Reading untrusted YAML: safe construction only, and no surprises.

- Only libyaml's safe loader: tags that would construct Python objects are refused.
- Duplicate keys are an error. YAML parsers keep the last one silently, while other
  tools may keep the first: a scanner that saw `privileged: false` while the cluster
  applied `privileged: true` would be worse than no scanner.
- Alias bombs ("billion laughs") are refused before anything walks them: a document
  whose aliases expand to more than MAX_EXPANDED_NODES nodes is an error.
- Nesting deeper than the interpreter can construct is an error, not a crash.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_EXPANDED_NODES = 1_000_000
MAX_CHEAP_ALIASES = 64
_ALIAS = re.compile(r"\*[A-Za-z0-9_.-]+")
# Kubernetes objects nest ~20 levels; CRD schemas rendered by Helm ~40. Deeper is hostile.
MAX_DEPTH = 256
# Cheap tells that a text might nest deeply; only then are events walked to measure it.
_DEEP_FLOW = re.compile(r"(?:[\[{]\s*){64}")
_DEEP_BLOCK = re.compile(r"^[ -]{256,}\S", re.MULTILINE)


class UnsafeYamlError(yaml.YAMLError):
    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


class StrictSafeLoader(_Base):  # type: ignore[misc]
    """libyaml's safe loader that rejects duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key '{key_node.value}'", key_node.start_mark)
                seen.add(key_node.value)
        result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return result


def _expanded_size(text: str) -> tuple[int, int | None]:
    """Nodes the documents would have with every alias expanded (counted, not built)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        sizes[id(node)] = total
        return total

    worst, line = 0, None
    for document in yaml.compose_all(text, Loader=_Base):
        if document is not None:
            n = size(document)
            if n > worst:
                worst, line = n, document.start_mark.line + 1
    return worst, line


def _depth(text: str) -> tuple[int, int | None]:
    depth = worst = 0
    line = None
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > worst:
                worst = depth
                line = event.start_mark.line + 1 if event.start_mark is not None else None
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return worst, line


def load_documents(text: str) -> list[Any]:
    """All documents of a YAML stream, read safely (see the module docstring)."""
    if _DEEP_FLOW.search(text) or _DEEP_BLOCK.search(text):
        depth, line = _depth(text)
        if depth > MAX_DEPTH:
            raise UnsafeYamlError(f"nested {depth} levels deep (limit {MAX_DEPTH}); refused", line)
    # Aliases multiply only when there are many of them; a handful (PyYAML's dumper emits
    # &id001/*id001 for shared labels) is cheap, so only then is the expansion measured.
    if "&" in text and len(_ALIAS.findall(text)) > MAX_CHEAP_ALIASES:
        expanded, line = _expanded_size(text)
        if expanded > MAX_EXPANDED_NODES:
            raise UnsafeYamlError(f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                                  "(an alias bomb?); refused", line)
    try:
        return list(yaml.load_all(text, Loader=StrictSafeLoader))
    except RecursionError:
        raise UnsafeYamlError("nested too deeply to read", None) from None
