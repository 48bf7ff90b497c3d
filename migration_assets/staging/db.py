"""DuckDB staging of one pair: raw extracts, staged tables, quarantine, sample keys.

One DuckDB file per pair (`var/staging/<pair>.duckdb`). Every slice written here is keyed by the
phase (`_phase` column), so re-running a partition replaces exactly its own rows. Only one process
may write the file at a time: every asset and check that opens it runs in the Dagster pool
"duckdb" (limit 1).
"""

from __future__ import annotations

import re

import duckdb
import polars as pl

from migration_assets.errors import StagingError

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")

QUARANTINE_DDL = """
create table if not exists quarantine (
    _phase varchar, object varchar, external_id varchar, source_id varchar, step varchar,
    reason varchar, row_json varchar, run_id varchar, recorded_at timestamptz default now()
);
alter table quarantine add column if not exists field varchar;
alter table quarantine add column if not exists value varchar;
alter table quarantine add column if not exists root_object varchar;
alter table quarantine add column if not exists root_source_id varchar;
alter table quarantine add column if not exists root_reason varchar;
create table if not exists partial_fields (
    _phase varchar, object varchar, external_id varchar, source_id varchar, "column" varchar, reason varchar,
    run_id varchar
);
create table if not exists substitutions (
    _phase varchar, object varchar, external_id varchar, source_id varchar, "column" varchar, note varchar,
    run_id varchar
);
alter table substitutions add column if not exists step varchar"""
EXCLUDED_DDL = """
create table if not exists excluded (
    _phase varchar, object varchar, external_id varchar, source_id varchar, reason varchar
)"""
SAMPLE_DDL = "create table if not exists sample_keys (object varchar, external_id varchar)"


def ident(name: str) -> str:
    """A safe SQL identifier (table names come from specs, so check them)."""
    if not _IDENT.match(name):
        raise StagingError(f"not a safe table name: {name!r}")
    return name


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """A table or view of that name exists: what `information_schema.tables` lists, read from the
    catalog functions it is built on (five times faster: each load step asks several times)."""
    rows = conn.execute(
        "select 1 from duckdb_tables() where table_name = $1 and database_name in (current_database(), 'temp') "
        "union all select 1 from duckdb_views() where view_name = $1 and not internal "
        "and database_name in (current_database(), 'temp')",
        [ident(table)],
    ).fetchall()
    return bool(rows)


def columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The column names of `table`, in order."""
    return [r[0] for r in conn.execute(f"describe {ident(table)}").fetchall()]


def quoted(column: str) -> str:
    """A column name as a SQL identifier (source field names are the API's keys, not ours)."""
    return '"' + column.replace('"', '""') + '"'


def write_slice(conn: duckdb.DuckDBPyConnection, table: str, df: pl.DataFrame, phase: str) -> None:
    """Replace the `phase` slice of `table` by `df` in one transaction (idempotent per phase).

    Columns new to the table are added, so a later phase may carry fields an earlier one lacked.
    """
    table = ident(table)
    frame = df.with_columns(pl.lit(phase).alias("_phase"))
    conn.execute("begin")
    try:
        if not table_exists(conn, table):
            conn.execute(f"create table {table} as select * from frame limit 0")
        existing = set(columns(conn, table))
        for name in frame.schema:
            if name not in existing:
                sql_type = conn.sql(f"select {quoted(name)} from frame limit 0").types[0]
                conn.execute(f"alter table {table} add column {quoted(name)} {sql_type}")
        conn.execute(f"delete from {table} where _phase = ?", [phase])
        if frame.height:
            conn.execute(f"insert into {table} by name select * from frame")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise


def read_slice(conn: duckdb.DuckDBPyConnection, table: str, phase: str) -> pl.DataFrame:
    """The `phase` slice of `table` without the `_phase` column (empty frame if no table)."""
    table = ident(table)
    if not table_exists(conn, table):
        return pl.DataFrame()
    frame = conn.sql(f"select * exclude (_phase) from {table} where _phase = $1", params=[phase]).pl()
    return utc(frame)


def utc(frame: pl.DataFrame) -> pl.DataFrame:
    """DuckDB hands timestamptz back as 'Etc/UTC'; staging promises 'UTC' (the gate checks it)."""
    zoned = [n for n, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return frame.with_columns(pl.col(n).dt.convert_time_zone("UTC") for n in zoned) if zoned else frame


def ensure_support_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for ddl in (QUARANTINE_DDL, EXCLUDED_DDL, SAMPLE_DDL):
        for statement in ddl.split(";"):
            if statement.strip():
                conn.execute(statement)


def replace_rows(conn: duckdb.DuckDBPyConnection, table: str, df: pl.DataFrame, where: str, params: list) -> None:
    """Delete rows matching `where` from a support table, then append `df` (one transaction)."""
    frame = df  # noqa: F841 - scanned by name below
    conn.execute("begin")
    try:
        conn.execute(f"delete from {ident(table)} where {where}", params)
        if df.height:
            conn.execute(f"insert into {ident(table)} by name select * from frame")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
