"""Bicep text as a syntax tree: the pycep grammar, corrected, with Bicep's operator precedence.

The grammar is that of the `pycep-parser` package (optional extra `tierscan[bicep]`), read
by lark, which is imported on first use only. The grammar is corrected where it rejects
valid Bicep (newer type expressions such as `resourceInput<...>`, two-parameter lambdas,
loop conditions), expressions are regrouped by Bicep's operator precedence (the grammar
has none), and line breaks inside parentheses or before a leading `?`, `:`, `&&`, `||`,
`??` or `|` are hidden from it (it takes every line break for the end of a statement); all
of it keeps each line where it was. Small readers of the tree (a node's child trees, its
position, a quoted literal's text) are here too.

Text the parser cannot read raises `BicepError`, with the line where it can tell. What the
tree means (values, resources, modules) is `scanner.sources.bicep`'s job; this module reads
no file and evaluates nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from scanner.model import Position


class BicepError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@lru_cache(maxsize=1)
def _parser() -> Any:
    try:
        from importlib.resources import files

        from lark import Lark
        grammar = (files("pycep") / "bicep.lark").read_text()
    except (ImportError, ModuleNotFoundError, FileNotFoundError) as exc:
        raise BicepError("the Bicep parser is not installed: `pip install tierscan[bicep]`, "
                         "or install the bicep CLI") from exc
    for wrong, right in _GRAMMAR_FIXES:
        # A rule a pycep release has rewritten no longer matches; a unit test says so.
        grammar = grammar.replace(wrong, right)
    return Lark(grammar=grammar, parser="lalr", propagate_positions=True, regex=True)


# Bicep type expressions. A union (`'a' | 'b'`, a leading `|` allowed) of terms; a term is
# a type name (`string`, `sys.string`, a declared type), a literal, an object type (its
# properties may carry decorators; `*` types additional properties), a tuple, a
# parenthesised type, or a parameterized type: the resource-derived types of Bicep 0.34,
# `resourceInput<'Microsoft.KeyVault/vaults@2024-11-01'>` and `resourceOutput<...>` (and
# the earlier `resource<...>`). Any term may be followed by `[]` (an array of it), `?`
# (nullable) and accesses into it: `.properties` (a property), `.*` (additional
# properties), `[*]` (array items), `[0]` (a tuple item), `['name']`.
_TYPE_GRAMMAR = """data_type: "|"? type_term ("|" type_term)*
type_term: (type_name | type_literal | type_object | type_tuple | parameterized_type | "(" data_type ")") type_suffix*
type_name: STRING | SYS_TYPE_NAME
SYS_TYPE_NAME: /sys\\.[a-zA-Z_]\\w*/
type_literal: QUOTED_INTERPOLATION | INT | "-" INT | "true" | "false" | "null"
type_object: "{" _CPP_COMMENT_NL* ((type_property ("," type_property)*) _CPP_COMMENT_NL*)* "}"
type_property: decorators? (key | TYPE_ANY_KEY) ":" data_type
TYPE_ANY_KEY: "*"
type_tuple: "[" _CPP_COMMENT_NL* ((data_type ("," data_type)*) _CPP_COMMENT_NL*)* "]"
parameterized_type: (STRING | SYS_TYPE_NAME) "<" _CPP_COMMENT_NL* QUOTED_INTERPOLATION _CPP_COMMENT_NL* ">"
?type_suffix: "[" "]" -> type_array
            | "?" -> type_nullable
            | "." (STRING | TYPE_ANY_KEY) -> type_property_access
            | "[" (TYPE_ANY_KEY | INT | QUOTED_INTERPOLATION) "]" -> type_index_access
