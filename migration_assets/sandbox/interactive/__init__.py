"""Interactive sandbox: a strict emulator shaped like HubSpot's CRM v3 API (`app.create_app`), its
seeded dirty dataset (`generator.generate`) and the seeding hooks (`seed`).

Modules: `app` (routes), `guard` (bearer token, limits, error bodies), `params` (query strings),
`render` (record shape), `crm` (objects: list, get, batch read, search), `search` (search body and
SQL), `meta` (properties, pipelines, owners, schemas, associations v4, files, flows), `objects`
(types, properties, association type ids), `store` (SQLite), `gen_*` and `generator` (dataset),
`mutate` (changes with a given clock), `seed` (reset, generate, people, simulate_delta).
"""

from migration_assets.sandbox.interactive.app import create_app
from migration_assets.sandbox.interactive.generator import generate
from migration_assets.sandbox.interactive.guard import SANDBOX_TOKEN

__all__ = ["SANDBOX_TOKEN", "create_app", "generate"]
