"""Remediation in the spec: a fallback for a value the destination requires, reported per record.

    lastname:
      op: fallback
      of: {op: trim, of: last_name}
      else: [{op: email_name, of: email}, {const: "(no last name)"}]

`fallback` keeps `of` where it has a value; elsewhere the first alternative that has one, and
staging reports the substitution for that record ("lastname: (no last name) used, last_name
empty") so a person can count and review them; nothing is substituted silently.
"""

from __future__ import annotations

import re

import polars as pl

from migration_assets.spec.expressions import (
    Compiled,
    Note,
    _blank_to_null,
    _list_arg,
    _merge,
    _of,
    compile_expr,
    transform,
)


def _label(compiled: Compiled) -> str:
    """The source field the primary value reads (for the report), or "value"."""
    return ", ".join(sorted(compiled.sources)) or "value"


@transform("fallback", ("of", "else"), doc="the value, else the first alternative that has one (reported)")
def _fallback(args, ctx) -> Compiled:
    primary = _of(args, ctx)
    alternatives = [compile_expr(a, ctx.at(f"else[{i}]")) for i, a in enumerate(_list_arg(args, ctx, "else"))]
    value = _blank_to_null(primary.expr.cast(pl.String))
    chosen = pl.coalesce([value, *(_blank_to_null(a.expr.cast(pl.String)) for a in alternatives)])
    note = Note(
        used=value.is_null() & chosen.is_not_null(),
        text=pl.format("{} used for an empty {}", chosen.str.slice(0, 60), pl.lit(_label(primary))),
    )
    return _merge(chosen, primary, *alternatives, notes=(note,), dtype=pl.String)


def email_name(address: str | None) -> str | None:
    """A person's name guessed from an e-mail's local part: 'ada.lovelace@x' -> 'Ada Lovelace'."""
    if not address or "@" not in address:
        return None
    words = [w for w in re.split(r"[._\-+0-9]+", address.split("@", 1)[0]) if w]
    return " ".join(w[:1].upper() + w[1:].lower() for w in words) or None


@transform("email_name", ("of",), doc="a name guessed from an e-mail's local part ('ada.lovelace@' -> 'Ada Lovelace')")
def _email_name(args, ctx) -> Compiled:
    src = _of(args, ctx)
    return _merge(src.expr.cast(pl.String).map_elements(email_name, return_dtype=pl.String, skip_nulls=True), src)
