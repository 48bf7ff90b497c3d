"""The safe expression vocabulary of mapping specs, compiled to Polars expressions (never eval).

An expression in YAML is one of:
    last_name                              a source field
    {const: "Individual"}                  a constant
    {op: lower, of: email}                 a transform from TRANSFORMS, whose arguments are
                                           expressions themselves

Compiling gives a `Compiled`: the Polars expression, the row-level problems it can detect (a value
that does not parse, a label missing from a value map), each with a reason, and the source fields
it reads (for column lineage). Rows with a problem are quarantined by the stage step with that
reason, so nothing bad is loaded and nothing is dropped silently.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import nh3
import polars as pl

from migration_assets import json_text
from migration_assets.errors import SpecError, known_values


@dataclass(frozen=True)
class Problem:
    """A value that cannot be used. Staging holds the whole record back when the column is one the
    destination or the spec requires, or when `hold` is set (e.g. a label a value map has no
    entry for and whose policy is to hold); otherwise only this column is left empty and the
    problem is reported for the record (a partial record)."""

    bad: pl.Expr  # True where the row is bad
    reason: pl.Expr  # why, per row
    hold: bool = False


@dataclass(frozen=True)
class Note:
    """A substitution staging reports per record: a fallback or a default took the place of the
    source value."""

    used: pl.Expr  # True where the substitute was used
    text: pl.Expr  # what was substituted, per row


@dataclass(frozen=True)
class Compiled:
    expr: pl.Expr
    problems: tuple[Problem, ...] = ()
    sources: frozenset[str] = frozenset()
    dtype: pl.DataType | None = None  # known output type, if any
    notes: tuple[Note, ...] = ()


@dataclass
class CompileContext:
    """What compiling needs: the spec file (for errors), the source fields, the value maps."""

    file: str
    path: str
    source_object: str
    source_fields: Mapping[str, str]  # name -> raw type
    value_maps: Mapping[str, Any] = field(default_factory=dict)
    line_of: Callable[[str], int | None] = lambda _path: None

    def at(self, suffix: str) -> CompileContext:
        return CompileContext(
            self.file,
            f"{self.path}.{suffix}",
            self.source_object,
            self.source_fields,
            self.value_maps,
            self.line_of,
        )

    def fail(self, problem: str) -> SpecError:
        return SpecError(self.file, self.path, problem, self.line_of(self.path))


def compile_expr(node: Any, ctx: CompileContext) -> Compiled:
    """Compile one YAML expression node.

    Raises:
        SpecError: unknown source field, unknown transform, missing or unexpected argument.
    """
    if isinstance(node, str):
        if node not in ctx.source_fields:
            raise ctx.fail(f"unknown source field {node!r} of {ctx.source_object} {known_values(ctx.source_fields)}")
        return Compiled(pl.col(node), sources=frozenset({node}))
    if isinstance(node, Mapping) and set(node) == {"const"}:
        return Compiled(pl.lit(_constant(node["const"], ctx.at("const"))))
    if isinstance(node, Mapping) and "op" in node:
        op = node["op"]
        if not isinstance(op, str) or op not in TRANSFORMS:
            raise ctx.fail(f"unknown transform {_short(op)} {known_values(TRANSFORMS)}")
        transform = TRANSFORMS[op]
        args = {k: v for k, v in node.items() if k != "op"}
        missing = [a for a in transform.required if a not in args]
        unexpected = [str(a) for a in args if a not in transform.required + transform.optional]
        if missing:
            raise ctx.fail(f"transform {op!r} needs argument(s) {', '.join(missing)}")
        if unexpected:
            raise ctx.fail(
                f"transform {op!r} has no argument(s) {', '.join(unexpected)} "
                f"{known_values(transform.required + transform.optional)}"
            )
        return transform.build(args, ctx)
    if isinstance(node, bool | int | float) or node is None:
        return Compiled(pl.lit(_constant(node, ctx)))
    raise ctx.fail(f"not an expression: {_short(node)} (a source field name, {{const: ...}} or {{op: ...}})")


# -- validating arguments ----------------------------------------------------------------------
# Arguments that are not expressions are checked when the spec is compiled, so a wrong one is a
# SpecError naming file, line and path, never a Python or Polars error while building the frame.
_INT64 = 2**63
MAX_LENGTH = 1_000_000_000  # an upper bound for `truncate`, far above any destination text column


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple | set):
        return "a list"
    return f"{type(value).__name__} {_short(value)}"


def _constant(value: Any, ctx: CompileContext) -> Any:
    """A literal Polars can hold: text, a number, a boolean, a date or null."""
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        raise ctx.fail(f"integer {value} is beyond the 64-bit range")
    if value is None or isinstance(value, str | int | float | date):
        return value
    raise ctx.fail(f"a constant is text, a number, a boolean, a date or null, not {_kind(value)}")


def _int_arg(args: dict[str, Any], ctx: CompileContext, key: str, minimum: int, maximum: int) -> int:
    value = args[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.at(key).fail(f"{key} must be an integer, not {_kind(value)}")
    if not minimum <= value <= maximum:
        raise ctx.at(key).fail(f"{key} must be between {minimum} and {maximum:,}, not {value}")
    return value


def _text_arg(args: dict[str, Any], ctx: CompileContext, key: str, default: str | None = None) -> str:
    value = args.get(key, default)
    if not isinstance(value, str):
        raise ctx.at(key).fail(f"{key} must be text, not {_kind(value)}")
    return value


def _list_arg(args: dict[str, Any], ctx: CompileContext, key: str, at_least: int = 1) -> list[Any]:
    value = args[key]
    if not isinstance(value, list):
        raise ctx.at(key).fail(f"{key} must be a list, not {_kind(value)}")
    if len(value) < at_least:
        raise ctx.at(key).fail(f"{key} needs at least {at_least} item(s)")
    return value


def _constant_list(args: dict[str, Any], ctx: CompileContext, key: str) -> list[Any]:
    """A non-empty list of constants of one type (Polars cannot compare with a mixed list)."""
    values = [_constant(v, ctx.at(f"{key}[{i}]")) for i, v in enumerate(_list_arg(args, ctx, key))]
    kinds = sorted({type(v).__name__ for v in values if v is not None})
    if len(kinds) > 1:
        raise ctx.at(key).fail(f"{key} must all be of one type, not a mix of {', '.join(kinds)}")
    return values


@dataclass(frozen=True)
class Transform:
    build: Callable[[dict[str, Any], CompileContext], Compiled]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    doc: str = ""


TRANSFORMS: dict[str, Transform] = {}


def transform(name: str, required: tuple[str, ...], optional: tuple[str, ...] = (), doc: str = ""):
    def register(fn: Callable[[dict[str, Any], CompileContext], Compiled]):
        TRANSFORMS[name] = Transform(fn, required, optional, doc)
        return fn

    return register


def _of(args: dict[str, Any], ctx: CompileContext, key: str = "of") -> Compiled:
    return compile_expr(args[key], ctx.at(key))


def _merge(
    expr: pl.Expr, *parts: Compiled, problems: tuple[Problem, ...] = (), dtype=None, notes: tuple[Note, ...] = ()
) -> Compiled:
    return Compiled(
        expr,
        problems=tuple(p for c in parts for p in c.problems) + problems,
        sources=frozenset().union(*(c.sources for c in parts)),
        dtype=dtype,
        notes=tuple(n for c in parts for n in c.notes) + notes,
    )


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(expr)


def _label(args: dict[str, Any]) -> str:
    node = args.get("of")
    return node if isinstance(node, str) else "value"


def _parse_problem(src: Compiled, out: pl.Expr, label: str, what: str) -> Problem:
    """A problem for rows whose input is present but whose parsed output is null."""
    raw = _blank_to_null(src.expr)
    return Problem(
        bad=raw.is_not_null() & out.is_null(),
        reason=pl.format("{} {} is not {}", pl.lit(label), raw.cast(pl.String).str.slice(0, 60), pl.lit(what)),
    )


# -- text ----------------------------------------------------------------------------------
@transform("field", ("name",), doc="a source field by name")
def _field(args, ctx):
    return compile_expr(args["name"], ctx.at("name"))


@transform("const", ("value",), doc="a constant value")
def _const(args, ctx):
    return Compiled(pl.lit(_constant(args["value"], ctx.at("value"))))


@transform("lower", ("of",), doc="lower case, trimmed")
def _lower(args, ctx):
    src = _of(args, ctx)
    return _merge(_blank_to_null(src.expr.cast(pl.String).str.strip_chars().str.to_lowercase()), src)


@transform("upper", ("of",), doc="upper case, trimmed")
def _upper(args, ctx):
    src = _of(args, ctx)
    return _merge(_blank_to_null(src.expr.cast(pl.String).str.strip_chars().str.to_uppercase()), src)


@transform("trim", ("of",), doc="surrounding spaces removed; empty becomes null")
def _trim(args, ctx):
    src = _of(args, ctx)
    return _merge(_blank_to_null(src.expr.cast(pl.String).str.strip_chars()), src)


@transform("truncate", ("of", "length"), doc="cut to at most `length` characters")
def _truncate(args, ctx):
    src = _of(args, ctx)
    length = _int_arg(args, ctx, "length", minimum=1, maximum=MAX_LENGTH)
    return _merge(src.expr.cast(pl.String).str.slice(0, length), src)


@transform("concat", ("args",), ("sep",), doc="join values with `sep`, skipping nulls")
def _concat(args, ctx):
    parts = [compile_expr(a, ctx.at(f"args[{i}]")) for i, a in enumerate(_list_arg(args, ctx, "args"))]
    joined = pl.concat_str(
        [_blank_to_null(p.expr.cast(pl.String).str.strip_chars()) for p in parts],
        separator=_text_arg(args, ctx, "sep", default=""),
        ignore_nulls=True,
    )
    return _merge(_blank_to_null(joined), *parts)


@transform("coalesce", ("args",), doc="the first value that is neither null nor blank")
def _coalesce(args, ctx):
    parts = [compile_expr(a, ctx.at(f"args[{i}]")) for i, a in enumerate(_list_arg(args, ctx, "args"))]
    exprs = [_blank_to_null(p.expr) if p.dtype in (None, pl.String) else p.expr for p in parts]
    return _merge(pl.coalesce(exprs), *parts)


def _split_name(value: str | None, part: str) -> str | None:
    if value is None or not value.strip():
        return None
    text = " ".join(value.split())
    if "," in text:  # "Last, First"
        last, _, first = (s.strip() for s in text.partition(","))
    else:
        first, _, last = text.rpartition(" ")
        if not first:
            first, last = "", text
    return (first or None) if part == "first" else (last or None)


@transform("split_name", ("of", "part"), doc="first or last part of a full name ('Last, First' too)")
def _split(args, ctx):
    src = _of(args, ctx)
    part = args["part"]
    if not isinstance(part, str) or part not in ("first", "last"):
        raise ctx.at("part").fail(f"split_name part must be first or last, not {_short(part)}")
    expr = src.expr.map_elements(lambda v: _split_name(v, part), return_dtype=pl.String, skip_nulls=True)
    return _merge(expr, src, dtype=pl.String)


_LEGAL_SUFFIX = re.compile(r"\b(l\s?l\s?c|l\s?l\s?p|inc|corp|co|ltd|p\s?c|p\s?a)\b")


def company_key(value: str | None) -> str | None:
    """Normalize a company name to a matching key: 'ACME, L.L.C.' and ' Acme LLC ' -> 'acme llc'."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).casefold()
    text = re.sub(r"(?<=\b\w)\.(?=\w\b|\w\.)", "", text)  # l.l.c. -> llc
    text = re.sub(r"[^\w\s]", " ", text)
    text = " ".join(text.split())
    text = _LEGAL_SUFFIX.sub(lambda m: m.group(0).replace(" ", ""), text)
    return text or None


