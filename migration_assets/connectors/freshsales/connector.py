"""`FreshsalesDestination`: the DestinationConnector of Freshsales (Freshworks CRM).

This module wires the pieces together: the hourly budget (budget.py) checked before every batch of
requests, schema description and the setup checklist (schema.py), writes (writes.py, bulk.py),
reads (reads.py, index.py), documents (files.py) and the estimates of what a load costs per plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from migration_assets.connectors.base import (
    DestinationConnector,
    DestinationSchema,
    DestinationUser,
    FileUpload,
    SchemaPlan,
    TableInfo,
    TableRequirement,
    UpsertRow,
    WriteResult,
)
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.freshsales import files, reads, schema, writes
from migration_assets.connectors.freshsales import settings as s
from migration_assets.connectors.freshsales.account import Account, Options, table_def
from migration_assets.connectors.freshsales.budget import HourlyBudget
from migration_assets.connectors.freshsales.bulk import PollPolicy
from migration_assets.connectors.freshsales.client import FreshsalesClient
from migration_assets.connectors.http import HeaderAuth, HttpSession, RetryPolicy
from migration_assets.errors import AuthError, MigrationError, SchemaNotRemoved, known_values


def _stats() -> dict[str, float]:
    return {"calls": 0, "rows": 0, "ok": 0, "failed": 0, "requests": 0}


class FreshsalesDestination(DestinationConnector):
    """Writes to one Freshsales account (see the package docstring for options and conventions).

    Args:
        session: the authenticated session (`Authorization: Token token=<key>`), retrying.
        creates: a session over the same client that never retries (non-idempotent creates).
        base_url: the bundle URL.
        options: connection options.

    Attributes:
        last_path: "bulk", "single" or "listed", the path the last upsert used.
        path_stats: per-path counters (calls, rows, ok, failed, requests) for the benchmark.
    """

    system = s.SYSTEM
    user_table = s.USER_TABLE

    def __init__(
        self, session: HttpSession, creates: HttpSession, *, base_url: str, options: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(session)
        opts = dict(options or {})
        self.plan = str(opts.get("plan", s.DEFAULT_PLAN)).lower()
        if self.plan not in s.PLAN_HOURLY:
            raise MigrationError(f"freshsales: unknown plan {self.plan!r} {known_values(s.PLAN_HOURLY)}")
        hourly = opts.get("hourly_limit")
        self.hourly_limit = int(s.PLAN_HOURLY[self.plan] if hourly is None else hourly)
        self.minute_limit = int(opts.get("minute_limit", s.MINUTE_CAP if s.PLAN_HOURLY[self.plan] else 0))
        self.budget_tracker = HourlyBudget(
            self.hourly_limit,
            window=float(opts.get("hourly_window_seconds", s.DEFAULT_WINDOW_SECONDS)),
            reserve=int(opts.get("hourly_budget_reserve", 0)),
        )
        self.client = FreshsalesClient(session, creates, base_url=base_url, budget=self.budget_tracker)
        self.options = Options(
            bulk_threshold=int(opts.get("bulk_threshold", s.DEFAULT_BULK_THRESHOLD)),
            poll=PollPolicy(
                interval=float(opts.get("bulk_poll_interval", s.DEFAULT_POLL_INTERVAL)),
                max_interval=float(opts.get("bulk_poll_max_interval", s.DEFAULT_POLL_MAX_INTERVAL)),
                timeout=float(opts.get("bulk_timeout", s.DEFAULT_BULK_TIMEOUT)),
            ),
            poll_estimate=int(opts.get("bulk_poll_estimate", s.DEFAULT_POLL_ESTIMATE)),
            max_file_bytes=int(opts.get("max_file_bytes", s.DEFAULT_MAX_FILE_BYTES)),
            concurrency=int(opts.get("concurrency", s.DEFAULT_CONCURRENCY)),
        )
        self.account = Account(self.client, self.options)
        # external-id columns of the requirements planned: tables without custom fields keep them
        # outside any field, and describe() shows them so the loader's column check finds them
        self.planned_keys: set[str] = set()
        self.last_path: str | None = None
        self.path_stats: dict[str, dict[str, float]] = {p: _stats() for p in ("bulk", "single", "listed")}

    @classmethod
    def from_connection(cls, connection: Connection) -> FreshsalesDestination:
        """Build the connector for a real account or the sandbox.

        Args:
            connection: base_url = the bundle URL (`https://<bundle>.myfreshworks.com`, the API prefix
                optional), api_key = the user's API key, options = connection options.

        Raises:
            AuthError: no API key.
        """
        if connection.api_key is None:
            raise AuthError("no API key configured (set FRESHSALES_API_KEY)", system=s.SYSTEM)
        options = dict(connection.options or {})
        auth = HeaderAuth("Authorization", SecretStr("Token token=" + connection.api_key.get_secret_value()))
        wait = float(options.get("throttle_wait_seconds", s.DEFAULT_THROTTLE_WAIT))
        concurrency = int(options.get("concurrency", s.DEFAULT_CONCURRENCY))
        # no fixed rate: the per-minute cap is learnt from the 429s, the hourly budget is budget.py's;
        # `rate_per_second` stays available as a hard ceiling
        rate = float(options["rate_per_second"]) if options.get("rate_per_second") else None
        client = connection.http_client()
        # creates are not idempotent: a lost answer raises LostResponse and writes.py looks the
        # record up before sending it again (one session: the same limiter identity)
        session = HttpSession(
            s.SYSTEM,
            client,
            auth=auth,
            rate=rate,
            concurrency=concurrency,
            retry=RetryPolicy(throttled_seconds=wait),
            rate_hints=s.RATE_HEADERS,
        )
        return cls(session, session, base_url=connection.base_url, options=options)

    # -- budget and estimates -----------------------------------------------------------------------
    def budget(self) -> dict[str, Any]:
        """The hourly budget as known now: `{"limit", "used", "remaining", "reserve", "window_seconds",
        "resume_after"}`."""
        return self.budget_tracker.snapshot()

    async def refresh_budget(self) -> dict[str, Any]:
        """Make one cheap call (the sales activity types selector) to read the server's remaining
        figure where the account sends it, and return `budget()`."""
        self.client.ensure(1, "a budget check")
        await self.client.json("GET", "selector/sales_activity_types")
        return self.budget()

    def estimate_calls(self, n_rows: int, table: str | None = None, path: str | None = None) -> int:
        """Requests an upsert of `n_rows` rows makes.

        Args:
            n_rows: rows.
            table: our table (default: contact, a bulk table).
            path: "bulk" or "single" for contacts, accounts and deals (default: what `upsert` picks).

        Returns:
            searches + bulk jobs (submit, polls, a view page) or one call per row.
        """
        tdef = table_def(table or "contact")
        bulk_path = path == "bulk" if path else n_rows >= self.options.bulk_threshold
        return writes.write_calls(
            tdef,
            n_rows,
            bulk_path=bulk_path,
            poll_estimate=self.options.poll_estimate,
            concurrency=self.options.concurrency,
        )

    def requests_per_record(self, table: str, n_rows: int = 100) -> dict[str, float]:
        """Requests per record of an upsert of `n_rows`, by path."""
        if not table_def(table).search:
            return {"single": 1.0}
        return {p: round(self.estimate_calls(n_rows, table, p) / max(n_rows, 1), 4) for p in ("bulk", "single")}

    async def estimate_load(self, table: str, batch_rows: Sequence[int]) -> dict[str, Any]:
        """Requests a pipeline load of these batches makes against the hourly budget, and the hours it
        takes on each plan tier.

        Per batch the loader reads the current records (one search per 100 keys, plus one read per
        record that already exists, not counted here) and upserts them (`estimate_calls`).

        Returns:
            `{"table", "rows", "batches", "path", "calls", "requests_per_record", "limit", "used",
            "remaining", "reserve", "fits", "window_seconds", "resume_after", "hours_by_plan"}`.
        """
        tdef = table_def(table)
        reads = sum(math.ceil(n / s.SEARCH_VALUES) for n in batch_rows) if tdef.search else 0
        calls = reads + sum(self.estimate_calls(n, table) for n in batch_rows)
        rows = sum(batch_rows)
        budget = self.budget()
        left = max(int(budget["remaining"]) - int(budget["reserve"]), 0)
        bulk_batches = sum(1 for n in batch_rows if tdef.search and n >= self.options.bulk_threshold)
        return {
            "table": table,
            "rows": rows,
            "batches": len(batch_rows),
            "path": "bulk" if bulk_batches else ("single" if tdef.search else "listed"),
            "calls": calls,
            "requests_per_record": self.requests_per_record(table),
            "limit": self.hourly_limit,
            "used": budget["used"],
            "remaining": left,
            "reserve": budget["reserve"],
            "fits": calls <= left,
            "window_seconds": budget["window_seconds"],
            "resume_after": budget["resume_after"],
            "hours_by_plan": {plan: round(calls / limit, 3) for plan, limit in s.ESTIMATE_TIERS.items()},
        }

    def facts(self) -> dict[str, Any]:
        budget = self.budget()
        return {
            "plan": self.plan,
            "hourly_limit": self.hourly_limit,
            "minute_limit": self.minute_limit,
            "hourly_requests_remaining": budget["remaining"],
            "hourly_requests_used": budget["used"],
            "hourly_window_seconds": budget["window_seconds"],
            # the plan of a real account is not readable through the API: estimates cover each tier
            "hourly_limit_by_plan": dict(s.ESTIMATE_TIERS),
            "resume_after": budget["resume_after"],
            "bulk_max_records": s.BULK_MAX,
        }

    # -- schema -------------------------------------------------------------------------------------
    async def describe(self, tables: Sequence[str] | None = None) -> DestinationSchema:
        """Tables from the field settings (or the catalog, for tables without settings) and facts:
        plan, `hourly_limit`, `hourly_requests_remaining`, `hourly_window_seconds` and
        `hourly_limit_by_plan` (the budget window estimates read, see discovery/budget.py)."""
        names = list(tables) if tables is not None else [*s.TABLES, s.USER_TABLE]
        found: dict[str, TableInfo] = {}
        before = self.session.stats.requests + self.client.creates.stats.requests
        for name in names:
            if name == s.USER_TABLE:
                found[name] = schema.table_from_catalog(s.TableDef(s.USER_TABLE, "users"), {})
            elif name in s.TABLES:
                found[name] = await self._describe_table(s.TABLES[name])
        if self.session.stats.requests + self.client.creates.stats.requests == before:
            await self.refresh_budget()  # facts need one answer from the account
        return DestinationSchema(tables=found, facts=self.facts())

    async def _describe_table(self, tdef: s.TableDef) -> TableInfo:
        if tdef.settings:
            return schema.table_from_settings(tdef, await self.account.settings(tdef, refresh=True))
        columns = schema.catalog()[tdef.table]
        choices = await self.account.choices(columns)
        options = {c: tuple(choices.ids.get(c, {})) for c in columns}
        return schema.table_from_catalog(tdef, options, sorted(self.planned_keys))

    async def plan_schema(self, required: Sequence[TableRequirement]) -> SchemaPlan:
        """Compare the custom fields, choices, unique keys and pipelines the spec needs with the
        account: existing / to_create (the admin's checklist) / conflicting. Nothing is changed."""
        self.planned_keys |= {c for r in required for columns in r.keys.values() for c in columns}
        current = await self.describe([r.name for r in required if r.name in s.TABLES])
        needs_pipelines = any(
            c.name in ("deal_pipeline_id", "deal_stage_id") and c.options for r in required for c in r.columns
        )
        pipelines = await self.account.selector("deal_pipelines", refresh=True) if needs_pipelines else []
        return schema.plan(required, current.tables, pipelines, current.facts)

    async def apply_schema(self, required: Sequence[TableRequirement]) -> list[str]:
        """Verify the account has everything the spec needs; Freshsales cannot create custom fields
        or pipelines through its API, so nothing is created here.

        Returns:
            [] when everything exists.

        Raises:
            MigrationError: something is missing or conflicts; the message lists each item and points
                to the setup checklist (plan/schema_diff).
        """
        planned = await self.plan_schema(required)
        if planned.to_create or planned.conflicting:
            raise MigrationError(schema.missing_message(planned))
        return []

    async def drop_schema(self, items: Sequence[Mapping[str, Any]]) -> list[str]:
        """Freshsales cannot delete custom fields through its API: nothing is removed here.

        Raises:
            SchemaNotRemoved: always, when there are items; each names the field and where to delete
                it in the Freshsales admin UI.
        """
        if not items:
            return []
        raise SchemaNotRemoved([], schema.removal_steps(items), system="freshsales")

    # -- writes -------------------------------------------------------------------------------------
    async def upsert(self, table: str, key: str, rows: Sequence[UpsertRow]) -> list[WriteResult]:
        """Upsert rows on the external-id column `key` (bulk_upsert from `bulk_threshold` rows for
        contacts, accounts and deals; single calls otherwise). One result per row, in order; a row the
        account refuses fails alone.

        Raises:
            BudgetExhausted: the requests do not fit the hourly budget (nothing was sent), or the
                account kept answering 429.
        """
        before = self.session.stats.requests + self.client.creates.stats.requests
        results, path = await writes.upsert(self.account, table, key, rows)
        self.last_path = path
        stats = self.path_stats[path]
        stats["calls"] += 1
        stats["rows"] += len(results)
        stats["ok"] += sum(r.ok for r in results)
        stats["failed"] += sum(not r.ok for r in results)
        stats["requests"] += self.session.stats.requests + self.client.creates.stats.requests - before
        return results

    async def delete(self, table: str, ids: Sequence[str]) -> list[WriteResult]:
        """Delete by id (documents too); records already gone count as deleted."""
        return await writes.delete(self.account, table, ids)

    async def restore(self, table: str, before_images: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Write before-images back by id; a record deleted since is reported, not re-created."""
        return await writes.restore(self.account, table, before_images)

    async def upload_file(self, upload: FileUpload) -> WriteResult:
        """Attach a file to its contact, account or deal (see files.py)."""
        return await files.upload(self.client, upload, max_bytes=self.options.max_file_bytes)

    # -- reads --------------------------------------------------------------------------------------
    async def read_back(
        self, table: str, key: str, external_ids: Sequence[str], columns: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Records whose `key` is in `external_ids`: `{external_id: {"id", column: value}}`."""
        return await reads.read_back(self.account, table, key, external_ids, columns)

    async def read_by_ids(self, table: str, ids: Sequence[str], columns: Sequence[str]) -> dict[str, dict]:
        return await reads.read_by_ids(self.account, table, ids, columns)

    async def read_files(self, table: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Documents by id: `{id: {"name", "size", "parent_id", "folder": None}}`."""
        documents = await self.account.get_records(s.TABLES["document"], ids)
        return {i: files.file_info(d) for i, d in documents.items()}

    async def count(self, table: str, key: str) -> int:
        return await reads.count(self.account, table, key)

    async def users(self) -> list[DestinationUser]:
        """Every user of `GET /selector/owners` with its email and active flag."""
        owners = await self.account.selector("owners", refresh=True)
        return [
            DestinationUser(
                str(u["id"]), u.get("email") or None, u.get("display_name") or None, bool(u.get("is_active", True))
            )
            for u in owners
        ]

    def request_stats(self) -> dict[str, float]:
        """HTTP statistics of both sessions together."""
        a, b = self.session.stats.snapshot(), self.client.creates.stats.snapshot()
        return {k: a[k] + b[k] if k != "elapsed_seconds" else a[k] for k in a}
