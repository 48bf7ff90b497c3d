"""Strict emulator of the Freshsales (Freshworks CRM) REST API over one SQLite file.

Module map: app (routes, metadata), api (request pipeline: API key, limits, errors), limits (hourly
and per-minute windows), errors (the errors envelope), model (entities, standard fields, fixed
selector data), schema (field settings, custom fields, pipelines, selectors), validate (body rules),
records (writes, upsert, deletes, rendering), routes (record endpoints, views, lists, search), bulk
(bulk_upsert and job statuses), documents (multipart files), users, admin (the admin's schema setup
from a plan), store (SQLite), seed (hooks), testing (in-process client for tests).

Real (shared/reference/freshsales-api.md): `Authorization: Token token=<key>` on `/crm/sales/api/...`;
bodies and responses wrapped in the singular key, lists under the plural key with
`meta.total_pages`/`meta.total`; `custom_field` with `cf_` names; large integer ids and ISO
timestamps with offset; upsert by `unique_identifier` (`emails`, `name`); bulk upsert of at most 100
records with a polled job whose `data` is a JSON string (`record_status`, `detailed_failure_report`);
views (`/filters`, `/view/{id}`), `filtered_search` with `is_in` and thin results; field settings;
the selectors (owners under `users`, pipelines embedding their stages, sales activity types); the
required deal, task and note fields; multipart documents; per-account hourly limits by plan and a
per-minute cap answered 429; the errors envelope with observed messages (`Email is not unique`,
`You are not authorised to perform this operation.` for a non-admin key on `/selector/owners`).

Our choices where the reference is silent or unconfirmed (each module says more): the 401 body and
messages; an unwrapped body refused with 400; unknown top-level attributes refused; a unique custom
field as an upsert identifier (`{"custom_field": {"cf_x": v}}`); custom field types and their
checks (dropdowns take the option text); contact, sales activity and appointment required fields;
stage/pipeline defaults; task types from the sales activity types selector and task `status` 0/1;
job statuses (`IN_PROGRESS`, applied on the N-th poll) and the failure report items; the
`is_not_empty` search operator; `bulk_destroy` with `selected_ids`; 204 deletes; file limits (413 per
file, 400 over the plan's storage) and the download route; Retry-After on 429 and the
`X-RateLimit-Remaining` header; Sprout answered 403; deletes cascading to links and attached
activities; the admin route `POST /sandbox/field_plan`.

Options (`seed.reset(path, **options)`, read at request time): plan, hourly_limit, minute_limit,
hourly_window_seconds, minute_window_seconds, bulk_polls_until_done, max_file_bytes,
storage_limit_bytes, utc_offset, api_key, and the fault options faults, faults_seed,
faults_retry_after.
"""
