"""BackDocket declares itself: a source reached with OAuth client credentials, its catalog, and its
strict sandbox emulator with the seeding hooks of `migration_assets.sandbox.backdocket.seed`."""

from __future__ import annotations

from migration_assets.connectors.backdocket.settings import API_PREFIX, ENV, TOKEN_PATH
from migration_assets.systems import SandboxDeclaration, SystemDeclaration

SYSTEM = SystemDeclaration(
    name="backdocket",
    title="BackDocket",
    role="source",
    connector=".client:BackDocketSource",
    env=ENV,
    sandbox=SandboxDeclaration(
        host="http://backdocket.sandbox",
        api_prefix=API_PREFIX,
        token_path=TOKEN_PATH,
        credentials={"client_id": "bd-sandbox-client", "client_secret": "bd-sandbox-secret"},
    ),
    column_prefix="bd",
)
