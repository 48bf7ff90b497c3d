"""DataverseDestination: the Dynamics 365 / Dataverse Web API v9.2 destination connector.

Real API throughout (reference shared/reference/dataverse-web-api.md): OAuth client credentials
with scope `<base_url>/.default`, OData headers on every call, `$batch` of atomic change sets with
`Prefer: odata.continue-on-error` (see loading.py), alternate-key upserts (or primary-key upserts
with deterministic GUIDs), `Microsoft.Dynamics.CRM.In` filters, `odata.maxpagesize` paging,
concurrency capped by `x-ms-dop-hint`, N:N associations through `$ref` (associations.py), activity
parties (parties.py), files in the document store (documents.py) or as notes (attachments.py).
Invented (sandbox only): the token path comes from the Connection; `sandbox/environment` facts are
read when present (see metadata.py); the document store is Graph-shaped (see documents.py).

Connection.options (a spec's `destination_options`): `publisher_prefix`, `publisher`, `solution`
(who owns the schema we create: settings.Publisher), `concurrency` (4), `batch_size` (rows per
`$batch`, at most 1000; unset: each upsert call is one `$batch`, so the loader's tuned batch size is
the `$batch` size), `records_per_changeset` (10), `page_size` (5000), `key_wait_seconds` (120),
`drive_path` (the Graph drive of the document store), `id_namespace` (UUID of the deterministic
primary ids), and the HttpSession settings of settings.HTTP (`rate_per_second` is then a hard
ceiling: by default the rate is learnt from the service protection answers and headers,
settings.RATE_HEADERS).

Tables: besides the environment's tables, every many-to-many relationship is a pseudo-table named
after it (associations.py). `key` = the table's primary id column (e.g. `workflowid`,
`annotationid`) upserts by deterministic GUID instead of an alternate key (loading.py).

Lost answers: a `$batch` whose requests are all upserts by alternate key, updates or deletes is
idempotent and re-sent; one that creates records (POST, in `restore` of deleted records) is not, so
a lost answer fails its rows with the LostResponse text and the next rollback run, which finds the
records by id, finishes them. Schema writes (POST EntityDefinitions, Attributes, Keys...) are not
re-sent either: a lost answer fails `apply_schema`, whose next run creates only what is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Self, TypeVar

import httpx
import orjson

from migration_assets.connectors.base import (
    DestinationConnector,
    DestinationSchema,
    DestinationUser,
    FileUpload,
    SchemaPlan,
    StoredFile,
    TableRequirement,
    UpsertRow,
    WriteResult,
)
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.dataverse import attachments, documents, metadata, parties, records, removal
from migration_assets.connectors.dataverse.associations import Associations
from migration_assets.connectors.dataverse.batch import (
    BatchRequest,
    PartResponse,
    build_batch,
    error_text,
    group_error,
    parse_batch,
)
from migration_assets.connectors.dataverse.loading import Upserter, read_column, read_many
from migration_assets.connectors.dataverse.odata import key_problem, literal
from migration_assets.connectors.dataverse.settings import (
    API_PREFIX,
    BASE_HEADERS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CONCURRENCY,
    DEFAULT_RECORDS_PER_CHANGESET,
    DRIVE_PATH,
    GET_HEADERS,
    HTTP,
    ID_NAMESPACE,
    IN_FILTER_CHUNK,
    MAX_BATCH_SIZE,
    MAX_PAGE_SIZE,
    RATE_HEADERS,
    SYSTEM,
    Publisher,
)
from migration_assets.connectors.http import HttpSession, OAuthClientCredentials
from migration_assets.errors import (
    AuthError,
    ConnectorError,
    DestinationNotReady,
    LostResponse,
    MigrationError,
    RateLimited,
)

T = TypeVar("T")


class DataverseApi:
    """Thin request layer over HttpSession: API paths, OData headers, paging, `$batch`, dop hint.

    Args:
        session: the authenticated HttpSession.
        prefix: data API path prefix.
    """

    def __init__(self, session: HttpSession, prefix: str = API_PREFIX) -> None:
        self.session = session
        self.prefix = prefix
        self.dop_hint: int | None = None
        self.assigned = 0  # batches given to this identity and not answered yet (DataverseDestination.writer)

    def url(self, path: str) -> str:
        """Absolute URLs and host paths (`/graph/...`) unchanged; others under the API prefix."""
        if path.startswith(("http://", "https://", "/")):
            return path
        return f"{self.prefix}/{path}"

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201, 204),
        **kwargs: Any,
    ) -> httpx.Response:
        """One request with the OData headers; raises ConnectorError subclasses (see HttpSession).
        A `json=` body is encoded with orjson (compact UTF-8 as httpx writes it, several times
        faster: a bulk body of a thousand records is encoded once per try)."""
        all_headers = {**BASE_HEADERS, **(GET_HEADERS if method == "GET" else {}), **(headers or {})}
        if kwargs.get("json") is not None:
            kwargs["content"] = orjson.dumps(kwargs.pop("json"))
            all_headers.setdefault("Content-Type", "application/json")
        response = await self.session.request(method, self.url(path), headers=all_headers, expect=expect, **kwargs)
        hint = response.headers.get("x-ms-dop-hint")
        if hint and hint.isdigit() and int(hint) > 0:
            self.dop_hint = int(hint)
        return response

    async def get_json(
        self, path: str, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """GET `path` and return its JSON body (raises like `send` on any status but 200)."""
        response = await self.send("GET", path, params=params, headers=headers, expect=(200,))
        return orjson.loads(response.content)

    async def pages(self, path: str, params: Mapping[str, str], page_size: int) -> AsyncIterator[list[dict]]:
        """Yield each page's `value`, following `@odata.nextLink` unchanged with the same page size."""
        headers = {"Prefer": f"odata.maxpagesize={page_size}"}
        url: str | None = path
        query: Mapping[str, str] | None = params
        while url:
            body = await self.get_json(url, query, headers)
            yield body.get("value", [])
            url, query = body.get("@odata.nextLink"), None

    async def batch(self, groups: Sequence[Sequence[BatchRequest] | BatchRequest]) -> list[list[PartResponse]]:
        """Send one `$batch` with `Prefer: odata.continue-on-error`; responses per group, in order.

        The POST is idempotent when every request in it is (no POST inside): see the module docstring.
        """
        content_type, content = build_batch(groups)
        headers = {"Content-Type": content_type, "Prefer": "odata.continue-on-error"}
        requests = [r for g in groups for r in ([g] if isinstance(g, BatchRequest) else g)]
        idempotent = all(r.method != "POST" for r in requests)
        response = await self.send(
            "POST", "$batch", headers=headers, content=content, expect=(200,), idempotent=idempotent
        )
        return parse_batch(response.headers.get("content-type", ""), response.content)


