"""OData URL grammar the emulator understands: key segments, `$select`, `$expand` options,
`$orderby` and the `$filter` subset (reference section 3).

`$filter` supports eq/ne/gt/ge/lt/le, and/or/not, parentheses, contains/startswith/endswith and
`Microsoft.Dynamics.CRM.In(PropertyName='a',PropertyValues=['1','2'])`, with string, number,
null, true/false, GUID and date-time literals. Anything else is a 400, like the real service.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from migration_assets.sandbox.dataverse.core import ODataError

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),\[\]=])"
    r"|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<lit>[-+0-9][0-9A-Za-z:.\-+]*))"
)
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"contains", "startswith", "endswith"}
IN_FUNCTION = "Microsoft.Dynamics.CRM.In"

Predicate = Callable[[dict[str, Any]], bool]
# (record key, allowed values): a condition every matching record meets (an `eq` or `In` that is a
# conjunct of the whole filter); the query uses one to read candidates through an index.
Constraint = tuple[str, list[Any]]
Compiled = tuple[Predicate, list[Constraint]]


def is_guid(text: str) -> bool:
    return bool(GUID_RE.match(text))


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside quotes and parentheses."""
    parts, depth, quoted, current = [], 0, False, []
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def split_segment(segment: str) -> tuple[str, str | None]:
    """`accounts(…)` → ("accounts", "…"); `accounts` → ("accounts", None)."""
    if segment.endswith(")") and "(" in segment:
        name, _, rest = segment.partition("(")
        return name, rest[:-1]
    return segment, None


def split_path(path: str) -> list[str]:
    """Split a path on `/` outside quotes (key values may hold slashes)."""
    return split_top(path, "/")


def parse_literal(text: str) -> Any:
    """A URL literal: 'string', number, null/true/false, GUID or date-time (kept as text)."""
    text = text.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text == "null":
        return None
    if text in ("true", "false"):
        return text == "true"
    if is_guid(text):
        return text.lower()
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+", text):
        return float(text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[-+]\d{2}:\d{2})?", text):
        return canonical_datetime(text)
    raise ODataError(400, "0x0", f"Syntax error: unrecognized literal '{text}'.")


def canonical_datetime(text: str) -> str:
    """A date-time literal in the stored form (UTC, whole seconds, `Z`) so comparisons are textual."""
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ODataError(400, "0x0", f"Syntax error: invalid date-time literal '{text}'.") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_key(args: str) -> str | dict[str, Any]:
    """Key predicate: a GUID, or alternate-key pairs `k1='v',k2=2`."""
    args = args.strip()
    if is_guid(args):
        return args.lower()
    pairs: dict[str, Any] = {}
    for part in split_top(args):
        name, eq, value = part.partition("=")
        if not eq or not name.strip():
            raise ODataError(400, "0x0", f"Bad Request - Error in query syntax: invalid key '{args}'.")
        pairs[name.strip()] = parse_literal(value)
    return pairs


def parse_select(text: str | None) -> list[str] | None:
    return None if text is None else [p for p in split_top(text) if p]


def parse_expand(text: str | None) -> dict[str, dict[str, str]]:
    """`Attributes($select=a,b;$filter=…),Keys` → {"Attributes": {"$select": "a,b", …}, "Keys": {}}."""
    result: dict[str, dict[str, str]] = {}
    for item in split_top(text or ""):
        name, args = split_segment(item)
        options: dict[str, str] = {}
        for option in split_top(args or "", ";"):
            key, _, value = option.partition("=")
            options[key.strip()] = value.strip()
        result[name.strip()] = options
    return result


def parse_orderby(text: str | None) -> list[tuple[str, bool]]:
    """[(property, descending)]."""
    order = []
    for part in split_top(text or ""):
        words = part.split()
        if len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise ODataError(400, "0x0", f"Syntax error in $orderby: '{part}'.")
        order.append((words[0], len(words) == 2 and words[1] == "desc"))
    return order


