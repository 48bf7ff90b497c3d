"""Custom fields typed by the source's own inventory of definitions, not inferred from values.

Some sources list their custom fields (id, entity, label, type, options, formula) and key each
record's custom-field JSON by the definition id. A spec's `custom_fields.inventory` names that
inventory and maps each source type to a kind (spec.model.CustomFieldInventory); `inventory_fields`
makes one CustomField per definition of the object's entity, named from its label and typed by its
kind, and `inventory_column` reads its value:

    kind            column type      value
    string/memo     string/memo      the text
    html            memo             sanitized HTML (broken markup repaired, scripts dropped)
    integer ...     integer ...      parsed as the type (a value that does not parse is quarantined)
    picklist        picklist         the label's option value (a label outside the options: quarantined)
    multipicklist   multipicklist    comma-separated option values (spec/transforms/choices.py)
    computed        decimal          the `value` of a `{formula, value}` object; the formula is kept
                                     on the CustomField and shown in the plan report

Example:
    custom_fields:
      source_field: custom_fields
      column: "bd_{key}"
      inventory: {source: custom_fields, entity: claims, types: {multi_select: multipicklist, ...}}
"""

from __future__ import annotations

from typing import Any

import polars as pl

from migration_assets.engine.custom_fields import STRING_MAX, CustomField, column_name, parse_document
from migration_assets.spec.expressions import Compiled, Problem, normalize_label
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import CustomFields
from migration_assets.spec.transforms.choices import labels_of, multi_select_expr

COLUMN_TYPE = {"html": "memo", "computed": "decimal"}  # other kinds are column types themselves
CHOICES = ("picklist", "multipicklist")
_CASTS = {
    "integer": "to_int",
    "decimal": "to_decimal",
    "date": "to_date",
    "datetime": "to_datetime",
    "boolean": "to_bool",
    "html": "sanitize_html",
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _options(value: Any) -> tuple[str, ...]:
    return tuple(labels_of(value) or ())


def _filled(records: pl.DataFrame, source_field: str, key: str) -> int:
    if records.height == 0 or source_field not in records.columns:
        return 0
    docs = (parse_document(t) or {} for t in records[source_field].to_list())
    return sum(1 for d in docs if d.get(key) not in (None, "", [], {}))


def inventory_fields(
    definitions: pl.DataFrame,
    records: pl.DataFrame,
    obj_name: str,
    spec: CustomFields,
    first_choice: int | None,
    *,
    max_length: int = 50,
    skipped: list[dict[str, Any]] | None = None,
) -> list[CustomField]:
    """One CustomField per definition of the inventory's entity, in column order.

    Args:
        definitions: the inventory source's records (latest version each).
        records: the object's source records (to count how many carry each field).
        obj_name: the destination object the columns belong to.
        spec: the object's `custom_fields` section (with its `inventory`).
        first_choice: the first option value where the destination stores choices as integers.
        max_length: the longest column name the destination takes.
        skipped: receives {object, key, records, reason} per definition that is not a column (a
            source type the spec gives no kind).

    Returns:
        The fields, label and kind set (and the formula of computed ones).
    """
    inventory = spec.inventory
    assert inventory is not None
    skipped = [] if skipped is None else skipped
    if definitions.height == 0:
        return []
    wanted = definitions.filter(pl.col(inventory.entity_field).cast(pl.String) == inventory.entity)
    out = []
    for row in wanted.iter_rows(named=True):
        key, label = _text(row[inventory.key_field]), _text(row.get(inventory.label_field))
        source_type = _text(row.get(inventory.type_field))
        filled = _filled(records, spec.source_field, key)
        kind = inventory.types.get(source_type)
        if kind is None:
            reason = f"source type {source_type!r} has no kind in custom_fields.inventory.types"
            skipped.append({"object": obj_name, "key": key, "records": filled, "reason": reason})
            continue
        options = _options(row.get(inventory.options_field)) if kind in CHOICES else ()
        pinned = tuple(first_choice + i for i in range(len(options))) if first_choice is not None else ()
        formula = _text(row.get(inventory.formula_field)) if kind == "computed" else ""
        column = column_name(spec.column, label or key, max_length)
        field = CustomField(
            obj_name, key, column, COLUMN_TYPE.get(kind, kind), options, pinned, filled, (label,), label, kind, formula
        )
        out.append(field)
    return sorted(out, key=lambda f: f.column)


def _choice_table(field: CustomField) -> dict[str, int]:
    return dict(zip(field.options, field.values, strict=True)) if field.values else {}


def inventory_column(loaded: LoadedSpec, obj_name: str, field: CustomField) -> Compiled:
    """The staged expression of an inventory-typed field (see the module docstring).

    A malformed custom-field JSON, a value that does not parse as the kind, or a label outside the
    definition's options gives the row a problem (quarantined with the reason).
    """
    spec = loaded.spec.objects[obj_name].custom_fields
    assert spec is not None
    node: Any = {"op": "json_get", "of": spec.source_field, "key": field.key}
    path = f"custom_fields.{field.key}"
    if field.kind == "computed":
        node = {"op": "to_decimal", "of": {"op": "json_get", "of": node, "key": "value"}}
    elif field.kind in _CASTS:
        node = {"op": _CASTS[field.kind], "of": node}
    compiled = loaded.compile(obj_name, path, node)
    where = f"the {field.label or field.key} definition"
    if field.kind == "multipicklist":
        return multi_select_expr(compiled, _choice_table(field), field.column, where)
    if field.kind == "picklist":
        keyed = {normalize_label(k): v for k, v in _choice_table(field).items()}
        label = compiled.expr.cast(pl.String).str.strip_chars()
        value = label.map_elements(lambda t: keyed.get(normalize_label(t)), return_dtype=pl.Int64, skip_nulls=True)
        unknown = Problem(
            bad=(label.is_not_null() & (label != "") & value.is_null()).fill_null(False),
            reason=pl.format("{}: {} is not among the options of {}", pl.lit(field.column), label, pl.lit(where)),
        )
        return Compiled(value, (*compiled.problems, unknown), compiled.sources, pl.Int64)
    if field.kind == "string":
        return Compiled(compiled.expr.str.slice(0, STRING_MAX), compiled.problems, compiled.sources, pl.String)
    return compiled


def formulas(fields: list[CustomField]) -> list[dict[str, str]]:
    """The computed fields and their formulas, for the plan report."""
    return [
        {"object": f.object, "column": f.column, "label": f.label, "formula": f.formula}
        for f in fields
        if f.kind == "computed"
    ]
