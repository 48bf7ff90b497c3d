"""Freshsales (Freshworks CRM) destination: REST under `/crm/sales/api`, bulk upsert jobs, documents.

`FreshsalesDestination` implements the DestinationConnector shape against the real wire formats
(reference: shared/reference/freshsales-api.md); pointing it at a real account is configuration only
(FRESHSALES_BASE_URL = the bundle URL, FRESHSALES_API_KEY = a user's API key).

Tables are the API's singular resource names: contact, sales_account, deal, sales_activity, task,
appointment, note, document (and user, the owners). Rows are keyed on the external-id column given as
`key`, a unique text custom field (`cf_source_system_id` for seed 002); task, appointment and note
have no custom fields, so they keep the external id as a last `[key=value]` line of their
description. Documents cannot carry one: they are found again by parent record, name and size.

Lookup columns (one LookupRef per column; details in rows.py):
    owner_id                          -> a user id
    sales_account_id (deal), parent_sales_account_id -> the account id
    targetable_id (sales_activity, task, appointment, note)
                                      -> targetable_type from LookupRef.table (Contact, SalesAccount,
                                         Deal) and targetable_id
    contact: sales_account_id, sales_account_id_2, ...
                                      -> sales_accounts [{id, is_primary}] (the first is primary)
    deal: contact_ids, contact_ids_2, ...   -> contact_ids (primary client first, then the secondary
                                         clients: the deal-contact associations)
    appointment: attendee_contact_id[_n], attendee_user_id[_n] -> appointment_attendees_attributes
Numbered columns are written in order (empty ones skipped) and read back in the same order, so the
loader's read-back, before-images and rollback round-trip them as plain lookup columns.

Hourly budget: Freshsales limits requests per account per hour by plan (1,000 / 2,000 / 5,000) with
about 400 per minute on paid plans. The connector counts its requests in a sliding window (using the
server's `X-RateLimit-Remaining` when an answer carries it) and refuses a batch that would not fit
with `BudgetExhausted` (requests used and left, and `resume_after` = when the window has room); a 429
that outlasts `throttle_wait_seconds` becomes the same error. A later run resumes: upserts are
idempotent on the key.

Connection options: `plan` (sprout, blossom, garden (default), estate, forest), `hourly_limit`,
`minute_limit`, `hourly_window_seconds` (3600), `hourly_budget_reserve` (0), `bulk_threshold` (rows
from which bulk_upsert is used; 4), `bulk_poll_interval` (1 s, doubling), `bulk_poll_max_interval`,
`bulk_timeout`, `bulk_poll_estimate` (polls per job assumed by estimates; 2), `throttle_wait_seconds`
(90), `concurrency` (4), `rate_per_second` (unset: learnt from the answers; a hard ceiling when
set), `max_file_bytes` (20 MB).
"""

from migration_assets.connectors.freshsales.connector import FreshsalesDestination
from migration_assets.connectors.freshsales.rows import Choices, RowError
from migration_assets.connectors.freshsales.schema import cf_name

__all__ = ["Choices", "FreshsalesDestination", "RowError", "cf_name"]
