"""The two connector shapes every system implements, and the records they exchange.

A source connector pages raw records out of a source API; a destination connector describes and
extends the destination schema, upserts rows by external id, reads them back, deletes and restores.
The pipeline only speaks these shapes, so no pipeline code knows which system is on either end.

Column types are one small vocabulary shared by specs and connectors (each connector maps them to
its own): string, memo, integer, decimal, money, boolean, date, datetime, picklist, multipicklist,
lookup.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from migration_assets.connectors.http import HttpSession

if TYPE_CHECKING:
    from migration_assets.connectors.connection import Connection

ColumnType = Literal[
    "string",
    "memo",
    "integer",
    "decimal",
    "money",
    "boolean",
    "date",
    "datetime",
    "picklist",
    "multipicklist",
    "lookup",
]
COLUMN_TYPES: tuple[str, ...] = ColumnType.__args__  # type: ignore[attr-defined]


# -- source side ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceField:
    """One field of a source object as the source API returns it.

    `type` is the raw type: int, str, bool, float, json (objects/arrays, kept as JSON text),
    datetime (ISO text, possibly without offset). `values` lists the pick-list labels the source
    documents, used to check that a spec's value map covers them.
    """

    name: str
    type: Literal["int", "str", "bool", "float", "json", "datetime", "date"] = "str"
    values: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class SourceObject:
    name: str
    fields: tuple[SourceField, ...]
    id_field: str = "id"
    updated_field: str | None = "updated_at"
    parents: Mapping[str, str] = field(default_factory=dict)  # field -> parent object (for sampling)

    def field(self, name: str) -> SourceField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Deletion:
    object: str
    id: str
    deleted_at: str


class SourceConnector(abc.ABC):
    """Reads a source system. Every method pages through the real API of the system."""

    system: ClassVar[str]
    catalog: ClassVar[Mapping[str, SourceObject]]
    page_size: ClassVar[int] = 100  # the largest page the API serves (the estimator's unit of work)
    rate_per_second: ClassVar[float] = 5.0  # the API's sustained request rate, as documented or observed

    def __init__(self, session: HttpSession) -> None:
        self.session = session

    @classmethod
    @abc.abstractmethod
    def from_connection(cls, connection: Connection, **options: Any) -> Self:
        """The connector for a real tenant or the sandbox, as `connection` says.

        Raises:
            AuthError: the connection lacks the credentials this system needs.
        """

    @abc.abstractmethod
    def extract(self, obj: str, *, since: str | None = None) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield pages of raw records of `obj`, only those updated at or after `since` if given."""

    @abc.abstractmethod
    async def deleted_since(self, since: str) -> list[Deletion]:
        """Records deleted in the source at or after `since`."""

    async def download(self, obj: str, record_id: str) -> AsyncIterator[bytes]:
        """Stream the bytes of a file-like record; sources without files raise NotImplementedError."""
        raise NotImplementedError(f"{self.system} has no downloadable objects")
        yield b""  # pragma: no cover

    async def aclose(self) -> None:
        await self.session.aclose()


# -- destination side -------------------------------------------------------------------------
# Requirement type -> existing column types that hold its values without loss (a destination whose
# types differ adds its own to these).
COMPATIBLE_TYPES: Mapping[str, frozenset[str]] = {
    "string": frozenset({"string", "memo", "picklist"}),
    "memo": frozenset({"memo"}),
    "integer": frozenset({"integer", "decimal"}),
    "decimal": frozenset({"decimal"}),
    "money": frozenset({"money", "decimal"}),
    "date": frozenset({"date", "datetime"}),
}


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # one of COLUMN_TYPES, or the connector's own name for types we never write
    required: bool = False
    max_length: int | None = None
    options: Mapping[str, int] | tuple[str, ...] = ()  # picklist label -> value, or plain values
    targets: tuple[str, ...] = ()  # lookup target tables
    custom: bool = False


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: Mapping[str, ColumnInfo]
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # key name -> columns
    custom: bool = False
    activity: bool = False
    primary_id: str = "id"
    # a pseudo-table of the connector standing for a many-to-many relationship: its two lookup
    # columns are the related records; upsert associates, delete disassociates
    association: bool = False


