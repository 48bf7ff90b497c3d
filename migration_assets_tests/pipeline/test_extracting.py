"""Raw extraction frames: every value rendered as text the same way whatever the shape of the pages
(records sharing one key order, keys missing or in another order, values of mixed types)."""

from __future__ import annotations

import polars as pl

from migration_assets.engine.extracting import _Columns, records_to_frame

PAGES = [
    [  # one key order: transposed in one pass
        {"id": 1, "name": "Ann\x00e", "tags": {"b": 2, "a": "\x00x"}, "vip": True, "n": 2**70},
        {"id": 2, "name": None, "tags": None, "vip": False, "n": 3},
    ],
    [  # keys in another order, one missing, one new
        {"vip": 1, "id": 3, "tags": "plain", "name": "Bo", "n": 1.5, "extra": [1, "é"]},
        {"id": 4, "vip": None, "tags": [], "n": None},
    ],
]
EXPECTED = {
    "id": ["1", "2", "3", "4"],
    "name": ["Anne", None, "Bo", None],
    "tags": ['{"a": "x", "b": 2}', None, "plain", "[]"],
    "vip": ["true", "false", "1", None],
    "n": [str(2**70), "3", "1.5", None],
    "missing": [None, None, None, None],
    "extra": [None, None, '[1, "é"]', None],
}


def test_pages_of_any_shape_give_the_same_text_columns() -> None:
    fields = ["id", "name", "tags", "vip", "n", "missing"]
    columns = _Columns()
    for page in PAGES:
        columns.add(page)
    paged = columns.frame(fields)
    whole = records_to_frame([r for page in PAGES for r in page], fields)
    assert paged.to_dict(as_series=False) == whole.to_dict(as_series=False) == EXPECTED
    assert paged.columns == [*fields, "extra"]  # the catalog's fields first, then extra keys sorted
    assert all(dtype == pl.String for dtype in paged.dtypes)


def test_nested_values_are_sorted_json_without_nul_escapes() -> None:
    frame = records_to_frame([{"j": {"z": [1, None], "a": "\x00"}}, {"j": None}], ["j"])
    assert frame["j"].to_list() == ['{"a": "", "z": [1, null]}', None]


def test_no_records_give_an_empty_text_frame_of_the_fields() -> None:
    frame = _Columns().frame(["id", "name"])
    assert frame.height == 0 and frame.schema == {"id": pl.String, "name": pl.String}