BULK_READ_MIN = 1000  # read_back of more records than this may page through the whole table
SCHEMA_ATTEMPTS = 5  # schema passes after lost answers (each re-describes and creates what is missing)
CREATE_ONLY = frozenset({"overriddencreatedon"})  # Dataverse sets createdon from it on create only


class DataverseDestination(DestinationConnector):
    """Writes to Dataverse (Dynamics 365 Sales) through the Web API.

    Args:
        session: the HttpSession (auth, rate limit, retries).
        batch_size: records per `$batch` (≤ 1000); None: each `upsert` call is one `$batch` of up to
            1,000 rows, so the caller's (tuned) batch size is the `$batch` size.
        concurrency: batches in flight (further capped by `x-ms-dop-hint`).
        page_size: `odata.maxpagesize` for reads (≤ 5000).
        key_wait_seconds: how long apply_schema waits for new alternate keys to become Active.
        drive_path: Graph drive of the document store.
        publisher: who owns the schema we create (None: nothing can be created).
        records_per_changeset: rows sharing one atomic change set.
        id_namespace: UUID namespace of the deterministic primary ids.
        extra_sessions: sessions of further application users of the same environment; batches whose
            rows' existence is known are spread over them (`writer`), each with its own limiter.
    """

    system = SYSTEM
    user_table = "systemuser"

    def __init__(
        self,
        session: HttpSession,
        *,
        batch_size: int | None = DEFAULT_BATCH_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        page_size: int = MAX_PAGE_SIZE,
        key_wait_seconds: float = 120.0,
        drive_path: str = DRIVE_PATH,
        publisher: Publisher | None = None,
        records_per_changeset: int = DEFAULT_RECORDS_PER_CHANGESET,
        id_namespace: str = ID_NAMESPACE,
        extra_sessions: Sequence[HttpSession] = (),
    ) -> None:
        super().__init__(session)
        self.api = DataverseApi(session)
        self.publisher = publisher
        self.meta = metadata.MetadataCache(self.api, publisher)
        self.batch_size = max(1, min(batch_size, MAX_BATCH_SIZE)) if batch_size else None
        self.max_batch_rows = self.batch_size or MAX_BATCH_SIZE
        self.no_bulk_tables: set[str] = set()  # tables that refused CreateMultiple/UpdateMultiple (bulk.py)
        # every identity that writes batches (the primary one first), see `writer`
        self.writers: list[DataverseApi] = [self.api, *(DataverseApi(x) for x in extra_sessions)]
        self._owner: str | None = None
        self.records_per_changeset = max(1, records_per_changeset)
        self.concurrency = max(1, concurrency)
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.key_wait_seconds = key_wait_seconds
        self.id_namespace = id_namespace
        self.documents = documents.DocumentStore(self, drive_path)
        self.attachments = attachments.AttachmentStore(self)
        self.associations = Associations(self)
        self.parties = parties.PartyResolver(self)

    @classmethod
    def from_connection(cls, connection: Connection) -> Self:
        """Build the connector from a Connection (real org or sandbox).

        Raises:
            MigrationError: when the connection has no token URL or client credentials.
        """
        if not (connection.token_url and connection.client_id and connection.client_secret):
            raise MigrationError("dynamics365: the connection needs DATAVERSE_TOKEN_URL, client id and secret")
        opts = dict(connection.options or {})
        http = HTTP.with_options(opts)
        concurrency = int(opts.get("concurrency", DEFAULT_CONCURRENCY))
        auth = OAuthClientCredentials(
            token_url=connection.token_url,
            client_id=connection.client_id,
            client_secret=connection.client_secret,
            scope=f"{connection.base_url.rstrip('/')}/.default",
        )
        session = HttpSession(
            SYSTEM, connection.http_client(), auth=auth, rate_hints=RATE_HEADERS, **http.session_kwargs()
        )
        extra = [
            HttpSession(
                SYSTEM,
                connection.http_client(),
                auth=replace(auth, client_id=client_id, client_secret=secret),
                rate_hints=RATE_HEADERS,
                **http.session_kwargs(),
            )
            for client_id, secret in connection.extra_credentials[: max(0, int(opts.get("identities", 1)) - 1)]
        ]
        return cls(
            session,
            batch_size=int(opts["batch_size"]) if opts.get("batch_size") else None,
            concurrency=concurrency,
            page_size=int(opts.get("page_size", MAX_PAGE_SIZE)),
            key_wait_seconds=float(opts.get("key_wait_seconds", 120.0)),
            drive_path=str(opts.get("drive_path", DRIVE_PATH)),
            publisher=Publisher.from_options(opts),
            records_per_changeset=int(opts.get("records_per_changeset", DEFAULT_RECORDS_PER_CHANGESET)),
            id_namespace=str(opts.get("id_namespace", ID_NAMESPACE)),
            extra_sessions=extra,
        )

    # -- schema ---------------------------------------------------------------------------
    def create_only_columns(self, table: str) -> frozenset[str]:
        return CREATE_ONLY

    async def describe(self, tables: Sequence[str] | None = None) -> DestinationSchema:
        """Tables (all when None), columns, keys, option sets and environment facts."""
        return await self.meta.describe(tables)

    async def apply_schema(self, required: Sequence[TableRequirement]) -> list[str]:
        """Create what the spec needs and Dataverse lacks; see metadata.apply_schema.

        A schema write whose answer is lost (LostResponse) may have been applied: the metadata is
        described again and only what is still missing is created, a few times at most."""
        done: list[str] = []
        for attempt in range(SCHEMA_ATTEMPTS):
            try:
                done += await metadata.apply_schema(
                    self.api, self.meta, required, key_wait_seconds=self.key_wait_seconds
                )
                return done
            except LostResponse:
                if attempt == SCHEMA_ATTEMPTS - 1:
                    raise
                self.meta.invalidate()  # describe afresh: the lost write may have happened
        return done

    async def plan_schema(self, required: Sequence[TableRequirement]) -> SchemaPlan:
        """Existing / to create / conflicting, including the licence tier's custom-table limit."""
        return await metadata.plan_schema(self.meta, required)

    async def drop_schema(self, items: Sequence[Mapping[str, Any]]) -> list[str]:
        """Delete the option values, keys, relationships, columns and tables `apply_schema` created
        (see removal.py); what is already gone counts as done.

        Raises:
            SchemaNotRemoved: the service refused some items; names what is left and why.
        """
        return await removal.SchemaRemover(self.api, self.meta).remove(items)

    # -- helpers --------------------------------------------------------------------------
    async def _gather(self, jobs: Sequence[Callable[[], Awaitable[T]]], *, writers: int = 1) -> list[T]:
        """Run jobs with at most `concurrency` (capped by the server's dop hint) in flight per
        identity among the first `writers`, in order."""
        limit = sum(min(self.concurrency, api.dop_hint or self.concurrency) for api in self.writers[:writers])
        gate = asyncio.Semaphore(max(1, limit))

        async def run(job: Callable[[], Awaitable[T]]) -> T:
            async with gate:
                return await job()

        if len(jobs) == 1:  # no task: its request goes out before the event loop turns to other work
            return [await run(jobs[0])]
        return list(await asyncio.gather(*(run(j) for j in jobs)))

    async def _sets(self, tables: set[str]) -> dict[str, str]:
        return {t: (await self.meta.entity(t)).entity_set for t in tables}

    def _chunks(self, items: Sequence[T], size: int) -> list[Sequence[T]]:
        return [items[i : i + size] for i in range(0, len(items), size)]

    async def batch_groups(self, groups: list, api: DataverseApi | None = None) -> list[list[PartResponse]] | str:
        """`$batch` responses per group (sent by `api`, the primary identity by default), or the error
        text when the whole batch was refused."""
        try:
            return await (api or self.api).batch(groups) if groups else []
        except (AuthError, RateLimited):
            raise
        except ConnectorError as exc:
            return error_text(exc.status or 0, exc.body) if exc.body is not None else str(exc)

    # -- identities -----------------------------------------------------------------------
    def write_slots(self) -> int:
        """What the identities' limiters admit in flight now, together (batches whose rows'
        existence is known are spread over them, `writer`)."""
        return sum(api.session.limiter.slots() for api in self.writers)

    def writer(self, rows: Sequence[UpsertRow]) -> DataverseApi:
        """The identity to send a batch of `rows` with: the least busy one (batches given to it and not
        answered yet, against what its limiter admits), or the primary one when some row's existence
        is unknown (an upsert that may create must not leave a record owned by another application
        user)."""
        if len(self.writers) == 1 or any(r.exists is None for r in rows):
            return self.api
        return min(self.writers, key=lambda a: a.assigned / a.session.limiter.slots())

    async def owner(self) -> str:
        """The primary application user's systemuserid (`WhoAmI`): records another identity creates
        are given this owner, as the primary identity's creates get it by default."""
        if self._owner is None:
            self._owner = str((await self.api.get_json("WhoAmI"))["UserId"])
        return self._owner

    async def aclose(self) -> None:
        for api in self.writers[1:]:
            await api.session.aclose()
        await super().aclose()

    # -- records --------------------------------------------------------------------------
    async def upsert(self, table: str, key: str, rows: Sequence[UpsertRow]) -> list[WriteResult]:
        """Upsert rows by alternate key `key` = external_id (by deterministic GUID when `key` is the
        primary id column; associate pairs for a many-to-many pseudo-table).

        Returns:
            One WriteResult per row in input order (created/updated, or ok=False with the error).
        """
        relationship = await self.meta.relationship(table)
        if relationship is not None:
            return await self.associations.upsert(relationship, key, rows)
        meta = await self.meta.table(table)
        sets = await self._sets(records.lookup_tables(rows))
        chunks = self._chunks(list(rows), self.max_batch_rows)
        # an Upserter per chunk: each picks its own identity (`writer`), each identity takes its share
        jobs = [lambda c=c: Upserter(self, meta, key, sets).run(c) for c in chunks]
        writers = len(self.writers) if all(r.exists is not None for r in rows) else 1
        results = await self._gather(jobs, writers=writers)
        return [r for chunk in results for r in chunk]

    async def prepare(self, table: str) -> None:
        """Sign in and read `table`'s metadata (or its relationship's), in one round trip after the
        sign-in: the table is described while the lists of tables and relationships are read (for
        a relationship, that description is refused as an unknown table and not needed)."""
        relationship, described = await asyncio.gather(
            self.meta.relationship(table), self.meta.table(table), return_exceptions=True
        )
        if isinstance(relationship, BaseException):
            raise relationship
        if relationship is None and isinstance(described, BaseException):
            raise described

    async def existing(self, table: str, key: str, external_ids: Sequence[str]) -> set[str] | None:
        """The external ids whose record exists, from one paged listing of the key column (or of the
        primary ids, for a table upserted by deterministic GUID); `In` reads when that is cheaper.
        It needs only the list of tables, not the table's description: the loader asks it while the
        description is read."""
        relationship = await self.meta.relationship(table)
        if relationship is not None or not external_ids:
            return None if relationship is not None else set()
        entity = await self.meta.entity(table)
        pid = entity.primary_id
        if key == pid:
            address = {
                records.deterministic_id(self.id_namespace, table, str(e)).casefold(): str(e) for e in external_ids
            }
        else:
            address = {str(e).casefold(): str(e) for e in external_ids if not key_problem(str(e))}
        found = await read_many(self, entity, key, list(address))
        return {address[k] for k in found if k in address}

    async def read_back(
        self, table: str, key: str, external_ids: Sequence[str], columns: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """`{external_id: {"id": <primary id>, column: value}}`; lookups as target ids, party lists as
        lists of addresses."""
        relationship = await self.meta.relationship(table)
        if relationship is not None:
            return await self.associations.read_back(relationship, key, external_ids, columns)
        meta = await self.meta.table(table)
        pid = meta.entity.primary_id
        by_id = key == pid
        wanted = {
            (records.deterministic_id(self.id_namespace, table, str(e)) if by_id else str(e)).casefold(): str(e)
            for e in external_ids
        }
        select = records.select_list(_stored(meta, columns), meta.lookup_columns(), pid, key)
        expand = _expand(meta, columns)
        if len(wanted) > BULK_READ_MIN:  # many records: in bulk (read_many pages through the table)
            found = await read_many(self, meta.entity, key, list(wanted), select, expand)
        else:
            chunks = self._chunks(list(dict.fromkeys(wanted)), IN_FILTER_CHUNK)
            reads = await self._gather(
                [lambda c=c: read_column(self, meta.entity, key, c, select, expand) for c in chunks]
            )
            found = {k: r for part in reads for k, r in part.items()}
        out: dict[str, dict[str, Any]] = {}
        for rec in found.values():
            ext = wanted.get(str(rec.get(key)).casefold())
            if ext is not None:
                out[ext] = {"id": rec.get(pid), **_values(meta, rec, columns)}
        return out

    async def read_by_ids(self, table: str, ids: Sequence[str], columns: Sequence[str]) -> dict[str, dict]:
        """`{id: {column: value}}` for the ids that exist."""
        relationship = await self.meta.relationship(table)
        if relationship is not None:
            return await self.associations.read_by_ids(relationship, ids, columns)
        meta = await self.meta.table(table)
        pid = meta.entity.primary_id
        select = records.select_list(_stored(meta, columns), meta.lookup_columns(), pid)
        expand = _expand(meta, columns)
        chunks = self._chunks(list(dict.fromkeys(ids)), IN_FILTER_CHUNK)
        out: dict[str, dict] = {}
        jobs = [lambda c=c: read_column(self, meta.entity, pid, c, select, expand) for c in chunks]
        for found in await self._gather(jobs):
            for rec in found.values():
                out[rec[pid]] = _values(meta, rec, columns)
        return out

    async def count(self, table: str, key: str) -> int:
        """Records with `key` not null, counted by paging (`$count` caps at 5,000); for a pseudo-table,
        every associated pair. With `key` = the primary id column every row counts, pre-existing
        ones included (a deterministic GUID does not show who wrote the row)."""
        relationship = await self.meta.relationship(table)
        if relationship is not None:
            return await self.associations.count(relationship)
        meta = await self.meta.table(table)
        params = {"$select": meta.entity.primary_id, "$filter": f"{key} ne {literal(None)}"}
        return sum([len(page) async for page in self.api.pages(meta.entity.entity_set, params, self.page_size)])

    async def delete(self, table: str, ids: Sequence[str]) -> list[WriteResult]:
        """Delete by id in `$batch`es; 404 (already gone) counts as deleted. Document locations take
        their files along; a pseudo-table disassociates."""
        relationship = await self.meta.relationship(table)
        if relationship is not None:
            return await self.associations.delete(relationship, ids)
        if table == documents.LOCATION_TABLE:
            return await self.documents.delete(ids)
        return await self.delete_records(table, ids)

    async def delete_records(self, table: str, ids: Sequence[str]) -> list[WriteResult]:
        """Delete records by id (nothing else), 404 counting as deleted."""
        meta = await self.meta.table(table)
        chunks = self._chunks(list(ids), self.batch_size or DEFAULT_BATCH_SIZE)
        results = await self._gather([lambda c=c: self._delete_chunk(meta, c) for c in chunks])
        return [r for chunk in results for r in chunk]

    async def _delete_chunk(self, meta: metadata.TableMeta, ids: Sequence[str]) -> list[WriteResult]:
        groups = [BatchRequest("DELETE", records.record_url(self.api.prefix, meta, i)) for i in ids]
        answers = await self.batch_groups(groups)
        out = []
        for n, record_id in enumerate(ids):
            status, error = group_error(answers, n)
            if error is None or status == 404:  # already gone counts as deleted
                out.append(WriteResult(record_id, ok=True, destination_id=record_id, operation="deleted"))
            else:
                out.append(WriteResult(record_id, ok=False, destination_id=record_id, error=error))
        return out

    async def restore(self, table: str, before_images: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Write back before-images (update with `If-Match: *`; re-create records that are gone)."""
        meta = await self.meta.table(table)
        targets = {str(v["table"]) for img in before_images for v in img.values() if isinstance(v, Mapping)}
        sets = await self._sets(targets | {t for c in meta.lookup_columns() for t in meta.info.columns[c].targets})
        chunks = self._chunks(list(before_images), self.batch_size or DEFAULT_BATCH_SIZE)
        results = await self._gather([lambda c=c: self._restore_chunk(meta, c, sets) for c in chunks])
        return [r for chunk in results for r in chunk]

    async def _restore_chunk(
        self, meta: metadata.TableMeta, images: Sequence[Mapping[str, Any]], sets: Mapping[str, str]
    ) -> list[WriteResult]:
        groups = [
            [
                BatchRequest(
                    "PATCH",
                    records.record_url(self.api.prefix, meta, str(img["id"])),
                    records.image_body(img, meta, sets, create=False),
                    {"If-Match": "*"},
                )
            ]
            for img in images
        ]
        answers = await self.batch_groups(groups)
        outcomes = [group_error(answers, n) for n in range(len(images))]
        gone = [img for img, (status, _) in zip(images, outcomes, strict=True) if status == 404]
        recreated = iter(await self._recreate(meta, gone, sets))
        return [
            next(recreated) if status == 404 else _restored(img, error)
            for img, (status, error) in zip(images, outcomes, strict=True)
        ]

    async def _recreate(
        self, meta: metadata.TableMeta, images: Sequence[Mapping[str, Any]], sets: Mapping[str, str]
    ) -> list[WriteResult]:
        """POST the records that no longer exist, with their primary id, then PATCH their state."""
        groups = []
        for img in images:
            body = records.image_body(img, meta, sets, create=True)
            state = records.split_state(body, meta.default_state)
            parts = [BatchRequest("POST", f"{self.api.prefix}/{meta.entity.entity_set}", body)]
            if state:
                url = records.record_url(self.api.prefix, meta, str(img["id"]))
                parts.append(BatchRequest("PATCH", url, state, {"If-Match": "*"}))
            groups.append(parts)
        answers = await self.batch_groups(groups)
        return [_restored(img, group_error(answers, n)[1]) for n, img in enumerate(images)]

    # -- documents ------------------------------------------------------------------------
    async def users(self) -> list[DestinationUser]:
        """systemusers with internalemailaddress and isdisabled (application users included)."""
        params = {"$select": "systemuserid,internalemailaddress,fullname,isdisabled"}
        return [
            DestinationUser(
                u["systemuserid"], u.get("internalemailaddress"), u.get("fullname"), not u.get("isdisabled")
            )
            async for page in self.api.pages("systemusers", params, self.page_size)
            for u in page
        ]

    async def upload_file(self, upload: FileUpload) -> WriteResult:
        """Store a file and link it to its parent record.

        `store="document_store"`: SharePoint through Graph plus a document location (documents.py);
        `store="attachment"`: a note with the file (attachments.py); `store="auto"`: the document
        store when the environment has an active SharePoint site, else a note.

        Raises:
            DestinationNotReady: `document_store` asked and no SharePoint site is set up yet.
        """
        if upload.store == "attachment" or (upload.store == "auto" and not await self.documents.ready()):
            return await self.attachments.upload(upload)
        return await self.documents.upload(upload)

    async def replaced_file(self, upload: FileUpload) -> StoredFile | None:
        """The document-store file an upload to the same folder and name would overwrite (notes never
        overwrite anything)."""
        if upload.store == "attachment" or not await self.documents.ready():
            return None
        return await self.documents.replaced(upload)

    async def restore_files(self, table: str, before_images: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Delete the document locations (with the uploaded files) and put the replaced files back."""
        if table != documents.LOCATION_TABLE:
            raise NotImplementedError(f"dynamics365: {table} records never replace a file")
        return await self.documents.restore(before_images)

    async def read_files(self, table: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Files by the id `upload_file` returned: document locations (name, folder and size from the
        store) or notes (`table` = "annotation")."""
        if table == attachments.NOTE_TABLE:
            return await self.attachments.read(ids)
        return await self.documents.read(table, ids)

    async def delete_files(self, table: str, ids: Sequence[str]) -> list[WriteResult]:
        """Rollback of `upload_file`: document locations with their files, or the notes holding them."""
        if table == documents.LOCATION_TABLE:
            return await self.documents.delete(ids)
        return await self.delete_records(table, ids)

    def document_url(self, external_id: str) -> str | None:
        """The driveItem webUrl of a file uploaded in this session, by its external id."""
        return self.documents.urls.get(external_id)


def _restored(image: Mapping[str, Any], error: str | None) -> WriteResult:
    record_id = str(image["id"])
    if error is None:
        return WriteResult(record_id, ok=True, destination_id=record_id, operation="restored")
    return WriteResult(record_id, ok=False, destination_id=record_id, error=error)


def _stored(meta: metadata.TableMeta, columns: Sequence[str]) -> list[str]:
    """The columns to `$select` (party lists come through `$expand` instead)."""
    return [c for c in columns if c not in meta.party_columns]


def _expand(meta: metadata.TableMeta, columns: Sequence[str]) -> str | None:
    return meta.parties_property if any(c in meta.party_columns for c in columns) else None


def _values(meta: metadata.TableMeta, record: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    lookups = meta.lookup_columns()
    party = parties.read_parties(meta, record) if meta.party_columns else {}
    return {c: party[c] if c in party else records.read_value(record, c, lookups) for c in columns}


__all__ = ["DataverseApi", "DataverseDestination", "DestinationNotReady"]