@dataclass(frozen=True)
class DestinationSchema:
    tables: Mapping[str, TableInfo]
    # licence tier, limits, org settings; `daily_requests_remaining` where the system caps calls per day
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ColumnRequirement:
    """A column the spec needs; `options` are picklist labels (values are the connector's concern)."""

    name: str
    type: str
    max_length: int | None = None
    options: tuple[str, ...] = ()
    target: str | None = None  # lookup target table
    label: str | None = None
    # label -> (pinned integer value or None, state of a status reason or None); Dataverse uses it
    option_values: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class TableRequirement:
    name: str
    custom: bool = False  # create the table when missing
    activity: bool = False
    columns: tuple[ColumnRequirement, ...] = ()
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    label: str | None = None
    # a many-to-many relationship (no table of its own): `columns` are its two lookups, in order
    association: bool = False


@dataclass(frozen=True)
class LookupRef:
    """A lookup value: the destination table of the target and its destination id (None clears)."""

    table: str
    id: str | None


@dataclass(frozen=True)
class UpsertRow:
    external_id: str
    fields: Mapping[str, Any]  # destination column -> JSON-able value
    lookups: Mapping[str, LookupRef] = field(default_factory=dict)  # lookup column -> target
    # whether the record exists in the destination, when the loader knows (None: unknown, the
    # connector finds out itself if it must)
    exists: bool | None = None


@dataclass(frozen=True)
class WriteResult:
    external_id: str
    ok: bool
    destination_id: str | None = None
    operation: Literal["created", "updated", "deleted", "restored"] | None = None
    error: str | None = None


@dataclass(frozen=True)
class FileUpload:
    """A file to store in the destination's document store, linked to a record."""

    external_id: str
    file_name: str
    folder: str
    size: int
    content: AsyncIterator[bytes]
    content_type: str = "application/octet-stream"
    parent_table: str | None = None
    parent_id: str | None = None
    key: str | None = None  # the destination column that keeps `external_id`, where the store has columns
    # where the bytes go: the document store, an attachment of the parent record (e.g. Dataverse
    # file storage), or "auto" (the destination picks from its environment facts)
    store: Literal["auto", "document_store", "attachment"] = "auto"
    created_at: str | None = None  # original upload time (ISO), kept as metadata where possible


@dataclass(frozen=True)
class StoredFile:
    """A file already in the document store at the place an upload goes (the file it would replace)."""

    folder: str
    name: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class SchemaPlan:
    """What `plan_schema` found: items that exist, items `apply_schema` would create and items that
    conflict (need a person). Each item is a JSON-able dict with kind, table, name and detail."""

    existing: list[dict[str, Any]]
    to_create: list[dict[str, Any]]
    conflicting: list[dict[str, Any]]
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DestinationUser:
    """A user of the destination that records can be owned by or assigned to."""

    id: str
    email: str | None
    name: str | None
    active: bool


