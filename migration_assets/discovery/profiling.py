"""Profile one source object before it migrates: what would break, be lost or be doubled.

Findings (each a section of the JSON report, counted in `summary`):
- `duplicates`: exact (same normalized email, same normalized name) and fuzzy (rapidfuzz
  token-sort ratio >= FUZZY_CUTOFF on names, not equal) with the pairs listed;
- `incomplete`: rows whose value for a destination-required column (the destination's required
  columns, the spec's `required` and required lookups) computes to null or blank;
- `orphans`: references (catalog `parents`) to records absent from the extracted parent object;
- `unmapped_values`: labels of value-mapped fields that have no entry in the spec's value map;
- `unmapped_fields`: source fields no expression of the spec reads, with their fill rate;
- `oversized`: files above the size limit and text longer than the destination column;
- `inactive_owners`: user references to people inactive in the source, missing from the
  destination or disabled there.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from rapidfuzz import fuzz, process

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import normalize_label
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import ObjectMap

FUZZY_CUTOFF = 90
FUZZY_BLOCK_MAX = 4000  # rows compared all-against-all inside one block (first letter of the name)
LISTED = 50  # rows of each finding listed in the report (the counts are complete)
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
NAME_FIELDS = ("name", "display_name", "full_name", "subject", "title", "company")


@dataclass
class ProfileInputs:
    """What a profile reads besides the object's own extracted text frame."""

    related: Mapping[str, pl.DataFrame] = field(default_factory=dict)  # extracted parents by object name
    destination: Mapping[str, Any] = field(default_factory=dict)  # DestinationDiscovery.to_json()
    people: pl.DataFrame | None = None  # the source's user object (id, email, active)
    people_object: str | None = None


def profile_object(loaded: LoadedSpec, source_object: str, frame: pl.DataFrame, inputs: ProfileInputs) -> dict:
    """Profile `frame` (the extract of `source_object`) against the spec and the destination.

    Returns:
        {"object", "records", "summary": {finding: count}, <finding>: [...]} (JSON-able).
    """
    objects = {n: o for n, o in loaded.spec.objects.items() if o.source == source_object}
    report = {
        "object": source_object,
        "records": frame.height,
        "duplicates": duplicates(frame),
        "incomplete": incomplete(loaded, objects, frame, inputs.destination),
        "orphans": orphans(loaded, source_object, frame, inputs.related),
        "unmapped_values": unmapped_values(loaded, objects, frame),
        "unmapped_fields": unmapped_fields(loaded, objects, frame),
        "oversized": oversized(loaded, objects, frame, inputs.destination),
        "inactive_owners": inactive_owners(loaded, source_object, frame, inputs),
    }
    report["summary"] = {
        "exact_duplicates": sum(g["records"] - 1 for g in report["duplicates"]["exact"]),
        "fuzzy_duplicate_pairs": report["duplicates"]["fuzzy_pairs"],
        "incomplete_records": sum(i["records"] for i in report["incomplete"] if i["records"]),
        "orphan_references": sum(o["records"] for o in report["orphans"] if o["checked"]),
        "unmapped_values": sum(v["records"] for v in report["unmapped_values"]),
        "unmapped_fields": sum(1 for f in report["unmapped_fields"] if f["fill_rate"] > 0),
        "oversized": sum(o["records"] for o in report["oversized"]),
        "inactive_owner_references": sum(o["records"] for o in report["inactive_owners"]),
    }
    return report


# -- helpers ------------------------------------------------------------------------------------
def _present(series: pl.Series) -> pl.Series:
    return series.is_not_null() & (series.cast(pl.String).str.strip_chars() != "")


def _compiled(loaded: LoadedSpec, obj_name: str, suffix: str, node: Any):
    try:
        return loaded.compile(obj_name, suffix, node)
    except SpecError:
        return None


def _evaluate(frame: pl.DataFrame, compiled) -> pl.Series | None:
    """The expression's value per row, or None when it cannot run on this frame."""
    try:
        return frame.select(compiled.expr.alias("_v")).to_series()
    except Exception:  # a profile reports what it can; staging reports the rest
        return None


def _ids(frame: pl.DataFrame, id_field: str = "id") -> pl.Series:
    return frame[id_field] if id_field in frame.columns else pl.Series("id", [str(i) for i in range(frame.height)])


