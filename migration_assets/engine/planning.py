"""What the plan step decides and the later steps read back from staging: the spec variant the
destination calls for, the discovered custom fields, the owner map and the schema requirements.

Every phase records its own variant (plan/schema_diff), so a sandbox switched from one licence tier
to another between runs is planned again rather than written with the old table names.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import duckdb
import polars as pl

from migration_assets.connectors.base import ColumnRequirement, TableRequirement
from migration_assets.engine.custom_fields import CustomField
from migration_assets.engine.owners import OWNER_MAP_SCHEMA
from migration_assets.engine.transform import StageInputs, join_rows
from migration_assets.spec import corrections
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import OptionSpec
from migration_assets.staging import db, state
from migration_assets.staging.tables import extract_table

VARIANT = "variant"
REQUIRED = "required_columns"  # {table: [columns the destination requires]} of the phase's plan


def effective_spec(conn: duckdb.DuckDBPyConnection, loaded: LoadedSpec, phase: str | None = None) -> LoadedSpec:
    """The spec with the variant plan/schema_diff chose for `phase` (None: the latest chosen)."""
    if not db.table_exists(conn, "plan_values"):  # nothing planned yet (read-only connections too)
        return loaded
    if phase is None:
        rows = conn.execute(
            "select value from plan_values where name = ? order by recorded_at desc limit 1", [VARIANT]
        ).fetchall()
        return loaded.with_variant(rows[0][0] if rows else None)
    return loaded.with_variant(state.plan_value(conn, phase, VARIANT))


def custom_fields(conn: duckdb.DuckDBPyConnection) -> tuple[CustomField, ...]:
    state.ensure(conn)
    rows = conn.sql('select * from custom_fields order by object, "column"').pl().to_dicts()
    return tuple(CustomField.from_row(r) for r in rows)


def save_custom_fields(conn: duckdb.DuckDBPyConnection, fields: list[CustomField]) -> None:
    frame = pl.DataFrame([f.to_row() for f in fields]) if fields else pl.DataFrame()
    db.replace_rows(conn, "custom_fields", frame, "true", [])


def owner_table(conn: duckdb.DuckDBPyConnection, phase: str) -> pl.DataFrame | None:
    state.ensure(conn)
    frame = conn.sql("select * exclude (phase) from owner_map where phase = $1", params=[phase]).pl()
    return frame.cast(OWNER_MAP_SCHEMA) if frame.height else None  # type: ignore[arg-type]


def save_owner_table(conn: duckdb.DuckDBPyConnection, phase: str, table: pl.DataFrame) -> None:
    db.replace_rows(conn, "owner_map", table.with_columns(pl.lit(phase).alias("phase")), "phase = ?", [phase])


def stage_inputs(conn: duckdb.DuckDBPyConnection, phase: str, loaded: LoadedSpec, obj_name: str) -> StageInputs:
    """Custom fields, owners, joined source objects (every phase's latest records: a delta's
    message may belong to a case extracted in the full phase) and the columns the destination
    requires of the object's table."""
    return StageInputs(
        custom_fields(conn),
        owner_table(conn, phase),
        joined_sources(conn, loaded, obj_name),
        destination_required(conn, phase, loaded.spec.objects[obj_name].table),
    )


def destination_required(conn: duckdb.DuckDBPyConnection, phase: str, table: str) -> frozenset[str]:
    """Columns the destination requires of `table`, as plan/schema_diff found them for `phase`."""
    raw = state.plan_value(conn, phase, REQUIRED) if db.table_exists(conn, "plan_values") else None
    return frozenset(json.loads(raw).get(table, [])) if raw else frozenset()


def joined_sources(conn: duckdb.DuckDBPyConnection, loaded: LoadedSpec, obj_name: str) -> dict[str, pl.DataFrame]:
    """The source objects `obj_name` joins, each with only the fields its joins use."""
    return {
        j.source: latest_records(conn, loaded, j.source, lambda f, s=j.source: loaded.joined_fields(obj_name, s, f))
        for j in loaded.spec.objects[obj_name].join.values()
    }


def only(fields: set[str]) -> Callable[[list[str]], list[str]]:
    """A `latest_records` field filter keeping `fields` (a million records of every field would not
    fit the memory the few fields a plan step reads take)."""
    return lambda present: [f for f in present if f in fields]


