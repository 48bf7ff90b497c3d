"""Dagster resources of the workbench: staging DuckDB files and connections to the systems."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from migration_assets.connectors import open_destination, open_source, resolve_connection
from migration_assets.connectors.base import DestinationConnector, SourceConnector


class ConnectionsResource(dg.ConfigurableResource):
    """Opens connectors. Credentials are read from the environment variables named in each
    connector's `settings.ENV` when a step runs (never stored in run config); when they are not
    set, the connector talks to the sandbox emulator over the SQLite state in `sandbox_dir`."""

    sandbox_dir: str

    def source(self, system: str) -> SourceConnector:
        return open_source(system, resolve_connection(system, state_dir=Path(self.sandbox_dir)))

    def destination(self, system: str, options: Mapping[str, Any] | None = None) -> DestinationConnector:
        connection = resolve_connection(system, state_dir=Path(self.sandbox_dir))
        return open_destination(system, replace(connection, options=dict(options or {})))

    def describe(self, system: str) -> dict[str, Any]:
        return resolve_connection(system, state_dir=Path(self.sandbox_dir)).describe()


def staging_resource_key(pair: str) -> str:
    return f"{pair}_staging"


def staging_resource(db_path: Path) -> DuckDBResource:
    return DuckDBResource(database=str(db_path))


@contextmanager
def staging(context: dg.OpExecutionContext | dg.AssetCheckExecutionContext, pair: str):
    """The pair's DuckDB connection (its folder is created on first use)."""
    resource: DuckDBResource = getattr(context.resources, staging_resource_key(pair))
    Path(resource.database).parent.mkdir(parents=True, exist_ok=True)
    with resource.get_connection() as conn:
        try:
            yield conn
        except BaseException:
            # DuckDBResource closes its connection only on success; a failed step must release the
            # file too, or the next opener in this process meets a stale connection.
            conn.close()
            raise