@transform("company_key", ("of",), doc="normalized company name used as a matching key")
def _company_key(args, ctx):
    src = _of(args, ctx)
    return _merge(src.expr.map_elements(company_key, return_dtype=pl.String, skip_nulls=True), src)


# -- value maps ----------------------------------------------------------------------------
def normalize_label(value: str) -> str:
    return " ".join(re.sub(r"[-_]", " ", value).split()).casefold()


def value_map_lookup(args, ctx) -> tuple[str, Any, dict[str, Any], Any]:
    """The value map an expression names, its lookup table for the chosen `output` (labels
    normalised when the map says so) and that output's default: (name, map, table, default)."""
    name = _text_arg(args, ctx, "map")
    vmap = ctx.value_maps.get(name)
    if vmap is None:
        raise ctx.at("map").fail(f"unknown value map {name!r} {known_values(ctx.value_maps)}")
    output = _text_arg(args, ctx, "output", default=vmap.outputs[0])
    if output not in vmap.outputs:
        raise ctx.at("output").fail(f"value map {name!r} has no output {output!r} {known_values(vmap.outputs)}")
    index = vmap.outputs.index(output)
    table: dict[str, Any] = {}
    for label, value in vmap.values.items():
        key = normalize_label(label) if vmap.normalize else label
        table[key] = value[index] if isinstance(value, list) else value
    default = vmap.default[index] if isinstance(vmap.default, list) else vmap.default
    return name, vmap, table, default


