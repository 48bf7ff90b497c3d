"""Dataverse (Dynamics 365 Sales) destination connector.

Modules: `client` (DataverseDestination, DataverseApi), `settings` (environment names, API path,
limits, type mapping), `metadata` (describe, apply_schema), `schema` (schema_diff, metadata writes),
`records` (record bodies and results), `batch` (multipart `$batch`), `odata` (literal quoting),
`documents` (document store uploads and document locations).
"""

from migration_assets.connectors.dataverse.client import DataverseDestination
from migration_assets.connectors.dataverse.schema import SchemaDiff, SchemaItem, schema_diff

__all__ = ["DataverseDestination", "SchemaDiff", "SchemaItem", "schema_diff"]
