"""The Freshsales destination, declared once (see migration_assets.systems)."""

from migration_assets.systems import EnvNames, SandboxDeclaration, SystemDeclaration

SYSTEM = SystemDeclaration(
    name="freshsales",
    title="Freshsales (Freshworks CRM)",
    role="destination",
    connector=".connector:FreshsalesDestination",
    env=EnvNames(base_url="FRESHSALES_BASE_URL", api_key="FRESHSALES_API_KEY"),
    sandbox=SandboxDeclaration(
        host="http://freshsales.sandbox",
        api_prefix="/crm/sales/api",
        credentials={"api_key": "fs-sandbox-key"},
        # custom fields and pipelines are created by the account's admin from the setup checklist
        admin_schema_hook="migration_assets.sandbox.freshsales.seed:apply_field_plan",
    ),
)
