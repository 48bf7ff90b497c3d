"""The blocking gate of every staged table: a pandera (polars) schema generated from the spec.

It re-checks what staging promises, independently of the code that staged: external ids present
and unique, source ids present, required columns filled, value-mapped columns holding only the
map's values, text within the declared column lengths, the expected types, and no stray column.
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl

from migration_assets.engine.custom_fields import CustomField
from migration_assets.engine.transform import EXT, HASH, SRC, compiled_columns
from migration_assets.spec.loader import LoadedSpec


def _allowed_values(loaded: LoadedSpec, node: Any) -> list[Any] | None:
    if not (isinstance(node, dict) and node.get("op") == "value_map"):
        return None
    vmap = loaded.spec.value_maps[node["map"]]
    index = vmap.outputs.index(node.get("output", vmap.outputs[0]))
    values = {v[index] if isinstance(v, list) else v for v in vmap.values.values()}
    if vmap.default is not None:
        values.add(vmap.default[index] if isinstance(vmap.default, list) else vmap.default)
    return sorted(values, key=str)


def stage_schema(loaded: LoadedSpec, obj_name: str, discovered: tuple[CustomField, ...] = ()) -> pa.DataFrameSchema:
    """The pandera schema a staged slice of `obj_name` must satisfy (with its discovered custom fields)."""
    obj = loaded.spec.objects[obj_name]
    table_spec = loaded.spec.schema_.get(obj.table)
    columns: dict[str, pa.Column] = {
        EXT: pa.Column(pl.String, nullable=False, unique=True),
        SRC: pa.Column(pl.String, nullable=False),
        HASH: pa.Column(pl.String, nullable=False),
    }
    for column, compiled in compiled_columns(loaded, obj_name, discovered).items():
        checks: list[pa.Check] = []
        node = obj.fields.get(column)
        allowed = _allowed_values(loaded, node)
        if allowed is not None:
            checks.append(pa.Check.isin(allowed))
        custom = table_spec.columns.get(column) if table_spec else None
        if custom and custom.max_length:
            checks.append(pa.Check.str_length(max_value=custom.max_length))
        lookup = obj.lookups.get(column)
        # a polymorphic lookup may name its target in a further column instead (lookup_targets.py)
        required = column in obj.required or bool(lookup and lookup.required and not lookup.otherwise)
        dtype = compiled.dtype or (
            pl.String if lookup or (custom and custom.type in ("string", "memo")) else None
        )
        if column in obj.owners:
            dtype = pl.String  # resolved to the destination user's id
        columns[column] = pa.Column(dtype, checks=checks, nullable=not required, coerce=False)
    for owner in obj.owners.values():
        if owner.text_column and owner.text_column not in columns:
            columns[owner.text_column] = pa.Column(pl.String, nullable=True)
    return pa.DataFrameSchema(columns, strict=True, name=f"{loaded.pair}/stage/{obj_name}")


def run_gate(
    loaded: LoadedSpec, obj_name: str, frame: pl.DataFrame, discovered: tuple[CustomField, ...] = ()
) -> tuple[bool, pl.DataFrame | None]:
    """Validate a staged slice; return (passed, failure cases or None)."""
    try:
        stage_schema(loaded, obj_name, discovered).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        return False, err.failure_cases
    return True, None
