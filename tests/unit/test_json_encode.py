"""The report encoder writes exactly what json.dumps(doc, indent=2) writes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from scanner.report.json_report import encode

AWKWARD: list[Any] = [
    {},
    [],
    "plain",
    'quotes " and \\ backslashes, \n newlines, \t tabs, \x00 and \x1f controls',
    "non-ASCII: café, Ünïcødé, 日本語, emoji \U0001f680 (a surrogate pair in JSON)",
    None, True, False, 0, -7, 10**30, 1.5, -0.0, 1e-300, 1e300, math.inf, -math.inf,
    {"nested": {"empty": {}, "list": [], "deep": [[[{"x": [1, [2, {}]]}]]]}},
    {7: "int key", 2.5: "float key", True: "bool key", None: "none key", "s": "str key"},
    ("a", "tuple", ("inner",)),
    [{"a": None}, [], {}, "", 0],
]


@pytest.mark.parametrize("doc", AWKWARD, ids=[f"doc{n}" for n in range(len(AWKWARD))])
def test_byte_identical_to_json_dumps(doc: Any) -> None:
    assert encode(doc) == json.dumps(doc, indent=2) + "\n"


def test_nan_as_json_writes_it() -> None:
    assert encode({"v": math.nan}) == json.dumps({"v": math.nan}, indent=2) + "\n"


def test_large_document_crosses_the_flush_threshold() -> None:
    doc = {"findings": [{"id": n, "name": f"r{n}", "tags": ["x", n], "empty": {}} for n in range(5000)]}
    assert encode(doc) == json.dumps(doc, indent=2) + "\n"


def test_unserialisable_values_fail_like_json() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"v": object()})
    with pytest.raises(TypeError, match="keys must be str"):
        encode({("tuple", "key"): 1})


def test_lazy_arrays_are_written_as_arrays_and_consumed_once() -> None:
    from scanner.report.json_report import LazyArray, encode_to

    pieces: list[str] = []
    doc = {"empty": LazyArray(iter(())), "items": LazyArray({"n": n, "sub": [n]} for n in range(3))}
    encode_to(doc, pieces.append)
    assert "".join(pieces) == json.dumps({"empty": [], "items": [{"n": n, "sub": [n]} for n in range(3)]},
                                         indent=2) + "\n"


def test_long_arrays_encoded_in_two_processes_are_the_same_bytes() -> None:
    from scanner.report.json_report import LazyArray, _IndentedEncoder, encode_to

    items = list(range(_IndentedEncoder.PARALLEL_MIN_ITEMS * 2 + 1))
    doc = {"before": 1, "items": LazyArray(items, lambda n: {"n": n, "text": f"é{n}\n", "l": [n] * (n % 3)}),
           "after": LazyArray(iter(["x"]))}
    pieces: list[str] = []
    encode_to(doc, pieces.append)
    expected = {"before": 1, "items": [{"n": n, "text": f"é{n}\n", "l": [n] * (n % 3)} for n in items],
                "after": ["x"]}
    assert "".join(pieces) == json.dumps(expected, indent=2) + "\n"