def owner_rows(conn: duckdb.DuckDBPyConnection, loaded: LoadedSpec, obj_name: str) -> pl.DataFrame:
    """The latest source rows of an object with owners, joins applied, with only the fields its
    owners, exclusions and joins read."""
    obj = loaded.spec.objects[obj_name]
    paths = [(f"owners.{c}.value", o.value) for c, o in obj.owners.items()]
    paths += [(f"exclude[{i}].when", r.when) for i, r in enumerate(obj.exclude)]
    paths += [(f"join.{a}.by", j.by) for a, j in obj.join.items()]
    named = frozenset().union(*(loaded.compile(obj_name, path, expr).sources for path, expr in paths))
    raw = latest_records(conn, loaded, obj.source, only(set(named)))
    return join_rows(loaded, obj_name, raw, joined_sources(conn, loaded, obj_name))


def latest_records(
    conn: duckdb.DuckDBPyConnection,
    loaded: LoadedSpec,
    source_object: str,
    fields: Callable[[list[str]], list[str]] | None = None,
) -> pl.DataFrame:
    """Every extracted record of a source object over all phases, the latest version per id (the
    object's declared id and last-modified fields); of its fields only those `fields` keeps."""
    catalog = loaded.source_catalog[source_object]
    id_field, updated_field = catalog.id_field, catalog.updated_field
    table = extract_table(source_object)
    if not db.table_exists(conn, table):
        return pl.DataFrame()
    present = [c for c in db.columns(conn, table) if c != "_phase"]
    kept = fields(present) if fields else present
    kept = list(dict.fromkeys([*kept, *(f for f in (id_field, updated_field) if f and f in present)]))
    selected = ", ".join(map(db.quoted, kept))
    frame = corrected(conn, loaded, source_object, db.utc(conn.sql(f"select {selected} from {db.ident(table)}").pl()))
    if id_field not in frame.columns:
        return frame
    if updated_field and updated_field in frame.columns:  # raw text; ISO timestamps of one source sort as text
        frame = frame.sort(updated_field, nulls_last=False, maintain_order=True)
    return frame.unique(subset=[id_field], keep="last", maintain_order=True)


def _options(options: list[str | OptionSpec]) -> tuple[tuple[str, ...], dict[str, tuple[int | None, int | None]]]:
    labels = tuple(o if isinstance(o, str) else o.label for o in options)
    pinned = {o.label: (o.value, o.state) for o in options if isinstance(o, OptionSpec)}
    return labels, pinned


def schema_requirements(loaded: LoadedSpec, fields: tuple[CustomField, ...] = ()) -> list[TableRequirement]:
    """What the (variant-applied) spec's `schema:` section and the discovered custom fields ask of the
    destination."""
    out: dict[str, TableRequirement] = {}
    for table, spec in loaded.spec.schema_.items():
        columns = []
        for name, c in spec.columns.items():
            labels, pinned = _options(c.options)
            columns.append(ColumnRequirement(name, c.type, c.max_length, labels, c.target, c.label, pinned))
        keys = {k: tuple(v) for k, v in spec.keys.items()}
        out[table] = TableRequirement(
            table, spec.custom, spec.activity, tuple(columns), keys, spec.label, association=spec.association
        )
    for obj_name, obj in loaded.spec.objects.items():
        extra = tuple(f.requirement() for f in fields if f.object == obj_name)
        if not extra:
            continue
        base = out.get(obj.table) or TableRequirement(obj.table)
        out[obj.table] = TableRequirement(
            base.name, base.custom, base.activity, (*base.columns, *extra), base.keys, base.label
        )
    return list(out.values())


CORRECTIONS_DDL = """create table if not exists corrections_applied (phase varchar, source_object varchar,
    source_id varchar, field varchar, was varchar, value varchar, imported_by varchar, imported_at varchar,
    run_id varchar)"""


def corrected(
    conn: duckdb.DuckDBPyConnection, loaded: LoadedSpec, source_object: str, frame: pl.DataFrame
) -> pl.DataFrame:
    """The raw records of `source_object` with the spec's corrections applied."""
    id_field = loaded.source_catalog[source_object].id_field
    return corrections.apply(frame, loaded.corrections, source_object, id_field)


def record_corrections(
    conn: duckdb.DuckDBPyConnection, phase: str, loaded: LoadedSpec, source_object: str, raw: pl.DataFrame, run_id: str
) -> None:
    """Which corrections this phase's staging applied (field, old and new value, who imported it)."""
    conn.execute(CORRECTIONS_DDL)
    conn.execute("delete from corrections_applied where phase = ? and source_object = ?", [phase, source_object])
    id_field = loaded.source_catalog[source_object].id_field
    ids = set(raw[id_field].cast(pl.String).to_list()) if raw.height and id_field in raw.columns else set()
    for c in loaded.corrections:
        if c.source_object == source_object and c.source_id in ids:
            conn.execute(
                "insert into corrections_applied values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [phase, source_object, c.source_id, c.field, c.was, c.value, c.by, c.imported_at, run_id],
            )
