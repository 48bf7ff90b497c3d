"""The CRM object endpoints of the Interactive emulator: list, get by id, batch read and search.

Real: `GET /crm/v3/objects/{type}` (`limit` <= 100, default 10; `after` cursor; `properties`;
`associations`; `archived=true` lists only archived records, with `archivedAt`), `GET
/crm/v3/objects/{type}/{id}` (404 for an unknown id or one of the other archived state), `POST
/crm/v3/objects/{type}/batch/read` (`inputs` <= 100, `properties`; unknown ids make a 207 with
`errors` [{"category": "OBJECT_NOT_FOUND", "context": {"ids": [...]}}]), `POST .../search`
(see `search.py`). Ours: `after` is the id of the next record (records are listed by id), the 404
body's message, `idProperty` other than `hs_object_id` is refused (not emulated), and the knob
`bump_when_served` = {"object", "page", "ids", "at"?}: when the page-th page (list or search) of
that object is served, the given records get a new last-modified time (`at`, default now), as a
user editing them while a client pages does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migration_assets.sandbox._common import SqliteState
from migration_assets.sandbox.interactive import render, search, store
from migration_assets.sandbox.interactive.guard import ApiError
from migration_assets.sandbox.interactive.objects import ObjectType, resolve
from migration_assets.sandbox.interactive.params import list_query, object_type

BATCH_MAX = 100


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        raise ApiError(400, "Invalid input JSON: the body is not valid JSON") from None


def _record_id(raw: str, otype: ObjectType) -> int:
    if not raw.isdigit():
        raise ApiError(
            404, f"Object not found. objectId are usually numeric. ({otype.singular} {raw})", "OBJECT_NOT_FOUND"
        )
    return int(raw)


class CrmEndpoints:
    """Handlers over one state file; each takes the request and the state's options."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state

    async def list_objects(self, request: Request, opts: dict[str, Any]) -> Response:
        otype = object_type(request.path_params["type"])
        query = list_query(request)

        def read() -> dict[str, Any]:
            with self.state.connect() as conn:
                rows = store.page_objects(
                    conn, otype.name, archived=query.archived, after=query.after, limit=query.limit + 1
                )
                page = rows[: query.limit]
                links = {
                    render.association_key(t): store.associations(conn, otype.name, [r["id"] for r in page], t.name)
                    for t in query.associations
                }
            results = [
                render.render(otype, r, query.properties, {k: v.get(r["id"], []) for k, v in links.items()})
                for r in page
            ]
            out: dict[str, Any] = {"results": results}
            if len(rows) > query.limit:
                out["paging"] = render.next_page(request, str(rows[query.limit]["id"]))
            return out

        body = await run_in_threadpool(read)
        await run_in_threadpool(self.served, otype, opts)
        return JSONResponse(body)

    async def get_object(self, request: Request, opts: dict[str, Any]) -> Response:
        otype = object_type(request.path_params["type"])
        id_property = request.query_params.get("idProperty", "hs_object_id")
        if id_property != "hs_object_id":
            raise ApiError(400, f"idProperty {id_property!r} is not supported by the sandbox")
        rid = _record_id(request.path_params["id"], otype)
        query = list_query(request)

        def read() -> dict[str, Any] | None:
            with self.state.connect() as conn:
                found = store.get_objects(conn, otype.name, [rid], archived=query.archived).get(rid)
                if found is None:
                    return None
                links = {
                    render.association_key(t): store.associations(conn, otype.name, [rid], t.name).get(rid, [])
                    for t in query.associations
                }
            return render.render(otype, found, query.properties, links)

        body = await run_in_threadpool(read)
        if body is None:
            raise ApiError(
                404, f"Object not found. objectId are usually numeric. ({otype.singular} {rid})", "OBJECT_NOT_FOUND"
            )
        return JSONResponse(body)

    async def batch_read(self, request: Request, opts: dict[str, Any]) -> Response:
        otype = object_type(request.path_params["type"])
        archived = list_query(request).archived
        body = await json_body(request)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
            raise ApiError(400, 'inputs must be a list of {"id": ...} objects')
        if len(inputs) > BATCH_MAX:
            raise ApiError(400, f"Batch input size {len(inputs)} exceeds the limit of {BATCH_MAX}")
        if body.get("idProperty", "hs_object_id") != "hs_object_id":
            raise ApiError(400, f"idProperty {body['idProperty']!r} is not supported by the sandbox")
        asked = [str(i["id"]) for i in inputs]
        ids = [int(a) for a in asked if a.isdigit()]

        def read() -> dict[int, store.Record]:
            with self.state.connect() as conn:
                return store.get_objects(conn, otype.name, ids, archived=archived)

        found = await run_in_threadpool(read)
        started = _now()
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": [
                render.render(otype, found[i], body.get("properties")) for i in dict.fromkeys(ids) if i in found
            ],
            "startedAt": started,
            "completedAt": _now(),
        }
        missing = [a for a in dict.fromkeys(asked) if not a.isdigit() or int(a) not in found]
        if not missing:
            return JSONResponse(out)
        error = {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {otype.singular.upper()} objects, they may be deleted or not exist. "
            "Check that ids are valid.",
            "context": {"ids": missing},
        }
        return JSONResponse({**out, "numErrors": 1, "errors": [error]}, status_code=207)

    async def search(self, request: Request, opts: dict[str, Any]) -> Response:
        otype = object_type(request.path_params["type"])
        query = search.parse(otype, await json_body(request), cap=int(opts["search_cap"]))

        def read() -> dict[str, Any]:
            sql = f"from objects where type = ? and archived = 0 and {query.where}"
            args = [otype.name, *query.args]
            with self.state.connect() as conn:
                total = conn.execute(f"select count(*) {sql}", args).fetchone()[0]
                rows = conn.execute(
                    f"select * {sql} order by {query.order} limit ? offset ?",
                    [*args, *query.order_args, query.limit, query.after],
                ).fetchall()
            out: dict[str, Any] = {
                "total": total,
                "results": [render.render(otype, store.record(r), query.properties) for r in rows],
            }
            if query.after + len(rows) < total:
                out["paging"] = {"next": {"after": str(query.after + len(rows))}}
            return out

        body = await run_in_threadpool(read)
        await run_in_threadpool(self.served, otype, opts)
        return JSONResponse(body)

    def served(self, otype: ObjectType, opts: dict[str, Any]) -> None:
        """Count a page served and apply the `bump_when_served` knob when its page comes."""
        knob = opts.get("bump_when_served")
        if not knob or resolve(str(knob.get("object"))) is not otype:
            return
        with self.state.connect() as conn:
            if store.count_served(conn, otype.name) == int(knob["page"]):
                store.touch(conn, otype.name, [int(i) for i in knob["ids"]], store.stamp(knob.get("at") or store.now()))


def _now() -> str:
    return store.stamp(datetime.now(UTC))
