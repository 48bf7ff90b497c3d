"""Record bodies and results for Dataverse writes (pure: no I/O).

Real rules (reference §3, §4, §9): upsert is `PATCH /<set>(<key>='<value>')` (or `PATCH
/<set>(<guid>)` for tables addressed by primary key) with the key column kept out of the body;
lookups are `<nav>@odata.bind: "/<target set>(<id>)"` (null clears, on update only); statecode is
ignored on create and a non-default state must be set with its statuscode in a second PATCH;
`overriddencreatedon` is create-only; `Prefer: return=representation` makes the upsert answer 201
(created) or 200 (updated); multi-select choices are written as a comma-separated string of
integers (`"100000000,100000002"`); process and stage references are plain GUID columns.
Ours: the deterministic primary id of a row addressed by primary key (`deterministic_id`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from migration_assets.connectors.base import LookupRef, UpsertRow, WriteResult
from migration_assets.connectors.dataverse.batch import BatchRequest, PartResponse
from migration_assets.connectors.dataverse.metadata import TableMeta
from migration_assets.connectors.dataverse.odata import (
    id_from_entity_url,
    id_segment,
    key_problem,
    key_segment,
)

STATE_COLUMNS = ("statecode", "statuscode")


def deterministic_id(namespace: str, table: str, external_id: str) -> str:
    """The primary id a row addressed by primary key gets: uuid5 of `<table>:<external id>`.

    Args:
        namespace: a UUID string (settings.ID_NAMESPACE or the `id_namespace` option).
        table: logical name (activity tables share `activityid`, so the table is part of the name).
        external_id: the row's external id.

    Returns:
        A lower-case GUID, the same on every run.
    """
    return str(uuid.uuid5(uuid.UUID(namespace), f"{table}:{external_id}"))


def field_value(meta: TableMeta, column: str, value: Any) -> Any:
    """A column value as the Web API expects it (multi-select lists as `"a,b"`)."""
    info = meta.info.columns.get(column)
    if info is not None and info.type == "multipicklist" and isinstance(value, list | tuple):
        return ",".join(str(int(v)) for v in value)
    return value


CREATE_ONLY = ("overriddencreatedon",)
IGNORED_IN_IMAGES = ("id", "@odata.etag")


def split_state(body: dict[str, Any], default_state: int | None) -> dict[str, Any] | None:
    """Move statecode/statuscode out of `body` when they name a non-default state.

    Args:
        body: the record body (changed in place: it is built by this module, never the caller's).
        default_state: the table's default statecode (None: the table has no state).

    Returns:
        `{"statecode", "statuscode"}` for the second PATCH, or None when one request suffices.
    """
    state = body.get("statecode")
    if state is None or default_state is None or int(state) == default_state:
        return None
    patch = {"statecode": body.pop("statecode")}
    if "statuscode" in body:
        patch["statuscode"] = body.pop("statuscode")
    return patch


def bind(meta: TableMeta, column: str, ref: LookupRef, sets: Mapping[str, str]) -> tuple[str, str | None]:
    """The `<nav>@odata.bind` name and value for lookup `column` pointing at `ref`.

    Raises:
        KeyError: with a readable message when the table has no navigation property for the pair.
    """
    nav = meta.nav(column, ref.table)
    if nav is None:
        known = sorted(f"{c}->{t}" for c, t in meta.navs)
        raise KeyError(
            f"{meta.entity.logical}.{column} cannot point at {ref.table} (known lookups: {', '.join(known)})"
        )
    return f"{nav}@odata.bind", None if ref.id is None else f"/{sets[ref.table]}({ref.id})"


def upsert_parts(
    row: UpsertRow,
    key: str,
    meta: TableMeta,
    sets: Mapping[str, str],
    prefix: str,
    exists: bool | None,
    *,
    record_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[BatchRequest]:
    """The requests that upsert one row (PATCH by key, then the state PATCH if needed).

    Args:
        row: the row; `external_id` is the key value.
        key: alternate-key column (or the primary id column, with `record_id`).
        meta: the table.
        sets: table -> entity set name for every lookup target.
        prefix: API path prefix (`/api/data/v9.2`).
        exists: whether the record exists already (None: unknown; null lookups are then left out).
        record_id: address the record by this primary id instead of the alternate key.
        extra: body members the caller built (e.g. the activity party list).

    Returns:
        One or two BatchRequests.

    Raises:
        ValueError: the key value cannot be used in a URL, or a lookup has no navigation property.
    """
    problem = None if record_id else key_problem(row.external_id)
    if problem:
        raise ValueError(problem)
    body = {
        k: field_value(meta, k, v)
        for k, v in row.fields.items()
        if k != key and k not in meta.party_columns and not (exists and k in CREATE_ONLY)
    }
    body.update(extra or {})
    state = split_state(body, meta.default_state)
    for column, ref in row.lookups.items():
        if column in meta.guid_columns:  # a GUID column, not a navigation property
            body[column] = ref.id
            continue
        try:
            name, value = bind(meta, column, ref, sets)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        if value is not None or exists:
            body[name] = value
    segment = id_segment(record_id) if record_id else key_segment(key, row.external_id)
    url = f"{prefix}/{meta.entity.entity_set}{segment}"
    parts = [
        BatchRequest("PATCH", f"{url}?$select={meta.entity.primary_id}", body, {"Prefer": "return=representation"})
    ]
    if state:
        parts.append(BatchRequest("PATCH", url, state, {"If-Match": "*"}))
    return parts


def image_body(image: Mapping[str, Any], meta: TableMeta, sets: Mapping[str, str], *, create: bool) -> dict:
    """A record body from a before-image; lookups given as {"table", "id"} (or a bare id/None).

    Args:
        image: `{"id": ..., column: value, ...}`.
        meta: the table.
        sets: table -> entity set name.
        create: building a re-create (null binds are left out, the primary id is kept).

    Returns:
        The JSON body.
    """
    lookups = meta.lookup_columns()
    body: dict[str, Any] = {meta.entity.primary_id: image["id"]} if create else {}
    for column, value in image.items():
        if column in IGNORED_IN_IMAGES or column == meta.entity.primary_id or column in meta.party_columns:
            continue
        if column in meta.guid_columns:
            body[column] = value.get("id") if isinstance(value, Mapping) else value
            continue
        if column not in lookups:
            body[column] = field_value(meta, column, value)
            continue
        ref = _as_ref(column, value, meta)
        if ref is None:
            continue
        name, target = bind(meta, column, ref, sets)
        if target is not None or not create:
            body[name] = target
    return body


def _as_ref(column: str, value: Any, meta: TableMeta) -> LookupRef | None:
    if isinstance(value, LookupRef):
        return value
    if isinstance(value, Mapping):
        return LookupRef(str(value["table"]), value.get("id"))
    targets = meta.info.columns[column].targets
    return LookupRef(targets[0], value) if targets else None


def lookup_tables(rows: Sequence[UpsertRow]) -> set[str]:
    """Every lookup target table named by `rows` (their entity sets are needed for binds)."""
    return {ref.table for row in rows for ref in row.lookups.values()}


def needs_existence(rows: Sequence[UpsertRow]) -> bool:
    """True when some row's body depends on whether its record exists (null lookups, create-only)."""
    return any(any(c in r.fields for c in CREATE_ONLY) or any(v.id is None for v in r.lookups.values()) for r in rows)


def upsert_result(row: UpsertRow, responses: Sequence[PartResponse], primary_id: str) -> WriteResult:
    """The WriteResult of one row from the responses of its change set."""
    failed = next((r for r in responses if not r.ok), None)
    if failed is not None or not responses:
        error = failed.error_text() if failed else "no response for this change set"
        return WriteResult(row.external_id, ok=False, error=error)
    first = responses[0]
    body = first.body if isinstance(first.body, Mapping) else {}
    record_id = body.get(primary_id) or id_from_entity_url(first.headers.get("odata-entityid"))
    operation = "created" if first.status == 201 else "updated"
    return WriteResult(row.external_id, ok=True, destination_id=record_id, operation=operation)


def record_url(prefix: str, meta: TableMeta, record_id: str) -> str:
    """`<prefix>/<set>(<id>)`: a record addressed by its primary id."""
    return f"{prefix}/{meta.entity.entity_set}{id_segment(record_id)}"


def read_value(record: Mapping[str, Any], column: str, lookups: set[str]) -> Any:
    """A column of a read record: lookups from `_<col>_value`, state/status as ints.

    `lookups` holds the columns read through a navigation property (not the GUID references).
    """
    value = record.get(f"_{column}_value") if column in lookups else record.get(column)
    if column in STATE_COLUMNS and value is not None:
        return int(value)
    return value


def select_list(columns: Sequence[str], lookups: set[str], *extra: str) -> str:
    """The `$select` value: lookups as `_<col>_value`, plus `extra` columns, without duplicates."""
    names = [f"_{c}_value" if c in lookups else c for c in columns]
    return ",".join(dict.fromkeys([*extra, *names]))
