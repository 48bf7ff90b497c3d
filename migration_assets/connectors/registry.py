"""Which class serves which system, and how a connection is chosen: a real tenant or the sandbox.

Everything here is derived from the systems' declarations (`systems.py`): a system is reached
through its real API when any of its environment variables is set, and then every one of them
must be; with none set, its strict sandbox emulator is served in process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import httpx
from pydantic import SecretStr

from migration_assets.connectors.base import DestinationConnector, SourceConnector
from migration_assets.connectors.connection import Connection
from migration_assets.errors import MigrationError
from migration_assets.systems import SystemDeclaration, declarations, system


def connectors() -> dict[str, str]:
    """{system: "module:Class"} of every declared system."""
    return {name: d.connector for name, d in declarations().items()}


def resolve_connection(system_name: str, *, state_dir: Path, environ: Mapping[str, str] | None = None) -> Connection:
    """A real connection when the system's environment variables are set, else its sandbox.

    Raises:
        MigrationError: unknown system, or some but not all of its variables are set (the message
            names the missing ones: a typo must never fall back to the sandbox silently).
    """
    declared = system(system_name)
    environ = os.environ if environ is None else environ
    names = declared.env.names()
    present = {field: environ.get(var) for field, var in names.items() if environ.get(var)}
    if not present:
        return _sandbox_connection(declared, state_dir)
    missing = [var for field, var in names.items() if field not in present and field not in declared.env.optional]
    if missing:
        given = ", ".join(names[f] for f in present)
        raise MigrationError(
            f"{declared.title} is partly configured: {given} set but {', '.join(missing)} missing. "
            "Set every one to use the real system, or unset them all to use the sandbox."
        )
    return Connection(
        system=system_name,
        base_url=present["base_url"].rstrip("/"),
        token_url=present.get("token_url"),
        client_id=present.get("client_id"),
        client_secret=SecretStr(present["client_secret"]) if "client_secret" in present else None,
        api_key=SecretStr(present["api_key"]) if "api_key" in present else None,
        extra_credentials=_pairs(present.get("extra_credentials"), names.get("extra_credentials", "")),
    )


def _pairs(text: str | None, variable: str) -> tuple[tuple[str, SecretStr], ...]:
    """`id:secret,id:secret` as pairs.

    Raises:
        MigrationError: an item without both parts (the message names the variable, never a secret).
    """
    out = []
    for item in (text or "").split(","):
        if not item.strip():
            continue
        client_id, sep, secret = item.strip().partition(":")
        if not (sep and client_id and secret):
            raise MigrationError(f"{variable}: each item must be client_id:secret, separated by commas")
        out.append((client_id, SecretStr(secret)))
    return tuple(out)


def _sandbox_connection(declared: SystemDeclaration, state_dir: Path) -> Connection:
    box = declared.sandbox
    creds = box.credentials
    return Connection(
        system=declared.name,
        base_url=box.host,
        token_url=box.host + box.token_path if box.token_path else None,
        client_id=creds.get("client_id"),
        client_secret=SecretStr(creds["client_secret"]) if "client_secret" in creds else None,
        api_key=SecretStr(creds["api_key"]) if "api_key" in creds else None,
        transport=httpx.ASGITransport(app=declared.create_app(state_dir)),
        sandbox=True,
        extra_credentials=tuple((c["client_id"], SecretStr(c["client_secret"])) for c in box.extra_credentials),
    )


def open_source(system_name: str, connection: Connection) -> SourceConnector:
    connector = system(system_name, "source").connector_class().from_connection(connection)
    if not isinstance(connector, SourceConnector):
        raise MigrationError(f"{system_name}'s connector is not a source connector")
    return connector


def open_destination(system_name: str, connection: Connection) -> DestinationConnector:
    connector = system(system_name, "destination").connector_class().from_connection(connection)
    if not isinstance(connector, DestinationConnector):
        raise MigrationError(f"{system_name}'s connector is not a destination connector")
    return connector
