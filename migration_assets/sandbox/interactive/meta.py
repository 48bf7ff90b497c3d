"""The non-record endpoints of the Interactive emulator: properties, pipelines, owners, schemas,
associations v4, files and flows.

Real (HubSpot public API shapes):
- `GET /crm/v3/properties/{type}` -> `{"results": [{name, label, type, fieldType, options
  [{label, value, displayOrder, hidden}], ...}]}` (no paging); the deal `pipeline` and `dealstage`
  options list the pipelines and every stage;
- `GET /crm/v3/pipelines/deals[/{id}]` -> pipelines with `stages` [{id, label, displayOrder,
  metadata {probability, isClosed} as strings, archived, createdAt, updatedAt}];
- `GET /crm/v3/owners?archived=&limit=(<=500)&after=&email=` and `GET /crm/v3/owners/{id}`; with
  `archived=true` only archived owners are listed;
- `GET /crm/v3/schemas[/{objectType}]` (custom object schemas);
- `GET /crm/v4/objects/{from}/{id}/associations/{to}` -> `{"results": [{"toObjectId": <number>,
  "associationTypes": [{"category", "typeId", "label"}]}], "paging"?}` (`limit` <= 500), and
  `POST /crm/v4/associations/{from}/{to}/batch/read` -> `{"status", "results": [{"from": {"id"},
  "to": [...]}]}`, with a 207 and `errors` (subCategory `crm.associations.NO_ASSOCIATIONS_FOUND`) for
  inputs without any;
- `GET /files/v3/files/{id}` (metadata with `url`, `size`, `name`, `extension`, `type`...) and
  `GET /files/v3/files/search` (paged);
- `GET /automation/v4/flows` (paged summaries) and `GET /automation/v4/flows/{id}` (definition).

Ours: the download path `GET /hubfs/{id}/{name}` that a file's `url` points at (standing for
HubSpot's file CDN: no token, no rate limit; bytes generated from id and size, never stored), the
pipelines endpoint refusing types other than deals, the association listing of an unknown record
being empty, v4 `after` being the next `toObjectId`, and associations of archived records being kept
(HubSpot hides them until the record is restored; kept here so dangling links can be tested).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from migration_assets.sandbox._common import SqliteState
from migration_assets.sandbox._content import SyntheticContent
from migration_assets.sandbox.interactive import store
from migration_assets.sandbox.interactive.crm import json_body
from migration_assets.sandbox.interactive.guard import ApiError
from migration_assets.sandbox.interactive.objects import (
    ASSOCIATION_TYPES,
    CUSTOM_FQN,
    CUSTOM_TYPE_ID,
    TYPES,
    ObjectType,
)
from migration_assets.sandbox.interactive.params import archived_flag, integer, object_type
from migration_assets.sandbox.interactive.render import next_page

V4_BATCH_MAX = 1000


def _not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found", "OBJECT_NOT_FOUND")


def _group(pairs: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """[(to id, type id)] ordered by to id -> v4 `results` entries."""
    out: list[dict[str, Any]] = []
    for to_id, type_id in pairs:
        if not out or out[-1]["toObjectId"] != to_id:
            out.append({"toObjectId": to_id, "associationTypes": []})
        out[-1]["associationTypes"].append(ASSOCIATION_TYPES[type_id].spec())
    return out


class MetaEndpoints:
    """Handlers over one state file; each takes the request and the state's options."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state

    def _read(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with self.state.connect() as conn:
            return fn(conn, *args, **kwargs)

    # -- schema -----------------------------------------------------------------------------
    async def properties(self, request: Request, opts: dict[str, Any]) -> Response:
        otype = object_type(request.path_params["type"])
        choices: dict[str, tuple[tuple[str, str], ...]] = {}
        if otype.name == "deals":
            pipelines = await run_in_threadpool(
                self._read, store.page_resources, "pipelines", archived=False, after=0, limit=1000
            )
            choices["pipeline"] = tuple((p["id"], p["label"]) for p in pipelines)
            choices["dealstage"] = tuple((s["id"], s["label"]) for p in pipelines for s in p["stages"])
        results = [p.describe(n, choices.get(p.name)) for n, p in enumerate(otype.props)]
        return JSONResponse({"results": results})

    async def schemas(self, request: Request, opts: dict[str, Any]) -> Response:
        return JSONResponse({"results": [custom_schema()]})

    async def schema(self, request: Request, opts: dict[str, Any]) -> Response:
        otype = object_type(request.path_params["type"])
        if otype.name != CUSTOM_TYPE_ID:
            raise _not_found(f"Schema {request.path_params['type']}")
        return JSONResponse(custom_schema())

    # -- pipelines and owners ---------------------------------------------------------------
    async def pipelines(self, request: Request, opts: dict[str, Any]) -> Response:
        self._deals_only(request)
        archived = archived_flag(request)
        docs = await run_in_threadpool(
            self._read, store.page_resources, "pipelines", archived=archived, after=0, limit=1000
        )
        return JSONResponse({"results": [store.public(d) for d in docs]})

    async def pipeline(self, request: Request, opts: dict[str, Any]) -> Response:
        self._deals_only(request)
        doc = await run_in_threadpool(self._read, store.resource, "pipelines", request.path_params["id"])
        if doc is None:
            raise _not_found(f"Pipeline {request.path_params['id']}")
        return JSONResponse(store.public(doc))

    @staticmethod
    def _deals_only(request: Request) -> None:
        otype = object_type(request.path_params["type"])
        if otype.name != "deals":
            raise ApiError(400, f"Object type {otype.type_id} does not support pipelines in this sandbox")

    async def owners(self, request: Request, opts: dict[str, Any]) -> Response:
        limit = integer(request.query_params.get("limit"), "limit", 100, 500)
        after = integer(request.query_params.get("after"), "after", 0, 2**62)
        archived, email = archived_flag(request), request.query_params.get("email") or None
        docs = await run_in_threadpool(
            self._read, store.page_resources, "owners", archived=archived, after=after, limit=limit + 1, email=email
        )
        out: dict[str, Any] = {"results": [store.public(d) for d in docs[:limit]]}
        if len(docs) > limit:
            out["paging"] = next_page(request, str(docs[limit]["id"]))
        return JSONResponse(out)

    async def owner(self, request: Request, opts: dict[str, Any]) -> Response:
        archived = archived_flag(request)
        doc = await run_in_threadpool(self._read, store.resource, "owners", request.path_params["id"])
        if doc is None or bool(doc.get("archived")) != archived:
            raise _not_found(f"Owner {request.path_params['id']}")
        return JSONResponse(store.public(doc))

    # -- associations v4 --------------------------------------------------------------------
    async def associations(self, request: Request, opts: dict[str, Any]) -> Response:
        source, target = object_type(request.path_params["from"]), object_type(request.path_params["to"])
        raw = request.path_params["id"]
        limit = integer(request.query_params.get("limit"), "limit", 500, 500)
        after = integer(request.query_params.get("after"), "after", 0, 2**62)
        rid = int(raw) if raw.isdigit() else -1
        found = await run_in_threadpool(self._read, store.associations, source.name, [rid], target.name)
        grouped = [g for g in _group(found.get(rid, [])) if g["toObjectId"] >= after]
        out: dict[str, Any] = {"results": grouped[:limit]}
        if len(grouped) > limit:
            out["paging"] = next_page(request, str(grouped[limit]["toObjectId"]))
        return JSONResponse(out)

    async def associations_batch(self, request: Request, opts: dict[str, Any]) -> Response:
        source, target = object_type(request.path_params["from"]), object_type(request.path_params["to"])
        body = await json_body(request)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
            raise ApiError(400, 'inputs must be a list of {"id": ...} objects')
        if len(inputs) > V4_BATCH_MAX:
            raise ApiError(400, f"Batch input size {len(inputs)} exceeds the limit of {V4_BATCH_MAX}")
        asked = list(dict.fromkeys(str(i["id"]) for i in inputs))
        ids = [int(a) for a in asked if a.isdigit()]
        found = await run_in_threadpool(self._read, store.associations, source.name, ids, target.name)
        results = [{"from": {"id": a}, "to": _group(found[int(a)])} for a in asked if a.isdigit() and found.get(int(a))]
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        empty = [a for a in asked if not a.isdigit() or not found.get(int(a))]
        if not empty:
            return JSONResponse(out)
        errors = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "context": {"fromObjectId": [a]},
                "message": f"No {target.singular} is associated with {source.singular} {a}.",
            }
            for a in empty
        ]
        return JSONResponse({**out, "numErrors": len(errors), "errors": errors}, status_code=207)

    # -- files and flows --------------------------------------------------------------------
    async def file(self, request: Request, opts: dict[str, Any]) -> Response:
        doc = await run_in_threadpool(self._read, store.resource, "files", request.path_params["id"])
        if doc is None:
            raise _not_found(f"File {request.path_params['id']}")
        return JSONResponse(file_view(doc, request))

    async def files(self, request: Request, opts: dict[str, Any]) -> Response:
        limit = integer(request.query_params.get("limit"), "limit", 10, 100)
        after = integer(request.query_params.get("after"), "after", 0, 2**62)
        docs = await run_in_threadpool(
            self._read, store.page_resources, "files", archived=False, after=after, limit=limit + 1
        )
        out: dict[str, Any] = {"results": [file_view(d, request) for d in docs[:limit]]}
        if len(docs) > limit:
            out["paging"] = next_page(request, str(docs[limit]["id"]))
        return JSONResponse(out)

    async def flows(self, request: Request, opts: dict[str, Any]) -> Response:
        limit = integer(request.query_params.get("limit"), "limit", 100, 100)
        after = integer(request.query_params.get("after"), "after", 0, 2**62)
        docs = await run_in_threadpool(
            self._read, store.page_resources, "flows", archived=None, after=after, limit=limit + 1
        )
        keys = ("id", "name", "isEnabled", "flowType", "objectTypeId", "revisionId", "createdAt", "updatedAt")
        out: dict[str, Any] = {"results": [{k: d.get(k) for k in keys} for d in docs[:limit]]}
        if len(docs) > limit:
            out["paging"] = next_page(request, str(docs[limit]["id"]))
        return JSONResponse(out)

    async def flow(self, request: Request, opts: dict[str, Any]) -> Response:
        doc = await run_in_threadpool(self._read, store.resource, "flows", request.path_params["id"])
        if doc is None:
            raise _not_found(f"Flow {request.path_params['id']}")
        return JSONResponse(store.public(doc))

    async def content(self, request: Request) -> Response:
        """The bytes of a file (our CDN stand-in: no token, no rate limit)."""
        doc = await run_in_threadpool(self._read, store.resource, "files", request.path_params["id"])
        if doc is None or doc.get("_blob") == "missing":
            return JSONResponse({"status": "error", "message": "Not Found"}, status_code=404)
        size = int(doc["size"])
        name = f"{doc['name']}.{doc['extension']}" if doc.get("extension") else doc["name"]
        headers = {"Content-Length": str(size), "Content-Disposition": disposition(name)}
        media = doc.get("_content_type") or "application/octet-stream"
        return StreamingResponse(stream(int(doc["id"]), size), media_type=media, headers=headers)