"""

# Rules of the pycep grammar that reject valid Bicep, corrected:
# - a parenthesised lambda parameter list took one, or three and more, parameters, never
#   two (`(cur, next) => ...`, the usual shape of `reduce` and `sort` callbacks);
# - a loop took one line break after `[`, so not a comment line before `for`
#   (`#disable-next-line` is common there), and its condition only as `if(` without a space;
# - an object took no decorators on its properties (`@description` in a `type`).
# Newer syntax is added the same way: spreads, the reverse index, `assert`.
_GRAMMAR_FIXES = [
    ('"(" value_brackets "," value_brackets ("," value_brackets)+ ")"',
     '"(" value_brackets ("," value_brackets)+ ")"'),
    ('loop: "[" _CPP_COMMENT_NL? "for" (loop_array | loop_array_index | loop_object) ":" '
     '[value_brackets] value_brackets',
     'loop: "[" _CPP_COMMENT_NL* "for" (loop_array | loop_array_index | loop_object) ":" '
     '([value_brackets] value_brackets | deploy_condition)'),
    ('object: "{" _CPP_COMMENT_NL* ((pair ("," pair)* | child_resource) _CPP_COMMENT_NL*)* "}"',
     'object: "{" _CPP_COMMENT_NL* ((decorators? _object_item ("," _object_item)* | child_resource) '
     '_CPP_COMMENT_NL*)* "}"\n_object_item: pair | spread\nspread: "..." value_brackets'),
    # The spread operator of Bicep 0.27, `{ ...base, name: 'x' }` and `[1, ...more]` (the
    # rule `spread` is added with the object fix above).
    ('array: "[" _CPP_COMMENT_NL* (value_brackets ("," value_brackets)* _CPP_COMMENT_NL*)* "]"',
     'array: "[" _CPP_COMMENT_NL* (_array_item ("," _array_item)* _CPP_COMMENT_NL*)* "]"\n'
     '_array_item: value_brackets | spread'),
    # The reverse index of Bicep 0.34, `items[^1]` (the last item); `!` keeps the `?` of a
    # safe index (`items[?5]`, null when missing) and the `^` as tokens for the evaluator.
    ('index_accessor: value_brackets "[" "?"? value_brackets "]"',
     '!index_accessor: value_brackets "[" "?"? "^"? value_brackets "]"'),
    # `assert name = condition` (the experimental `assertions` feature): a check the
    # deployment makes; read, and only its known outcome used (see `bicep._check_assertions`).
    ('       | [decorators] "func" _func_statement                                            -> custom_func',
     '       | [decorators] "func" _func_statement                                            -> custom_func\n'
     '       | [decorators] "assert" STRING "=" value_brackets -> assertion'),
    # Type expressions: pycep read a `type` declaration as a value and other types as a
    # name with `[]`s, so object types with `[]` or `?`, literal unions in parentheses
    # and resource-derived types (above) failed. Types are never evaluated; they only
    # have to parse, into one `data_type` node wherever they appear.
    ("?type_value: value_brackets (\"|\" value_brackets)*", "?type_value: data_type"),
    ("""data_type: base_type array_suffix*
