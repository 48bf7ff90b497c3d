"""Routes (1:many), flags and inventory-typed custom fields, staged without Dagster on seeded
BackDocket records and the backdocket__dynamics365 spec."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from migration_assets.connectors.backdocket.settings import CATALOG, PATHS
from migration_assets.engine.custom_inventory import inventory_column, inventory_fields
from migration_assets.engine.extracting import records_to_frame
from migration_assets.engine.owners import OWNER_MAP_SCHEMA
from migration_assets.engine.transform import EXT, SRC, StageInputs, stage_frame
from migration_assets.errors import SpecError
from migration_assets.sandbox.backdocket import build
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec

PAIR = "backdocket__dynamics365"
DATA = build(scale=30, seed=5)


def raw(obj: str) -> pl.DataFrame:
    """The extract of a catalog object: live records, every value as text."""
    docs = [{k: v for k, v in d.items() if not k.startswith("_")} for d in DATA[PATHS[obj]] if not d["deleted_at"]]
    return records_to_frame(docs, [f.name for f in CATALOG[obj].fields])


@pytest.fixture(scope="module")
def loaded():
    return load_spec(SPEC_DIR / f"{PAIR}.yaml")


def test_a_route_partitions_its_source_and_each_member_stages_only_its_rows(loaded) -> None:
    claims = raw("claims")
    inputs = StageInputs(owners=pl.DataFrame(schema=OWNER_MAP_SCHEMA), sources={"matters": raw("matters")})
    staged = {m: stage_frame(loaded, m, claims, inputs) for m in ("opportunity", "claim")}
    ids = {m: set(r.staged[SRC]) | set(r.quarantined[SRC]) | set(r.excluded[SRC]) for m, r in staged.items()}
    assert not ids["opportunity"] & ids["claim"] and ids["opportunity"] | ids["claim"] == set(claims["id"])
    assert sum(r.source for r in staged.values()) == claims.height
    revenue = set(claims.filter((pl.col("side") == "plaintiff") & pl.col("estimated_value").is_not_null())["id"])
    assert ids["opportunity"] == revenue


def test_flags_list_the_staged_rows_they_pick_with_the_shown_text(loaded) -> None:
    events = raw("calendar_events")
    result = stage_frame(loaded, "appointment", events, StageInputs())
    listed = result.flags["reinvite"]
    assert listed.height and set(listed[EXT]) <= set(result.staged[EXT])
    assert all("@" in shown and "harbordocket" not in shown for shown in listed["shown"])
    assert set(result.flags["zoneless"][SRC]) <= set(events.filter(pl.col("time_zone").is_null())["id"])


def test_inventory_types_columns_by_the_definitions(loaded) -> None:
    spec = loaded.spec.objects["claim"].custom_fields
    fields = inventory_fields(raw("custom_fields"), raw("claims"), "claim", spec, 100000000)
    by_label = {f.label: f for f in fields}
    assert {f.column for f in fields} >= {"bd_injuries", "bd_lien_notes", "bd_attorney_fee", "bd_policy_limit"}
    assert (by_label["Injuries"].type, by_label["Injuries"].options[:2]) == ("multipicklist", ("Neck", "Back"))
    assert (by_label["Lien Notes"].type, by_label["Lien Notes"].kind) == ("memo", "html")
    assert (by_label["Attorney Fee"].type, by_label["Attorney Fee"].formula) == ("decimal", "settlement_amount*0.33")
    frame = pl.DataFrame(
        {
            "custom_fields": [
                '{"cf_12": ["Back", "Neck"], "cf_14": "<p><b>Hold</b> lien", '
                '"cf_20": {"formula": "x", "value": 41250.0}}',
                '{"cf_12": ["Whiplash"], "cf_20": {"formula": "x", "value": null}}',
            ]
        }
    )
    columns = {f.column: inventory_column(loaded, "claim", f) for f in fields}
    out = frame.select(*(c.expr.alias(name) for name, c in columns.items()))
    assert out["bd_injuries"].to_list() == ["100000000,100000001", None]
    assert out["bd_lien_notes"][0] == "<p><b>Hold</b> lien</p>" and out["bd_attorney_fee"].to_list() == [41250.0, None]
    problems = frame.select(pl.any_horizontal([p.bad for p in columns["bd_injuries"].problems]))
    assert problems.to_series().to_list() == [False, True]  # a label outside the definition's options


def _spec_with(tmp_path: Path, change) -> Path:
    spec = yaml.safe_load((SPEC_DIR / f"{PAIR}.yaml").read_text())
    change(spec)
    path = tmp_path / f"{PAIR}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["routes"]["claims"].update(otherwise="nope"), "routes.claims.otherwise: unknown object 'nope'"),
        (
            lambda s: s["routes"]["tasks"].update(otherwise="claim"),
            "routes.tasks.otherwise: object 'claim' is routed by route 'claims' already",
        ),
        (
            lambda s: s["routes"]["claims"]["rules"][0].update(object="lead"),
            "routes.claims: the objects of a route share one source",
        ),
        (
            lambda s: (
                s["objects"]["task_matter"].update(  # a new mapping: the YAML merge shares the old one
                    join={**s["objects"]["task_matter"]["join"], "extra": {"source": "users", "by": "assignee_email"}}
                ),
                s["routes"]["tasks"]["rules"][0].update(when={"op": "not_null", "of": "extra.id"}),
            ),
            "routes.tasks.rules[0].when.of: unknown source field 'extra.id' of tasks",  # task_contact has no join extra
        ),
    ],
)
def test_route_errors_name_the_route_key(tmp_path: Path, change, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_spec(_spec_with(tmp_path, change))
