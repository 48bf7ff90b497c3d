"""Dataverse (Dynamics 365 Sales) destination connector.

Modules: `system` (the declaration), `client` (DataverseDestination, DataverseApi), `settings`
(environment names, API path, limits, type mapping, Publisher), `metadata` (describe, plan and
apply schema), `schema` (schema_diff, metadata bodies), `writer` (metadata writes), `loading`
(change sets with isolation, primary-key upserts), `records` (record bodies and results), `batch`
(multipart `$batch`), `odata` (literal quoting), `associations` (N:N pseudo-tables), `parties`
(activity parties), `documents` (document store uploads, locations, file deletion) and
`attachments` (files as notes). `catalog.yaml` lists the standard tables specs may use.
"""

from migration_assets.connectors.dataverse.client import DataverseDestination
from migration_assets.connectors.dataverse.schema import SchemaDiff, SchemaItem, schema_diff
from migration_assets.connectors.dataverse.settings import Publisher

__all__ = ["DataverseDestination", "Publisher", "SchemaDiff", "SchemaItem", "schema_diff"]