base_type: STRING | union_type
union_type: "(" data_type ("|" data_type)+ ")"
array_suffix: "[" "]"
""", _TYPE_GRAMMAR),
]


# What decides whether a line break ends an expression: strings, comments and brackets.
_LEXEME = re.compile(r"'''|\\.|\$\{|'|//|/\*|[()\[\]{}\n]", re.DOTALL)
# A line that starts with one of these continues the expression above it, the way the
# Bicep formatter lays out long conditions (`cond\n  ? a\n  : b`, `x\n  ?? y`, `&&`, `||`)
# and long union types (`\n  | 'a'\n  | 'b'`).
_CONTINUES = re.compile(r"[ \t]*(?:\?|:(?!:)|&&|\|)")
# The line breaks `_join_continued_lines` hides, as the evaluator's `source` meets them.
_HIDDEN_BREAK = re.compile(r"/\*(?://[^\n]*)?\s*\*/")


def _join_continued_lines(text: str) -> str:
    """`text` with the line breaks that do not end a statement hidden in block comments.

    Bicep lets an expression run over several lines inside parentheses, and before a
    leading `?`, `:`, `??`, `&&`, `||` or `|`; the pycep grammar takes those line breaks for
    the end of the statement. Wrapping each one as `/*` newline `*/` makes the parser skip
    it while every line keeps its number; the continued line's columns move by two.
    Breaks inside `[...]` and `{...}` still separate items and are kept.
    """
    out: list[str] = []
    stack: list[str] = []  # open brackets; "'" inside a string, "${" inside its interpolation
    start = pos = 0
    comment: int | None = None  # where a `//` comment began on the current line
    while (match := _LEXEME.search(text, pos)) is not None:
        lexeme, pos = match.group(0), match.end()
        if stack and stack[-1] == "'":
            if lexeme == "'":
                stack.pop()
            elif lexeme == "${":
                stack.append("${")
            elif lexeme == "\n":  # an unterminated string: the parser will report it
                stack.pop()
            continue
        if lexeme == "'''":
            end = text.find("'''", pos)
            pos = len(text) if end < 0 else end + 3
        elif lexeme == "'":
            stack.append("'")
        elif lexeme == "//":
            comment = match.start()
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif lexeme == "/*":
            end = text.find("*/", pos)
            pos = len(text) if end < 0 else end + 2
        elif lexeme in ("(", "[", "{"):
            stack.append(lexeme)
        elif lexeme in (")", "]", "}"):
            if stack:
                stack.pop()  # a `}` may close a `${`, which returns to its string
        elif lexeme == "\n":
            newline = match.start()
            cut = comment if comment is not None else newline - (text[newline - 1:newline] == "\r")
            continued = (stack and stack[-1] == "(") or _CONTINUES.match(text, pos) is not None
            if continued and "*/" not in text[cut:newline]:
                out += [text[start:cut], "/*", text[cut:pos], "*/"]
                start = pos
            comment = None
    out.append(text[start:])
    return "".join(out)


def _readable(text: str) -> str:
    """Bicep text rewritten into what the pycep grammar reads, on the same lines."""
    text = text if text.endswith("\n") else text + "\n"
    return _join_continued_lines(text)


def parse(text: str) -> Any:
    return _parse_readable(_readable(text))


def _parse_readable(text: str) -> Any:
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        return _with_precedence(_parser().parse(text), text)
    except UnexpectedInput as exc:
        raise BicepError(f"Bicep syntax the built-in parser does not support near line {exc.line}, "
                         f"column {exc.column}; install the bicep CLI to compile it", exc.line) from exc
    except LarkError as exc:
        raise BicepError(f"cannot parse Bicep: {str(exc).splitlines()[0]}") from exc


def _trees(node: Any) -> list[Any]:
    from lark import Tree
    return [c for c in node.children if isinstance(c, Tree)]


def _pos(node: Any) -> Position:
    meta = getattr(node, "meta", None)
    line = getattr(meta, "line", None) or getattr(node, "line", None) or 1
    column = getattr(meta, "column", None) or getattr(node, "column", None) or 1
    return Position(int(line), int(column))


def _quoted(token: str) -> str:
    """Text of a Bicep '...' literal, with its escapes undone."""
    inner = token[1:-1] if len(token) >= 2 and token[0] == token[-1] == "'" else token
    return inner.replace("\\'", "'").replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")

# --- operator precedence -----------------------------------------------------------------

# How tightly each Bicep operator binds, loosest first, from the Bicep operators reference:
# `?:` (right to left), `??`, `||`, `&&`, equality, comparison, `+ -`, `* / %`; then the
# prefix `!` and `-`, and tightest the accessors `.`, `::`, `[...]` (left to right).
_PRECEDENCE = {
    "conditional": 1, "coalesce": 2, "or_op": 3, "and_op": 4,
    "equals": 5, "not_equals": 5, "equals_case_insens": 5, "not_equals_case_insens": 5,
    "greater_than": 6, "greater_than_or_equals": 6, "less_than": 6, "less_than_or_equals": 6,
    "add": 7, "substract": 7, "multiply": 8, "divide": 8, "modulo": 8,
}
_MEMBER = {"property_accessor", "nested_resource_accessor"}  # `a.b`, `a::b`: a name follows
_POSTFIX = {"index_accessor", "function_accessor"}  # `a[i]`, `a.listKeys()`: delimited
_EXPRESSION = {"operator", "not_op", "minus", *_PRECEDENCE, *_MEMBER, *_POSTFIX}


def _with_precedence(tree: Any, text: str) -> Any:
    """The tree with every operator expression regrouped by Bicep's precedence.

    The pycep grammar has no precedence: its conflicts resolve towards the right, so
    `a.b == 'c'` parses as `a.(b == 'c')`, `x != 'y' ? 1 : 2` as `x != ('y' ? 1 : 2)` and
    `!a && b` as `!(a && b)`. The parsed chain keeps its operands and operators in source
    order, and the source text shows which operands were in parentheses, so each chain is
    laid out flat and rebuilt with the right grouping.
    """
    from lark import Tree

    def regroup(node: Any) -> Any:
        if not isinstance(node, Tree):
            return node
        if node.data in _EXPRESSION and not (node.data == "minus" and len(_trees(node)) != 1):
            items: list[tuple[str, Any]] = []
            _flatten(node, text, items)
            try:
                return _Chain(items, regroup, text).build()
            except _Unchained:
                pass
        node.children = [regroup(c) for c in node.children]
        return node

    return regroup(tree)


def _span(node: Any) -> tuple[int, int] | None:
    meta = getattr(node, "meta", None)
    if meta is None or getattr(meta, "empty", True):
        return None
    return meta.start_pos, meta.end_pos


def _grouped(node: Any, text: str) -> bool:
    """Whether `node` is written inside its own parentheses."""
    span = _span(node)
    if span is None:
        return True  # no position to go by: keep the parser's grouping
    return text[:span[0]].rstrip().endswith("(") and text[span[1]:].lstrip().startswith(")")


def _flatten(node: Any, text: str, items: list[tuple[str, Any]]) -> None:
    """Operands and operators of the chain at `node`, in source order, into `items`:
    ("atom", node), ("op", node), ("prefix", node), ("member", node) or ("postfix", node)."""
    def operand(child: Any) -> None:
        if getattr(child, "data", None) in _EXPRESSION and not _grouped(child, text):
            _flatten(child, text, items)
        else:
            items.append(("atom", child))

    kind, kids = node.data, _trees(node)
    if kind == "operator":
        operand(kids[0])
    elif kind in ("not_op", "minus"):
        items.append(("prefix", node))
        operand(kids[0])
    elif kind in _MEMBER:
        operand(kids[0])
        items.append(("member", node))
        operand(kids[1])
    elif kind in _POSTFIX:
        operand(kids[0])
        items.append(("postfix", node))
    else:  # binary; `conditional`'s middle operand is delimited by `?` and `:`
        operand(kids[0])
        items.append(("op", node))
        operand(kids[-1])


class _Chain:
    """Precedence climbing over a flattened chain."""

    def __init__(self, items: list[tuple[str, Any]], regroup: Any, text: str) -> None:
        self.items, self.regroup, self.text, self.i = items, regroup, text, 0

    def build(self) -> Any:
        node = self.expression(1)
        if self.i != len(self.items):  # not a chain this reader understands: as parsed
            raise _Unchained
        return node

    def peek(self) -> tuple[str, Any] | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def expression(self, lowest: int) -> Any:
        left = self.unary()
        while (item := self.peek()) is not None and item[0] == "op" and _PRECEDENCE[item[1].data] >= lowest:
            self.i += 1
            op = item[1]
            strength = _PRECEDENCE[op.data]
            if op.data == "conditional":  # right to left
                middle = self.regroup(_trees(op)[1])
                left = _node("conditional", [left, middle, self.expression(strength)])
            else:
                left = _node(op.data, [left, self.expression(strength + 1)])
        return left

    def unary(self) -> Any:
        item = self.peek()
        if item is not None and item[0] == "prefix":
            self.i += 1
            return _node(item[1].data, [self.unary()])
        return self.postfix()

    def postfix(self) -> Any:
        kind, atom = self.take()
        if kind != "atom":
            raise _Unchained
        node = self.regroup(atom)
        while (item := self.peek()) is not None and item[0] in ("member", "postfix"):
            self.i += 1
            original = item[1]
            if item[0] == "member":
                kind, name = self.take()
                if kind != "atom":
                    raise _Unchained
                data = original.data
                between = (_span(node), _span(name))
                if data == "property_accessor" and between[0] and between[1] \
                        and "?" in self.text[between[0][1]:between[1][0]]:
                    data = "safe_property_accessor"  # `a.?b`: null when `b` is missing
                node = _node(data, [node, name])
            else:
                rest = [self.regroup(c) for c in original.children[1:]]
                node = _node(original.data, [node, *rest], original)
        return node

    def take(self) -> tuple[str, Any]:
        item = self.peek()
        if item is None:
            raise _Unchained
        self.i += 1
        return item


class _Unchained(Exception):
    """A chain that does not read as operands and operators."""


def _node(data: str, children: list[Any], like: Any = None) -> Any:
    """A tree spanning its first to its last child (for the evaluator's `source` and `_pos`)."""
    from lark import Tree
    from lark.tree import Meta

    meta = Meta()  # type: ignore[no-untyped-call]
    spans = [s for s in (_span(c) for c in children) if s is not None]
    first = next((c for c in children if _span(c) is not None), None)
    if spans and first is not None:
        meta.empty = False
        meta.start_pos, meta.end_pos = spans[0][0], spans[-1][1]
        meta.line, meta.column = first.meta.line, first.meta.column
        if like is not None and _span(like) is not None:
            meta.end_pos = max(meta.end_pos, like.meta.end_pos)  # through the closing `]` or `)`
    return Tree(data, children, meta)
