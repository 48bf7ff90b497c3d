"""Interactive source connector (the seed-004 source, emulated as HubSpot CRM v3).

Endpoints used (see `client` and `settings`): `GET /crm/v3/objects/{type}` (cursor paging),
`POST /crm/v3/objects/{type}/search` (delta), `POST /crm/v4/associations/{from}/{to}/batch/read`,
`GET /crm/v3/owners`, `/crm/v3/pipelines/deals`, `/crm/v3/schemas`, `/crm/v3/properties/{type}`,
`/files/v3/files/search`, `/files/v3/files/{id}` (then its `url` for the bytes) and
`/automation/v4/flows`. Authentication is `Authorization: Bearer <private-app token>` from
`INTERACTIVE_TOKEN` (the declaration's `api_key` slot); without it the sandbox emulator is used.
"""

from migration_assets.connectors.interactive.client import InteractiveSource
from migration_assets.connectors.interactive.settings import CATALOG, ENV

__all__ = ["CATALOG", "ENV", "InteractiveSource"]
