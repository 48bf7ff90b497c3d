"""Case Status source connector.

Endpoints used (see `settings`): `GET /v1/api/<resource>?page[number]=N&size=100` for every object
of `CATALOG`, `GET /v1/api/portal-config`, `GET /v1/api/deleted?since=` (emulator extension) and
`GET /v1/api/files/{id}/content` for downloads; the derived views of `derived.py` (inline note
images, NPS answers per client) read the notes and NPS responses and add no endpoint of their own.
Authentication is `Authorization: ApiKey <key>` from `CASE_STATUS_API_KEY`; without it the sandbox
emulator is used.
"""

from migration_assets.connectors.case_status.client import CaseStatusSource
from migration_assets.connectors.case_status.settings import CATALOG

__all__ = ["CATALOG", "CaseStatusSource"]