def _reference_values(text: str | None) -> list[str]:
    """A reference field's ids: one id, or the elements of a JSON array."""
    if text is None or not str(text).strip():
        return []
    text = str(text).strip()
    if text.startswith("["):
        try:
            return [str(v) for v in json.loads(text) if v is not None]
        except ValueError:
            return [text]
    return [text]


# -- duplicates ---------------------------------------------------------------------------------
def _name_series(frame: pl.DataFrame) -> pl.Series | None:
    cols = frame.columns
    if "first_name" in cols and "last_name" in cols:
        return frame.select(
            pl.concat_str([pl.col("first_name").fill_null(""), pl.col("last_name").fill_null("")], separator=" ")
        ).to_series()
    name = next((c for c in NAME_FIELDS if c in cols), None)
    return frame[name] if name else None


def _normalized(series: pl.Series) -> pl.Series:
    return series.cast(pl.String).str.to_lowercase().str.replace_all(r"[^\w@.]+", " ").str.strip_chars()


def duplicates(frame: pl.DataFrame) -> dict[str, Any]:
    """Exact duplicate groups by email and by name, and fuzzy name pairs (rapidfuzz)."""
    ids = _ids(frame)
    exact: list[dict[str, Any]] = []
    keys: dict[str, pl.Series] = {}
    email = next((c for c in frame.columns if c == "email" or c.endswith("email")), None)
    if email:
        keys["email"] = _normalized(frame[email])
    names = _name_series(frame)
    if names is not None:
        keys["name"] = _normalized(names)
    for by, key in keys.items():
        grouped = (
            pl.DataFrame({"key": key, "id": ids})
            .filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
            .group_by("key")
            .agg(pl.col("id").sort())
            .filter(pl.col("id").list.len() > 1)
            .sort("key")
        )
        for row in grouped.iter_rows(named=True):
            exact.append({"by": by, "value": row["key"], "records": len(row["id"]), "ids": row["id"][:20]})
    pairs = _fuzzy_pairs(ids, keys.get("name"))
    return {"exact": exact[:LISTED], "exact_groups": len(exact), "fuzzy_pairs": len(pairs), "fuzzy": pairs[:LISTED]}


def _fuzzy_pairs(ids: pl.Series, names: pl.Series | None) -> list[dict[str, Any]]:
    if names is None:
        return []
    frame = pl.DataFrame({"id": ids, "name": names}).filter(pl.col("name").str.len_chars() > 2)
    frame = frame.with_columns(pl.col("name").str.slice(0, 1).alias("block"))
    pairs = []
    for (_,), block in sorted(frame.group_by("block"), key=lambda g: str(g[0][0])):
        block = block.head(FUZZY_BLOCK_MAX)
        values, block_ids = block["name"].to_list(), block["id"].to_list()
        for i, value in enumerate(values):
            # numpy is not installed, so no cdist: one C++ scan per name over the rest of its block
            for _, score, j in process.extract(
                value, values[i + 1 :], scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_CUTOFF, limit=None
            ):
                other = values[i + 1 + j]
                if other != value:
                    pairs.append(
                        {
                            "id_a": block_ids[i],
                            "id_b": block_ids[i + 1 + j],
                            "a": value,
                            "b": other,
                            "score": round(float(score), 1),
                        }
                    )
    return sorted(pairs, key=lambda p: (-p["score"], str(p["id_a"]), str(p["id_b"])))


