"""JSON with ARM's extensions: `//` and `/* */` comments and raw newlines in strings."""

from __future__ import annotations

import json
import re
from typing import Any


class JsoncError(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def strip_comments(text: str) -> str:
    """Blank out comments, keeping every newline so that line numbers still hold."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
        elif ch == '"':
            in_string = True
            out.append(ch)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join(c if c == "\n" else " " for c in text[i:end]))
            i = end
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Duplicate keys are an error: parsers disagree on which one wins (see safe_yaml)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _position_of_second(text: str, key: str) -> tuple[int, int]:
    matches = list(re.finditer(re.escape(json.dumps(key)) + r"\s*:", text))
    if len(matches) < 2:
        return 1, 1
    offset = matches[1].start()
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def loads(text: str) -> Any:
    """Parse JSON, tolerating ARM comments; raise JsoncError with a line and column."""
    text = text.lstrip("\ufeff")
    try:
        try:
            return json.loads(text, strict=False, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError:
            pass
        try:
            return json.loads(strip_comments(text), strict=False, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            raise JsoncError(exc.msg, exc.lineno, exc.colno) from None
    except _DuplicateKey as exc:
        line, column = _position_of_second(text, exc.key)
        raise JsoncError(f"duplicate key '{exc.key}'", line, column) from None
    except RecursionError:
        raise JsoncError("nested too deeply", 1, 1) from None
