"""Salesforce Sales Cloud, declared once (see `migration_assets.systems`)."""

from migration_assets.systems import EnvNames, SandboxDeclaration, SystemDeclaration

SYSTEM = SystemDeclaration(
    name="salesforce",
    title="Salesforce Sales Cloud",
    role="destination",
    connector=".connector:SalesforceDestination",
    # the token URL defaults to the login URL's /services/oauth2/token
    env=EnvNames.oauth("SALESFORCE", base_url="LOGIN_URL", optional=("token_url",)),
    sandbox=SandboxDeclaration(
        host="http://salesforce.sandbox",
        token_path="/services/oauth2/token",
        credentials={"client_id": "sf-sandbox-client", "client_secret": "sf-sandbox-secret"},
    ),
)