@transform("value_map", ("map", "of"), ("output",), doc="a label looked up in a named value map")
def _value_map(args, ctx):
    name, vmap, table, default = value_map_lookup(args, ctx)
    src = _of(args, ctx)
    raw = _blank_to_null(src.expr.cast(pl.String))
    keyed = raw.map_elements(normalize_label, return_dtype=pl.String, skip_nulls=True) if vmap.normalize else raw
    values = list(table.values())
    dtype = pl.Int64 if all(isinstance(v, int) for v in values) else pl.String
    mapped = keyed.replace_strict(list(table), values, default=pl.lit(default, dtype=dtype), return_dtype=dtype)
    known = keyed.is_in(list(table))
    if vmap.unmapped == "default":  # the policy maps unknown labels to the default, and says so per record
        note = Note(
            used=raw.is_not_null() & ~known.fill_null(False),
            text=pl.format("{} {}: not in value map {}, its default used", pl.lit(_label(args)), raw, pl.lit(name)),
        )
        return _merge(mapped, src, dtype=dtype, notes=(note,))
    problem = Problem(
        bad=raw.is_not_null() & mapped.is_null(),
        reason=pl.format("{} {} has no entry in value map {}", pl.lit(_label(args)), raw, pl.lit(name)),
        hold=True,  # the policy is to hold the record until the map (or a correction) says what it means
    )
    return _merge(mapped, src, problems=(problem,), dtype=dtype)


