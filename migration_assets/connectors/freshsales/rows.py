"""Our generic rows to Freshsales bodies and back.

Columns:
- `cf_*` columns travel under `custom_field`; tables without custom fields (task, appointment, note)
  keep the external id as a last `[<key>=<value>]` line of their `description`, stripped on read.
- Standard dropdowns holding selector ids (`deal_pipeline_id`, `deal_stage_id`,
  `sales_activity_type_id`, `task_type_id`, `industry_type_id`, `business_type_id`) are written and
  read as the option's name; a stage name is looked up in the row's pipeline (else the default one).
- `emails` is written as given and read back as the primary email.

Lookups (one LookupRef per column):
- `owner_id`, `sales_account_id` (deal), `parent_sales_account_id`: the target's id.
- `targetable_id` (sales activity, task, appointment, note): `targetable_type` comes from the
  LookupRef's table (contact -> Contact, sales_account -> SalesAccount, deal -> Deal).
- Associations, one column per link, numbered from the second: a contact's accounts
  `sales_account_id` (the primary), `sales_account_id_2`, ... -> `sales_accounts: [{id, is_primary}]`;
  a deal's contacts `contact_ids` (the primary client), `contact_ids_2`, ... -> `contact_ids`; an
  appointment's attendees `attendee_contact_id[_n]` and `attendee_user_id[_n]` ->
  `appointment_attendees_attributes`. Links are written in column order (empty columns skipped) and
  read back in the same order, so columns should be filled from the first one on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from migration_assets.connectors.base import LookupRef
from migration_assets.connectors.freshsales.settings import (
    ASSOCIATIONS,
    ATTENDEE_TYPES,
    ID_DROPDOWNS,
    LOOKUP_TARGETS,
    TABLES,
    TableDef,
)

_POSITION = re.compile(r"^(.*)_(\d+)$")
_MARKER = re.compile(r"(?:\n\n)?\[(cf_[a-z0-9_]+)=([^\]\n]*)\]\s*\Z")


class RowError(ValueError):
    """A row that cannot be written as it is (reported as that row's failure, never sent)."""


def split_position(column: str) -> tuple[str, int]:
    """("contact_ids", 1) for "contact_ids_2"; (column, 0) for an unnumbered column."""
    match = _POSITION.match(column)
    if match and int(match.group(2)) >= 2:
        return match.group(1), int(match.group(2)) - 1
    return column, 0


def is_association(table: str, column: str) -> bool:
    return (table, split_position(column)[0]) in ASSOCIATIONS


# -- the external id in a description -------------------------------------------------------------
def with_marker(description: Any, key: str, external_id: str) -> str:
    """The description with its `[key=value]` line (replacing an old one)."""
    text = strip_marker(description) or ""
    marker = f"[{key}={external_id}]"
    return f"{text}\n\n{marker}" if text else marker


def strip_marker(description: Any) -> Any:
    return _MARKER.sub("", description) if isinstance(description, str) else description


def read_marker(description: Any) -> tuple[str, str] | None:
    """(key, external id) of a description's `[key=value]` line, or None."""
    match = _MARKER.search(description) if isinstance(description, str) else None
    return (match.group(1), match.group(2)) if match else None


def marker_value(description: Any, key: str) -> str | None:
    match = _MARKER.search(description) if isinstance(description, str) else None
    return match.group(2) if match and match.group(1) == key else None


# -- selector ids -------------------------------------------------------------------------------
@dataclass
class Choices:
    """Names and ids of the standard dropdowns that hold selector ids."""

    ids: dict[str, dict[str, int]] = field(default_factory=dict)  # column -> {name: id}
    names: dict[str, dict[int, str]] = field(default_factory=dict)  # column -> {id: name}
    stages: dict[int, dict[str, int]] = field(default_factory=dict)  # pipeline id -> {stage: id}
    default_pipeline: int | None = None

    def add(self, column: str, items: Iterable[Mapping[str, Any]]) -> None:
        pairs = [(str(i["name"]), int(i["id"])) for i in items]
        self.ids[column] = dict(pairs)
        self.names[column] = {i: n for n, i in pairs}

    def add_pipelines(self, pipelines: Iterable[Mapping[str, Any]]) -> None:
        pipelines = list(pipelines)
        self.add("deal_pipeline_id", pipelines)
        self.add("deal_stage_id", [s for p in pipelines for s in p.get("deal_stages") or []])
        self.stages = {int(p["id"]): {s["name"]: int(s["id"]) for s in p.get("deal_stages") or []} for p in pipelines}
        default = next((p for p in pipelines if p.get("is_default")), pipelines[0] if pipelines else None)
        self.default_pipeline = int(default["id"]) if default else None

    def resolve(self, column: str, value: Any, pipeline: int | None = None) -> int | None:
        """The id of an option name (ids pass through).

        Raises:
            RowError: an unknown name.
        """
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        options = self.ids.get(column, {})
        if column == "deal_stage_id":
            in_pipeline = self.stages.get(pipeline or self.default_pipeline or 0, {})
            if value in in_pipeline:
                return in_pipeline[value]
        if value not in options:
            raise RowError(f"{column}: {value!r} is not one of {sorted(options)}")
        return options[value]

    def name(self, column: str, value: Any) -> Any:
        return self.names.get(column, {}).get(value, value) if isinstance(value, int) else value


# -- writing ------------------------------------------------------------------------------------
def build_body(
    tdef: TableDef,
    fields: Mapping[str, Any],
    lookups: Mapping[str, LookupRef | Mapping[str, Any] | None],
    *,
    key: str,
    external_id: str | None,
    choices: Choices,
) -> dict[str, Any]:
    """The JSON body (the value under the singular key) of one row.

    Args:
        tdef: the table.
        fields: column -> value.
        lookups: column -> LookupRef (or a before-image's {"table", "id"}, or None to clear).
        key: the external-id column.
        external_id: the row's external id (None: leave the key as it is).
        choices: selector names and ids.

    Raises:
        RowError: a value or lookup that cannot be written.
    """
    body: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for column, value in fields.items():
        if column.startswith("cf_"):
            if tdef.settings:
                custom[column] = value
            elif column != key:
                raise RowError(f"{column}: {tdef.table} has no custom fields in Freshsales")
        elif column not in ID_DROPDOWNS and column != "id":
            body[column] = value
    pipeline = choices.resolve("deal_pipeline_id", fields.get("deal_pipeline_id"))
    for column in ID_DROPDOWNS:
        if column in fields:
            body[column] = choices.resolve(column, fields[column], pipeline)
    if external_id is not None and key.startswith("cf_"):
        if tdef.settings:
            custom[key] = external_id
        elif tdef.key_in_description:
            body["description"] = with_marker(body.get("description"), key, external_id)
    _apply_lookups(tdef, lookups, body)
    if custom:
        body["custom_field"] = custom
    return body


def _ref(value: LookupRef | Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, LookupRef):
        return value.table, value.id
    return value.get("table"), value.get("id")


def _int_id(column: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not str(value).isdigit():
        raise RowError(f"{column}: {value!r} is not a Freshsales id")
    return int(value)


def _apply_lookups(tdef: TableDef, lookups: Mapping[str, Any], body: dict[str, Any]) -> None:
    groups: dict[str, list[tuple[int, str, int | None]]] = {}
    for column, value in lookups.items():
        table, target = _ref(value)
        base, position = split_position(column)
        if (tdef.table, base) in ASSOCIATIONS:
            groups.setdefault(ASSOCIATIONS[(tdef.table, base)], []).append((position, base, _int_id(column, target)))
        elif column == "targetable_id":
            model = TABLES[table].model if table in TABLES else None
            if target is not None and model not in ("Contact", "SalesAccount", "Deal"):
                raise RowError(f"targetable_id: a {table} cannot be the target of a {tdef.table}")
            body["targetable_type"] = model if target is not None else None
            body["targetable_id"] = _int_id(column, target)
        else:
            body[column] = _int_id(column, target)
    for api_field, items in groups.items():
        ordered = [(base, i) for _, base, i in sorted(items, key=lambda t: (t[1], t[0])) if i is not None]
        if api_field == "sales_accounts":
            body[api_field] = [{"id": i, "is_primary": n == 0} for n, (_, i) in enumerate(ordered)]
        elif api_field == "contact_ids":
            body[api_field] = [i for _, i in ordered]
        else:
            body[api_field] = [{"attendee_type": ATTENDEE_TYPES[b], "attendee_id": i} for b, i in ordered]


# -- reading ------------------------------------------------------------------------------------
def association_ids(tdef: TableDef, base: str, record: Mapping[str, Any]) -> list[Any]:
    """The linked ids of one association column family, in order (the primary account first)."""
    if base == "sales_account_id" and tdef.table == "contact":
        links = record.get("sales_accounts") or []
        return [a["id"] for a in sorted(links, key=lambda a: not a.get("is_primary"))]
    if base == "contact_ids":
        return list(record.get("contact_ids") or [])
    wanted = ATTENDEE_TYPES.get(base)
    return [a["attendee_id"] for a in record.get("appointment_attendees") or [] if a.get("attendee_type") == wanted]


def column_value(tdef: TableDef, record: Mapping[str, Any], column: str, key: str, choices: Choices) -> Any:
    """The value of `column` in an API record, in our terms (lookups as id text)."""
    if column.startswith("cf_"):
        if tdef.key_in_description and column == key:
            return marker_value(record.get("description"), key)
        return (record.get("custom_field") or {}).get(column)
    base, position = split_position(column)
    if (tdef.table, base) in ASSOCIATIONS:
        ids = association_ids(tdef, base, record)
        return str(ids[position]) if position < len(ids) else None
    value = record.get(column)
    if column == "emails":
        return record.get("email")
    if column in ID_DROPDOWNS:
        return choices.name(column, value)
    if column == "description" and tdef.key_in_description:
        return strip_marker(value) or None
    if column in LOOKUP_TARGETS and value is not None:
        return str(value)
    return value


def external_id_of(tdef: TableDef, record: Mapping[str, Any], key: str) -> str | None:
    """The external id a record carries (its key custom field, or the description line)."""
    if tdef.key_in_description:
        return marker_value(record.get("description"), key)
    value = (record.get("custom_field") or {}).get(key) if key.startswith("cf_") else record.get(key)
    return None if value in (None, "") else str(value)