# -- completeness -------------------------------------------------------------------------------
def _required_columns(obj: ObjectMap, destination: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(column, why) of every column the destination or the spec requires."""
    table = (destination.get("tables") or {}).get(obj.table) or {}
    out = {c: "required by the destination" for c in table.get("required", [])}
    out.update({c: "required by the spec" for c in obj.required})
    out.update({c: "required lookup" for c, lk in obj.lookups.items() if lk.required})
    return sorted(out.items())


def incomplete(loaded, objects: Mapping[str, ObjectMap], frame: pl.DataFrame, destination) -> list[dict]:
    out = []
    for obj_name, obj in objects.items():
        for column, why in _required_columns(obj, destination):
            node = obj.fields.get(column) or (obj.lookups[column].value if column in obj.lookups else None)
            if node is None:
                handled = column in obj.owners or column == obj.external_id.column
                out.append(
                    {
                        "object": obj_name,
                        "column": column,
                        "why": why,
                        "records": 0,
                        "note": "filled by the owners mapping"
                        if handled
                        else "not mapped: the platform default applies",
                    }
                )
                continue
            compiled = _compiled(loaded, obj_name, f"fields.{column}", node)
            values = _evaluate(frame, compiled) if compiled else None
            if values is None:
                continue
            missing = ~_present(values)
            out.append(
                {
                    "object": obj_name,
                    "column": column,
                    "why": why,
                    "records": int(missing.sum()),
                    "ids": _ids(frame).filter(missing).head(LISTED).to_list(),
                }
            )
    return out


# -- references ---------------------------------------------------------------------------------
def orphans(loaded: LoadedSpec, source_object: str, frame: pl.DataFrame, related) -> list[dict]:
    catalog = loaded.source_catalog[source_object]
    out = []
    for column, parent in sorted(catalog.parents.items()):
        if column not in frame.columns:
            continue
        parent_frame = frame if parent == source_object else related.get(parent)
        if parent_frame is None:
            out.append(
                {
                    "field": column,
                    "parent": parent,
                    "checked": False,
                    "records": 0,
                    "note": f"{parent} is not extracted by this pair",
                }
            )
            continue
        known = set(_ids(parent_frame).cast(pl.String).to_list())
        bad_rows, missing = [], Counter()
        for rid, value in zip(_ids(frame).to_list(), frame[column].to_list(), strict=True):
            gone = [v for v in _reference_values(value) if v not in known]
            if gone:
                bad_rows.append(rid)
                missing.update(gone)
        out.append(
            {
                "field": column,
                "parent": parent,
                "checked": True,
                "records": len(bad_rows),
                "ids": bad_rows[:LISTED],
                "missing_targets": sorted(missing)[:LISTED],
            }
        )
    return out


# -- values and fields --------------------------------------------------------------------------
def _value_map_nodes(node: Any):
    if isinstance(node, Mapping):
        if node.get("op") == "value_map" and isinstance(node.get("of"), str):
            yield node
        for value in node.values():
            yield from _value_map_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _value_map_nodes(value)


def unmapped_values(loaded: LoadedSpec, objects: Mapping[str, ObjectMap], frame: pl.DataFrame) -> list[dict]:
    seen, out = set(), []
    for obj in objects.values():
        for node in _value_map_nodes(list(obj.fields.values())):
            name, source_field = node["map"], node["of"]
            vmap = loaded.spec.value_maps.get(name)
            if vmap is None or source_field not in frame.columns or (name, source_field) in seen:
                continue
            seen.add((name, source_field))
            known = {normalize_label(k) if vmap.normalize else k for k in vmap.values}
            counts = Counter(
                v.strip()
                for v in frame[source_field].drop_nulls().to_list()
                if v.strip() and (normalize_label(v) if vmap.normalize else v) not in known
            )
            if counts and vmap.unmapped == "hold":
                out.append(
                    {
                        "field": source_field,
                        "value_map": name,
                        "records": sum(counts.values()),
                        "values": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                        "proposed_entries": propose_entries(vmap, counts),
                    }
                )
    return out


def propose_entries(vmap, labels: Counter) -> dict[str, Any]:
    """A value-map entry for every label the source uses and the map lacks: the value of the most
    similar mapped label (rapidfuzz), for a person to confirm in the spec."""
    from rapidfuzz import fuzz, process

    mapped = list(vmap.values)
    out = {}
    for label in sorted(labels):
        best = process.extractOne(label, mapped, scorer=fuzz.token_set_ratio) if mapped else None
        out[label] = {"value": vmap.values[best[0]], "like": best[0], "score": round(best[1])} if best else None
    return out


def used_fields(loaded: LoadedSpec, objects: Mapping[str, ObjectMap]) -> set[str]:
    """Every source field an expression of these objects reads."""
    used: set[str] = set()
    for name, obj in objects.items():
        nodes = [("external_id.value", obj.external_id.value)]
        nodes += [(f"fields.{c}", n) for c, n in obj.fields.items()]
        nodes += [(f"lookups.{c}.value", lk.value) for c, lk in obj.lookups.items()]
        nodes += [(f"owners.{c}.value", o.value) for c, o in obj.owners.items()]
        nodes += [(f"exclude[{i}].when", r.when) for i, r in enumerate(obj.exclude)]
        if obj.dedupe:
            nodes.append(("dedupe.by", obj.dedupe.by))
        if obj.file:
            nodes += [
                (f"file.{k}", v)
                for k, v in obj.file.model_dump().items()
                if k in ("name", "folder", "size", "content_type") and v
            ]
        for suffix, node in nodes:
            compiled = _compiled(loaded, name, suffix, node)
            if compiled:
                used |= compiled.sources
        if obj.custom_fields:
            used.add(obj.custom_fields.source_field)
        if isinstance(obj.explode, str):
            used.add(obj.explode)
    return used


def unmapped_fields(loaded: LoadedSpec, objects: Mapping[str, ObjectMap], frame: pl.DataFrame) -> list[dict]:
    used = used_fields(loaded, objects) | {"id"}
    out = []
    for column in frame.columns:
        if column in used:
            continue
        filled = int(_present(frame[column]).sum()) if frame.height else 0
        out.append(
            {
                "field": column,
                "fill_rate": round(filled / frame.height, 4) if frame.height else 0.0,
                "records_with_value": filled,
            }
        )
    return sorted(out, key=lambda f: (-f["fill_rate"], f["field"]))


# -- size ---------------------------------------------------------------------------------------
def _column_max_length(loaded: LoadedSpec, table: str, column: str, destination) -> int | None:
    spec_table = loaded.spec.schema_.get(table)
    if spec_table and column in spec_table.columns and spec_table.columns[column].max_length:
        return spec_table.columns[column].max_length
    info = ((destination.get("tables") or {}).get(table) or {}).get("columns", {}).get(column) or {}
    return info.get("max_length")


def oversized(loaded, objects: Mapping[str, ObjectMap], frame: pl.DataFrame, destination) -> list[dict]:
    out = []
    limit = next((o.file.max_bytes for o in objects.values() if o.file), DEFAULT_MAX_BYTES)
    if "size" in frame.columns:
        sizes = frame["size"].cast(pl.Int64, strict=False)
        big = sizes > limit
        if int(big.sum() or 0):
            out.append(
                {
                    "kind": "file",
                    "field": "size",
                    "limit": limit,
                    "records": int(big.sum()),
                    "ids": _ids(frame).filter(big.fill_null(False)).head(LISTED).to_list(),
                }
            )
    for obj_name, obj in objects.items():
        for column, node in obj.fields.items():
            max_length = _column_max_length(loaded, obj.table, column, destination)
            compiled = _compiled(loaded, obj_name, f"fields.{column}", node) if max_length else None
            values = _evaluate(frame, compiled) if compiled else None
            if values is None or values.dtype != pl.String:
                continue
            long = (values.str.len_chars() > max_length).fill_null(False)
            if int(long.sum()):
                out.append(
                    {
                        "kind": "text",
                        "object": obj_name,
                        "column": column,
                        "limit": max_length,
                        "records": int(long.sum()),
                        "ids": _ids(frame).filter(long).head(LISTED).to_list(),
                    }
                )
    return out


# -- owners -------------------------------------------------------------------------------------
def inactive_owners(loaded: LoadedSpec, source_object: str, frame: pl.DataFrame, inputs: ProfileInputs) -> list[dict]:
    """People referenced by this object who cannot own its records in the destination."""
    catalog = loaded.source_catalog[source_object]
    people_object = inputs.people_object or (loaded.spec.users.source if loaded.spec.users else None)
    fields = [c for c, parent in catalog.parents.items() if parent == people_object and c in frame.columns]
    people = inputs.people
    if not fields or people is None or people.height == 0:
        return []
    dest_users = {str(u.get("email") or "").casefold(): u for u in inputs.destination.get("users", [])}
    status = {}
    for row in people.iter_rows(named=True):
        email = str(row.get("email") or "").casefold()
        user = dest_users.get(email)
        if str(row.get("active")).lower() == "false":
            status[str(row["id"])] = (email, "inactive in the source")
        elif user is None:
            status[str(row["id"])] = (email, "no destination user with this email")
        elif not user.get("active", True):
            status[str(row["id"])] = (email, "disabled in the destination")
    out = []
    for column in sorted(fields):
        counts = Counter(v for value in frame[column].to_list() for v in _reference_values(value) if v in status)
        for person, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(
                {"field": column, "user_id": person, "email": status[person][0], "why": status[person][1], "records": n}
            )
    return out


def summarize(profiles: Sequence[dict]) -> dict[str, int]:
    """Totals of the summaries of several profiles."""
    total: Counter = Counter()
    for p in profiles:
        total.update(p.get("summary", {}))
    return dict(total)
