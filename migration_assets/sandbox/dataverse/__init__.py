"""Strict emulator of the Dataverse Web API v9.2 (Dynamics 365 Sales) with a SharePoint-like
document store.

Modules: `app` (create_app, HTTP plumbing, fault injection), `auth` (token endpoint), `api`
(routing), `records` (record routes), `writes` (validation and storage of one write),
`references` (alternate keys, `@odata.bind`), `values` (column types), `render` (record JSON,
`$expand`), `query`/`odata` (collections, `$filter`, paging), `parties` (activity parties),
`processes` (business process flow references), `relationships` (many-to-many metadata and
`$ref` associations), `actions` (CloseIncident), `metadata`/`customize` (metadata reads/writes),
`batch`, `bulk`, `limits` (service protection per application user), `documents` (Graph-shaped
file store), `standard`/`tables`/`bootstrap` (initial environment), `model`/`store`/`core`
(metadata objects, SQLite layout and connections, request types), `seed` (seeding hooks) and
`testing` (in-process client for tests).
Each module's docstring says which behaviour is real and which is invented.
"""

from migration_assets.sandbox.dataverse.app import create_app

__all__ = ["create_app"]
