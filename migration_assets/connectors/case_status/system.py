"""Case Status, declared once (see `migration_assets.systems`)."""

from migration_assets.systems import EnvNames, SandboxDeclaration, SystemDeclaration

SYSTEM = SystemDeclaration(
    name="case_status",
    title="Case Status",
    role="source",
    connector=".client:CaseStatusSource",
    env=EnvNames(base_url="CASE_STATUS_BASE_URL", api_key="CASE_STATUS_API_KEY"),
    sandbox=SandboxDeclaration(
        host="http://case-status.sandbox",
        credentials={"api_key": "cs-sandbox-key"},
    ),
    column_prefix="cs",
)
