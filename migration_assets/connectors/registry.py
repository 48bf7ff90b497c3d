"""Which class serves which system, and how a connection is chosen (real tenant or sandbox)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from migration_assets.connectors.base import DestinationConnector, SourceConnector
from migration_assets.errors import MigrationError, known_values
from migration_assets.sandbox import sandbox

# system -> "module:Class"; imported lazily so one system's dependencies never slow another.
CONNECTORS: dict[str, str] = {
    "case_status": "migration_assets.connectors.case_status:CaseStatusSource",
    "dynamics365": "migration_assets.connectors.dataverse:DataverseDestination",
    "salesforce": "migration_assets.connectors.salesforce:SalesforceDestination",
}


@dataclass(frozen=True)
class EnvNames:
    """Names of the environment variables holding one system's endpoint and credentials."""

    base_url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    api_key: str | None = None


@dataclass(frozen=True)
class Connection:
    """Where and how to reach one system; `transport` is set for the in-process sandbox."""

    system: str
    base_url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    api_key: SecretStr | None = None
    transport: httpx.AsyncBaseTransport | None = None
    sandbox: bool = False
    options: Mapping[str, Any] | None = None

    def http_client(self, *, timeout: float = 60.0) -> httpx.AsyncClient:
        # No cookie jar on purpose: Dataverse recommends dropping the affinity cookie.
        return httpx.AsyncClient(
            base_url=self.base_url,
            transport=self.transport,
            timeout=timeout,
            cookies=None,
            follow_redirects=False,
        )

    def describe(self) -> dict[str, Any]:
        """Endpoint facts safe to show in logs and metadata (no secrets)."""
        return {"system": self.system, "base_url": self.base_url, "sandbox": self.sandbox}


def _connector_class(system: str) -> type:
    try:
        module_name, class_name = CONNECTORS[system].split(":")
    except KeyError:
        raise MigrationError(f"no connector for system {system!r} {known_values(CONNECTORS)}") from None
    return getattr(importlib.import_module(module_name), class_name)


def resolve_connection(
    system: str, *, state_dir: Path, environ: Mapping[str, str] | None = None
) -> Connection:
    """A real connection when the system's base URL and credentials are in the environment,
    otherwise the sandbox emulator over the SQLite state in `state_dir`."""
    environ = os.environ if environ is None else environ
    cls = _connector_class(system)
    names: EnvNames = importlib.import_module(cls.__module__.rsplit(".", 1)[0] + ".settings").ENV
    secret_name = names.client_secret or names.api_key
    if environ.get(names.base_url) and secret_name and environ.get(secret_name):
        return Connection(
            system=system,
            base_url=environ[names.base_url].rstrip("/"),
            token_url=environ.get(names.token_url or "") or None,
            client_id=environ.get(names.client_id or "") or None,
            client_secret=SecretStr(environ[names.client_secret]) if names.client_secret else None,
            api_key=SecretStr(environ[names.api_key]) if names.api_key else None,
        )
    box = sandbox(system)
    creds = box.credentials
    return Connection(
        system=system,
        base_url=box.host,
        token_url=box.host + box.token_path if box.token_path else None,
        client_id=creds.get("client_id"),
        client_secret=SecretStr(creds["client_secret"]) if "client_secret" in creds else None,
        api_key=SecretStr(creds["api_key"]) if "api_key" in creds else None,
        transport=httpx.ASGITransport(app=box.create_app(state_dir)),
        sandbox=True,
    )


def open_source(system: str, connection: Connection) -> SourceConnector:
    connector = _connector_class(system).from_connection(connection)
    assert isinstance(connector, SourceConnector)
    return connector


def open_destination(system: str, connection: Connection) -> DestinationConnector:
    connector = _connector_class(system).from_connection(connection)
    assert isinstance(connector, DestinationConnector)
    return connector
