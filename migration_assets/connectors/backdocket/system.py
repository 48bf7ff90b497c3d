"""BackDocket declares itself: a source reached with OAuth client credentials, its catalog, and its
strict sandbox emulator with the seeding hooks of `migration_assets.sandbox.backdocket.seed`."""

from __future__ import annotations

from migration_assets.connectors.backdocket.settings import API_PREFIX, ENV, TOKEN_PATH
from migration_assets.systems import SandboxDeclaration, SystemDeclaration

SYSTEM = SystemDeclaration(
    name="backdocket",
    title="BackDocket",
    role="source",
    connector="migration_assets.connectors.backdocket.client:BackDocketSource",
    env=ENV,
    catalog="migration_assets.connectors.backdocket.settings:CATALOG",
    sandbox=SandboxDeclaration(
        app="migration_assets.sandbox.backdocket.app:create_app",
        seeding="migration_assets.sandbox.backdocket.seed",
        host="http://backdocket.sandbox",
        api_prefix=API_PREFIX,
        token_path=TOKEN_PATH,
        credentials={"client_id": "bd-sandbox-client", "client_secret": "bd-sandbox-secret"},
    ),
    column_prefix="bd",
)
