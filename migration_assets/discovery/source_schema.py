"""Discover a source system through its connector: every object of the connector's catalog is paged
through the real API (the API has no count endpoint), then described from the records themselves.

Per object: record count, per field the catalog type, the type seen in the data, fill rate,
distinct count, pick-list values (declared and observed), min/max of date fields, and the custom
fields kept inside JSON key-value properties with their inferred type.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from migration_assets.connectors.base import SourceConnector, SourceObject
from migration_assets.engine.extracting import extract_all

PICKLIST_MAX = 12  # more distinct short strings than this is free text, not a pick-list
DATE_TYPES = ("date", "datetime")


@dataclass
class FieldProfile:
    name: str
    type: str  # catalog (declared) type
    observed: str  # type inferred from the values: int, float, bool, datetime, date, json, str, empty
    fill_rate: float
    distinct: int
    declared_values: list[str] = field(default_factory=list)
    observed_values: list[str] = field(default_factory=list)  # pick-list-like fields only
    min: str | None = None
    max: str | None = None
    max_length: int = 0
    parent: str | None = None  # object this field references (catalog)
    extra: bool = False  # returned by the API but not in the catalog


@dataclass
class CustomFieldProfile:
    container: str  # the JSON field holding the key-value pairs
    key: str
    type: str  # string, picklist, datetime, decimal, integer, boolean
    fill_rate: float
    values: list[str] = field(default_factory=list)


@dataclass
class ObjectProfile:
    name: str
    count: int
    fields: list[FieldProfile]
    custom_fields: list[CustomFieldProfile] = field(default_factory=list)
    updated_field: str | None = None

    def field(self, name: str) -> FieldProfile | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass
class SourceSchema:
    system: str
    objects: dict[str, ObjectProfile]

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "objects": {k: asdict(v) for k, v in self.objects.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceSchema:
        objects = {}
        for name, o in data["objects"].items():
            objects[name] = ObjectProfile(
                name=o["name"],
                count=o["count"],
                fields=[FieldProfile(**f) for f in o["fields"]],
                custom_fields=[CustomFieldProfile(**c) for c in o.get("custom_fields", [])],
                updated_field=o.get("updated_field"),
            )
        return cls(data["system"], objects)

    def counts(self) -> dict[str, int]:
        return {name: o.count for name, o in self.objects.items()}


async def discover_source(source: SourceConnector, objects: Sequence[str] | None = None) -> SourceSchema:
    """Page through every object (or `objects`) of the source and describe it.

    Args:
        source: an open source connector (real tenant or sandbox).
        objects: catalog object names; all of the connector's catalog when None.

    Returns:
        The SourceSchema; the connector is not closed.
    """
    names = list(objects) if objects is not None else list(source.catalog)
    out = {}
    for name in names:
        frame = await extract_all(source, name)
        out[name] = describe_object(source.catalog[name], frame)
    return SourceSchema(source.system, out)


def describe_object(catalog: SourceObject, frame: pl.DataFrame) -> ObjectProfile:
    """Describe one object from its extracted text frame (every value as text, JSON as text)."""
    declared = {f.name for f in catalog.fields}
    fields = []
    for column in frame.columns:
        spec = catalog.field(column)
        fields.append(
            _field(
                column,
                frame[column],
                spec.type if spec else "str",
                list(spec.values) if spec else [],
                catalog.parents.get(column),
                column not in declared,
            )
        )
    customs = [
        c
        for f in fields
        if f.observed == "json" and f.type == "json"
        for c in _custom_fields(f.name, frame[f.name], frame.height)
    ]
    return ObjectProfile(catalog.name, frame.height, fields, customs, catalog.updated_field)


def _blank(series: pl.Series) -> pl.Series:
    return series.is_null() | (series.str.strip_chars() == "")


def _field(name, series: pl.Series, declared_type, declared_values, parent, extra) -> FieldProfile:
    n = series.len()
    present = series.filter(~_blank(series)) if n else series
    observed = infer_type(present)
    profile = FieldProfile(
        name=name,
        type=declared_type,
        observed=observed,
        fill_rate=round(present.len() / n, 4) if n else 0.0,
        distinct=present.n_unique(),
        declared_values=list(declared_values),
        parent=parent,
        extra=extra,
        max_length=int(present.str.len_chars().max() or 0) if present.len() else 0,
    )
    if declared_values or (observed == "str" and 0 < profile.distinct <= PICKLIST_MAX and n >= 3 * profile.distinct):
        profile.observed_values = sorted(present.unique().to_list())[:50]
    if observed in DATE_TYPES or declared_type in DATE_TYPES:
        values = sorted(present.to_list())
        if values:
            profile.min, profile.max = values[0], values[-1]
    return profile


def infer_type(present: pl.Series) -> str:
    """The narrowest raw type every non-blank text value fits: int, float, bool, date, datetime,
    json (objects/arrays), else str; 'empty' when there is no value."""
    if present.len() == 0:
        return "empty"
    text = present.str.strip_chars()
    checks = (
        ("bool", text.str.to_lowercase().is_in(["true", "false"])),
        ("int", text.str.contains(r"^-?\d+$")),
        ("float", text.str.contains(r"^-?\d+\.\d+$|^-?\d+$")),
        ("date", text.str.contains(r"^\d{4}-\d{2}-\d{2}$")),
        ("datetime", text.str.contains(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")),
        ("json", text.str.contains(r"^[\[{]")),
    )
    for name, ok in checks:
        if ok.all():
            return name
    return "str"


def _custom_fields(container: str, series: pl.Series, height: int) -> list[CustomFieldProfile]:
    """Keys of JSON objects (also JSON objects stored as strings) with their inferred type."""
    values: dict[str, list[Any]] = {}
    for text in series.drop_nulls().to_list():
        data = _json_object(text)
        for key, value in (data or {}).items():
            values.setdefault(str(key), []).append(value)
    out = []
    for key in sorted(values):
        present = [v for v in values[key] if v not in (None, "")]
        kind = _custom_type(present)
        labels = sorted({str(v) for v in present}) if kind == "picklist" else []
        out.append(CustomFieldProfile(container, key, kind, round(len(present) / height, 4) if height else 0, labels))
    return out


def _json_object(text: str) -> dict | None:
    try:
        data = json.loads(text)
        if isinstance(data, str):  # a JSON object stored as a JSON string
            data = json.loads(data)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _custom_type(values: list[Any]) -> str:
    if not values:
        return "string"
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "decimal"
    texts = pl.Series([str(v) for v in values])
    if texts.str.contains(r"^\d{4}-\d{2}-\d{2}").all():
        return "datetime"
    if texts.n_unique() <= PICKLIST_MAX and len(values) >= 2 * texts.n_unique():
        return "picklist"
    return "string"
