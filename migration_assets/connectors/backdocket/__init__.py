"""BackDocket source connector.

Endpoints used (see `settings`; our design, BackDocket publishes no REST API):
`POST /oauth/token` (client credentials), `GET /api/v1/<resource>?limit=&cursor=&updated_since=` for
every object of `CATALOG`, `GET /api/v1/deleted?since=` and `GET /api/v1/documents/{id}/content`.
Credentials come from BACKDOCKET_CLIENT_ID / BACKDOCKET_CLIENT_SECRET; without them the sandbox
emulator is used.
"""

from migration_assets.connectors.backdocket.client import BackDocketSource
from migration_assets.connectors.backdocket.settings import CATALOG, ENV

__all__ = ["CATALOG", "ENV", "BackDocketSource"]
