"""Files to the document store (SharePoint through Microsoft Graph) and their Dataverse locations.

Real shapes (Microsoft Graph driveItem API): `PUT <drive>/root:/<path>:/content` for files up to
4 MiB; larger files through `POST <drive>/root:/<path>:/createUploadSession` and `PUT <uploadUrl>`
chunks of N x 320 KiB with `Content-Range` (202 until the last, then 201 + driveItem). Errors
`{"error":{"code","message"}}` (413 `maxFileSizeExceeded` over the size limit).
Invented (sandbox): the drive path `/graph/v1.0/sites/sandbox/drive` on the Dataverse host and
the bearer token of the Dataverse session (real Graph needs its own token and host; set the
`drive_path` option to a full Graph URL).

Each uploaded file gets a `sharepointdocumentlocation` row (real table) named after the file,
with `absoluteurl` = the folder's web URL (absoluteurl xor relativeurl: we use absoluteurl only),
`regardingobjectid_<parent table>` bound to the parent record, and the file's original metadata
(name, MIME type, size, upload time) in `description` and `overriddencreatedon` (see `metadata`).
Our convention (invented): the row is upserted on an alternate key over a custom column holding
FileUpload.external_id: the column named by `FileUpload.key`, else `<publisher prefix>_externalid` (key
`<prefix>_externalid_key`), which the connector creates on first use through apply_schema.

Rollback (real Graph: `DELETE <drive>/root:/<path>` → 204, 404 `itemNotFound` when gone): deleting
location rows also deletes their files, unless another location still points at the same file.
An upload that overwrites a file already in the drive (same folder and name) reads it first
(`GET <drive>/root:/<path>` for the item, `GET …:/content`, which real Graph answers with 302 to a
pre-authenticated download URL) so the ledger keeps it; its rollback puts those bytes back.
An environment without an active SharePoint site raises DestinationNotReady for uploads that must
go to the document store (the loader holds them for a later run).
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from migration_assets.connectors.base import (
    ColumnRequirement,
    FileUpload,
    LookupRef,
    StoredFile,
    TableRequirement,
    UpsertRow,
    WriteResult,
)
from migration_assets.connectors.dataverse.batch import error_text
from migration_assets.connectors.dataverse.odata import in_filter
from migration_assets.connectors.dataverse.settings import (
    IN_FILTER_CHUNK,
    LOCATION_KEY_SUFFIX,
    SIMPLE_UPLOAD_MAX,
    UPLOAD_CHUNK,
)
from migration_assets.errors import (
    AuthError,
    ConnectorError,
    DestinationNotReady,
    MigrationError,
    RateLimited,
    RemoteRejected,
)

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseDestination

LOCATION_TABLE = "sharepointdocumentlocation"
_FORBIDDEN = re.compile(r'["*:<>?/\\|#%\x00-\x1f]')
MAX_NAME = 200
LOCATION_NAME_MAX = 100  # sharepointdocumentlocation.name MaxLength


def safe_name(name: str, *, fallback: str = "file") -> str:
    """A SharePoint-safe file or folder name that keeps the extension.

    Forbidden characters (`" * : < > ? / \\ |`, `#`, `%`, control characters) become `_`, `..`
    sequences collapse, leading/trailing spaces and dots go, and the stem is cut so the whole name
    stays within 200 characters.

    Args:
        name: the original name.
        fallback: used when nothing printable is left.

    Returns:
        The safe name.
    """
    cleaned = _FORBIDDEN.sub("_", name)
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip(" .")
    if not cleaned or set(cleaned) <= {"_"}:
        cleaned = fallback
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or not stem:
        return cleaned[:MAX_NAME]
    ext = ext[:20]
    return stem[: MAX_NAME - len(ext) - 1].rstrip(" .") + "." + ext


def safe_folder(folder: str) -> str:
    """A folder path whose every segment is safe (empty, `.` and `..` segments dropped)."""
    segments = [s for s in re.split(r"[/\\]+", folder) if s.strip(" .")]
    return "/".join(safe_name(s, fallback="folder") for s in segments)


def metadata(upload: FileUpload) -> dict[str, Any]:
    """Columns of the location that keep the file's original metadata: the full file name, MIME type,
    size and upload time as `description` (searchable in Dataverse), and the upload time as the
    location's `overriddencreatedon` (its `createdon`)."""
    parts = [f"file name: {upload.file_name}", f"MIME type: {upload.content_type}", f"size: {upload.size} bytes"]
    if upload.created_at:
        parts.append(f"uploaded: {upload.created_at}")
    out: dict[str, Any] = {"description": "; ".join(parts)}
    if upload.created_at:
        out["overriddencreatedon"] = upload.created_at
    return out


