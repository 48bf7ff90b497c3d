"""Dynamics 365 Sales (Dataverse) declares itself: connector, environment, catalog and sandbox."""

from __future__ import annotations

from migration_assets.systems import EnvNames, SandboxDeclaration, SystemDeclaration

SYSTEM = SystemDeclaration(
    name="dynamics365",
    title="Dynamics 365 Sales (Dataverse)",
    role="destination",
    connector=".client:DataverseDestination",
    # DATAVERSE_EXTRA_CREDENTIALS: further application users (Microsoft: more throughput = more
    # application users), used when the spec's destination_options set `identities`
    env=EnvNames.oauth(
        "DATAVERSE", base_url="URL", extra_credentials="DATAVERSE_EXTRA_CREDENTIALS", optional=("extra_credentials",)
    ),
    sandbox=SandboxDeclaration(
        host="http://dataverse.sandbox",
        api_prefix="/api/data/v9.2",
        token_path="/sandbox-tenant/oauth2/v2.0/token",
        credentials={"client_id": "dv-sandbox-client", "client_secret": "dv-sandbox-secret"},
        # application users 2..8, accepted when the sandbox's option `app_users` enables them
        extra_credentials=tuple(
            {"client_id": f"dv-sandbox-client-{n}", "client_secret": f"dv-sandbox-secret-{n}"} for n in range(2, 9)
        ),
    ),
)
