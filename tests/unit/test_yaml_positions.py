"""Positions recorded while reading YAML match what a second, event-based parse finds,
and the documents are exactly what PyYAML's strict safe loader builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.model import JsonPath
from scanner.sources import safe_yaml
from scanner.sources.locate import RecordedYamlLocator, YamlLocator
from tests.conftest import CORPUS, FIXTURES

YAML_FILES = sorted(p for base in (CORPUS / "kubernetes", FIXTURES / "kubernetes", FIXTURES / "hostile")
                    for p in base.rglob("*.y*ml"))


def _paths(value: Any, path: JsonPath = ()) -> list[JsonPath]:
    out = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*path, index))
    return out


def _strict(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=safe_yaml.StrictSafeLoader))


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_same_documents_and_positions_as_a_second_parse(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        expected = _strict(text)
        docs, tables = safe_yaml.load_documents_with_positions(text)
    except (yaml.YAMLError, RecursionError, ValueError):
        return  # unreadable or refused files are reported by the scanner; other tests cover that
    assert docs == expected
    if tables is None:
        return  # read the standard way (tags, merge keys, ...): positions come from YamlLocator
    recorded, reparsed = RecordedYamlLocator(docs, tables, text), YamlLocator(text)
    for number, doc in enumerate(docs):
        if "&" in text:  # an alias inside a sequence takes its anchor's position; compare maps only
            continue
        for json_path in _paths(doc)[1:]:  # the root: the node's line, not the `---` line
            assert recorded.locate(number, json_path) == reparsed.locate(number, json_path), json_path


def test_aliases_share_the_anchor_object_and_positions_skip_repeats() -> None:
    text = "a: &shared\n  x: 1\n  y: [2]\nb: *shared\nc:\n  - z\n"
    docs, tables = safe_yaml.load_documents_with_positions(text)
    assert docs == _strict(text) and docs[0]["a"] is docs[0]["b"]
    locator = RecordedYamlLocator(docs, tables or [], text)
    assert locator.locate(0, ("a", "y", 0))[0].line == 3
    # Under the alias nothing is indexed: the alias's own key is the nearest parent.
    position, found = locator.locate(0, ("b", "x"))
    assert (position.line, position.column, found) == (4, 1, ("b",))
    assert locator.locate(0, ("c", 0))[0].line == 6


@pytest.mark.parametrize("text", [
    "a: !!binary aGk=\n",  # a tag without a fast constructor
    "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",  # merge key
    "1: int key\n2: another\n",  # keys of other types
])
def test_anything_unusual_is_read_the_standard_way(text: str) -> None:
    docs, tables = safe_yaml.load_documents_with_positions(text)
    assert tables is None
    assert docs == _strict(text)


@pytest.mark.parametrize("text", ["1: int key\n'1': string key\n", "? [complex]\n: key\n", "a: !custom x\n"])
def test_unusual_errors_are_the_strict_loaders(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as strict:
        _strict(text)
    with pytest.raises(yaml.YAMLError) as ours:
        safe_yaml.load_documents_with_positions(text)
    assert str(ours.value) == str(strict.value)


def test_explicit_tags_of_plain_types_keep_positions() -> None:
    text = "a: !!str 1\nb: !!float 2\n"
    docs, tables = safe_yaml.load_documents_with_positions(text)
    assert tables is not None and docs == _strict(text) == [{"a": "1", "b": 2.0}]


def test_duplicate_keys_fail_with_the_strict_loaders_error() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="found duplicate key 'a'"):
        safe_yaml.load_documents_with_positions("a: 1\nb: 2\na: 3\n")


def test_scalars_are_pyyaml_values() -> None:
    text = "i: 0x1f\nf: 1.5e3\nb: yes\nn: ~\nd: 2024-01-02\ns: '08'\ne:\n---\n"
    docs, tables = safe_yaml.load_documents_with_positions(text)
    assert tables is not None and docs == _strict(text)


def test_changed_body_gives_no_position_rather_than_a_wrong_one() -> None:
    docs, tables = safe_yaml.load_documents_with_positions("a:\n  b: 1\nc: 2\n")
    docs[0]["a"]["new"] = 3
    locator = RecordedYamlLocator(docs, tables or [], "")
    position, found = locator.locate(0, ("c",))
    assert (position.line, found) == (1, ())


def test_text_is_kept_only_for_inline_suppressions() -> None:
    plain = "a: 1\n"
    marked = "a: 1  # tierscan:ignore HA-K8S-001 reason\n"
    assert RecordedYamlLocator(*safe_yaml.record_positions(plain), plain).line_text(1) == ""
    assert RecordedYamlLocator(*safe_yaml.record_positions(marked), marked).line_text(1) == marked.rstrip("\n")
