"""ObjectMap.explode: one staged row per element of a JSON list, `_item`/`_index` in expressions."""

from __future__ import annotations

import polars as pl

from migration_assets.pipeline.transform import stage_frame
from migration_assets.spec.loader import DEFAULT_SPEC_DIR, load_spec


def cases(*client_ids: str | None) -> pl.DataFrame:
    columns = [
        f.name for f in load_spec(DEFAULT_SPEC_DIR / "case_status__salesforce.yaml").source_catalog["cases"].fields
    ]
    rows = [{c: None for c in columns} | {"id": str(i + 1), "client_ids": ids} for i, ids in enumerate(client_ids)]
    return pl.DataFrame(rows, schema={c: pl.String for c in columns})


def test_each_additional_client_becomes_a_row_and_bad_lists_are_quarantined_not_dropped():
    loaded = load_spec(DEFAULT_SPEC_DIR / "case_status__salesforce.yaml")
    result = stage_frame(loaded, "client_link", cases("[7, 8, 9]", "[]", None, "not json", '"[4, 5]"'))
    assert sorted(result.staged["_external_id"].to_list()) == ["4:5", "7:8", "7:9"]  # double-encoded list too
    assert sorted(result.excluded["_external_id"].to_list()) == ["4:4", "7:7"]  # index 0: the primary client
    (reason,) = result.quarantined["_reason"].to_list()
    assert "not valid JSON" in reason
    assert result.staged.filter(pl.col("_external_id") == "7:9")["ContactId"].item() == "9"  # _item as a lookup