DELTA_PAGE = 1000  # driveItems per page of the drive listing


class DocumentStore:
    """Uploads files through the Graph drive API and records their document locations.

    Args:
        connector: the DataverseDestination (its api and upsert are reused).
        drive_path: Graph drive URL or host path.
    """

    def __init__(self, connector: DataverseDestination, drive_path: str) -> None:
        self.connector = connector
        self.drive = drive_path.rstrip("/")
        self.urls: dict[str, str] = {}
        self._location_ready: set[str] = set()
        self._site: bool | None = None

    async def ready(self) -> bool:
        """Whether the environment has an active SharePoint site (asked once per session)."""
        if self._site is None:
            self._site = await self.connector.meta.sharepoint_site()
        return self._site

    async def upload(self, upload: FileUpload) -> WriteResult:
        """Upload `upload` and upsert its document location.

        Returns:
            ok=True with destination_id = location id; ok=False with the store's error (e.g. 413).

        Raises:
            DestinationNotReady: the environment has no SharePoint site yet.
        """
        if not await self.ready():
            raise DestinationNotReady(
                f"no active SharePoint site: document management is not set up, {upload.file_name!r} must wait",
                system="dynamics365",
            )
        folder, name = safe_folder(upload.folder), safe_name(upload.file_name)
        path = quote(f"{folder}/{name}" if folder else name)
        try:
            if upload.size <= SIMPLE_UPLOAD_MAX:
                item = await self._simple(path, upload)
            else:
                item = await self._chunked(path, upload)
        except (AuthError, RateLimited):
            raise
        except ConnectorError as exc:
            return WriteResult(upload.external_id, ok=False, error=_error(exc))
        web_url = str(item.get("webUrl", ""))
        self.urls[upload.external_id] = web_url
        return await self._location(upload, name, web_url.rsplit("/", 1)[0])

    async def _simple(self, path: str, upload: FileUpload) -> dict[str, Any]:
        data = b"".join([chunk async for chunk in upload.content])
        response = await self.connector.api.send(
            "PUT",
            f"{self.drive}/root:/{path}:/content",
            content=data,
            headers={"Content-Type": upload.content_type},
            expect=(200, 201),
        )
        return response.json()

    async def _chunked(self, path: str, upload: FileUpload) -> dict[str, Any]:
        api = self.connector.api
        session = await api.send(  # idempotent in effect: a session commits nothing before its last byte
            "POST",
            f"{self.drive}/root:/{path}:/createUploadSession",
            json={"item": {"@microsoft.graph.conflictBehavior": "replace"}},
            expect=(200,),
            idempotent=True,
        )
        upload_url = session.json()["uploadUrl"]
        sent, buffer, item = 0, bytearray(), None
        async for piece in upload.content:
            buffer += piece
            while len(buffer) >= UPLOAD_CHUNK:
                item = await self._put_chunk(upload_url, bytes(buffer[:UPLOAD_CHUNK]), sent, upload.size)
                sent += UPLOAD_CHUNK
                del buffer[:UPLOAD_CHUNK]
        if buffer or item is None:
            item = await self._put_chunk(upload_url, bytes(buffer), sent, upload.size)
        return item or {}

    async def _put_chunk(self, url: str, data: bytes, start: int, total: int) -> dict[str, Any] | None:
        end = start + len(data) - 1
        if end >= total:
            raise ConnectorError(f"file is larger than its declared size of {total} bytes", status=400)
        response = await self.connector.api.send(
            "PUT",
            url,
            content=data,
            headers={"Content-Range": f"bytes {start}-{end}/{total}"},
            expect=(200, 201, 202),
        )
        return response.json() if response.status_code in (200, 201) else None

    async def _location(self, upload: FileUpload, name: str, folder_url: str) -> WriteResult:
        key = upload.key or self._default_key()
        await self._ensure_location_key(key)
        lookups = {}
        if upload.parent_table and upload.parent_id:
            lookups["regardingobjectid"] = LookupRef(upload.parent_table, upload.parent_id)
        row = UpsertRow(
            upload.external_id,
            {"name": name[:LOCATION_NAME_MAX], "absoluteurl": folder_url, **metadata(upload)},
            lookups,
        )
        [result] = await self.connector.upsert(LOCATION_TABLE, key, [row])
        return result

    def _default_key(self) -> str:
        publisher = self.connector.publisher
        if publisher is None:
            raise MigrationError(
                "dynamics365: document locations need an external-id column: set FileUpload.key or "
                "destination_options.publisher_prefix"
            )
        return f"{publisher.prefix}_{LOCATION_KEY_SUFFIX}"

    async def replaced(self, upload: FileUpload) -> StoredFile | None:
        """The file already at the upload's folder and name, with its bytes; None when there is none."""
        folder, name = safe_folder(upload.folder), safe_name(upload.file_name)
        path = quote(f"{folder}/{name}" if folder else name)
        try:
            item = (await self.connector.api.send("GET", f"{self.drive}/root:/{path}", expect=(200,))).json()
        except RemoteRejected as exc:
            if exc.status == 404:
                return None
            raise
        if "file" not in item:
            return None  # a folder of that name: the upload is refused, nothing is replaced
        response = await self.connector.api.send("GET", f"{self.drive}/root:/{path}:/content", expect=(200, 302))
        if response.status_code == 302:
            response = await self.connector.api.send("GET", response.headers["location"], expect=(200,))
        mime = str((item.get("file") or {}).get("mimeType") or "application/octet-stream")
        return StoredFile(folder, name, response.content, mime)

    async def restore(self, images: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Delete the locations (and uploaded files) of `images`, then upload each replaced file again."""
        ids = [str(i["id"]) for i in images if i.get("id")]
        deleted = {r.external_id: r for r in await self.delete(ids)} if ids else {}
        results = []
        for image in images:
            done = deleted.get(str(image.get("id")))
            if done is not None and not done.ok:
                results.append(done)
                continue
            results.append(await self._put_back(str(image.get("id") or ""), image["replaced_file"]))
        return results

    async def _put_back(self, location_id: str, replaced: Mapping[str, Any]) -> WriteResult:
        data = base64.b64decode(str(replaced["content"]))
        folder, name = str(replaced.get("folder") or ""), str(replaced["name"])
        path = quote(f"{folder}/{name}" if folder else name)
        upload = FileUpload(
            location_id,
            name,
            folder,
            len(data),
            _chunks(data),
            str(replaced.get("content_type") or "application/octet-stream"),
        )
        try:
            if upload.size <= SIMPLE_UPLOAD_MAX:
                await self._simple(path, upload)
            else:
                await self._chunked(path, upload)
        except (AuthError, RateLimited):
            raise
        except ConnectorError as exc:
            return WriteResult(location_id, ok=False, destination_id=location_id or None, error=_error(exc))
        return WriteResult(location_id, ok=True, destination_id=location_id or None, operation="restored")

    async def read(self, table: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored files behind document locations: `{location id: {name, folder, size, parent_id}}`.

        The folder is the location's `absoluteurl` relative to the drive root's `webUrl` (`GET
        <drive>/root`); name and size come from the driveItem at that folder: from one paged listing
        of the whole drive (`GET <drive>/root/delta`, 1,000 items a page) while that takes fewer
        requests than one `GET root:/<path>` per file, else file by file. A location whose file is
        gone reads back with size None.
        """
        rows = await self.connector.read_by_ids(table, ids, ["name", "absoluteurl", "regardingobjectid"])
        if not rows:
            return {}
        root_url = await self._root_url()
        paths = {location_id: self._path(root_url, row) for location_id, row in rows.items()}
        listed = await self._listing(len(rows)) if len(rows) > 1 else None

        async def one(location_id: str, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            path = paths[location_id]
            name = str(row.get("name") or "")
            folder = unquote(path).rpartition("/")[0]
            if listed is not None:
                item = listed.get(unquote(path), {})
            else:
                try:
                    item = (await self.connector.api.send("GET", f"{self.drive}/root:/{path}", expect=(200,))).json()
                except RemoteRejected as exc:
                    if exc.status != 404:
                        raise
                    item = {}
            info = {"name": item.get("name", name), "folder": folder, "size": item.get("size")}
            return location_id, {**info, "parent_id": row.get("regardingobjectid")}

        return dict(await asyncio.gather(*(one(i, r) for i, r in rows.items())))

    async def _listing(self, files: int) -> dict[str, dict[str, Any]] | None:
        """Every file of the drive by its path under the root, or None when the drive holds so many
        more files than `files` that listing it would take more requests than reading each file."""
        items: dict[str, dict[str, Any]] = {}
        url: str | None = f"{self.drive}/root/delta"
        params: dict[str, str] | None = {"$top": str(DELTA_PAGE)}
        pages = 0
        while url:
            body = (await self.connector.api.send("GET", url, params=params, expect=(200,))).json()
            pages += 1
            for item in body.get("value", []):
                if "file" in item:
                    parent = str((item.get("parentReference") or {}).get("path", "")).partition("root:")[2].strip("/")
                    items[f"{parent}/{item['name']}" if parent else item["name"]] = item
            url, params = body.get("@odata.nextLink"), None
            if url and pages >= files:
                return None
        return items

    async def _ensure_location_key(self, key: str) -> None:
        """Create the external-id column and key on sharepointdocumentlocation once per session."""
        if key in self._location_ready:
            return
        column = ColumnRequirement(key, "string", max_length=100, label="External id")
        requirement = TableRequirement(LOCATION_TABLE, columns=(column,), keys={f"{key}_key": (key,)})
        await self.connector.apply_schema([requirement])
        self._location_ready.add(key)

    async def delete(self, ids: Sequence[str]) -> list[WriteResult]:
        """Delete document locations and the files they point at (rollback).

        A file is kept while a location outside `ids` still points at it; a file or location
        already gone counts as deleted.
        """
        rows = await self.connector.read_by_ids(LOCATION_TABLE, ids, ["name", "absoluteurl"])
        shared = await self._still_used(rows, set(ids))
        root_url = await self._root_url() if rows else ""
        errors: dict[str, str] = {}
        for location_id, row in rows.items():
            if (row.get("absoluteurl"), row.get("name")) in shared:
                continue
            error = await self._delete_file(self._path(root_url, row))
            if error:
                errors[location_id] = error
        remaining = [i for i in ids if i not in errors]
        results = {r.external_id: r for r in await self.connector.delete_records(LOCATION_TABLE, remaining)}
        return [WriteResult(i, ok=False, destination_id=i, error=errors[i]) if i in errors else results[i] for i in ids]

    async def _still_used(self, rows: dict[str, dict[str, Any]], deleting: set[str]) -> set[tuple[Any, Any]]:
        """(absoluteurl, name) pairs that a location not being deleted also points at."""
        urls = sorted({str(r["absoluteurl"]) for r in rows.values() if r.get("absoluteurl")})
        wanted = {(r.get("absoluteurl"), r.get("name")) for r in rows.values()}
        meta = await self.connector.meta.table(LOCATION_TABLE)
        pid = meta.entity.primary_id
        used = set()
        for start in range(0, len(urls), IN_FILTER_CHUNK):
            params = {
                "$select": f"{pid},name,absoluteurl",
                "$filter": in_filter("absoluteurl", urls[start : start + IN_FILTER_CHUNK]),
            }
            async for page in self.connector.api.pages(meta.entity.entity_set, params, self.connector.page_size):
                for other in page:
                    pair = (other.get("absoluteurl"), other.get("name"))
                    if other[pid] not in deleting and pair in wanted:
                        used.add(pair)
        return used

    async def _root_url(self) -> str:
        root = (await self.connector.api.send("GET", f"{self.drive}/root", expect=(200,))).json()
        return unquote(str(root.get("webUrl", ""))).rstrip("/")

    @staticmethod
    def _path(root_url: str, row: dict[str, Any]) -> str:
        url = unquote(str(row.get("absoluteurl") or ""))
        folder = url[len(root_url) :].strip("/") if url.startswith(root_url) else url
        name = str(row.get("name") or "")
        return quote(f"{folder}/{name}" if folder else name)

    async def _delete_file(self, path: str) -> str | None:
        """Delete one file by path; None when deleted or already gone, else the error."""
        try:
            await self.connector.api.send("DELETE", f"{self.drive}/root:/{path}", expect=(204,))
        except RemoteRejected as exc:
            if exc.status != 404:
                return _error(exc)
        return None


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), UPLOAD_CHUNK):
        yield data[start : start + UPLOAD_CHUNK]
    if not data:
        yield b""


def _error(exc: ConnectorError) -> str:
    return error_text(exc.status or 0, exc.body) if exc.body is not None else str(exc)
