"""Case Status, declared once (see `migration_assets.systems`)."""

from migration_assets.systems import EnvNames, SandboxDeclaration, SystemDeclaration

SYSTEM = SystemDeclaration(
    name="case_status",
    title="Case Status",
    role="source",
    connector="migration_assets.connectors.case_status.client:CaseStatusSource",
    env=EnvNames(base_url="CASE_STATUS_BASE_URL", api_key="CASE_STATUS_API_KEY"),
    catalog="migration_assets.connectors.case_status.settings:CATALOG",
    sandbox=SandboxDeclaration(
        app="migration_assets.sandbox.case_status.app:create_app",
        seeding="migration_assets.sandbox.case_status.seed",
        host="http://case-status.sandbox",
        credentials={"api_key": "cs-sandbox-key"},
    ),
    column_prefix="cs",
)
