"""Strict emulator of Salesforce Sales Cloud: REST API, SOQL subset, sObject Collections, Bulk API 2.0
ingest, Tooling-shaped custom schema and ContentVersion files, over one SQLite file.

Module map: app (routes), api (request pipeline), auth (OAuth), limits (daily budget), store (SQLite),
ids, schema/standard/custom/describe (objects and fields), validate + records (writes), render,
sobjects (REST resources), soql + query (SOQL), collections, bulk + bulk_csv (Bulk 2.0), tooling,
files + files_api (ContentVersion), seed (admin functions), testing (in-process client for tests).

Real (reference/salesforce-api.md): paths, bodies, status codes and error arrays of the REST API,
Collections (`statusCode` items, allOrNone), Bulk 2.0 (JobInfo, states, result CSVs, CSV rules),
`Sforce-Limit-Info`, `/limits`, describe attributes, id key prefixes and the 18-character checksum.
Invented (each module's docstring has the details): the sandbox client credentials and session
lifetime; the Tooling endpoints being synchronous; `/limits` not counted and the usage "day" ended by
`seed.reset_usage`; job processing on poll; FILE_SIZE_LIMIT_EXCEEDED at `max_file_bytes`; a few error
codes where the real one is unconfirmed (INVALIDJOB / INVALIDJOBSTATE, INVALID_ROW).

Options (`SqliteState.set_options` or `seed.reset(path, **options)`), read at request time:
daily_api_limit, api_usage_start, bulk_batch_records, bulk_poll_until_complete, max_file_bytes,
query_batch_size, set_audit_fields, session_seconds, rate_limit and rate_window_seconds (limits.py), and
faults, faults_seed and faults_retry_after (app.py, FaultInjection).
"""
