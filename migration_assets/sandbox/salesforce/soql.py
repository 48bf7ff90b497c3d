"""A SOQL subset parser: `SELECT ... FROM ... [WHERE ...] [ORDER BY ...] [LIMIT n] [OFFSET n]`.

Supported: field lists with one- or multi-level relationship paths (`Account.Name`), `COUNT()`,
comparisons `= != <> < <= > >=`, `LIKE`, `IN (...)`, `NOT IN (...)`, `AND`/`OR`/`NOT` with parentheses,
literals 'text' (backslash escapes), numbers, null, true/false, date and datetime literals. Anything
else is MALFORMED_QUERY, like the real parser's refusal of unknown syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from migration_assets.sandbox.salesforce.faults import SfError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
""",
    re.VERBOSE,
)

KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "order",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "limit",
    "offset",
    "null",
    "true",
    "false",
}


@dataclass(frozen=True)
class Literal:
    """A value in a WHERE clause; `kind` is string, number, date, datetime, boolean or null."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Compare:
    """`path op value` (value is a tuple for IN / NOT IN)."""

    path: str
    op: str
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    """AND / OR / NOT over comparisons."""

    op: str  # and / or / not
    items: tuple[Any, ...]


@dataclass(frozen=True)
class OrderBy:
    """One ORDER BY item."""

    path: str
    descending: bool = False
    nulls_last: bool = False


@dataclass
class Query:
    """The parsed query."""

    fields: list[str]
    sobject: str
    where: Any = None
    order: list[OrderBy] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    count: bool = False


def malformed(message: str) -> SfError:
    """The MALFORMED_QUERY error with a parser message."""
    return SfError("MALFORMED_QUERY", message)


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens; raises MALFORMED_QUERY on a character that starts no token."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise malformed(f"unexpected token: '{text[pos : pos + 20]}'")
        pos = match.end()
        if match.lastgroup != "ws":
            tokens.append((match.lastgroup or "", match.group()))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("eof", "")

    def is_kw(self, *words: str) -> bool:
        kind, text = self.peek()
        return kind == "ident" and text.lower() in words

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "eof":
            raise malformed("unexpected end of query")
        self.i += 1
        return token

    def expect_kw(self, word: str) -> None:
        kind, text = self.take()
        if kind != "ident" or text.lower() != word:
            raise malformed(f"unexpected token: '{text}', expecting {word.upper()}")

    def expect(self, punct: str) -> None:
        if self.take()[1] != punct:
            raise malformed(f"expecting '{punct}'")

    def ident(self) -> str:
        kind, text = self.take()
        if kind != "ident" or text.lower() in KEYWORDS:
            raise malformed(f"unexpected token: '{text}'")
        return text

    def parse(self) -> Query:
        self.expect_kw("select")
        count, fields = self.select_list()
        self.expect_kw("from")
        query = Query(fields=fields, sobject=self.ident(), count=count)
        if self.is_kw("where"):
            self.take()
            query.where = self.or_expr()
        if self.is_kw("order"):
            self.take()
            self.expect_kw("by")
            query.order = self.order_list()
        if self.is_kw("limit"):
            self.take()
            query.limit = self.integer()
        if self.is_kw("offset"):
            self.take()
            query.offset = self.integer()
        if self.peek()[0] != "eof":
            raise malformed(f"unexpected token: '{self.peek()[1]}'")
        return query

    def integer(self) -> int:
        kind, text = self.take()
        if kind != "number" or not text.isdigit():
            raise malformed(f"expecting a non-negative integer, found '{text}'")
        return int(text)

    def select_list(self) -> tuple[bool, list[str]]:
        if self.peek()[1].lower() == "count" and self.peek(1)[1] == "(":
            self.take(), self.take()
            self.expect(")")
            return True, []
        fields = [self.ident()]
        while self.peek()[1] == ",":
            self.take()
            fields.append(self.ident())
        return False, fields

    def order_list(self) -> list[OrderBy]:
        items = []
        while True:
            path, desc, nulls_last = self.ident(), False, False
            if self.is_kw("asc", "desc"):
                desc = self.take()[1].lower() == "desc"
            nulls_last = desc
            if self.is_kw("nulls"):
                self.take()
                nulls_last = self.take()[1].lower() == "last"
            items.append(OrderBy(path, desc, nulls_last))
            if self.peek()[1] != ",":
                return items
            self.take()

    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while self.is_kw("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Any:
        items = [self.not_expr()]
        while self.is_kw("and"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_expr(self) -> Any:
        if self.is_kw("not"):
            self.take()
            return BoolOp("not", (self.not_expr(),))
        if self.peek()[1] == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Compare:
        path = self.ident()
        if self.is_kw("not") and self.peek(1)[1].lower() == "in":
            self.take(), self.take()
            return Compare(path, "not in", self.value_list())
        if self.is_kw("in"):
            self.take()
            return Compare(path, "in", self.value_list())
        if self.is_kw("like"):
            self.take()
            return Compare(path, "like", self.literal())
        kind, op = self.take()
        if kind != "op":
            raise malformed(f"unexpected token: '{op}', expecting an operator")
        return Compare(path, "!=" if op == "<>" else op, self.literal())

    def value_list(self) -> tuple[Literal, ...]:
        self.expect("(")
        values = [self.literal()]
        while self.peek()[1] == ",":
            self.take()
            values.append(self.literal())
        self.expect(")")
        return tuple(values)

    def literal(self) -> Literal:
        kind, text = self.take()
        if kind == "string":
            return Literal("string", re.sub(r"\\(.)", r"\1", text[1:-1]))
        if kind == "number":
            return Literal("number", float(text))
        if kind in ("date", "datetime"):
            return Literal(kind, text)
        if kind == "ident" and text.lower() in ("null", "true", "false"):
            return Literal("null", None) if text.lower() == "null" else Literal("boolean", text.lower() == "true")
        raise malformed(f"unexpected token: '{text}', expecting a value")


def parse(text: str) -> Query:
    """Parse a SOQL query of the supported subset.

    Raises:
        SfError: MALFORMED_QUERY with the offending token.
    """
    if not text or not text.strip():
        raise malformed("empty query")
    return _Parser(text).parse()