class DestinationConnector(abc.ABC):
    """Writes to a destination system through its real API."""

    system: ClassVar[str]
    user_table: ClassVar[str] = "user"  # the table owner/assignee lookups point at
    # the most rows one `upsert` call sends efficiently (None: the spec's batch size is the size)
    max_batch_rows: int | None = None

    def __init__(self, session: HttpSession) -> None:
        self.session = session

    @classmethod
    @abc.abstractmethod
    def from_connection(cls, connection: Connection, **options: Any) -> Self:
        """The connector for a real tenant or the sandbox, as `connection` says (its `options` are
        the spec's `destination_options`).

        Raises:
            AuthError: the connection lacks the credentials this system needs.
        """

    @abc.abstractmethod
    async def describe(self, tables: Sequence[str] | None = None) -> DestinationSchema:
        """Tables, columns, keys, option sets and environment facts (from the metadata API)."""

    @abc.abstractmethod
    async def apply_schema(self, required: Sequence[TableRequirement]) -> list[str]:
        """Create what is missing (tables, columns, option values, keys); return what was done."""

    @abc.abstractmethod
    async def upsert(self, table: str, key: str, rows: Sequence[UpsertRow]) -> list[WriteResult]:
        """Create or update each row matched on column `key` = row.external_id. One result per row,
        in order; a rejected row gets ok=False and the remote error, the others still go in."""

    @abc.abstractmethod
    async def read_back(
        self, table: str, key: str, external_ids: Sequence[str], columns: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Records whose `key` is in `external_ids`: {external_id: {"id": ..., column: value}}.
        Lookup columns read back as the target's destination id."""

    async def prepare(self, table: str) -> None:
        """Sign in and read what a load of `table` needs before its first request (its metadata,
        where the connector keeps any): the loader calls it while it reads the staged rows, so that
        these round trips overlap that work."""
        await self.session.token()

    async def existing(self, table: str, key: str, external_ids: Sequence[str]) -> set[str] | None:
        """Which of `external_ids` have a record (matched on column `key`) now, read in bulk (e.g. one
        paged listing of the key column), or None when the connector cannot tell more cheaply than
        by reading the records back. The loader reads before-images only for these.
        """
        return None

    @abc.abstractmethod
    async def read_by_ids(self, table: str, ids: Sequence[str], columns: Sequence[str]) -> dict[str, dict]:
        """Records by destination id: {id: {column: value}} (missing ids are absent)."""

    @abc.abstractmethod
    async def delete(self, table: str, ids: Sequence[str]) -> list[WriteResult]:
        """Delete by destination id; a record already gone counts as deleted (idempotent)."""

    @abc.abstractmethod
    async def restore(self, table: str, before_images: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Write back before-images ({"id": ..., column: value, ...}) captured by the ledger."""

    @abc.abstractmethod
    async def count(self, table: str, key: str) -> int:
        """Number of records of `table` whose `key` column is not null."""

    async def drop_schema(self, items: Sequence[Mapping[str, Any]]) -> list[str]:
        """Remove schema items `plan_schema` listed as to create and `apply_schema` created (custom
        tables, columns, option values, keys), in the order given; return what was removed."""
        raise NotImplementedError(f"{self.system} cannot remove schema through its API here")

    async def plan_schema(self, required: Sequence[TableRequirement]) -> SchemaPlan:
        """Compare the destination with what the spec needs, changing nothing."""
        raise NotImplementedError(f"{self.system} cannot plan a schema")

    def create_only_columns(self, table: str) -> frozenset[str]:
        """Columns the destination takes only when it creates a record (an update ignores or refuses
        them, e.g. an original creation date): a record that existed before the migration keeps its
        own value, so verification does not compare them there."""
        return frozenset()

    def write_slots(self) -> int | None:
        """Batches the destination admits in flight now (its identity's limiter), None when unlimited
        by one; a destination that spreads batches over several identities adds theirs up."""
        limiter = getattr(self.session, "limiter", None)
        return limiter.slots() if limiter is not None else None

    def estimate_calls(self, n_rows: int) -> int | None:
        """API calls an upsert of `n_rows` rows makes; None: one per batch (the planner's default)."""
        return None

    async def estimate_load(self, table: str, batch_rows: Sequence[int]) -> dict[str, Any]:
        """What a load of these batches costs against a daily API budget; {} without such a budget."""
        return {}

    async def users(self) -> list[DestinationUser]:
        """Every user of the destination with its primary email and whether it is enabled."""
        raise NotImplementedError(f"{self.system} cannot list its users")

    async def upload_file(self, upload: FileUpload) -> WriteResult:
        raise NotImplementedError(f"{self.system} has no document store")

    async def replaced_file(self, upload: FileUpload) -> StoredFile | None:
        """The file `upload_file(upload)` would overwrite (same folder and name in the document store),
        with its bytes, so the ledger keeps it as a before-image; None when nothing is there or the
        store never overwrites (a new record per upload)."""
        return None

    async def restore_files(self, table: str, before_images: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Rollback of uploads that overwrote a file: delete the file record `upload_file` made
        (`"id"`, may be None when the upload never finished) and put back the replaced file
        (`"replaced_file"`: folder, name, content_type and base64 `content`). One result per image."""
        raise NotImplementedError(f"{self.system} cannot restore replaced files")

    async def read_files(self, table: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Files stored by `upload_file`, by the destination id it returned (the record in `table`):
        `{id: {"name": ..., "folder": ..., "size": ..., "parent_id": ...}}` as the destination holds
        them now (missing ids are absent). Verification compares these with the staged files."""
        raise NotImplementedError(f"{self.system} has no document store")

    async def delete_files(self, table: str, ids: Sequence[str]) -> list[WriteResult]:
        """Delete files stored by `upload_file` (by the destination id it returned) together with the
        record linking them, for rollback; a file already gone counts as deleted."""
        raise NotImplementedError(f"{self.system} has no document store")

    async def aclose(self) -> None:
        await self.session.aclose()
