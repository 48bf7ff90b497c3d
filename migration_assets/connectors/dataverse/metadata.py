"""Reading the Dataverse schema (describe) and extending it (apply_schema, schema_diff).

Real API (reference §8): EntityDefinitions with expanded Attributes, Keys and
ManyToOneRelationships; option sets through the typed casts (`.../Microsoft.Dynamics.CRM.
PicklistAttributeMetadata?$expand=OptionSet`); many-to-many relationships through
`RelationshipDefinitions/Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata`; whether the
environment has SharePoint document management from its active `sharepointsites`. Writes are in
`writer.py` (inside the configured publisher's solution).
Ours: a many-to-many relationship is described as a pseudo-table named after it
(`TableInfo.association`) with its two intersect columns as lookups; the Uniqueidentifier columns
that hold a process and stage (`processid`, `stageid`) are described as lookups to `workflow` and
`processstage` (settings.GUID_REFERENCES).
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
from migration_assets.connectors.dataverse.batch import BatchRequest
from migration_assets.connectors.dataverse.odata import literal
from migration_assets.connectors.dataverse.settings import (
    ATTRIBUTE_TYPES,
    GUID_REFERENCES,
    OPTION_CASTS,
    PARTY_MASKS,
    REQUEST_LIMITS,
    SYSTEM,
    Publisher,
)
from migration_assets.connectors.dataverse.writer import SchemaWriter
from migration_assets.errors import ConnectorError, MigrationError, RemoteRejected, known_values

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseApi

ENTITY_SELECT = "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,IsCustomEntity,IsActivity"
TABLE_EXPAND = (
    "Attributes($select=LogicalName,AttributeType,RequiredLevel,IsCustomAttribute,MaxLength,Targets,"
    "IsValidForCreate,IsValidForUpdate),Keys($select=SchemaName,LogicalName,KeyAttributes,EntityKeyIndexStatus),"
    "ManyToOneRelationships($select=SchemaName,ReferencedEntity,ReferencingAttribute,"
    "ReferencingEntityNavigationPropertyName)"
)
MANY_TO_MANY = "RelationshipDefinitions/Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata"
MANY_TO_MANY_SELECT = (
    "SchemaName,Entity1LogicalName,Entity2LogicalName,IntersectEntityName,Entity1IntersectAttribute,"
    "Entity2IntersectAttribute,Entity1NavigationPropertyName,Entity2NavigationPropertyName"
)


@dataclass(frozen=True)
class Relationship:
    """A many-to-many relationship: the two tables, their intersect columns and navigation properties."""

    name: str
    entity1: str
    entity2: str
    intersect: str
    column1: str
    column2: str
    nav1: str  # collection-valued navigation property on entity1 (to entity2)
    nav2: str

    def info(self) -> TableInfo:
        """The pseudo-table the connector shows for this relationship."""
        columns = {
            self.column1: ColumnInfo(self.column1, "lookup", required=True, targets=(self.entity1,)),
            self.column2: ColumnInfo(self.column2, "lookup", required=True, targets=(self.entity2,)),
        }
        return TableInfo(self.name, columns, custom=True, primary_id="", association=True)


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
    guid_columns: set[str] = field(default_factory=set)  # GUID references described as lookups
    party_columns: dict[str, int] = field(default_factory=dict)  # party-list column -> participation mask

    def nav(self, column: str, target: str) -> str | None:
        """The navigation property binding lookup `column` to `target`, if the table has one."""
        return self.navs.get((column, target))

    def lookup_columns(self) -> set[str]:
        """Lookups read as `_<col>_value` and written through a navigation property."""
        return {n for n, col in self.info.columns.items() if col.type == "lookup" and n not in self.guid_columns}

    @property
    def parties_property(self) -> str:
        """The activity's collection of activity parties (`appointment_activity_parties`)."""
        return f"{self.entity.logical}_activity_parties"


