"""Discover a destination environment through its connector: `describe()` (tables, columns, types,
option sets, required columns, alternate keys, licence/tier facts) and `users()`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from migration_assets.connectors.base import DestinationConnector, DestinationSchema, TableInfo

# Columns every record has and no migration writes (ids, audit stamps set by the platform).
SYSTEM_COLUMN_TYPES = frozenset({"uniqueidentifier", "id"})


@dataclass
class DestinationDiscovery:
    system: str
    schema: DestinationSchema
    users: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "facts": _jsonable(dict(self.schema.facts)),
            "tables": {name: table_json(t) for name, t in sorted(self.schema.tables.items())},
            "users": self.users,
        }


def table_json(table: TableInfo) -> dict[str, Any]:
    columns = {}
    for name, c in table.columns.items():
        options = dict(c.options) if hasattr(c.options, "items") else list(c.options)
        columns[name] = {
            "type": c.type,
            "required": c.required,
            "max_length": c.max_length,
            "options": options,
            "targets": list(c.targets),
            "custom": c.custom,
        }
    return {
        "custom": table.custom,
        "activity": table.activity,
        "primary_id": table.primary_id,
        "keys": {k: list(v) for k, v in table.keys.items()},
        "required": sorted(n for n, c in table.columns.items() if c.required),
        "columns": columns,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


async def discover_destination(dest: DestinationConnector, tables: Sequence[str] | None = None) -> DestinationDiscovery:
    """Describe the destination and list its users.

    Args:
        dest: an open destination connector.
        tables: the tables to describe; the connector's default set when None.

    Returns:
        The discovery; a destination that cannot list users reports none.
    """
    schema = await dest.describe(tables)
    try:
        users = [{"id": u.id, "email": u.email, "name": u.name, "active": u.active} for u in await dest.users()]
    except NotImplementedError:
        users = []
    return DestinationDiscovery(dest.system, schema, users)
