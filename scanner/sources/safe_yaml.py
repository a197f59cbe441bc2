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
from array import array
from collections.abc import Callable
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
    return load_documents_with_positions(text)[0]


def load_documents_with_positions(text: str) -> tuple[list[Any], list[array[int]] | None]:
    """All documents, read safely, and where their keys and items start.

    The second value holds, per document, the 0-based (line, column) pairs of the
    document's root, then of every mapping key and sequence item in document order
    (see `record_positions`); scanner.sources.locate.RecordedYamlLocator reads it. It is
    None when the text needed PyYAML's own constructor (see `_convert`), whose documents
    are returned instead: positions then come from re-reading the text, if ever needed.
    """
    # 64 nested flow collections need 64 opening brackets: counting them (memchr speed)
    # spares most files the regex, which was a tenth of reading a typical manifest.
    deep_flow_possible = text.count("[") + text.count("{") >= 64 and _DEEP_FLOW.search(text)
    if deep_flow_possible or _DEEP_BLOCK.search(text):
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
        try:
            return record_positions(text)
        except _NotPlain:
            return list(yaml.load_all(text, Loader=StrictSafeLoader)), None
    except RecursionError:
        raise UnsafeYamlError("nested too deeply to read", None) from None


class _NotPlain(Exception):
    """The text uses something `record_positions` leaves to PyYAML's constructor."""


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
# The implicit scalar types the resolver assigns, built by PyYAML's own safe constructor
# so that values are exactly what `yaml.safe_load` gives.
_SCALARS: dict[str, Callable[[Any, Any], Any]] = {
    "tag:yaml.org,2002:int": yaml.constructor.SafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:float": yaml.constructor.SafeConstructor.construct_yaml_float,
    "tag:yaml.org,2002:bool": yaml.constructor.SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:null": yaml.constructor.SafeConstructor.construct_yaml_null,
    "tag:yaml.org,2002:timestamp": yaml.constructor.SafeConstructor.construct_yaml_timestamp,
}


def record_positions(text: str) -> tuple[list[Any], list[array[int]]]:
    """Documents built from libyaml's node tree, recording positions on the way.

    One parse gives both the values and, for the few files with findings, their line
    numbers (before, those files were parsed a second time). It also beats PyYAML's
    generic constructor: plain strings, the bulk of any manifest, are taken straight
    from the node. Anything unusual (explicit tags, merge keys `<<`, non-string or
    duplicate keys) raises _NotPlain, and the caller reads the text the standard way,
    so every value and every error stays exactly what StrictSafeLoader gives.
    Aliases yield the anchor's object, shared, as PyYAML does; positions are recorded
    only where the anchor is, and RecordedYamlLocator skips repeats the same way.
    """
    loader = _Base(text)
    documents: list[Any] = []
    tables: list[array[int]] = []
    try:
        while loader.check_node():
            root = loader.get_node()
            table = array("i")
            mark = root.start_mark
            table.append(mark.line)
            table.append(mark.column)
            documents.append(_convert(root, table, {}, loader))
            tables.append(table)
    finally:
        loader.dispose()
    return documents, tables


def _convert(node: yaml.Node, table: array[int], built: dict[int, Any], loader: Any) -> Any:
    cls = node.__class__
    if cls is yaml.ScalarNode:
        if node.tag == _STR:
            return node.value
        scalar = _SCALARS.get(node.tag)
        if scalar is None:
            raise _NotPlain(node.tag)
        return scalar(loader, node)
    known = built.get(id(node))
    if known is not None:  # an alias of a collection built before
        return known
    append = table.append
    if cls is yaml.MappingNode and node.tag == _MAP:
        mapping: dict[str, Any] = {}
        built[id(node)] = mapping
        for key_node, value_node in node.value:
            if key_node.__class__ is not yaml.ScalarNode or key_node.tag != _STR:
                raise _NotPlain("key")
            key = key_node.value
            if key in mapping:
                raise _NotPlain("duplicate key")  # StrictSafeLoader words the error
            mark = key_node.start_mark
            append(mark.line)
            append(mark.column)
            mapping[key] = (value_node.value if value_node.__class__ is yaml.ScalarNode and value_node.tag == _STR
                            else _convert(value_node, table, built, loader))
        return mapping
    if cls is yaml.SequenceNode and node.tag == _SEQ:
        sequence: list[Any] = []
        built[id(node)] = sequence
        for item in node.value:
            mark = item.start_mark
            append(mark.line)
            append(mark.column)
            sequence.append(item.value if item.__class__ is yaml.ScalarNode and item.tag == _STR
                            else _convert(item, table, built, loader))
        return sequence
    raise _NotPlain(node.tag)
