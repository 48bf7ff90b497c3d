"""Case Status sandbox: the strict emulator (`app.create_app`), its seeded dataset
(`generator.generate`, `generator.source_users`) and the delta-test mutations (`mutate`).

Modules: `app` (routes), `guard` (ApiKey auth, rate limit), `params` (strict query parsing),
`store` (SQLite documents), `resources` (resource names, reporting rows), `content` (file bytes made
on the fly), `gen_*` and `generator` (dataset), `mutate` (create/update/delete with a given clock).
"""

from migration_assets.sandbox.case_status.app import create_app
from migration_assets.sandbox.case_status.generator import generate, source_users
from migration_assets.sandbox.case_status.resources import LIST_RESOURCES, RESOURCES

__all__ = ["LIST_RESOURCES", "RESOURCES", "create_app", "generate", "source_users"]
