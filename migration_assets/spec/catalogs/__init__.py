"""Static catalogs that let a spec be validated offline, before any connection is made.

- Source catalogs come from each source connector's `settings.CATALOG` (objects, fields, raw types,
  documented pick-list values).
- Destination catalogs are the standard tables and columns of each destination (the part every
  tenant has), in `<system>.yaml` beside this file. Custom columns and tables come from the spec's
  own `schema:` section; the live schema is compared with both by `plan/schema_diff`.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

import yaml

from migration_assets.connectors.base import SourceObject
from migration_assets.errors import known_values

HERE = Path(__file__).parent
SOURCE_SETTINGS = {
    "case_status": "migration_assets.connectors.case_status.settings",
}


@cache
def source_catalog(system: str) -> dict[str, SourceObject]:
    if system not in SOURCE_SETTINGS:
        raise KeyError(f"unknown source system {system!r} {known_values(SOURCE_SETTINGS)}")
    return dict(importlib.import_module(SOURCE_SETTINGS[system]).CATALOG)


@cache
def _destination_file(system: str) -> dict:
    path = HERE / f"{system}.yaml"
    if not path.exists():
        known = [p.stem for p in HERE.glob("*.yaml")]
        raise KeyError(f"unknown destination system {system!r} {known_values(known)}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def destination_catalog(system: str) -> dict[str, dict[str, str]]:
    """{table: {column: type}} of the destination's standard schema."""
    return _destination_file(system)["tables"]


def destination_choice_values(system: str) -> str:
    """How the destination stores a choice: 'integer' option values (Dataverse) or the 'label'."""
    return str(_destination_file(system).get("choice_values", "label"))


def destination_external_id_column(system: str, source_system: str, name: str) -> str:
    """The name a new external-id column gets in `system` for source object `name` (singular)."""
    template = str(_destination_file(system).get("external_id_column", "{prefix}_{name}_id"))
    prefix = "".join(part[0] for part in source_system.split("_"))
    return template.format(prefix=prefix, name=name, Name=name.title())


def destination_implied_columns(system: str, *, activity: bool) -> dict[str, str]:
    """Columns the destination creates with every custom table (or custom activity table)."""
    return dict(_destination_file(system).get("activity_table" if activity else "custom_table") or {})
