"""Apply the destination schema a spec needs, then check that every column it writes exists."""

from __future__ import annotations

from collections.abc import Mapping

from migration_assets.connectors.base import DestinationConnector, TableInfo
from migration_assets.engine import planning
from migration_assets.engine.custom_fields import CustomField
from migration_assets.spec.loader import LoadedSpec


def missing_columns(
    loaded: LoadedSpec, tables: Mapping[str, TableInfo], fields: tuple[CustomField, ...] = ()
) -> list[str]:
    """Spec columns (mapped, lookups, owners, keys, discovered custom fields) absent from the
    described destination schema."""
    missing = []
    for name, obj in loaded.spec.objects.items():
        info = tables.get(obj.table)
        if info is None:
            missing.append(f"table {obj.table} (object {name})")
            continue
        texts = [o.text_column for o in obj.owners.values() if o.text_column]
        custom = [f.column for f in fields if f.object == name]
        for column in [obj.external_id.column, *obj.fields, *obj.lookups, *obj.owners, *texts, *custom]:
            if column not in info.columns:
                missing.append(f"{obj.table}.{column}")
    return missing


async def apply_schema_and_check(
    dest: DestinationConnector, loaded: LoadedSpec, fields: tuple[CustomField, ...]
) -> tuple[list[str], list[str]]:
    """(what the destination created, spec columns still missing afterwards); closes `dest`."""
    try:
        actions = await dest.apply_schema(planning.schema_requirements(loaded, fields))
        tables = {o.table for o in loaded.spec.objects.values()}
        schema = await dest.describe(sorted(tables))
        return actions, missing_columns(loaded, schema.tables, fields)
    finally:
        await dest.aclose()
