"""Table metadata as Python objects: entities, attributes, navigation properties, keys and
many-to-many relationships.

The catalog lives in SQLite (`meta_entities`, one JSON document per table; `meta_relationships`,
one per many-to-many relationship) so that custom tables created by one process are seen by all;
each app keeps a parsed copy keyed by a version counter.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
OPTION_TYPES = frozenset({"Picklist", "State", "Status", "MultiSelectPicklist"})
NOT_PROPERTIES = frozenset({"PartyList"})  # in metadata, but not a property of the record JSON


@dataclass
class Attribute:
    """One column. `options` holds `{"Value","Label"}` (+ `State` for status, `DefaultStatus` for state)."""

    logical_name: str
    type: str
    schema_name: str = ""
    required_level: str = "None"
    is_custom: bool = False
    max_length: int | None = None
    targets: list[str] = field(default_factory=list)
    valid_create: bool = True
    valid_update: bool = True
    options: list[dict[str, Any]] | None = None
    min_value: float | None = None
    max_value: float | None = None
    precision: int | None = None
    format: str | None = None  # DateOnly | DateAndTime for DateTime
    metadata_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def is_property(self) -> bool:
        """Whether the column is a property of record JSON (party lists are not)."""
        return self.type not in NOT_PROPERTIES

    @property
    def output_name(self) -> str:
        """Name in record JSON: lookups read back as `_<attr>_value`."""
        return f"_{self.logical_name}_value" if self.is_lookup else self.logical_name

    def option_values(self) -> list[int]:
        return [o["Value"] for o in self.options or []]


class Property(NamedTuple):
    """An attribute as record JSON holds it: stored under `logical_name`, returned as `output_name`."""

    logical_name: str
    output_name: str
    is_lookup: bool
    attribute: Attribute


@dataclass
class NavProperty:
    """Single-valued navigation property used by `<name>@odata.bind`."""

    name: str
    attribute: str
    target: str
    relationship: str


@dataclass
class CollectionNav:
    """Collection-valued navigation property of a many-to-many relationship (`$ref`, `$expand`).

    `side` is 1 when this table is the relationship's Entity1 (its ids are `id1` of the pairs).
    """

    name: str
    relationship: str
    target: str
    side: int


@dataclass
class ManyToMany:
    """A many-to-many relationship as `RelationshipDefinitions` describes it."""

    schema_name: str
    entity1: str
    entity2: str
    intersect: str
    attribute1: str
    attribute2: str
    nav1: str
    nav2: str
    is_custom: bool = True
    metadata_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class EntityKey:
    """Alternate key; `active_at` (epoch seconds) emulates the asynchronous index build."""

    schema_name: str
    logical_name: str
    attributes: list[str]
    active_at: float = 0.0
    failed: bool = False
    metadata_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def status(self, now: float | None = None) -> str:
        if self.failed:
            return "Failed"
        return "Active" if (time.time() if now is None else now) >= self.active_at else "Pending"


@dataclass
class Entity:
    """One table with its columns, navigation properties and alternate keys."""

    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str | None
    schema_name: str = ""
    is_custom: bool = False
    is_activity: bool = False
    ownership: str = "UserOwned"  # UserOwned | OrganizationOwned | BusinessOwned | None
    object_type_code: int = 10000
    attributes: dict[str, Attribute] = field(default_factory=dict)
    navs: dict[str, NavProperty] = field(default_factory=dict)
    keys: dict[str, EntityKey] = field(default_factory=dict)
    collections: dict[str, CollectionNav] = field(default_factory=dict)
    has_activities: bool = False
    has_notes: bool = False
    metadata_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def add(self, attribute: Attribute) -> Attribute:
        if not attribute.schema_name:
            attribute.schema_name = attribute.logical_name
        self.attributes[attribute.logical_name] = attribute
        return attribute

    def attribute_by_output(self, name: str) -> Attribute | None:
        """The attribute whose record-JSON name is `name` (`_x_value` for lookups)."""
        attribute = self.attributes.get(name)
        if attribute is not None and not attribute.is_lookup:
            return attribute if attribute.is_property else None
        if name.startswith("_") and name.endswith("_value"):
            attribute = self.attributes.get(name[1:-6])
            if attribute is not None and attribute.is_lookup:
                return attribute
        return None

    def property_names(self) -> frozenset[str]:
        """Record-JSON names of every property (cached: catalog entities are not changed in place)."""
        cached = self.__dict__.get("_property_names")
        if cached is None:
            cached = frozenset(a.output_name for a in self.attributes.values() if a.is_property)
            self.__dict__["_property_names"] = cached
        return cached

    def properties(self) -> tuple[Property, ...]:
        """The properties of record JSON in column order (cached as above): a page of records walks
        them once per record, so names and kinds are worked out once."""
        cached = self.__dict__.get("_properties")
        if cached is None:
            properties = (a for a in self.attributes.values() if a.is_property)
            cached = tuple(Property(a.logical_name, a.output_name, a.is_lookup, a) for a in properties)
            self.__dict__["_properties"] = cached
        return cached

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Entity:
        raw = json.loads(text)
        raw["attributes"] = {k: Attribute(**v) for k, v in raw["attributes"].items()}
        raw["navs"] = {k: NavProperty(**v) for k, v in raw["navs"].items()}
        raw["keys"] = {k: EntityKey(**v) for k, v in raw["keys"].items()}
        raw["collections"] = {k: CollectionNav(**v) for k, v in (raw.get("collections") or {}).items()}
        return cls(**raw)


class Catalog:
    """All tables and many-to-many relationships of the environment."""

    def __init__(
        self, entities: dict[str, Entity], version: int, relationships: dict[str, ManyToMany] | None = None
    ) -> None:
        self.entities, self.version = entities, version
        self.relationships = relationships or {}
        self.by_set = {e.entity_set: e for e in entities.values()}

    def entity(self, logical_name: str) -> Entity | None:
        return self.entities.get(logical_name)

    def editable(self, logical_name: str) -> Entity:
        """A deep copy to change and save (the cached one stays intact if the transaction fails)."""
        entity = copy.deepcopy(self.entities[logical_name])
        for cached in ("_property_names", "_properties"):
            entity.__dict__.pop(cached, None)
        return entity


def meta_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("select value from sandbox_counters where name = 'meta'").fetchone()
    return int(row["value"]) if row else 0


def load_catalog(conn: sqlite3.Connection, cached: Catalog | None) -> Catalog:
    """The current catalog, reusing `cached` when no metadata changed since it was read."""
    version = meta_version(conn)
    if cached is not None and cached.version == version:
        return cached
    rows = conn.execute("select body from meta_entities").fetchall()
    relationships = {
        r["schema_name"]: ManyToMany(**json.loads(r["body"]))
        for r in conn.execute("select schema_name, body from meta_relationships")
    }
    entities = {e.logical_name: e for e in (Entity.from_json(r["body"]) for r in rows)}
    return Catalog(entities, version, relationships)


def save_entities(conn: sqlite3.Connection, *entities: Entity, relationship: ManyToMany | None = None) -> None:
    """Write table (and relationship) definitions and bump the metadata version so every process reloads."""
    conn.executemany(
        "insert into meta_entities values (?, ?) on conflict(logical_name) do update set body = excluded.body",
        [(e.logical_name, e.to_json()) for e in entities],
    )
    if relationship is not None:
        conn.execute(
            "insert into meta_relationships values (?, ?)", (relationship.schema_name, json.dumps(asdict(relationship)))
        )
    conn.execute("insert into sandbox_counters values ('meta', 1) on conflict(name) do update set value = value + 1")
