"""Salesforce Sales Cloud, declared once (see `migration_assets.systems`)."""

from migration_assets.systems import EnvNames, SandboxDeclaration, SystemDeclaration

SYSTEM = SystemDeclaration(
    name="salesforce",
    title="Salesforce Sales Cloud",
    role="destination",
    connector="migration_assets.connectors.salesforce.connector:SalesforceDestination",
    env=EnvNames(
        base_url="SALESFORCE_LOGIN_URL",
        token_url="SALESFORCE_TOKEN_URL",
        client_id="SALESFORCE_CLIENT_ID",
        client_secret="SALESFORCE_CLIENT_SECRET",
        optional=("token_url",),  # default: the login URL's /services/oauth2/token
    ),
    catalog="catalog.yaml",
    sandbox=SandboxDeclaration(
        app="migration_assets.sandbox.salesforce.app:create_app",
        seeding="migration_assets.sandbox.salesforce.seed",
        host="http://salesforce.sandbox",
        token_path="/services/oauth2/token",
        credentials={"client_id": "sf-sandbox-client", "client_secret": "sf-sandbox-secret"},
    ),
)