# -- JSON ------------------------------------------------------------------------------------
def _loads(text: str | None) -> Any:
    """Parse JSON, also when it was encoded twice; raise ValueError when it is not JSON."""
    return json_text.loads_twice(text) if text is not None else None


@functools.lru_cache(maxsize=4096)
def _key_form(key: str) -> str:  # called for every key of every document: a few distinct keys
    return re.sub(r"[\s_\-]+", "", key).casefold()


def _json_value(text: str | None, key: str) -> str | None:
    try:
        doc = _loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    wanted = _key_form(key)
    for k, v in doc.items():  # mixed key spellings: "Referral Source", "referral_source", ...
        if _key_form(k) == wanted and v is not None:
            return v if isinstance(v, str) else json.dumps(v)
    return None


def _json_valid(text: str | None) -> bool:
    try:
        _loads(text)
    except ValueError:
        return False
    return True


@transform("json_get", ("of", "key"), doc="a value of a JSON object field (key spelling-insensitive)")
def _json_get(args, ctx):
    src = _of(args, ctx)
    key = args["key"]
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)  # a JSON key is text, but YAML reads `key: 2021` as a number
    if not isinstance(key, str):
        raise ctx.at("key").fail(f"key must be text, not {_kind(key)}")
    raw = _blank_to_null(src.expr.cast(pl.String))
    expr = raw.map_elements(lambda t: _json_value(t, key), return_dtype=pl.String, skip_nulls=True)
    valid = raw.map_elements(_json_valid, return_dtype=pl.Boolean, skip_nulls=True)
    problem = Problem(
        bad=raw.is_not_null() & ~valid.fill_null(True),
        reason=pl.format("{} is not valid JSON: {}", pl.lit(_label(args)), raw.str.slice(0, 60)),
    )
    return _merge(expr, src, problems=(problem,))


