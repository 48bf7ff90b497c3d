"""spec/transforms/people.py: full names split into first, middle, last and suffix in every typed form."""

from __future__ import annotations

import polars as pl
import pytest

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import CompileContext, compile_expr
from migration_assets.spec.transforms.people import is_firm_name, parse_person_name


def _context() -> CompileContext:
    return CompileContext("t.yaml", "objects.contact.fields.firstname", "contacts", {"full_name": "str"})


@pytest.mark.parametrize(
    ("typed", "first", "middle", "last", "suffix"),
    [
        ("Ana Rivera", "Ana", None, "Rivera", None),
        ("  Ana   Rivera ", "Ana", None, "Rivera", None),
        ("Rivera, Ana", "Ana", None, "Rivera", None),
        ("Rivera, Ana Maria", "Ana", "Maria", "Rivera", None),
        ("Madonna", None, None, "Madonna", None),
        ("John Smith Jr.", "John", None, "Smith", "Jr."),
        ("John Smith III", "John", None, "Smith", "III"),
        ("John Smith, Esq.", "John", None, "Smith", "Esq."),
        ("Smith, John Sr.", "John", None, "Smith", "Sr."),
        ("Juan de la Cruz", "Juan", None, "de la Cruz", None),
        ("Mary Ann Smith", "Mary", "Ann", "Smith", None),
        ("Smith & Jones LLP", None, None, "Smith & Jones LLP", None),
        ("Harbor Insurance Co.", None, None, "Harbor Insurance Co.", None),
        ("Acme, L.L.C.", None, None, "Acme, L.L.C.", None),
        ("Jr.", None, None, "Jr.", None),
        ("", None, None, None, None),
        (None, None, None, None, None),
    ],
)
def test_every_dirty_form_of_a_full_name_splits(typed, first, middle, last, suffix) -> None:
    parsed = parse_person_name(typed)
    assert (parsed.first, parsed.middle, parsed.last, parsed.suffix) == (first, middle, last, suffix)


@pytest.mark.parametrize(
    ("name", "firm"),
    [("Smith & Jones LLP", True), ("Lee Medical Group", True), ("Kent County", True), ("Ana Rivera", False)],
)
def test_firm_names_are_told_from_people(name: str, firm: bool) -> None:
    assert is_firm_name(name) is firm


def test_person_name_transform_gives_each_part_per_row() -> None:
    frame = pl.DataFrame({"full_name": ["Rivera, Ana", "Madonna", "Kay Lee, Esq.", "Bo & Co LLP", None]})
    parts = {
        p: frame.select(compile_expr({"op": "person_name", "of": "full_name", "part": p}, _context()).expr)
        .to_series()
        .to_list()
        for p in ("first", "last", "suffix")
    }
    assert parts["first"] == ["Ana", None, "Kay", None, None]
    assert parts["last"] == ["Rivera", "Madonna", "Lee", "Bo & Co LLP", None]
    assert parts["suffix"] == [None, None, "Esq.", None, None]
    firm = compile_expr({"op": "is_firm_name", "of": "full_name"}, _context())
    assert frame.select(firm.expr).to_series().to_list() == [False, False, False, True, False]


def test_unknown_part_is_a_spec_error_naming_the_parts() -> None:
    with pytest.raises(SpecError, match="person_name part must be one of first, middle, last, suffix"):
        compile_expr({"op": "person_name", "of": "full_name", "part": "given"}, _context())