def file_view(doc: dict[str, Any], request: Request) -> dict[str, Any]:
    """File metadata with an absolute `url` on the host the client called."""
    view = store.public(doc)
    name = f"{doc['name']}.{doc['extension']}" if doc.get("extension") else str(doc["name"])
    view["url"] = f"{request.url.scheme}://{request.url.netloc}/hubfs/{doc['id']}/{quote(name)}"
    return view


def custom_schema() -> dict[str, Any]:
    """The schema of the spouse-per-matter custom object (ours: name, labels, properties)."""
    otype: ObjectType = TYPES[CUSTOM_TYPE_ID]
    return {
        "id": CUSTOM_TYPE_ID.split("-")[1],
        "objectTypeId": CUSTOM_TYPE_ID,
        "name": otype.singular,
        "fullyQualifiedName": CUSTOM_FQN,
        "labels": {"singular": "Spouse link", "plural": "Spouse links"},
        "primaryDisplayProperty": "matter_name",
        "secondaryDisplayProperties": ["matter_number"],
        "requiredProperties": ["matter_name"],
        "searchableProperties": ["matter_name", "matter_number"],
        "properties": [p.describe(n) for n, p in enumerate(otype.props)],
        "associations": [
            {"id": str(a.type_id), "fromObjectTypeId": CUSTOM_TYPE_ID, "toObjectTypeId": "0-1", "name": a.name}
            for a in ASSOCIATION_TYPES.values()
            if a.from_type == CUSTOM_TYPE_ID
        ],
        "archived": False,
        "createdAt": "2024-02-01T09:00:00.000Z",
        "updatedAt": "2024-02-01T09:00:00.000Z",
    }


_FILES = SyntheticContent("interactive-file", fallback_name="file")
chunks, stream, disposition = _FILES.chunks, _FILES.stream, _FILES.disposition
