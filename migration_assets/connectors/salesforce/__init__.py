"""Salesforce Sales Cloud destination: REST, sObject Collections and Bulk API 2.0.

`SalesforceDestination` implements the DestinationConnector shape against the real wire formats
(reference: shared/reference/salesforce-api.md); pointing it at a real org is configuration only
(`settings.ENV`). Small upserts go through sObject Collections (≤ 200 records per call), large ones
through Bulk API 2.0 upsert jobs; every batch of calls is checked against the org's daily API budget
before it is sent.

Connection options: `bulk_threshold` (rows per upsert at or above which Bulk 2.0 is used; 2000),
`collection_size` (≤ 200), `concurrency`, `daily_budget_reserve` (calls kept free; 0),
`bulk_poll_interval`, `bulk_poll_max_interval`, `bulk_timeout` (seconds), `bulk_poll_estimate`
(polls per job assumed by `estimate_calls`; 3), `max_file_bytes` (25 MB), `file_folder_field`
(ContentVersion field holding the original folder; "Description", used only when the org has it).
"""

from migration_assets.connectors.salesforce.connector import SalesforceDestination
from migration_assets.connectors.salesforce.schema import SchemaChange, SchemaDiff, schema_diff

__all__ = ["SalesforceDestination", "SchemaChange", "SchemaDiff", "schema_diff"]
