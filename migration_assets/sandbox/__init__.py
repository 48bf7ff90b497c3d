"""Strict emulators of the source and destination APIs: the embedded default.

With no credentials configured, connectors talk to these apps in process through
`httpx.ASGITransport`, over SQLite files under `var/sandbox/`, so every process shares one state.
`migrate sandbox serve` exposes the same apps on 127.0.0.1 for real HTTP.

Each emulator module says in its docstring which behaviour follows the real API (reference files
in shared/reference) and which is our invention.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migration_assets.errors import MigrationError, known_values


@dataclass(frozen=True)
class SandboxSystem:
    """How to build and reach the emulator of one system.

    Attributes:
        name: system name used in specs ("case_status", "dynamics365", ...).
        module: module exposing `create_app(state_path: Path) -> ASGI app`.
        host: base URL used in process (any host works with the ASGI transport).
        api_prefix: path of the data API under the host ("" or "/api/data/v9.2").
        token_path: OAuth token endpoint path, or None for API-key systems.
        credentials: the sandbox's client id/secret or API key.
    """

    name: str
    module: str
    host: str
    api_prefix: str = ""
    token_path: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)

    def create_app(self, state_dir: Path) -> Any:
        factory: Callable[[Path], Any] = importlib.import_module(self.module).create_app
        return factory(Path(state_dir) / f"{self.name}.sqlite")

    def state_path(self, state_dir: Path) -> Path:
        return Path(state_dir) / f"{self.name}.sqlite"


SANDBOXES: dict[str, SandboxSystem] = {
    "case_status": SandboxSystem(
        name="case_status",
        module="migration_assets.sandbox.case_status.app",
        host="http://case-status.sandbox",
        credentials={"api_key": "cs-sandbox-key"},
    ),
    "dynamics365": SandboxSystem(
        name="dynamics365",
        module="migration_assets.sandbox.dataverse.app",
        host="http://dataverse.sandbox",
        api_prefix="/api/data/v9.2",
        token_path="/sandbox-tenant/oauth2/v2.0/token",
        credentials={"client_id": "dv-sandbox-client", "client_secret": "dv-sandbox-secret"},
    ),
    "salesforce": SandboxSystem(
        name="salesforce",
        module="migration_assets.sandbox.salesforce.app",
        host="http://salesforce.sandbox",
        token_path="/services/oauth2/token",
        credentials={"client_id": "sf-sandbox-client", "client_secret": "sf-sandbox-secret"},
    ),
}


def sandbox(name: str) -> SandboxSystem:
    try:
        return SANDBOXES[name]
    except KeyError:
        raise MigrationError(f"no sandbox for system {name!r} {known_values(SANDBOXES)}") from None
