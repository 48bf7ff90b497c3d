"""SharePoint-like document store, shaped like Microsoft Graph drive items (invented as a whole).

Real Dataverse document management stores files in SharePoint; the sandbox offers the Graph
shapes a loader would use: simple upload `PUT …/drive/root:/{path}:/content` (≤ 4 MiB, else 413),
resumable `…:/createUploadSession` + `PUT /graph/upload/<session>` with `Content-Range` chunks
(≤ 60 MiB, multiples of 320 KiB except the last; 202 `nextExpectedRanges`, last 201 driveItem),
`GET …/root`, `GET …/root:/{path}` and `…:/children`, `GET …/root:/{path}:/content` (real
Graph: 302 to a pre-authenticated download URL, here `/graph/download/<item-id>`, which answers
the bytes), `GET …/drive/root/delta` (every item of the drive, pages of `$top` (default 200, at most
1,000: our choice) joined by `@odata.nextLink`, the last page with `@odata.deltaLink`; the page token
is opaque, here an offset in path order), `GET` and `DELETE …/drive/items/{item-id}` (also under
`/drives/sandbox/items/{item-id}`) and `DELETE …/drive/root:/{path}` (real Graph: 204 No Content,
404 `itemNotFound` when absent; a folder goes with everything in it). Names with
characters SharePoint forbids are refused (400 `invalidRequest`), files over option
`document_max_bytes` get 413 `maxFileSizeExceeded`. With option `sharepoint_site: false` (no site
provisioned) every drive call answers 404 `itemNotFound` "Requested site could not be found".
Files are streamed to disk under `<state stem>_documents/`; metadata rows live in SQLite.
The upload URL works with or without the bearer token (real upload URLs are pre-authenticated).
Every call counts against the caller's service-protection window (the upload URL's calls against
the identity that opened the session), like the Web API's.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migration_assets.sandbox._common import ThreadConnections
from migration_assets.sandbox.dataverse import auth, store
from migration_assets.sandbox.dataverse.core import ODataError

SIMPLE_UPLOAD_MAX = 4 * 1024 * 1024
CHUNK_MAX = 60 * 1024 * 1024
CHUNK_MULTIPLE = 320 * 1024
DRIVE_PREFIX = "v1.0/sites/sandbox/drive/root"
ITEM_PREFIXES = ("v1.0/sites/sandbox/drive/items/", "v1.0/drives/sandbox/items/")
WEB_ROOT = "https://sandbox.sharepoint.local/sites/sandbox/Shared Documents"
FORBIDDEN = re.compile(r'["*:<>?/\\|]')
RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class GraphError(Exception):
    """A Graph-style refusal `{"error":{"code","message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"code": self.code, "message": self.message}}, status_code=self.status)


def check_path(path: str) -> str:
    """A safe relative path (segments joined by `/`).

    Raises:
        GraphError: 400 invalidRequest for forbidden characters, `..`, empty or space-padded names.
    """
    segments = path.strip("/").split("/")
    for segment in segments:
        if not segment or segment in (".", "..") or segment != segment.strip() or FORBIDDEN.search(segment):
            raise GraphError(
                400, "invalidRequest", f"The name '{segment}' contains characters or a form SharePoint does not allow."
            )
        if segment.endswith("."):
            raise GraphError(400, "invalidRequest", f"The name '{segment}' cannot end with a period.")
    return "/".join(segments)


class DocumentStore:
    """Files on disk next to the SQLite state, described by rows of table `documents`."""

    def __init__(self, connections: ThreadConnections, state_path: Path) -> None:
        self.connections, self.state_path = connections, state_path
        self.root = state_path.parent / f"{state_path.stem}_documents"
        self.uploads = self.root / ".uploads"

    def file_path(self, path: str) -> Path:
        return self.root / path

    # ---------------------------------------------------------------- sync parts (thread pool)

    def register(self, path: str, size: int) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        with self.connections.write() as conn:
            row = conn.execute("select id, created from documents where path = ?", (path,)).fetchone()
            doc_id = row["id"] if row else uuid.uuid4().hex.upper()
            created = row["created"] if row else now
            conn.execute(
                "insert into documents values (?, ?, ?, ?, ?, ?, ?) on conflict(path) do update set "
                "size = excluded.size, mime = excluded.mime, modified = excluded.modified",
                (path, doc_id, path.rsplit("/", 1)[-1], size, mime, created, now),
            )
        return drive_item(path, doc_id, size, mime, created, now)

    def item(self, path: str) -> dict[str, Any]:
        with self.connections.read() as conn:
            row = conn.execute("select * from documents where path = ?", (path,)).fetchone()
            if row:
                return drive_item(row["path"], row["id"], row["size"], row["mime"], row["created"], row["modified"])
            children = conn.execute("select count(*) as n from documents where path like ?", (path + "/%",)).fetchone()
        if children["n"]:
            return folder_item(path, self.children(path))
        raise GraphError(404, "itemNotFound", f"The resource '{path}' could not be found.")

    def children(self, path: str) -> list[dict[str, Any]]:
        prefix = f"{path}/" if path else ""
        with self.connections.read() as conn:
            rows = conn.execute("select * from documents where path like ? order by path", (prefix + "%",)).fetchall()
        files, folders = [], {}
        for row in rows:
            rest = row["path"][len(prefix) :]
            if "/" in rest:
                folders.setdefault(prefix + rest.split("/", 1)[0], 0)
            else:
                files.append(
                    drive_item(row["path"], row["id"], row["size"], row["mime"], row["created"], row["modified"])
                )
        return [folder_item(p, None) for p in sorted(folders)] + files

    def delta(self, offset: int, top: int) -> tuple[list[dict[str, Any]], bool]:
        """One page of every file of the drive in path order from `offset`; whether more follow."""
        with self.connections.read() as conn:
            rows = conn.execute("select * from documents order by path limit ? offset ?", (top + 1, offset)).fetchall()
        items = [drive_item(r["path"], r["id"], r["size"], r["mime"], r["created"], r["modified"]) for r in rows[:top]]
        return items, len(rows) > top

    def path_of(self, item_id: str) -> str:
        """The path of a file by its driveItem id."""
        with self.connections.read() as conn:
            row = conn.execute("select path from documents where id = ?", (item_id,)).fetchone()
        if row is None:
            raise GraphError(404, "itemNotFound", f"The resource '{item_id}' could not be found.")
        return str(row["path"])

    def delete(self, path: str) -> None:
        """Delete a file, or a folder with everything under it.

        Raises:
            GraphError: 404 itemNotFound when nothing is at `path`.
        """
        with self.connections.write() as conn:
            rows = conn.execute(
                "select path from documents where path = ? or path like ? escape '\\'",
                (path, _like_prefix(path) + "/%"),
            ).fetchall()
            if not rows:
                raise GraphError(404, "itemNotFound", f"The resource '{path}' could not be found.")
            conn.executemany("delete from documents where path = ?", [(r["path"],) for r in rows])
        for row in rows:
            self.file_path(row["path"]).unlink(missing_ok=True)

    def max_bytes(self) -> int:
        with self.connections.read() as conn:
            return int(store.read_options(conn).get("document_max_bytes"))

    def check_token(self, authorization: str | None) -> tuple[str, store.Options]:
        """The caller's client id and the options; 404 when no SharePoint site is provisioned."""
        with self.connections.read() as conn:
            client = auth.caller(conn, authorization)
            options = store.read_options(conn)
        if not options.get("sharepoint_site"):
            raise GraphError(404, "itemNotFound", "Requested site could not be found")
        return client, options

    def session_owner(self, session: str) -> tuple[str, store.Options]:
        with self.connections.read() as conn:
            row = conn.execute("select client_id from upload_owners where session = ?", (session,)).fetchone()
            return (str(row["client_id"]) if row else store.CLIENT_ID), store.read_options(conn)

    def open_session(self, path: str, client: str) -> tuple[str, float]:
        session, expires = secrets.token_urlsafe(24), time.time() + 24 * 3600
        with self.connections.write() as conn:
            conn.execute("insert into upload_sessions values (?, ?, null, 0, ?)", (session, path, expires))
            conn.execute("insert into upload_owners values (?, ?)", (session, client))
        return session, expires

    def session(self, session: str) -> dict[str, Any]:
        with self.connections.read() as conn:
            row = conn.execute("select * from upload_sessions where id = ?", (session,)).fetchone()
        if row is None or row["expires"] < time.time():
            raise GraphError(404, "itemNotFound", "The upload session does not exist or has expired.")
        return dict(row)

    def advance(self, session: str, total: int, received: int) -> None:
        with self.connections.write() as conn:
            conn.execute("update upload_sessions set total = ?, received = ? where id = ?", (total, received, session))

    def close_session(self, session: str) -> None:
        with self.connections.write() as conn:
            conn.execute("delete from upload_sessions where id = ?", (session,))
            conn.execute("delete from upload_owners where session = ?", (session,))
        (self.uploads / f"{session}.part").unlink(missing_ok=True)


def _like_prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def drive_item(path: str, doc_id: str, size: int, mime: str, created: str, modified: str) -> dict[str, Any]:
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    return {
        "id": doc_id,
        "name": path.rsplit("/", 1)[-1],
        "size": size,
        "webUrl": f"{WEB_ROOT}/{path}",
        "createdDateTime": created,
        "lastModifiedDateTime": modified,
        "parentReference": {
            "driveId": "sandbox",
            "driveType": "documentLibrary",
            "path": f"/drive/root:/{parent}".rstrip("/") if parent else "/drive/root:",
        },
        "file": {"mimeType": mime},
    }


def folder_item(path: str, children: list[dict[str, Any]] | None) -> dict[str, Any]:
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    item: dict[str, Any] = {
        "id": uuid.uuid5(uuid.NAMESPACE_URL, path).hex.upper(),
        "name": path.rsplit("/", 1)[-1],
        "webUrl": f"{WEB_ROOT}/{path}",
        "parentReference": {"driveId": "sandbox", "path": f"/drive/root:/{parent}" if parent else "/drive/root:"},
        "folder": {"childCount": len(children) if children is not None else None},
    }
    return item


DELTA_TOP = 200
DELTA_MAX_TOP = 1000


async def delta(docs: DocumentStore, request: Request) -> Response:
    """`GET …/drive/root/delta`: every file of the drive, page by page (see the module docstring)."""
    token, top = request.query_params.get("token", "0"), request.query_params.get("$top", str(DELTA_TOP))
    if not (token.isdigit() and top.isdigit() and int(top) > 0):
        raise GraphError(400, "invalidRequest", "Invalid token or $top.")
    offset, size = int(token), min(int(top), DELTA_MAX_TOP)
    items, more = await run_in_threadpool(docs.delta, offset, size)
    base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    body: dict[str, Any] = {"value": items}
    link = "@odata.nextLink" if more else "@odata.deltaLink"
    body[link] = f"{base}?token={offset + len(items) if more else 'latest'}" + (f"&$top={size}" if more else "")
    return JSONResponse(body)


def split_drive_path(rest: str) -> tuple[str, str | None]:
    """`root:/a/b.pdf:/content` → ("a/b.pdf", "content"); `root:/a` → ("a", None)."""
    rest = rest.removeprefix(DRIVE_PREFIX)
    if rest in ("", "/children", "/delta"):
        return "", rest.lstrip("/") or None
    if not rest.startswith(":/"):
        raise GraphError(400, "invalidRequest", "Expected a path of the form root:/{path}.")
    path, sep, action = rest[2:].rpartition(":/")
    if not sep:
        return rest[2:].rstrip(":"), None
    return path, action


async def write_stream(request: Request, target: Path, limit: int, too_big: GraphError) -> int:
    """Stream the request body to `target` chunk by chunk; `too_big` as soon as `limit` is passed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with open(target, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_big
                handle.write(chunk)
    except GraphError:
        target.unlink(missing_ok=True)
        raise
    return size


def append_file(source: Path, target: Path) -> None:
    """Append `source` to `target` in blocks (never the whole file in memory), then drop it."""
    with open(source, "rb") as src, open(target, "ab") as dst:
        while block := src.read(1024 * 1024):
            dst.write(block)
    source.unlink()


async def handle(docs: DocumentStore, request: Request, limits: Any) -> Response:
    """Entry point of every `/graph/...` request: authentication, service protection, routing.

    Args:
        docs: the store.
        request: the HTTP request.
        limits: the app's ServiceProtection (every call counts for its caller).
    """
    rest = request.path_params["path"]
    try:
        if rest.startswith("upload/") and request.method == "PUT":
            client, options = await run_in_threadpool(docs.session_owner, rest.removeprefix("upload/"))
        else:
            client, options = await run_in_threadpool(docs.check_token, request.headers.get("authorization"))
        await run_in_threadpool(limits.admit, client, options)
    except GraphError as error:
        return error.response()
    except ODataError as error:
        code = "TooManyRequests" if error.status == 429 else "InvalidAuthenticationToken"
        return JSONResponse({"error": {"code": code, "message": error.message}}, error.status, error.headers)
    started = time.monotonic()
    try:
        return await _route(docs, request, rest, client)
    except GraphError as error:
        return error.response()
    finally:
        await run_in_threadpool(limits.release, client, (time.monotonic() - started) * 1000)


async def _route(docs: DocumentStore, request: Request, rest: str, client: str) -> Response:
    if rest.startswith("upload/") and request.method == "PUT":
        return await upload_chunk(docs, request, rest.removeprefix("upload/"))
    if rest.startswith("download/") and request.method == "GET":
        path = await run_in_threadpool(docs.path_of, rest.removeprefix("download/"))
        item = await run_in_threadpool(docs.item, path)
        data = await run_in_threadpool(docs.file_path(path).read_bytes)
        return Response(data, media_type=item["file"]["mimeType"])
    item = next((rest[len(p) :] for p in ITEM_PREFIXES if rest.startswith(p)), None)
    if item is not None and "/" not in item:
        path = await run_in_threadpool(docs.path_of, item)
        if request.method == "DELETE":
            await run_in_threadpool(docs.delete, path)
            return Response(status_code=204)
        if request.method == "GET":
            return JSONResponse(await run_in_threadpool(docs.item, path))
    if not rest.startswith(DRIVE_PREFIX):
        raise GraphError(404, "itemNotFound", f"Unknown resource '{rest}'.")
    path, action = split_drive_path(rest)
    path = check_path(path) if path else ""
    if request.method == "DELETE" and action is None and path:
        await run_in_threadpool(docs.delete, path)
        return Response(status_code=204)
    return await drive_request(docs, request, path, action, client)


async def drive_request(docs: DocumentStore, request: Request, path: str, action: str | None, client: str) -> Response:
    if request.method == "PUT" and action == "content" and path:
        limit = min(SIMPLE_UPLOAD_MAX, await run_in_threadpool(docs.max_bytes))
        temp = docs.uploads / f"{uuid.uuid4().hex}.tmp"
        too_big = GraphError(
            413, "maxFileSizeExceeded", f"Simple uploads are limited to {limit} bytes; use an upload session."
        )
        size = await write_stream(request, temp, limit, too_big)
        target = docs.file_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        return JSONResponse(await run_in_threadpool(docs.register, path, size), status_code=201)
    if request.method == "POST" and action == "createUploadSession" and path:
        session, expires = await run_in_threadpool(docs.open_session, path, client)
        return JSONResponse(
            {
                "uploadUrl": f"{request.url.scheme}://{request.url.netloc}/graph/upload/{session}",
                "expirationDateTime": dt.datetime.fromtimestamp(expires, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "nextExpectedRanges": ["0-"],
            }
        )
    if request.method == "GET" and action == "content" and path:
        item = await run_in_threadpool(docs.item, path)
        if "file" not in item:
            raise GraphError(400, "invalidRequest", f"'{path}' is a folder, not a file.")
        url = f"{request.url.scheme}://{request.url.netloc}/graph/download/{item['id']}"
        return Response(status_code=302, headers={"Location": url})
    if request.method == "GET" and action == "children":
        return JSONResponse({"value": await run_in_threadpool(docs.children, path)})
    if request.method == "GET" and action == "delta" and not path:
        return await delta(docs, request)
    if request.method == "GET" and action is None and path:
        return JSONResponse(await run_in_threadpool(docs.item, path))
    if request.method == "GET" and action is None and not path:  # GET …/drive/root (real Graph)
        return JSONResponse({**folder_item("", None), "name": "root", "webUrl": WEB_ROOT, "root": {}})
    raise GraphError(400, "invalidRequest", f"Unsupported operation {request.method} {action or ''}.")


async def upload_chunk(docs: DocumentStore, request: Request, session_id: str) -> Response:
    """One `Content-Range` chunk of a resumable upload."""
    session = await run_in_threadpool(docs.session, session_id)
    match = RANGE_RE.match(request.headers.get("content-range", ""))
    if not match:
        raise GraphError(400, "invalidRequest", "A Content-Range header 'bytes start-end/total' is required.")
    start, end, total = (int(g) for g in match.groups())
    if total > await run_in_threadpool(docs.max_bytes):
        await run_in_threadpool(docs.close_session, session_id)
        raise GraphError(413, "maxFileSizeExceeded", f"The file size {total} exceeds the maximum allowed size.")
    expected = session["received"]
    if start != expected or end < start or end >= total or (session["total"] not in (None, total)):
        return JSONResponse(
            {
                "error": {
                    "code": "invalidRange",
                    "message": "The uploaded fragment does not match the expected range.",
                },
                "nextExpectedRanges": [f"{expected}-"],
            },
            status_code=416,
        )
    length = end - start + 1
    last = end + 1 == total
    if length > CHUNK_MAX or (not last and length % CHUNK_MULTIPLE):
        raise GraphError(
            400, "invalidRequest", "Fragments must be at most 60 MiB and a multiple of 320 KiB except the last."
        )
    part, chunk = docs.uploads / f"{session_id}.part", docs.uploads / f"{session_id}.chunk"
    mismatch = GraphError(400, "invalidRequest", f"The body length does not match the Content-Range length {length}.")
    size = await write_stream(request, chunk, length, mismatch)
    if size != length:
        chunk.unlink(missing_ok=True)
        raise mismatch
    await run_in_threadpool(append_file, chunk, part)
    if not last:
        await run_in_threadpool(docs.advance, session_id, total, end + 1)
        return JSONResponse({"expirationDateTime": None, "nextExpectedRanges": [f"{end + 1}-"]}, status_code=202)
    target = docs.file_path(session["path"])
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, target)
    await run_in_threadpool(docs.close_session, session_id)
    return JSONResponse(await run_in_threadpool(docs.register, session["path"], total), status_code=201)
