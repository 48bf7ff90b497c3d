"""The declaration of the Interactive source (seed 004), emulated with HubSpot CRM v3 conventions.

`INTERACTIVE_TOKEN` holds a private-app access token: it goes in the `api_key` slot of `EnvNames`
(the connector sends it as `Authorization: Bearer <token>`); there is no OAuth client here.
"""

from __future__ import annotations

from migration_assets.connectors.interactive.settings import ENV
from migration_assets.systems import SandboxDeclaration, SystemDeclaration

SANDBOX_TOKEN = "pat-na1-00000000-sandbox-interactive"  # the emulator's `guard.SANDBOX_TOKEN`

SYSTEM = SystemDeclaration(
    name="interactive",
    title="Interactive (HubSpot CRM v3 shaped)",
    role="source",
    connector=".client:InteractiveSource",
    env=ENV,
    sandbox=SandboxDeclaration(
        host="http://interactive.sandbox",
        credentials={"api_key": SANDBOX_TOKEN},
    ),
    column_prefix="ia",
)
