"""Names of the staged tables in a pair's DuckDB file (one naming rule, used by every layer)."""

from __future__ import annotations


def sql_name(name: str) -> str:
    return name.replace("-", "_")


def extract_table(source_object: str) -> str:
    """The raw extract of a source object, e.g. `extract__clients`."""
    return f"extract__{sql_name(source_object)}"


def stage_table(obj: str) -> str:
    """The staged rows of a destination object, e.g. `stage__contact`."""
    return f"stage__{sql_name(obj)}"