class MetadataCache:
    """Per-session cache of entity names, table details and environment facts.

    Args:
        api: the DataverseApi used for metadata calls.
    """

    def __init__(self, api: DataverseApi, publisher: Publisher | None = None) -> None:
        self.api = api
        self.publisher = publisher
        self._entities: dict[str, EntityMeta] | None = None
        self._relationships: dict[str, Relationship] | None = None
        self._tables: dict[str, TableMeta] = {}
        self._facts: dict[str, Any] | None = None
        self._locks: dict[str, asyncio.Lock] = {}  # one per request: concurrent callers send it once

    def _lock(self, request: str) -> asyncio.Lock:
        return self._locks.setdefault(request, asyncio.Lock())

    def invalidate(self) -> None:
        """Forget everything; the next call reads the metadata again (after a schema change)."""
        self._entities, self._relationships, self._tables, self._facts = None, None, {}, None

    async def relationships(self) -> dict[str, Relationship]:
        """Every many-to-many relationship by its (lower-case) SchemaName (one request, cached)."""
        async with self._lock(MANY_TO_MANY):
            if self._relationships is None:
                body = await self.api.get_json(MANY_TO_MANY, {"$select": MANY_TO_MANY_SELECT})
                self._relationships = {row["SchemaName"].lower(): _relationship(row) for row in body.get("value", [])}
            return self._relationships

    async def relationship(self, name: str) -> Relationship | None:
        """The many-to-many relationship called `name`, or None when `name` is not one. The tables
        are listed in the same round trip: a name that is no relationship is a table, read next."""
        if self._relationships is None or self._entities is None:
            await asyncio.gather(self.relationships(), self.entities())
        # read: no turn of the event loop (a write asks it for every batch, before its body is built)
        return (self._relationships or {}).get(name.lower())

    async def entities(self) -> dict[str, EntityMeta]:
        """Every table of the environment by logical name (one request, cached)."""
        async with self._lock("EntityDefinitions"):
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
        """Columns, keys, navigation properties and option sets of `name` (cached).

        Raises:
            MigrationError: when the table does not exist (names the known tables).
        """
        async with self._lock(f"EntityDefinitions({name})"):
            if name not in self._tables:
                self._tables[name] = await self._read_table(name)
            return self._tables[name]

    async def _read_table(self, name: str) -> TableMeta:
        # The definition and the option sets of every choice type (a type the table lacks answers
        # an empty list) are asked beside the list of tables, not after it: a table is described in
        # one round trip. The list still decides whether the table exists and names the known ones.
        listed, described, options = await asyncio.gather(
            self.entity(name),
            self.api.get_json(
                f"EntityDefinitions(LogicalName={literal(name)})", {"$select": ENTITY_SELECT, "$expand": TABLE_EXPAND}
            ),
            self._options(name, set(OPTION_CASTS)),
            return_exceptions=True,
        )
        for outcome in (listed, described, options):  # the list's error first: it names the known tables
            if isinstance(outcome, BaseException):
                raise outcome
        return _table_meta(listed, described, options)

    async def _options(self, table: str, types: set[str]) -> dict[str, dict[str, int]]:
        """{column: {label: value}} of every choice column, one typed-cast read per choice type the
        table has (`.../Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet`),
        all in one `$batch`."""
        casts = sorted({OPTION_CASTS[t] for t in types if t in OPTION_CASTS})
        bodies = await self._read_together(
            [
                f"EntityDefinitions(LogicalName={literal(table)})/Attributes/Microsoft.Dynamics.CRM.{cast}"
                "?$select=LogicalName&$expand=OptionSet"
                for cast in casts
            ]
        )
        return {
            str(attribute["LogicalName"]): {
                _label(o.get("Label")) or str(o["Value"]): int(o["Value"])
                for o in (attribute.get("OptionSet") or {}).get("Options", [])
            }
            for body in bodies
            for attribute in body.get("value", [])
        }

    async def _read_together(self, paths: Sequence[str]) -> list[Any]:
        """The JSON bodies of GETs of `paths` (with their queries), sent in one `$batch` (Dataverse takes
        GETs outside change sets): one request and one slot instead of one each. The four option
        reads went as a second wave behind the first four metadata reads, a round trip before every
        load's first batch.

        Raises:
            RemoteRejected: a part's refusal, as a GET of it alone would raise it.
            ConnectorError: an answer without one part per read.
        """
        if not paths:
            return []
        answers = await self.api.batch([BatchRequest("GET", self.api.url(path)) for path in paths])
        if [len(group) for group in answers] != [1] * len(paths):
            raise ConnectorError(
                f"$batch of {len(paths)} metadata reads answered {sum(map(len, answers))} parts", system=SYSTEM
            )
        bodies = []
        for path, (answer,) in zip(paths, answers, strict=True):
            if not answer.ok:
                raise RemoteRejected(
                    f"GET {path} refused: {answer.error_text()}",
                    system=SYSTEM,
                    status=answer.status,
                    body=answer.body,
                )
            bodies.append(answer.body)
        return bodies

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
                "publisher_prefix": self.publisher.prefix if self.publisher else None,
                "first_choice_value": self.publisher.first_option_value if self.publisher else None,
                "sharepoint_site": await self.sharepoint_site(),
            }
            try:
                facts.update(await self.api.get_json("sandbox/environment"))
            except RemoteRejected as exc:
                if exc.status != 404:  # a real org has no such endpoint: keep the metadata facts
                    raise
            self._facts = facts
        return self._facts

    async def sharepoint_site(self) -> bool:
        """Whether document management has an active SharePoint site (else files go to Dataverse)."""
        body = await self.api.get_json(
            "sharepointsites", {"$select": "sharepointsiteid", "$filter": "statecode eq 0", "$top": "1"}
        )
        return bool(body.get("value"))

    async def describe(self, tables: Sequence[str] | None = None) -> DestinationSchema:
        """The DestinationSchema of `tables` (all tables and relationships when None; pass names on
        real orgs). Many-to-many relationships appear as association pseudo-tables."""
        relationships = await self.relationships()
        names = list(tables) if tables is not None else sorted(await self.entities()) + sorted(relationships)
        found = {n.lower(): relationships[n.lower()].info() for n in names if n.lower() in relationships}
        metas = await asyncio.gather(*(self.table(n) for n in names if n.lower() not in relationships))
        infos = {**{m.info.name: m.info for m in metas}, **found}
        return DestinationSchema(tables=infos, facts=await self.facts())


