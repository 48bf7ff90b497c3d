"""Custom fields kept by the source as JSON key-value pairs: discover them, type them, stage them.

Discovery reads every record's JSON (double-encoded JSON too), groups keys by their spelling-blind
form ('Referral Source' = 'referral_source'), and infers one destination type per key from all its
values: booleans → boolean, whole numbers → integer, other numbers or money → decimal, dates →
datetime, nested objects or lists → memo (JSON text), a few repeated strings → picklist (an option
set), any other text → string. Nothing about the keys is hard-coded.

Example:
    fields = discover(raw_cases, "incident", spec.objects["incident"].custom_fields, first_choice=100_000_000)
    columns = compiled_custom_columns(loaded, "incident", fields)  # {"cs_court_name": Compiled, ...}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from migration_assets import json_text
from migration_assets.connectors.base import ColumnRequirement
from migration_assets.spec.expressions import Compiled, Problem, parse_datetime, parse_decimal
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import CustomFields

STRING_MAX = 4000
_INT = re.compile(r"^[+-]?\d{1,15}$")


@dataclass(frozen=True)
class CustomField:
    object: str
    key: str  # the most common spelling in the source
    column: str
    type: str  # a connectors.base.ColumnType
    options: tuple[str, ...] = ()
    values: tuple[int, ...] = ()  # pinned option values when the destination stores integers
    filled: int = 0  # records with a value
    spellings: tuple[str, ...] = field(default=())
    # typed by a source inventory (engine/custom_inventory.py): its label, how its value is read
    # (the inventory kind) and, for a computed field, its formula; empty when inferred from values
    label: str = ""
    kind: str = ""
    formula: str = ""

    def requirement(self) -> ColumnRequirement:
        pinned = {label: (value, None) for label, value in zip(self.options, self.values, strict=False)}
        return ColumnRequirement(
            self.column,
            self.type,
            STRING_MAX if self.type == "string" else None,
            self.options,
            label=self.label or self.key.replace("_", " ").title(),
            option_values=pinned,
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "key": self.key,
            "column": self.column,
            "type": self.type,
            "options": json.dumps(list(self.options)),
            "option_values": json.dumps(list(self.values)),
            "filled": self.filled,
            "spellings": json.dumps(list(self.spellings)),
            "label": self.label,
            "kind": self.kind,
            "formula": self.formula,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CustomField:
        return cls(
            row["object"],
            row["key"],
            row["column"],
            row["type"],
            tuple(json.loads(row["options"])),
            tuple(json.loads(row["option_values"])),
            int(row["filled"]),
            tuple(json.loads(row["spellings"])),
            row.get("label") or "",
            row.get("kind") or "",
            row.get("formula") or "",
        )


def key_form(key: str) -> str:
    return re.sub(r"[\s_\-]+", "", key).casefold()


def column_name(template: str, key: str, max_length: int = 50) -> str:
    """The column of a key: its ASCII words in snake_case ('{key}') or Title_Case ('{Key}') in the
    spec's template, cut to `max_length` with a short stable hash so two long keys stay apart."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+|(?<=[a-z])(?=[A-Z])", key) if w]
    name = template.replace("{key}", "_".join(w.lower() for w in words)).replace(
        "{Key}", "_".join(w[:1].upper() + w[1:].lower() for w in words)
    )
    if len(name) <= max_length:
        return name
    digest = hashlib.sha1(key.encode()).hexdigest()[:6]
    return name[: max_length - 7].rstrip("_") + "_" + digest


