"""ObjectMap.explode: one staged row per element of a JSON list, `_item`/`_index` in expressions."""

from __future__ import annotations

import polars as pl

from migration_assets.engine.transform import StageInputs, stage_frame
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.expressions import company_key
from migration_assets.spec.loader import load_spec


def cases(*client_ids: str | None) -> pl.DataFrame:
    columns = [
        f.name for f in load_spec(SPEC_DIR / "case_status__salesforce.yaml").source_catalog["cases"].fields
    ]
    rows = [{c: None for c in columns} | {"id": str(i + 1), "client_ids": ids} for i, ids in enumerate(client_ids)]
    return pl.DataFrame(rows, schema={c: pl.String for c in columns})


def clients(companies: dict[str, str | None]) -> pl.DataFrame:
    columns = [
        f.name for f in load_spec(SPEC_DIR / "case_status__salesforce.yaml").source_catalog["clients"].fields
    ]
    rows = [{c: None for c in columns} | {"id": i, "company": firm} for i, firm in companies.items()]
    return pl.DataFrame(rows, schema={c: pl.String for c in columns})


def test_each_additional_client_becomes_a_row_and_bad_lists_are_quarantined_not_dropped():
    loaded = load_spec(SPEC_DIR / "case_status__salesforce.yaml")
    people = clients({"4": None, "5": "Beta LLC", "7": "Acme Law", "8": None, "9": "ACME LAW"})
    inputs = StageInputs(sources={"clients": people})
    result = stage_frame(loaded, "client_link", cases("[7, 8, 9]", "[]", None, "not json", '"[4, 5]"'), inputs)
    acme = company_key("Acme Law")
    # the case's Account is the primary client's firm (or the client, without a firm)
    assert sorted(result.staged["_external_id"].to_list()) == sorted(["4:5", f"{acme}:8"])  # double-encoded too
    excluded = dict(zip(result.excluded["_external_id"], result.excluded["_reason"], strict=True))
    assert set(excluded) == {"4:4", f"{acme}:7", f"{acme}:9"}
    assert "primary client" in excluded[f"{acme}:7"] and "same firm" in excluded[f"{acme}:9"]
    (reason,) = result.quarantined["_reason"].to_list()
    assert "not valid JSON" in reason
    assert result.staged.filter(pl.col("_external_id") == f"{acme}:8")["ContactId"].item() == "8"  # _item lookup
