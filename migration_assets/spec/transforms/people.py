"""Transforms for people's names: a full name split into its parts, whatever form it was typed in.

`person_name` parses one free-text name field into first, middle and last name and suffix:

    "Ana Rivera"               first Ana, last Rivera
    "Rivera, Ana"              first Ana, last Rivera ("Last, First")
    "Madonna"                  last Madonna (one word: the last name, which CRMs require)
    "John Smith Jr."           first John, last Smith, suffix Jr.
    "John Smith, Esq."         first John, last Smith, suffix Esq.
    "Juan de la Cruz"          first Juan, last "de la Cruz" (lower-case particles stay with it)
    "Mary Ann Smith"           first Mary, middle Ann, last Smith
    "Smith & Jones LLP"        last "Smith & Jones LLP" (a firm typed into a person field: the whole
                               name is the last name, nothing is guessed as a first name)

`is_firm_name` tells whether a name is a firm's (legal-entity words such as LLP, Inc., Co., or an
ampersand), for exclusions and flags. Whitespace is collapsed; letter case is kept as typed.

Example:
    firstname: {op: person_name, of: full_name, part: first}
    lastname: {op: person_name, of: full_name, part: last}
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import polars as pl

from migration_assets.spec.expressions import _merge, _of, _short, transform

PARTS = ("first", "middle", "last", "suffix")
# Words that only a firm's name carries (legal-entity forms and the usual firm nouns).
FIRM_WORDS = frozenset(
    {
        "llp",
        "llc",
        "pllc",
        "lp",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "pc",
        "pa",
        "plc",
        "gmbh",
        "associates",
        "partners",
        "group",
        "holdings",
        "insurance",
        "firm",
        "offices",
        "clinic",
        "hospital",
        "county",
    }
)
SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "esq", "md", "phd", "dds", "cpa"})
PARTICLES = frozenset(
    {"de", "del", "della", "der", "den", "di", "da", "du", "la", "le", "van", "von", "st", "dos", "das"}
)


@dataclass(frozen=True)
class PersonName:
    """The parts of one parsed name (None where absent)."""

    first: str | None = None
    middle: str | None = None
    last: str | None = None
    suffix: str | None = None
    firm: bool = False

    def part(self, name: str) -> str | None:
        return getattr(self, name)


def _word(token: str) -> str:
    """A token without its punctuation, case-folded, for comparisons ('L.L.C.,' -> 'llc')."""
    return re.sub(r"[^\w]", "", token).casefold()


def is_firm_name(text: str | None) -> bool:
    """Whether `text` names a firm: an ampersand, or a legal-entity or firm word among its tokens."""
    if text is None or not text.strip():
        return False
    return "&" in text or any(_word(t) in FIRM_WORDS for t in re.split(r"[\s,]+", text) if t)


def _clean(text: str) -> str:
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text.strip(" ,;")


def _split_suffix(text: str) -> tuple[str, str | None]:
    """('John Smith', 'Jr.') from 'John Smith Jr.' or 'John Smith, Jr.'; the suffix as typed."""
    tokens = text.replace(",", " , ").split()
    found: list[str] = []
    while len(tokens) > 1 and (_word(tokens[-1]) in SUFFIXES or tokens[-1] == ","):
        token = tokens.pop()
        if token != ",":
            found.insert(0, token)
    if not found:
        return text, None
    rest = " ".join(tokens).replace(" , ", ", ").replace(" ,", ",").strip(" ,")
    return rest, " ".join(found)


def _given_and_family(tokens: list[str]) -> tuple[str | None, str | None, str | None]:
    """(first, middle, last) of 'First [Middle...] [particles] Last'."""
    if len(tokens) == 1:
        return None, None, tokens[0]
    start = len(tokens) - 1
    while start > 1 and _word(tokens[start - 1]) in PARTICLES and tokens[start - 1].islower():
        start -= 1
    middle = " ".join(tokens[1:start]) or None
    return tokens[0], middle, " ".join(tokens[start:])


def parse_person_name(text: str | None) -> PersonName:
    """Split a full name typed in any of the module docstring's forms.

    Args:
        text: the full name as the source holds it.

    Returns:
        The parts; a blank or missing name gives every part None.
    """
    if text is None or not _clean(text):
        return PersonName()
    cleaned = _clean(text)
    if is_firm_name(cleaned):
        return PersonName(last=cleaned, firm=True)
    rest, suffix = _split_suffix(cleaned)
    if "," in rest:  # "Last, First [Middle]"
        family, _, given = (s.strip() for s in rest.partition(","))
        tokens = given.split()
        if family and tokens:
            return PersonName(tokens[0], " ".join(tokens[1:]) or None, family, suffix)
        rest = family or given
    first, middle, last = _given_and_family(rest.split())
    return PersonName(first, middle, last, suffix)


@transform("person_name", ("of", "part"), doc="first, middle, last or suffix of a full name in any typed form")
def _person_name(args, ctx):
    src = _of(args, ctx)
    part = args["part"]
    if not isinstance(part, str) or part not in PARTS:
        raise ctx.at("part").fail(f"person_name part must be one of {', '.join(PARTS)}, not {_short(part)}")
    expr = src.expr.cast(pl.String).map_elements(
        lambda v: parse_person_name(v).part(part), return_dtype=pl.String, skip_nulls=True
    )
    return _merge(expr, src, dtype=pl.String)


@transform("is_firm_name", ("of",), doc="true when a name is a firm's (LLP, Inc., Co., an ampersand...)")
def _is_firm_name(args, ctx):
    src = _of(args, ctx)
    expr = src.expr.cast(pl.String).map_elements(is_firm_name, return_dtype=pl.Boolean, skip_nulls=True)
    return _merge(expr.fill_null(False), src, dtype=pl.Boolean)
