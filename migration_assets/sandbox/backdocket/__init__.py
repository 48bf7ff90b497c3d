"""BackDocket sandbox: the strict emulator (`app.create_app`), its seeded dataset (`generator`) and
the seeding hooks (`seed`).

BackDocket publishes no REST API; the API emulated here is our design (shared/reference/
source-systems.md sections 0 and 2), with OAuth client credentials like its MCP server.

Modules: `app` (routes), `auth` (token endpoint, bearer checks), `guard` (auth + per-client rate
limit), `params` (strict query parsing, cursors), `render` (error shapes), `store` (SQLite
documents, options), `resources` (names, ids), `content` (document bytes made on the fly),
`gen_*` and `generator` (dataset), `mutate` and `simulate` (changes with a given clock), `seed`
(hooks).
"""

from migration_assets.sandbox.backdocket.app import create_app
from migration_assets.sandbox.backdocket.auth import expire_tokens
from migration_assets.sandbox.backdocket.generator import build, generate, people
from migration_assets.sandbox.backdocket.resources import RESOURCES

__all__ = ["RESOURCES", "build", "create_app", "expire_tokens", "generate", "people"]
