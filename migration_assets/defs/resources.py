"""Dagster resources of the workbench: the pairs' staging DuckDB files and connections to systems.

Connection settings come from the environment variables each system declares (`systems.py`),
read when a step opens a connection. They are not `dg.EnvVar` fields on purpose: an unset
`dg.EnvVar` is an error when the resource is built, while an unset system here means "use its
sandbox emulator", and a partly set one is an error naming every missing variable
(`connectors.registry.resolve_connection`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from migration_assets.connectors import open_destination, open_source, resolve_connection
from migration_assets.connectors.base import DestinationConnector, SourceConnector
from migration_assets.staging.files import open_file


class ConnectionsResource(dg.ConfigurableResource):
    """Opens connectors: a real tenant when the system's variables are set, otherwise its sandbox
    emulator over the SQLite state in `sandbox_dir`."""

    sandbox_dir: str

    def source(self, system: str) -> SourceConnector:
        return open_source(system, resolve_connection(system, state_dir=Path(self.sandbox_dir)))

    def destination(self, system: str, options: Mapping[str, Any] | None = None) -> DestinationConnector:
        connection = resolve_connection(system, state_dir=Path(self.sandbox_dir))
        return open_destination(system, replace(connection, options=dict(options or {})))

    def describe(self, system: str) -> dict[str, Any]:
        """Which target a system is (sandbox or real URL), safe to log and record."""
        return resolve_connection(system, state_dir=Path(self.sandbox_dir)).describe()


class StagingResource(dg.ConfigurableResource):
    """The staging DuckDB files, one per pair, in `directory` (`<var>/staging/<pair>.duckdb`).

    Only one process may write a DuckDB file at a time: every step that calls `connect` runs in
    the pool `duckdb` (limit 1).
    """

    directory: str
    # DuckDB's buffer pool otherwise grows to 80% of the machine's memory, keeping the pages of
    # every table a run scanned (the read-back copies of a million records: about 500 MB); beyond
    # this it evicts and spills to `<file>.tmp`
    memory_limit: str = "256MB"

    def database(self, pair: str) -> Path:
        return Path(self.directory) / f"{pair}.duckdb"

    @contextmanager
    def connect(self, pair: str, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The pair's DuckDB connection (its folder is created on first use), always closed after."""
        path = self.database(pair)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open_file(path, read_only=read_only, memory_limit=self.memory_limit) as conn:
            yield conn
