"""Destination connectors over the in-process emulators, built through `from_connection` the way
production builds them, for the connector tests of this folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
from pydantic import SecretStr

from migration_assets.connectors import resolve_connection
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.dataverse import DataverseDestination
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.sandbox.dataverse.app import create_app
from migration_assets.systems import system

DATAVERSE = system("dynamics365").sandbox


def connect_dataverse(state: Path, *, client_secret: str | None = None, **options: object) -> DataverseDestination:
    """A Dataverse connector over the emulator at `state`; `options` become Connection.options.

    The client-side rate is high: these tests exercise behaviour, the emulator's limits are
    tested on their own."""
    connection = Connection(
        system="dynamics365",
        base_url=DATAVERSE.host,
        token_url=DATAVERSE.host + (DATAVERSE.token_path or ""),
        client_id=DATAVERSE.credentials["client_id"],
        client_secret=SecretStr(client_secret or DATAVERSE.credentials["client_secret"]),
        transport=httpx.ASGITransport(app=create_app(state)),
        sandbox=True,
        options={"rate_per_second": 1000, **options},
    )
    return DataverseDestination.from_connection(connection)


def connect_salesforce(state_dir: Path, **options: object) -> SalesforceDestination:
    """A Salesforce connector over the sandbox in `state_dir`, polling Bulk jobs without a pause;
    `options` become Connection.options."""
    connection = resolve_connection("salesforce", state_dir=state_dir, environ={})
    return SalesforceDestination.from_connection(replace(connection, options={"bulk_poll_interval": 0.001, **options}))
