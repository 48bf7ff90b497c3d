"""Held-back rows, with their root causes: what `migrate quarantine` lists and corrections fix.

A row is held back at stage by its own defect (a required value missing, a label no value map
knows) or at load because its parent (a lookup target) is not in the destination. The second kind
names its root cause: the parent's own reason, followed up the chain ("parent contact 123 held
back: lastname is required but empty"), so a person fixes the root and its children follow. A parent
that was excluded on purpose, or that does not exist in the source at all, is a root cause too.

Tables (in the pair's staging file): `quarantine` (one row per held-back record and step, with
`field`/`value` of its own defect and `root_object`/`root_source_id`/`root_reason`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from migration_assets.staging import db


@dataclass(frozen=True)
class Root:
    """The record whose own defect holds a row back (possibly the row itself)."""

    object: str
    source_id: str | None
    reason: str

    def describe(self) -> str:
        return f"{self.object} {self.source_id or '?'}: {self.reason}"


def roots(conn: duckdb.DuckDBPyConnection, obj: str, external_ids: Iterable[str]) -> dict[str, Root]:
    """The root cause of each held-back or excluded record of `obj` among `external_ids` (latest
    phase first); records that are neither are absent."""
    wanted = pl.DataFrame({"external_id": sorted({str(e) for e in external_ids})}, schema={"external_id": pl.String})
    if wanted.height == 0:
        return {}
    db.ensure_support_tables(conn)
    held = conn.execute(
        """
        select q.external_id, coalesce(q.root_object, q.object), coalesce(q.root_source_id, q.source_id),
               coalesce(q.root_reason, q.reason)
        from quarantine q join wanted w using (external_id)
        where q.object = ? qualify row_number() over (partition by q.external_id order by q.recorded_at desc) = 1
        """,
        [obj],
    ).fetchall()
    out = {ext: Root(o, s, r) for ext, o, s, r in held}
    excluded = conn.execute(
        "select x.external_id, x.source_id, x.reason from excluded x join wanted w using (external_id) "
        "where x.object = ?",
        [obj],
    ).fetchall()
    for ext, source_id, reason in excluded:
        out.setdefault(ext, Root(obj, source_id, f"excluded by the spec: {reason}"))
    return out


def missing_parent(obj: str, column: str, target: str, target_ext: str, root: Root | None) -> tuple[str, Root]:
    """The reason and root cause of a row whose lookup target is not in the destination."""
    if root is None:
        return (
            f"{column}: {target} {target_ext} is not in the destination: no extracted source record has this id",
            Root(
                target,
                target_ext,
                f"not extracted from the source: archived, deleted or never created (referenced by {obj}.{column})",
            ),
        )
    return f"{column}: parent {root.describe()}", root


def rows(conn: duckdb.DuckDBPyConnection, phase: str | None = None) -> pl.DataFrame:
    """Every held-back row of the phase (all phases when None), latest step per record: object,
    source id, external id, step, reason, root cause, field, value and an empty fix_value."""
    if not db.table_exists(conn, "quarantine"):
        return _empty()
    where = "where _phase = $1" if phase else ""
    frame = conn.sql(
        f"""
        select _phase as phase, object, source_id, external_id, step, reason, field, value,
               coalesce(root_object, object) as root_object, coalesce(root_source_id, source_id) as root_source_id,
               coalesce(root_reason, reason) as root_reason, root_object is not null as cascaded
        from quarantine {where}
        qualify row_number() over (partition by _phase, object, external_id order by recorded_at desc) = 1
        order by object, source_id
        """,
        params=[phase] if phase else None,
    ).pl()
    return frame.with_columns(
        pl.when(pl.col("cascaded"))
        .then(pl.format("{} {}: {}", pl.col("root_object"), pl.col("root_source_id"), pl.col("root_reason")))
        .otherwise(pl.lit(""))
        .alias("root_cause"),
        pl.lit("").alias("fix_value"),
    )


def summary(frame: pl.DataFrame, top: int = 10) -> dict[str, Any]:
    """Counts by reason and by root cause, and the root-cause tree: each root defect with how many
    records of each object it holds back (itself included)."""
    by_reason = Counter(_family(r) for r in frame["reason"].to_list()) if frame.height else Counter()
    by_root = Counter(_family(r) for r in frame["root_reason"].to_list()) if frame.height else Counter()
    tree: dict[str, Counter] = {}
    for row in frame.iter_rows(named=True):
        tree.setdefault(f"{row['root_object']}: {_family(row['root_reason'])}", Counter())[row["object"]] += 1
    return {
        "total": frame.height,
        "by_reason": [{"reason": r, "records": n} for r, n in by_reason.most_common(top)],
        "by_root_cause": [{"root_cause": r, "records": n} for r, n in by_root.most_common(top)],
        "tree": [
            {"root": root, "records": sum(c.values()), "objects": dict(c)}
            for root, c in sorted(tree.items(), key=lambda kv: -sum(kv[1].values()))
        ],
    }


def _family(reason: str | None) -> str:
    """A reason without its record-specific values, so that like reasons count together
    ("case 12 is not ..." and "case 40 is not ..." are one family)."""
    text = reason or ""
    text = re.sub(r"'[^']*'", "'…'", text)
    return re.sub(r"\b[0-9][0-9A-Za-z:._-]*\b", "#", text)[:200]


def _empty() -> pl.DataFrame:
    columns = ("phase", "object", "source_id", "external_id", "step", "reason", "field", "value")
    columns += ("root_object", "root_source_id", "root_reason", "root_cause", "fix_value")
    return pl.DataFrame(schema={c: pl.String for c in columns})


def counts(conn: duckdb.DuckDBPyConnection, table: str, phase: str) -> dict[str, int]:
    """{object: records} of a per-record report table (partial_fields, substitutions) in `phase`."""
    if not db.table_exists(conn, table):
        return {}
    rows = conn.execute(
        f"select object, count(distinct external_id) from {db.ident(table)} where _phase = ? group by 1", [phase]
    ).fetchall()
    return {obj: int(n) for obj, n in rows}


def note_substitutions(
    conn: duckdb.DuckDBPyConnection, phase: str, obj: str, run_id: str, items: list[tuple[dict, str, str]]
) -> None:
    """Record rows the load wrote without a part (row, column, note), beside staging's own notes."""
    if not items:
        return
    db.ensure_support_tables(conn)
    frame = pl.DataFrame(  # noqa: F841 - scanned by name below
        {
            "_phase": [phase] * len(items),
            "object": [obj] * len(items),
            "external_id": [str(r["_external_id"]) for r, _c, _n in items],
            "source_id": [str(r["_source_id"]) for r, _c, _n in items],
            "column": [c for _r, c, _n in items],
            "note": [n for _r, _c, n in items],
            "run_id": [run_id] * len(items),
            "step": ["load"] * len(items),
        }
    )
    conn.execute(
        "delete from substitutions where _phase = ? and object = ? and step = 'load' "
        "and external_id in (select external_id from frame)",
        [phase, obj],
    )
    conn.execute("insert into substitutions by name select * from frame")
