"""Reading the Dataverse schema (describe) and extending it (apply_schema, schema_diff).

Real API (reference §8): EntityDefinitions with expanded Attributes, Keys and
ManyToOneRelationships; option sets through the typed casts (`.../Microsoft.Dynamics.CRM.
PicklistAttributeMetadata?$expand=OptionSet`); writes through `POST EntityDefinitions`,
`.../Attributes`, `RelationshipDefinitions`, `.../Keys`, `InsertOptionValue`, `InsertStatusValue`
and `PublishXml`, all inside the solution named by `MSCRM.SolutionUniqueName`.
Invented (sandbox only): `GET sandbox/environment` for licence facts; on 404 the facts come from
the metadata alone (custom table count) and the tier is unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migration_assets.connectors.base import ColumnInfo, DestinationSchema, SchemaPlan, TableInfo, TableRequirement
from migration_assets.connectors.dataverse import schema as schema_mod
from migration_assets.connectors.dataverse.settings import ATTRIBUTE_TYPES, OPTION_CASTS, REQUEST_LIMITS
from migration_assets.errors import MigrationError, RemoteRejected, known_values

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseApi

ENTITY_SELECT = "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,IsCustomEntity,IsActivity"
TABLE_EXPAND = (
    "Attributes($select=LogicalName,AttributeType,RequiredLevel,IsCustomAttribute,MaxLength,Targets,"
    "IsValidForCreate,IsValidForUpdate),Keys($select=SchemaName,LogicalName,KeyAttributes,EntityKeyIndexStatus),"
    "ManyToOneRelationships($select=SchemaName,ReferencedEntity,ReferencingAttribute,"
    "ReferencingEntityNavigationPropertyName)"
)


@dataclass(frozen=True)
class EntityMeta:
    """One row of `GET EntityDefinitions`: the names a data call needs."""

    logical: str
    entity_set: str
    primary_id: str
    primary_name: str | None
    custom: bool
    activity: bool


@dataclass
class TableMeta:
    """Everything the connector knows about one table after describing it."""

    entity: EntityMeta
    info: TableInfo
    navs: dict[tuple[str, str], str] = field(default_factory=dict)  # (lookup attr, target) -> nav
    key_status: dict[tuple[str, ...], str] = field(default_factory=dict)
    default_state: int | None = None

    def nav(self, column: str, target: str) -> str | None:
        """The navigation property binding lookup `column` to `target`, if the table has one."""
        return self.navs.get((column, target))

    def lookup_columns(self) -> set[str]:
        return {name for name, col in self.info.columns.items() if col.type == "lookup"}


class MetadataCache:
    """Per-session cache of entity names, table details and environment facts.

    Args:
        api: the DataverseApi used for metadata calls.
    """

    def __init__(self, api: DataverseApi) -> None:
        self.api = api
        self._entities: dict[str, EntityMeta] | None = None
        self._tables: dict[str, TableMeta] = {}
        self._facts: dict[str, Any] | None = None
        self._locks: dict[str, asyncio.Lock] = {}  # one per table: concurrent callers read it once

    def invalidate(self) -> None:
        """Forget everything; the next call reads the metadata again (after a schema change)."""
        self._entities, self._tables, self._facts = None, {}, None

    async def entities(self) -> dict[str, EntityMeta]:
        """Every table of the environment by logical name (one request, cached)."""
        if self._entities is None:
            body = await self.api.get_json("EntityDefinitions", {"$select": ENTITY_SELECT})
            self._entities = {row["LogicalName"]: _entity(row) for row in body.get("value", [])}
        return self._entities

    async def entity(self, name: str) -> EntityMeta:
        """The entity row of `name`.

        Raises:
            MigrationError: when the table does not exist (names the known tables).
        """
        entities = await self.entities()
        if name not in entities:
            raise MigrationError(f"dynamics365: unknown table {name!r} {known_values(entities)}")
        return entities[name]

    async def table(self, name: str) -> TableMeta:
        """Columns, keys, navigation properties and option sets of `name` (cached)."""
        async with self._locks.setdefault(name, asyncio.Lock()):
            if name not in self._tables:
                self._tables[name] = await self._read_table(await self.entity(name))
            return self._tables[name]

    async def _read_table(self, entity: EntityMeta) -> TableMeta:
        body = await self.api.get_json(
            f"EntityDefinitions(LogicalName='{entity.logical}')",
            {"$select": ENTITY_SELECT, "$expand": TABLE_EXPAND},
        )
        attributes = body.get("Attributes", [])
        options = await asyncio.gather(*(self._options(entity.logical, a) for a in attributes))
        columns = {a["LogicalName"]: _column(a, opts) for a, opts in zip(attributes, options, strict=True)}
        keys = {k.get("SchemaName") or k["LogicalName"]: tuple(k["KeyAttributes"]) for k in body.get("Keys", [])}
        status = {tuple(k["KeyAttributes"]): k.get("EntityKeyIndexStatus", "Active") for k in body.get("Keys", [])}
        navs = {
            (r["ReferencingAttribute"], r["ReferencedEntity"]): r["ReferencingEntityNavigationPropertyName"]
            for r in body.get("ManyToOneRelationships", [])
        }
        state = columns.get("statecode")
        default_state = (
            min(state.options.values()) if state and isinstance(state.options, Mapping) and state.options else None
        )
        info = TableInfo(
            name=entity.logical,
            columns=columns,
            keys=keys,
            custom=entity.custom,
            activity=entity.activity,
            primary_id=entity.primary_id,
        )
        return TableMeta(entity, info, navs, status, default_state)

    async def _options(self, table: str, attribute: Mapping[str, Any]) -> dict[str, int]:
        cast = OPTION_CASTS.get(attribute.get("AttributeType", ""))
        if not cast:
            return {}
        body = await self.api.get_json(
            f"EntityDefinitions(LogicalName='{table}')/Attributes(LogicalName='{attribute['LogicalName']}')"
            f"/Microsoft.Dynamics.CRM.{cast}",
            {"$expand": "OptionSet"},
        )
        return {
            _label(o.get("Label")) or str(o["Value"]): int(o["Value"])
            for o in (body.get("OptionSet") or {}).get("Options", [])
        }

    async def facts(self) -> dict[str, Any]:
        """Licence tier, custom-table limit and count, request limits (cached)."""
        if self._facts is None:
            entities = await self.entities()
            facts: dict[str, Any] = {
                "tier": None,
                "customer_service": "incident" in entities,  # the Case table comes with Customer Service
                "custom_table_limit": None,
                "custom_table_count": sum(1 for e in entities.values() if e.custom),
                "request_limits": dict(REQUEST_LIMITS),
                "dop_hint": self.api.dop_hint,
            }
            try:
                facts.update(await self.api.get_json("sandbox/environment"))
            except RemoteRejected as exc:
                if exc.status != 404:  # a real org has no such endpoint: keep the metadata facts
                    raise
            self._facts = facts
        return self._facts

    async def describe(self, tables: Sequence[str] | None = None) -> DestinationSchema:
        """The DestinationSchema of `tables` (all tables when None; pass names on real orgs)."""
        names = list(tables) if tables is not None else sorted(await self.entities())
        metas = await asyncio.gather(*(self.table(n) for n in names))
        return DestinationSchema(tables={m.info.name: m.info for m in metas}, facts=await self.facts())


def _entity(row: Mapping[str, Any]) -> EntityMeta:
    return EntityMeta(
        logical=row["LogicalName"],
        entity_set=row["EntitySetName"],
        primary_id=row["PrimaryIdAttribute"],
        primary_name=row.get("PrimaryNameAttribute"),
        custom=bool(row.get("IsCustomEntity")),
        activity=bool(row.get("IsActivity")),
    )


def _column(attribute: Mapping[str, Any], options: dict[str, int]) -> ColumnInfo:
    raw = attribute.get("AttributeType") or ""
    level = attribute.get("RequiredLevel")
    level = level.get("Value") if isinstance(level, Mapping) else level
    return ColumnInfo(
        name=attribute["LogicalName"],
        type=ATTRIBUTE_TYPES.get(raw, raw.lower()),
        required=level == "SystemRequired",
        max_length=attribute.get("MaxLength"),
        options=options,
        targets=tuple(attribute.get("Targets") or ()),
        custom=bool(attribute.get("IsCustomAttribute")),
    )


def _label(value: Any) -> str | None:
    """The text of a metadata Label (UserLocalizedLabel first, then the first localized label)."""
    if not isinstance(value, Mapping):
        return value if isinstance(value, str) else None
    user = value.get("UserLocalizedLabel")
    if isinstance(user, Mapping) and user.get("Label"):
        return user["Label"]
    labels = value.get("LocalizedLabels") or []
    return labels[0].get("Label") if labels else None


async def apply_schema(
    api: DataverseApi, cache: MetadataCache, required: Sequence[TableRequirement], *, key_wait_seconds: float
) -> list[str]:
    """Create the missing tables, columns, lookups, keys and option labels (see schema.py).

    Args:
        api: the DataverseApi.
        cache: the session's MetadataCache (invalidated after changes).
        required: the tables the spec needs.
        key_wait_seconds: how long to wait for new alternate keys to become Active.

    Returns:
        One sentence per change made; [] when nothing was missing.

    Raises:
        MigrationError: conflicting columns, or the custom-table limit would be exceeded.
    """
    diff, current = await _diff(cache, required)
    entities = await cache.entities()
    if diff.conflicting:
        raise MigrationError("dynamics365: schema conflicts: " + "; ".join(i.detail for i in diff.conflicting))
    if not diff.to_create:
        return []
    _check_table_limit(current.facts, diff)
    plan = schema_mod.SchemaWriter(api, {n: e.primary_id for n, e in entities.items()})
    actions = await plan.apply(diff, key_wait_seconds=key_wait_seconds)
    cache.invalidate()
    return actions


async def _diff(
    cache: MetadataCache, required: Sequence[TableRequirement]
) -> tuple[schema_mod.SchemaDiff, DestinationSchema]:
    cache.invalidate()
    entities = await cache.entities()
    wanted = {r.name for r in required} | {c.target for r in required for c in r.columns if c.target}
    current = await cache.describe([n for n in sorted(wanted) if n in entities])
    return schema_mod.schema_diff(current, required), current


async def plan_schema(cache: MetadataCache, required: Sequence[TableRequirement]) -> SchemaPlan:
    """The schema diff without changes; a custom-table limit the plan would exceed is a conflict."""
    diff, current = await _diff(cache, required)
    plan = diff.to_dict()
    try:
        _check_table_limit(current.facts, diff)
    except MigrationError as exc:
        plan["conflicting"].append({"kind": "table", "table": "*", "name": "custom table limit", "detail": str(exc)})
    return SchemaPlan(plan["existing"], plan["to_create"], plan["conflicting"], dict(current.facts))


def _check_table_limit(facts: Mapping[str, Any], diff: schema_mod.SchemaDiff) -> None:
    new_tables = [i.table for i in diff.to_create if i.kind == "table"]
    limit = facts.get("custom_table_limit")
    count = int(facts.get("custom_table_count") or 0)
    if new_tables and limit is not None and count + len(new_tables) > int(limit):
        raise MigrationError(
            f"dynamics365: creating {len(new_tables)} custom table(s) ({', '.join(new_tables)}) would exceed "
            f"the custom table limit of {limit} for licence tier {facts.get('tier')!r} "
            f"({count} custom table(s) exist already)"
        )