def _first(text: str | None) -> str | None:
    try:
        doc = _loads(text)
    except ValueError:
        return None
    if isinstance(doc, list) and doc and doc[0] is not None:
        return str(doc[0])
    return None


@transform("json_first", ("of",), doc="the first element of a JSON array, as text")
def _json_first(args, ctx):
    src = _of(args, ctx)
    return _merge(src.expr.cast(pl.String).map_elements(_first, return_dtype=pl.String, skip_nulls=True), src)


# -- parsing ---------------------------------------------------------------------------------
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%B %d, %Y", "%b %d, %Y")
# Dates outside this range are data-entry errors (0001-01-01, 2999-12-31) in a CRM: held back with
# their value, never written (1753 is also the earliest date Dataverse and SQL Server store).
MIN_YEAR, MAX_YEAR = 1753, 2100
NUMBER_LIMIT = 1e15  # beyond every destination's money and decimal range


@functools.lru_cache(maxsize=65_536)  # a column is read for its value and again for its problem
def parse_datetime(text: str | None) -> datetime | None:
    """ISO 8601 with or without offset (no offset = UTC), or a date in a known format; None when it
    is neither or falls outside MIN_YEAR..MAX_YEAR."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@transform("to_datetime", ("of",), doc="a UTC timestamp (ISO 8601; no offset means UTC; dates too)")
def _to_datetime(args, ctx):
    src = _of(args, ctx)
    out = src.expr.cast(pl.String).map_elements(parse_datetime, return_dtype=pl.Datetime("us", "UTC"), skip_nulls=True)
    dtype = pl.Datetime("us", "UTC")
    problem = _parse_problem(src, out, _label(args), f"a date/time in {MIN_YEAR}-{MAX_YEAR}")
    return _merge(out, src, problems=(problem,), dtype=dtype)


@transform("to_date", ("of",), doc="a calendar date")
def _to_date(args, ctx):
    src = _of(args, ctx)
    out = src.expr.cast(pl.String).map_elements(
        lambda t: d.date() if (d := parse_datetime(t)) else None, return_dtype=pl.Date, skip_nulls=True
    )
    problem = _parse_problem(src, out, _label(args), f"a date in {MIN_YEAR}-{MAX_YEAR}")
    return _merge(out, src, problems=(problem,), dtype=pl.Date)


def parse_decimal(text: Any) -> float | None:
    if text is None:
        return None
    cleaned = re.sub(r"[\s$€£,]", "", str(text))
    try:
        number = float(Decimal(cleaned)) if cleaned else None
    except InvalidOperation:
        return None
    # NaN, Infinity and 1e400 are not amounts: held back per row, never written as an empty value
    return number if number is not None and math.isfinite(number) and abs(number) < NUMBER_LIMIT else None


@transform("to_decimal", ("of",), doc="a number; '$1,200.50' becomes 1200.5")
def _to_decimal(args, ctx):
    src = _of(args, ctx)
    out = src.expr.map_elements(parse_decimal, return_dtype=pl.Float64, skip_nulls=True)
    return _merge(out, src, problems=(_parse_problem(src, out, _label(args), "a finite number"),), dtype=pl.Float64)


@transform("to_int", ("of",), doc="an integer")
def _to_int(args, ctx):
    src = _of(args, ctx)
    out = src.expr.cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False)
    return _merge(out, src, problems=(_parse_problem(src, out, _label(args), "an integer"),), dtype=pl.Int64)


_TRUE, _FALSE = {"true", "yes", "y", "1", "active"}, {"false", "no", "n", "0", "never", "inactive"}


@transform("to_bool", ("of",), ("true_values",), doc="a boolean (true/yes/1/active ...)")
def _to_bool(args, ctx):
    src = _of(args, ctx)
    listed = _list_arg(args, ctx, "true_values") if "true_values" in args else []
    given = [_constant(v, ctx.at(f"true_values[{i}]")) for i, v in enumerate(listed)]
    truthy = {str(v).casefold() for v in given} or _TRUE
    falsy = _FALSE if "true_values" not in args else None

    def convert(value: Any) -> bool | None:
        text = str(value).strip().casefold()
        if text in truthy:
            return True
        if falsy is None or text in falsy:
            return False
        return None

    out = src.expr.map_elements(convert, return_dtype=pl.Boolean, skip_nulls=True)
    return _merge(out, src, problems=(_parse_problem(src, out, _label(args), "a boolean"),), dtype=pl.Boolean)


# -- HTML ------------------------------------------------------------------------------------
def html_to_text(value: str | None) -> str | None:
    if value is None:
        return None
    text = nh3.clean(re.sub(r"<(br|/p|/div|/li)\s*/?>", "\n", value, flags=re.I), tags=set())
    return "\n".join(line.strip() for line in html.unescape(text).splitlines()).strip() or None


@transform("html_to_text", ("of",), doc="plain text of an HTML fragment (scripts dropped)")
def _html_to_text(args, ctx):
    src = _of(args, ctx)
    return _merge(src.expr.map_elements(html_to_text, return_dtype=pl.String, skip_nulls=True), src)


@transform("sanitize_html", ("of",), doc="HTML with only safe tags and attributes kept (nh3)")
def _sanitize_html(args, ctx):
    src = _of(args, ctx)
    return _merge(src.expr.map_elements(nh3.clean, return_dtype=pl.String, skip_nulls=True), src)


# -- conditions (exclusions) ----------------------------------------------------------------------
@transform("is_null", ("of",), doc="true when the value is null or blank")
def _is_null(args, ctx):
    src = _of(args, ctx)
    return _merge(_blank_to_null(src.expr).is_null(), src, dtype=pl.Boolean)


@transform("not_null", ("of",), doc="true when the value is present")
def _not_null(args, ctx):
    src = _of(args, ctx)
    return _merge(_blank_to_null(src.expr).is_not_null(), src, dtype=pl.Boolean)


@transform("eq", ("of", "value"), doc="true when the value equals `value`")
def _eq(args, ctx):
    src = _of(args, ctx)
    value = _constant(args["value"], ctx.at("value"))
    return _merge((src.expr == pl.lit(value)).fill_null(False), src, dtype=pl.Boolean)


@transform("equals", ("args",), doc="true when two values are equal as text (both present)")
def _equals(args, ctx):
    parts = [compile_expr(a, ctx.at(f"args[{i}]")) for i, a in enumerate(_list_arg(args, ctx, "args"))]
    if len(parts) != 2:
        raise ctx.fail("equals compares exactly two values")
    a, b = (p.expr.cast(pl.String) for p in parts)
    return _merge((a == b).fill_null(False), *parts, dtype=pl.Boolean)


@transform("in", ("of", "values"), doc="true when the value is one of `values`")
def _in(args, ctx):
    src = _of(args, ctx)
    values = _constant_list(args, ctx, "values")
    return _merge(src.expr.is_in(values).fill_null(False), src, dtype=pl.Boolean)


@transform("not", ("of",), doc="negation")
def _not(args, ctx):
    src = _of(args, ctx)
    return _merge(~src.expr, src, dtype=pl.Boolean)


@transform("all", ("args",), doc="true when every condition is true")
def _all(args, ctx):
    parts = [compile_expr(a, ctx.at(f"args[{i}]")) for i, a in enumerate(_list_arg(args, ctx, "args"))]
    return _merge(pl.all_horizontal([p.expr for p in parts]), *parts, dtype=pl.Boolean)


@transform("any", ("args",), doc="true when a condition is true")
def _any(args, ctx):
    parts = [compile_expr(a, ctx.at(f"args[{i}]")) for i, a in enumerate(_list_arg(args, ctx, "args"))]
    return _merge(pl.any_horizontal([p.expr for p in parts]), *parts, dtype=pl.Boolean)


def _load_topic_transforms() -> None:
    """Register the transforms of every module in `spec/transforms/` (see its docstring)."""
    import importlib
    import pkgutil

    from migration_assets.spec import transforms

    for info in pkgutil.iter_modules(transforms.__path__):
        importlib.import_module(f"{transforms.__name__}.{info.name}")


_load_topic_transforms()