def parse_document(text: Any) -> dict[str, Any] | None:
    """The JSON object of one record (also when encoded twice); None when absent or malformed."""
    if text is None:
        return None
    if isinstance(text, dict):
        return text
    try:
        value = json_text.loads_twice(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def infer_type(values: list[Any], picklist_max: int) -> str:
    """The narrowest destination type every non-empty value fits."""
    present = [v for v in values if v is not None and v != ""]
    if not present:
        return "string"
    if all(isinstance(v, dict | list) for v in present):
        return "memo"
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    texts = [str(v).strip() for v in present]
    if all(not isinstance(v, bool) and _INT.match(t) for v, t in zip(present, texts, strict=True)):
        return "integer"
    if all(not isinstance(v, bool) and parse_decimal(t) is not None for v, t in zip(present, texts, strict=True)):
        return "decimal"
    if all(_looks_like_date(t) and parse_datetime(t) is not None for t in texts):
        return "datetime"
    distinct = Counter(texts)
    if len(distinct) <= picklist_max and len(present) >= 2 * len(distinct):
        return "picklist"
    return "memo" if max(len(t) for t in texts) > STRING_MAX else "string"


def _looks_like_date(text: str) -> bool:
    return bool(re.search(r"\d{4}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}", text)) and len(text) <= 40


def discover(
    raw: pl.DataFrame,
    obj_name: str,
    spec: CustomFields,
    first_choice: int | None,
    *,
    max_length: int = 50,
    skipped: list[dict[str, Any]] | None = None,
) -> list[CustomField]:
    """Every custom key found in `raw[spec.source_field]`, typed from its values.

    Args:
        raw: the extracted source rows (all phases).
        obj_name: the destination object the columns belong to.
        spec: the object's `custom_fields` section.
        first_choice: where the destination stores option sets as integers, the first value of a
            new option (its catalog's `first_choice_value`): values are then pinned from there, in
            label order; None where options are stored as labels.
        max_length: the longest column name the destination takes (its catalog's `column_name_max`).
        skipped: receives one {object, key, records, reason} per key that does not become a column
            (no usable name, or fewer than `spec.min_records` records carry it).
    """
    skipped = [] if skipped is None else skipped
    if raw.height == 0 or spec.source_field not in raw.columns:
        return []
    values: dict[str, list[Any]] = {}
    spellings: dict[str, Counter] = {}
    for text in raw[spec.source_field].to_list():
        doc = parse_document(text)
        for key, value in (doc or {}).items():
            form = key_form(key)
            values.setdefault(form, []).append(value)
            spellings.setdefault(form, Counter())[key] += 1
    out = []
    for form in sorted(values):
        key = _canonical(spellings[form])
        filled = sum(v not in (None, "") for v in values[form])
        why = skip_reason(spec, key, form, filled)
        if why:
            skipped.append({"object": obj_name, "key": key, "records": filled, "reason": why})
            continue
        kind = infer_type(values[form], spec.picklist_max_values)
        options = (
            tuple(sorted({str(v).strip() for v in values[form] if v not in (None, "")})) if kind == "picklist" else ()
        )
        pinned = tuple(first_choice + i for i in range(len(options))) if first_choice is not None else ()
        column = column_name(spec.column, key, max_length)
        out.append(CustomField(obj_name, key, column, kind, options, pinned, filled, tuple(spellings[form])))
    return out


def skip_reason(spec: CustomFields, key: str, form: str, filled: int) -> str | None:
    """Why a key does not become a column: no letter or digit to name it by, or too few records."""
    if not re.search(r"[0-9A-Za-z]", key) or not form:
        return f"the key {key!r} has no letter or digit to name a column by"
    if filled < spec.min_records:
        return f"only {filled} record(s) carry it, fewer than custom_fields.min_records ({spec.min_records})"
    return None


def _canonical(spellings: Counter) -> str:
    """Prefer a snake_case spelling, then the most common one."""
    snake = [k for k in spellings if re.fullmatch(r"[a-z0-9_]+", k)]
    return sorted(snake)[0] if snake else spellings.most_common(1)[0][0]


_CASTS = {
    "integer": "to_int",
    "decimal": "to_decimal",
    "datetime": "to_datetime",
    "boolean": "to_bool",
}


def compiled_custom_columns(loaded: LoadedSpec, obj_name: str, fields: list[CustomField]) -> dict[str, Compiled]:
    """The staged expression of every discovered column: json_get of its key, cast to its type.

    A record whose JSON is malformed gets json_get's problem and is quarantined with it.
    """
    spec = loaded.spec.objects[obj_name].custom_fields
    out: dict[str, Compiled] = {}
    if spec is None or not fields:
        return out
    for f in fields:
        if f.kind:  # typed by the source's inventory: read as its kind says
            from migration_assets.engine.custom_inventory import inventory_column

            out[f.column] = inventory_column(loaded, obj_name, f)
            continue
        node: Any = {"op": "json_get", "of": spec.source_field, "key": f.key}
        if f.type in _CASTS:
            node = {"op": _CASTS[f.type], "of": node}
        compiled = loaded.compile(obj_name, f"custom_fields.{f.key}", node)
        if f.type == "picklist" and f.values:
            mapping = dict(zip(f.options, f.values, strict=True))
            label = compiled.expr.str.strip_chars()
            expr = label.replace_strict(mapping, default=None, return_dtype=pl.Int64)
            unknown = Problem(  # never a silent null: a label the discovery did not see is quarantined
                bad=label.is_not_null() & (label != "") & expr.is_null(),
                reason=pl.format("{}: {} is not one of the discovered options", pl.lit(f.column), label),
            )
            compiled = Compiled(expr, (*compiled.problems, unknown), compiled.sources, pl.Int64)
        elif f.type == "string":
            compiled = Compiled(compiled.expr.str.slice(0, STRING_MAX), compiled.problems, compiled.sources)
        out[f.column] = compiled
    return out