class FilterParser:
    """Recursive-descent parser producing a predicate over a flat record dict.

    Args:
        text: the `$filter` value.
        resolve: maps a property name to its record key, raising for unknown names.
    """

    def __init__(self, text: str, resolve: Callable[[str], str]) -> None:
        self.tokens = self._tokenize(text)
        self.pos, self.resolve, self.text = 0, resolve, text

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = TOKEN_RE.match(text, pos)
            if not match or match.end() == pos:
                raise ODataError(400, "0x0", f"Syntax error at position {pos} in '{text}'.")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def parse(self) -> Compiled:
        compiled = self._or()
        if self.pos != len(self.tokens):
            raise ODataError(400, "0x0", f"Syntax error at position {self.pos} in '{self.text}'.")
        return compiled

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (value is not None and token[1] != value):
            raise ODataError(400, "0x0", f"Syntax error: expected '{value or 'token'}' in '{self.text}'.")
        self.pos += 1
        return token

    def _or(self) -> Compiled:
        left, constraints = self._and()
        while self._peek() == ("word", "or"):
            self._take()
            (right, _), prev = self._and(), left
            left = lambda r, a=prev, b=right: a(r) or b(r)  # noqa: E731
            constraints = []  # either side may match: no single condition holds for every row
        return left, constraints

    def _and(self) -> Compiled:
        left, constraints = self._unary()
        while self._peek() == ("word", "and"):
            self._take()
            (right, more), prev = self._unary(), left
            left = lambda r, a=prev, b=right: a(r) and b(r)  # noqa: E731
            constraints = constraints + more
        return left, constraints

    def _unary(self) -> Compiled:
        token = self._peek()
        if token == ("word", "not"):
            self._take()
            inner, _ = self._unary()
            return (lambda r: not inner(r)), []
        if token == ("punct", "("):
            self._take()
            compiled = self._or()
            self._take(")")
            return compiled
        if token and token[0] == "word" and token[1] in FUNCTIONS:
            return self._function(), []
        if token and token[0] == "word" and token[1] == IN_FUNCTION:
            return self._in()
        return self._comparison()

    def _property(self) -> str:
        kind, value = self._take()
        if kind != "word":
            raise ODataError(400, "0x0", f"Syntax error: expected a property name in '{self.text}'.")
        return self.resolve(value)

    def _literal(self) -> Any:
        kind, value = self._take()
        if kind == "word" and value in ("null", "true", "false"):
            return parse_literal(value)
        if kind not in ("str", "lit", "guid"):
            raise ODataError(400, "0x0", f"Syntax error: expected a literal in '{self.text}'.")
        return parse_literal(value)

    def _comparison(self) -> Compiled:
        key = self._property()
        _, op = self._take()
        if op not in COMPARISONS:
            raise ODataError(400, "0x0", f"Syntax error: unknown operator '{op}' in '{self.text}'.")
        literal = self._literal()
        constraints = [(key, [literal])] if op == "eq" and literal is not None else []
        return (lambda r: compare(r.get(key), op, literal)), constraints

    def _function(self) -> Predicate:
        name = self._take()[1]
        self._take("(")
        key = self._property()
        self._take(",")
        literal = self._literal()
        self._take(")")
        if not isinstance(literal, str):
            raise ODataError(400, "0x0", f"{name} expects a string literal.")
        needle = literal.lower()
        checks = {
            "contains": lambda v: needle in v,
            "startswith": lambda v: v.startswith(needle),
            "endswith": lambda v: v.endswith(needle),
        }
        check = checks[name]
        return lambda r: isinstance(r.get(key), str) and check(r[key].lower())

    def _in(self) -> Compiled:
        self._take()
        self._take("(")
        self._take("PropertyName")
        self._take("=")
        name = self._literal()
        self._take(",")
        self._take("PropertyValues")
        self._take("=")
        self._take("[")
        values = []
        while self._peek() != ("punct", "]"):
            values.append(self._literal())
            if self._peek() == ("punct", ","):
                self._take()
        self._take("]")
        self._take(")")
        key = self.resolve(str(name))
        member = one_of(values)
        return (lambda r: member(r.get(key))), [(key, values)]


def one_of(values: list[Any]) -> Callable[[Any], bool]:
    """`any(compare(x, "eq", v) for v in values)` through sets of the values' comparable forms, so
    that an `In` of 100 values costs one lookup per record, not 100 comparisons."""
    every = {normalize(v) for v in values}
    numeric = {normalize(v) for v in values if not isinstance(v, str)}
    numeric |= {n for v in values if (n := _float(v)) is not None}

    def member(value: Any) -> bool:
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value) in numeric  # a text literal is compared as a number (see compare)
            return normalize(value) in every
        except TypeError:  # an unhashable value (a list): compare one by one
            return any(compare(value, "eq", v) for v in values)

    return member


def _float(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def normalize(value: Any) -> Any:
    """Comparable form: GUIDs/strings compare case-insensitively like SQL Server."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


def compare(value: Any, op: str, literal: Any) -> bool:
    if op in ("eq", "ne"):
        if isinstance(literal, str) and isinstance(value, int | float) and not isinstance(value, bool):
            literal = _float(literal)
            if literal is None:
                return op == "ne"
        equal = normalize(value) == normalize(literal)
        return equal if op == "eq" else not equal
    if value is None or literal is None:
        return False
    left, right = normalize(value), normalize(literal)
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
    except TypeError:
        return False


def parse_filter(text: str, resolve: Callable[[str], str]) -> Predicate:
    """Compile `$filter` into a predicate over a record dict.

    Args:
        text: the `$filter` expression.
        resolve: property name → record key; raises ODataError for unknown names.

    Returns:
        A function record → bool.

    Raises:
        ODataError: 400 on syntax errors or unknown properties.
    """
    return FilterParser(text, resolve).parse()[0]


def compile_filter(text: str, resolve: Callable[[str], str]) -> Compiled:
    """Like `parse_filter`, plus the `eq`/`In` conditions every matching record meets."""
    return FilterParser(text, resolve).parse()
