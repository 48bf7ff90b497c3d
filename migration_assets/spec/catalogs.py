"""Static catalogs that let a spec be validated offline, before any connection is made.

Every system declares its catalog (`systems.py`):
- a source: its connector's catalog of objects (fields, raw types, documented pick-list values,
  id and last-modified fields);
- a destination: the standard tables and columns every tenant has, in the `catalog.yaml` of its
  connector package, plus how it stores choices and names new external-id columns.
Custom columns and tables come from the spec's own `schema:` section; the live schema is compared
with both by `plan/schema_diff`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import yaml

from migration_assets.connectors.base import SourceObject
from migration_assets.systems import load_object, system


@cache
def source_catalog(name: str) -> dict[str, SourceObject]:
    """{object: SourceObject} of a source system.

    Raises:
        MigrationError: unknown source system (the message lists the known ones).
    """
    return dict(load_object(system(name, "source").catalog))


@cache
def _destination_file(name: str) -> dict[str, Any]:
    path = system(name, "destination").catalog_path()
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def destination_catalog(name: str) -> dict[str, dict[str, str]]:
    """{table: {column: type}} of the destination's standard schema."""
    return _destination_file(name)["tables"]


def destination_choice_numbering(name: str) -> int | None:
    """The value of a new option where the destination stores choices as integers (its catalog's
    `first_choice_value`), or None where choices are stored as their labels."""
    data = _destination_file(name)
    if data.get("choice_values", "label") != "integer":
        return None
    return int(data["first_choice_value"])


def destination_column_name_max(name: str) -> int:
    """The longest column name the destination takes (its catalog's `column_name_max`; 50 if unset)."""
    return int(_destination_file(name).get("column_name_max", 50))


def destination_external_id_column(name: str, source: str, obj: str) -> str:
    """The name a new external-id column gets in destination `name` for source object `obj` of
    `source`, from the catalog's `external_id_column` template: `{prefix}` is the source's
    declared column prefix, `{name}`/`{Name}` the object name."""
    template = str(_destination_file(name).get("external_id_column", "{prefix}_{name}_id"))
    prefix = system(source, "source").column_prefix
    return template.format(prefix=prefix, name=obj, Name=obj.title())


def destination_implied_columns(name: str, *, activity: bool, options: Mapping[str, Any]) -> dict[str, str]:
    """Columns the destination creates with every custom table (or custom activity table); a
    `{option}` in a name is the spec's `destination_options` value (e.g. a publisher prefix).

    Raises:
        KeyError: a name needs a destination option the spec does not set.
    """
    columns = _destination_file(name).get("activity_table" if activity else "custom_table") or {}
    return {column.format_map(options): kind for column, kind in columns.items()}