def _table_meta(entity: EntityMeta, body: Mapping[str, Any], options: Mapping[str, dict[str, int]]) -> TableMeta:
    """A table's metadata from its definition and its choice columns' options."""
    attributes = body.get("Attributes", [])
    columns = {a["LogicalName"]: _column(a, options.get(a["LogicalName"], {})) for a in attributes}
    guid_columns = set()
    for name, target in GUID_REFERENCES.items():
        if name in columns and columns[name].type == "uniqueidentifier":
            columns[name] = ColumnInfo(name, "lookup", targets=(target,), custom=columns[name].custom)
            guid_columns.add(name)
    parties = {n: PARTY_MASKS[n] for n, c in columns.items() if c.type == "partylist" and n in PARTY_MASKS}
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
    return TableMeta(entity, info, navs, status, default_state, guid_columns, parties)


def _entity(row: Mapping[str, Any]) -> EntityMeta:
    return EntityMeta(
        logical=row["LogicalName"],
        entity_set=row["EntitySetName"],
        primary_id=row["PrimaryIdAttribute"],
        primary_name=row.get("PrimaryNameAttribute"),
        custom=bool(row.get("IsCustomEntity")),
        activity=bool(row.get("IsActivity")),
    )


def _relationship(row: Mapping[str, Any]) -> Relationship:
    first, second = str(row["Entity1LogicalName"]), str(row["Entity2LogicalName"])
    columns = schema_mod.intersect_columns(first, second)
    return Relationship(
        name=str(row["SchemaName"]).lower(),
        entity1=first,
        entity2=second,
        intersect=str(row.get("IntersectEntityName") or row["SchemaName"]).lower(),
        column1=str(row.get("Entity1IntersectAttribute") or columns[0]),
        column2=str(row.get("Entity2IntersectAttribute") or columns[1]),
        nav1=str(row.get("Entity1NavigationPropertyName") or row["SchemaName"]),
        nav2=str(row.get("Entity2NavigationPropertyName") or row["SchemaName"]),
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
    assert cache.publisher is not None  # schema_diff creates nothing without a publisher
    writer = SchemaWriter(api, {n: e.primary_id for n, e in entities.items()}, cache.publisher)
    actions = await writer.apply(diff, key_wait_seconds=key_wait_seconds)
    cache.invalidate()
    return actions


async def _diff(
    cache: MetadataCache, required: Sequence[TableRequirement]
) -> tuple[schema_mod.SchemaDiff, DestinationSchema]:
    cache.invalidate()
    entities = await cache.entities()
    relationships = await cache.relationships()
    wanted = {r.name for r in required} | {c.target for r in required for c in r.columns if c.target}
    current = await cache.describe([n for n in sorted(wanted) if n in entities or n.lower() in relationships])
    return schema_mod.schema_diff(current, required, cache.publisher), current


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
