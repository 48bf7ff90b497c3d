"""`SalesforceDestination`: the DestinationConnector of Salesforce Sales Cloud.

This module wires the pieces together: schema (describe, diff, Tooling writes), the choice between
sObject Collections and Bulk API 2.0 for upserts, SOQL read-back, deletes, restores, file uploads,
and the daily API budget check made before each batch of calls.

Lost answers (HttpSession re-sends idempotent requests, raises LostResponse for the others):
- Collections upserts by external id (PATCH), updates by Id (PATCH) and deletes are idempotent and
  simply re-sent;
- Bulk API 2.0: a lost job creation is looked up among the org's open jobs before another is made,
  a lost upload aborts its job and starts a new one, a lost close is checked on the job (bulk.py);
- a ContentVersion upload (a streamed POST) is never re-sent: after a lost answer the file is looked
  up by its external id; found, it is the upload's record, otherwise the row fails and the next run
  uploads it (`upload_file`);
- Tooling schema writes (POST) are not re-sent: a lost answer fails `apply_schema`, whose next run
  creates only what is missing.
The request rate is learnt from the org's answers by the HttpSession limiter; `Sforce-Limit-Info` is
read into the limiter's snapshot as a budget (`daily_usage_hint`), and ApiBudget acts on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from migration_assets.connectors.base import (
    DestinationConnector,
    DestinationSchema,
    DestinationUser,
    FileUpload,
    SchemaPlan,
    TableRequirement,
    UpsertRow,
    WriteResult,
)
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.http import HttpSession, OAuthClientCredentials, RateHint
from migration_assets.connectors.salesforce import bulk, collections, files, schema, soql
from migration_assets.connectors.salesforce import settings as s
from migration_assets.connectors.salesforce.budget import ApiBudget, parse_limit_info
from migration_assets.connectors.salesforce.client import SalesforceClient
from migration_assets.errors import LostResponse, MigrationError

SCHEMA_ATTEMPTS = 5  # schema passes after lost answers (each re-describes and creates what is missing)


def daily_usage_hint(headers: httpx.Headers) -> RateHint | None:
    """The daily API budget of `Sforce-Limit-Info` as a RateHint: a 24 h window, so the limiter only
    reports it (ApiBudget stops the load resumably instead of crawling at 1/86,400 of the budget)."""
    parsed = parse_limit_info(headers.get(s.LIMIT_INFO_HEADER))
    if parsed is None:
        return None
    used, limit = parsed
    return RateHint(remaining=max(limit - used, 0), limit=limit, window_seconds=s.DAILY_WINDOW_SECONDS)


def _new_stats() -> dict[str, float]:
    return {"calls": 0, "rows": 0, "ok": 0, "failed": 0, "jobs": 0, "polls": 0, "requests": 0, "seconds": 0.0}


class SalesforceDestination(DestinationConnector):
    """Writes to a Salesforce org.

    Args:
        session: an HttpSession authenticating with OAuth client credentials.
        login_url: the login host (data calls go to the token's `instance_url`).
        options: connection options (see the package docstring).

    Attributes:
        last_path: "bulk" or "collections", the path the last upsert used.
        path_stats: per-path counters for the benchmark.
    """

    system = s.SYSTEM
    user_table = "User"

    def __init__(self, session: HttpSession, *, login_url: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(session)
        opts = dict(options or {})
        self.bulk_threshold = int(opts.get("bulk_threshold", s.DEFAULT_BULK_THRESHOLD))
        self.collection_size = min(int(opts.get("collection_size", s.DEFAULT_COLLECTION_SIZE)), s.MAX_COLLECTION_SIZE)
        self.poll = bulk.PollPolicy(
            interval=float(opts.get("bulk_poll_interval", s.DEFAULT_POLL_INTERVAL)),
            max_interval=float(opts.get("bulk_poll_max_interval", s.DEFAULT_POLL_MAX_INTERVAL)),
            timeout=float(opts.get("bulk_timeout", s.DEFAULT_BULK_TIMEOUT)),
        )
        self.poll_estimate = int(opts.get("bulk_poll_estimate", s.DEFAULT_POLL_ESTIMATE))
        self.max_file_bytes = int(opts.get("max_file_bytes", s.DEFAULT_MAX_FILE_BYTES))
        self.folder_field = str(opts.get("file_folder_field", "Description"))
        self.budget_tracker = ApiBudget(reserve=int(opts.get("daily_budget_reserve", s.DEFAULT_BUDGET_RESERVE)))
        self.client = SalesforceClient(session, login_url=login_url, budget=self.budget_tracker)
        self.last_path: str | None = None
        self.path_stats: dict[str, dict[str, float]] = {"bulk": _new_stats(), "collections": _new_stats()}
        self._describes: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_connection(cls, connection: Connection) -> SalesforceDestination:
        """Build the connector for a real org or the sandbox.

        Args:
            connection: base_url = login host; token_url optional (login host + /services/oauth2/token).

        Returns:
            The connector.

        Raises:
            MigrationError: client id or secret missing.
        """
        if not connection.client_id or not connection.client_secret:
            raise MigrationError("salesforce: SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET are required")
        options = dict(connection.options or {})
        auth = OAuthClientCredentials(
            token_url=connection.token_url or connection.base_url.rstrip("/") + s.TOKEN_PATH,
            client_id=connection.client_id,
            client_secret=SecretStr(connection.client_secret.get_secret_value()),
        )
        http = s.HTTP.with_options(options)
        session = HttpSession(
            s.SYSTEM, connection.http_client(), auth=auth, rate_hints=daily_usage_hint, **http.session_kwargs()
        )
        return cls(session, login_url=connection.base_url, options=options)

    # -- budget ---------------------------------------------------------------------------------
    def budget(self) -> dict[str, int | None]:
        """The latest known daily API usage: `{"used", "max", "remaining"}`."""
        return self.budget_tracker.snapshot()

    async def refresh_budget(self) -> dict[str, int | None]:
        """Re-read the daily usage from `GET /limits` and return `budget()`."""
        await self.client.refresh_limits()
        return self.budget()

    def estimate_calls(self, n_rows: int, path: str | None = None) -> int:
        """API calls an upsert of `n_rows` rows will make.

        Args:
            n_rows: number of rows.
            path: "bulk" or "collections"; by default the path `upsert` would choose.

        Returns:
            ceil(n/collection_size) for Collections; (5 + assumed polls) per Bulk job.
        """
        if n_rows <= 0:
            return 0
        path = path or self._path_for(n_rows)
        if path == "collections":
            return math.ceil(n_rows / self.collection_size)
        return math.ceil(n_rows / s.BULK_MAX_ROWS) * (s.BULK_CALLS_PER_JOB + self.poll_estimate)

    async def estimate_load(self, table: str, batch_rows: Sequence[int]) -> dict[str, Any]:
        """API calls a pipeline load of these upsert batches will make, against the budget left.

        Per batch the loader reads the current records (one query per 200 rows) and upserts them
        (`estimate_calls`: Collections or Bulk API 2.0 by `bulk_threshold`). Objects with create-only
        fields (AccountContactRelation, Note) need one more query per batch, not counted here.

        Args:
            table: the object loaded (for the words of the estimate).
            batch_rows: rows per upsert batch.

        Returns:
            `{"table", "rows", "batches", "bulk_batches", "collections_batches", "calls", "used", "max",
            "remaining", "reserve", "fits"}`; remaining/fits are None when the org reports no limit.
        """
        await self.refresh_budget()
        reads = sum(math.ceil(n / s.SOQL_IN_VALUES) for n in batch_rows)
        writes = sum(self.estimate_calls(n) for n in batch_rows)
        bulk = sum(1 for n in batch_rows if self._path_for(n) == "bulk")
        daily = self.budget()
        reserve = self.budget_tracker.reserve
        remaining = None if daily["remaining"] is None else max(daily["remaining"] - reserve, 0)
        return {
            "table": table,
            "rows": sum(batch_rows),
            "batches": len(batch_rows),
            "bulk_batches": bulk,
            "collections_batches": len(batch_rows) - bulk,
            "calls": reads + writes,
            "used": daily["used"],
            "max": daily["max"],
            "remaining": remaining,
            "reserve": reserve,
            "fits": None if remaining is None else reads + writes <= remaining,
        }

    def _path_for(self, n_rows: int) -> str:
        return "bulk" if n_rows >= self.bulk_threshold else "collections"

    # -- schema ---------------------------------------------------------------------------------
    async def describe(self, tables: Sequence[str] | None = None) -> DestinationSchema:
        """Describe `tables` (default: the migration's standard objects plus every custom object).

        Returns:
            Tables that exist (missing ones are absent) and facts: DailyApiRequests, api_version.
        """
        names = list(tables) if tables is not None else await self._default_tables()
        await self.client.ensure_budget(len(names) + 1, f"describe of {len(names)} objects")
        bodies = await asyncio.gather(*(self._describe_raw(n, refresh=True) for n in names))
        found = {n: schema.to_table(b) for n, b in zip(names, bodies, strict=True) if b is not None}
        await self.client.refresh_limits()
        daily = self.budget()
        facts = {
            "DailyApiRequests": {"Max": daily["max"], "Remaining": daily["remaining"]},
            "daily_requests_remaining": daily["remaining"],
            "api_version": s.API_VERSION,
        }
        return DestinationSchema(tables=found, facts=facts)

    async def _default_tables(self) -> list[str]:
        body = await self.client.json("GET", "/sobjects")
        available = {o["name"]: o for o in body.get("sobjects", [])}
        custom = [n for n, o in available.items() if o.get("custom")]
        return [n for n in s.DEFAULT_TABLES if n in available] + sorted(custom)

    async def _describe_raw(self, name: str, *, refresh: bool = False) -> dict[str, Any] | None:
        if refresh or name not in self._describes:
            body = await schema.describe_table(self.client, name)
            if body is None:
                self._describes.pop(name, None)
                return None
            self._describes[name] = body
        return self._describes[name]

    async def apply_schema(self, required: Sequence[TableRequirement]) -> list[str]:
        """Create missing custom objects, fields, external ids and picklist values (idempotent).

        A Tooling API write whose answer is lost (LostResponse) may have been applied: the org is
        described again and only what is still missing is created, a few times at most.

        Returns:
            One line per change made (empty when the org already matches).

        Raises:
            MigrationError: the requirements conflict with the org (nothing is created then).
        """
        done: list[str] = []
        for attempt in range(SCHEMA_ATTEMPTS):
            try:
                await self._apply_missing(required, done)
                return done
            except LostResponse:
                if attempt == SCHEMA_ATTEMPTS - 1:
                    raise
            finally:
                self._describes.clear()  # describe afresh: a lost write may have happened
        return done

    async def _apply_missing(self, required: Sequence[TableRequirement], done: list[str]) -> None:
        current = await self.describe([t.name for t in required])
        diff = schema.schema_diff(current, required)
        if diff.conflicting:
            problems = "; ".join(f"{c.table}.{c.column or ''}: {c.detail}" for c in diff.conflicting)
            raise MigrationError(f"salesforce: schema conflicts need a decision before loading: {problems}")
        changes = schema.creation_order(diff.to_create)
        if not changes:
            return
        await self.client.ensure_budget(2 * len(changes), f"{len(changes)} schema changes")
        writer = schema.SchemaWriter(self.client, self._describes, required)
        for change in changes:  # in order: objects before fields
            done.append(await writer.apply(change))

    async def plan_schema(self, required: Sequence[TableRequirement]) -> SchemaPlan:
        """The schema diff (describe only, nothing created) in the generic SchemaPlan shape."""
        current = await self.describe([t.name for t in required])
        diff = schema.schema_diff(current, required).as_dict()

        def item(change: dict[str, Any]) -> dict[str, Any]:
            return {**change, "name": change.get("column") or change["table"]}

        existing = [{"kind": "item", "table": e.split(".")[0], "name": e, "detail": ""} for e in diff["existing"]]
        return SchemaPlan(
            existing,
            [item(c) for c in diff["to_create"]],
            [item(c) for c in diff["conflicting"]],
            dict(current.facts),
        )

    # -- writes ---------------------------------------------------------------------------------
    async def upsert(self, table: str, key: str, rows: Sequence[UpsertRow]) -> list[WriteResult]:
        """Upsert rows on the external-id field `key`: Bulk API 2.0 at or above `bulk_threshold`
        rows, sObject Collections below. Rows without an external id fail alone, unsent.

        Returns:
            One WriteResult per row, in input order.

        Raises:
            BudgetExhausted: the calls needed do not fit the daily budget (nothing was sent).
            RemoteRejected: the org refused a whole request (unknown object, field or key).
        """
        sendable = [row for row in rows if str(row.external_id or "").strip()]
        prepared = await self._without_create_only(table, key, sendable)
        path = self._path_for(len(sendable))
        needed = self.estimate_calls(len(sendable), path)
        if needed:
            await self.client.ensure_budget(needed, f"upsert of {len(sendable)} {table} rows")
        self.last_path = path
        started, requests = time.monotonic(), self.session.stats.requests
        if path == "bulk":
            sent = await self._upsert_bulk(table, key, prepared)
        else:
            sent = await self._upsert_collections(table, key, prepared)
        self._record(path, sent, time.monotonic() - started, self.session.stats.requests - requests)
        by_row = {id(row): result for row, result in zip(sendable, sent, strict=True)}
        return [by_row.get(id(row)) or WriteResult(row.external_id, False, error="empty external id") for row in rows]

    def create_only_columns(self, table: str) -> frozenset[str]:
        """Createable but not updateable fields (described ones, else the platform's documented)."""
        described = self._describes.get(table)
        if described is None:
            return frozenset(s.CREATE_ONLY_FIELDS.get(table, ()))
        return frozenset(
            f["name"] for f in described.get("fields", []) if f.get("createable") and not f.get("updateable")
        )

    async def _without_create_only(self, table: str, key: str, rows: Sequence[UpsertRow]) -> list[UpsertRow]:
        """Rows whose record already exists, minus their create-only fields.

        Salesforce refuses an update that sets a createable-but-not-updateable field (e.g.
        AccountContactRelation.AccountId, Note.ParentId), even to its current value, so a re-run or
        a delta would fail those rows; new records still get every field. Costs one query per 200
        keys, only for tables where such a field is sent.
        """
        sent = {name for row in rows for name in (*row.fields, *row.lookups)}
        described = self._describes.get(table)
        if described is None:  # not described by this connector: the platform's documented fields
            frozen = set(s.CREATE_ONLY_FIELDS.get(table, ())) & sent
        else:
            frozen = {
                f["name"]
                for f in described.get("fields", [])
                if f.get("createable") and not f.get("updateable") and f["name"] in sent
            }
        if not frozen or not rows:
            return list(rows)
        existing = set(await self.read_back(table, key, [row.external_id for row in rows], []))
        return [
            dataclasses.replace(
                row,
                fields={k: v for k, v in row.fields.items() if k not in frozen},
                lookups={k: v for k, v in row.lookups.items() if k not in frozen},
            )
            if row.external_id in existing
            else row
            for row in rows
        ]

    async def _upsert_collections(self, table: str, key: str, rows: Sequence[UpsertRow]) -> list[WriteResult]:
        parts = collections.chunks(rows, self.collection_size)
        answers = await asyncio.gather(*(collections.upsert_chunk(self.client, table, key, p) for p in parts))
        return [r for part in answers for r in part]

    async def _upsert_bulk(self, table: str, key: str, rows: Sequence[UpsertRow]) -> list[WriteResult]:
        jobs = bulk.split_jobs(key, rows)
        answers = await asyncio.gather(*(bulk.run_upsert_job(self.client, table, key, j, self.poll) for j in jobs))
        self.path_stats["bulk"]["jobs"] += len(jobs)
        self.path_stats["bulk"]["polls"] += sum(polls for _, polls in answers)
        return [r for results, _ in answers for r in results]

    def _record(self, path: str, results: Sequence[WriteResult], seconds: float, requests: int) -> None:
        stats = self.path_stats[path]
        stats["calls"] += 1
        stats["rows"] += len(results)
        stats["ok"] += sum(r.ok for r in results)
        stats["failed"] += sum(not r.ok for r in results)
        stats["requests"] += requests
        stats["seconds"] = round(stats["seconds"] + seconds, 3)

    async def delete(self, table: str, ids: Sequence[str]) -> list[WriteResult]:
        """Delete by id through Collections (≤ 200 per call); already-deleted ids count as deleted.
        A ContentVersion cannot be deleted: its ContentDocument is (with every version and link)."""
        if table == "ContentVersion":
            return await self._delete_files(ids)
        parts = collections.chunks(list(ids), s.MAX_COLLECTION_SIZE)
        await self.client.ensure_budget(len(parts), f"delete of {len(ids)} {table} records")
        answers = await asyncio.gather(*(collections.delete_chunk(self.client, p) for p in parts))
        return [r for part in answers for r in part]

    async def _delete_files(self, version_ids: Sequence[str]) -> list[WriteResult]:
        versions = await self.read_by_ids("ContentVersion", version_ids, ["ContentDocumentId"])
        documents = {v: r["ContentDocumentId"] for v, r in versions.items() if r.get("ContentDocumentId")}
        deleted = {r.external_id: r for r in await self.delete("ContentDocument", sorted(set(documents.values())))}
        results = []
        for version in version_ids:
            outcome = deleted.get(documents.get(version, ""))
            ok = outcome is None or outcome.ok  # a version already gone counts as deleted
            results.append(WriteResult(version, ok, version, "deleted", None if ok else outcome.error))
        return results

    async def restore(self, table: str, before_images: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Update records back to their before-images by Id; a deleted record is reported, not undeleted."""
        parts = collections.chunks(list(before_images), s.MAX_COLLECTION_SIZE)
        await self.client.ensure_budget(len(parts), f"restore of {len(before_images)} {table} records")
        answers = await asyncio.gather(*(collections.update_chunk(self.client, table, p) for p in parts))
        return [r for part in answers for r in part]

    async def upload_file(self, upload: FileUpload) -> WriteResult:
        """Create a ContentVersion linked to the parent record; oversize files are refused unsent.

        A file whose external id (`upload.key`) is already on a ContentVersion is not sent again:
        the external id is unique across versions, so a second version could not carry it; the
        existing version is reported as the file's record ("updated")."""
        await self.client.ensure_budget(2, f"upload of {upload.file_name!r}")
        described = await self._describe_raw("ContentVersion")
        names = {f["name"] for f in (described or {}).get("fields", [])}
        if upload.key in names:
            found = await self.read_back("ContentVersion", upload.key, [upload.external_id], [])
            if upload.external_id in found:
                version = found[upload.external_id]["id"]
                return WriteResult(upload.external_id, True, version, "updated")
        folder_field = self.folder_field if self.folder_field in names else None
        try:
            return await files.upload_content_version(
                self.client, upload, max_bytes=self.max_file_bytes, folder_field=folder_field
            )
        except LostResponse as lost:
            return await self._after_lost_upload(upload, upload.key in names, lost)

    async def _after_lost_upload(self, upload: FileUpload, keyed: bool, lost: LostResponse) -> WriteResult:
        """The outcome of an upload whose answer was lost: the ContentVersion carrying its external
        id if the org has it, else a failed row (the bytes were a stream: the next run sends them)."""
        if keyed:
            found = await self.read_back("ContentVersion", upload.key, [upload.external_id], [])
            if upload.external_id in found:
                return WriteResult(upload.external_id, True, found[upload.external_id]["id"], "created")
            reason = f"no ContentVersion has {upload.key} = {upload.external_id}; the next run uploads it"
        else:
            reason = "the org has no external id field on ContentVersion to check it; it may exist"
        return WriteResult(upload.external_id, False, error=f"the answer to the upload was lost ({lost}): {reason}")

    async def read_files(self, table: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """ContentVersions by Id: PathOnClient as name, ContentSize, FirstPublishLocationId as parent and
        the folder kept in the folder field ("Original folder: ..."), when the org has one."""
        described = await self._describe_raw("ContentVersion")
        names = {f["name"] for f in (described or {}).get("fields", [])}
        folder_field = self.folder_field if self.folder_field in names else None
        columns = ["PathOnClient", "ContentSize", "FirstPublishLocationId", *([folder_field] if folder_field else [])]
        rows = await self.read_by_ids(table, ids, columns)
        return {
            i: {
                "name": r.get("PathOnClient"),
                "size": r.get("ContentSize"),
                "parent_id": r.get("FirstPublishLocationId"),
                "folder": str(r.get(folder_field) or "").removeprefix("Original folder: ") if folder_field else None,
            }
            for i, r in rows.items()
        }

    # -- reads ----------------------------------------------------------------------------------
    async def read_back(
        self, table: str, key: str, external_ids: Sequence[str], columns: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Records whose `key` is in `external_ids`: `{external_id: {"id": Id, column: value}}`."""
        fields = soql.unique_fields(["Id", key, *columns])
        out: dict[str, dict[str, Any]] = {}
        for chunk in soql.in_chunks(list(dict.fromkeys(external_ids))):
            for record in await self._query(soql.select(fields, table, soql.in_list(key, chunk))):
                out[str(record[key])] = {
                    "id": record["Id"],
                    **{c: record.get(c) for c in fields if c != "Id"},
                }
        return out

    async def read_by_ids(self, table: str, ids: Sequence[str], columns: Sequence[str]) -> dict[str, dict]:
        """Records by Id: `{id: {column: value}}`; missing ids are absent."""
        fields = soql.unique_fields(["Id", *columns])
        out: dict[str, dict] = {}
        for chunk in soql.in_chunks(list(dict.fromkeys(ids))):
            for record in await self._query(soql.select(fields, table, soql.in_list("Id", chunk))):
                out[record["Id"]] = {c: record.get(c) for c in fields if c != "Id" or "Id" in columns}
        return out

    async def users(self) -> list[DestinationUser]:
        """Every user of the org (`SELECT Id, Email, Name, IsActive FROM User`), active or not."""
        records = await self._query("SELECT Id, Email, Name, IsActive FROM User")
        return [
            DestinationUser(str(r["Id"]), r.get("Email") or None, r.get("Name") or None, bool(r.get("IsActive")))
            for r in records
        ]

    async def count(self, table: str, key: str) -> int:
        """`SELECT COUNT() FROM <table> WHERE <key> != null`."""
        await self.client.ensure_budget(1, f"count of {table}")
        return await soql.count(self.client, f"SELECT COUNT() FROM {table} WHERE {key} != null")

    async def _query(self, text: str) -> list[dict[str, Any]]:
        await self.client.ensure_budget(1, "a query")
        return await soql.query_records(self.client, text)
