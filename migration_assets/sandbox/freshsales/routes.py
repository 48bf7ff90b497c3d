"""Record routes: create, read, update, delete, upsert, bulk destroy, views, lists and filtered search.

Real (reference sections 4-8): bodies wrapped in the singular key; `POST /<entity>/upsert` with
`unique_identifier`; `GET /<entity>/filters` then `GET /<entity>/view/{id}?page=&per_page=` with
`meta.total_pages` and `meta.total`; `GET /tasks?filter=open|completed`, `GET /appointments?filter=
past|upcoming`; `POST /filtered_search/<contact|sales_account|deal>` with `filter_rule` items
(`attribute`, `operator` `is_in`, `value` text or list) and thin results; task create 201, note create
200. Our choices (unconfirmed): an unwrapped body is refused with 400 (the reference says always
wrap); other creates answer 201, updates 200, upserts 201 when created and 200 when updated, deletes
204; `bulk_destroy` takes `{"selected_ids": [...]}` (at most 100), runs at once and ignores unknown
ids; the `is_not_empty` search operator (no value); search attributes `email`/`emails`/
`contact_email.email`, `mobile_number`, `external_id`, `name`, `owner_id`, `sales_account_id`,
`deal_stage_id`, `deal_pipeline_id` and every `cf_` field; task lists serve only the open and
completed filters; lists are newest first; views sort by `sort=created_at|updated_at` and
`sort_type=asc|desc` (filtered_search has these names; on views they are unconfirmed).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from migration_assets.sandbox._common import no_content, ok, savepoint
from migration_assets.sandbox.freshsales import records, schema
from migration_assets.sandbox.freshsales.api import Call, endpoint, meta
from migration_assets.sandbox.freshsales.errors import invalid, not_found
from migration_assets.sandbox.freshsales.model import BY_SEARCH_NAME, ENTITIES, EntityDef
from migration_assets.sandbox.freshsales.store import get_records, page_ids, page_where

BULK_DESTROY_MAX = 100
_SEARCH_ATTRIBUTES = {
    "contact": {
        "email": "emails",
        "emails": "emails",
        "contact_email.email": "emails",
        "mobile_number": "mobile_number",
        "external_id": "external_id",
        "owner_id": "owner_id",
    },
    "sales_account": {"name": "name", "owner_id": "owner_id"},
    "deal": {
        "name": "name",
        "owner_id": "owner_id",
        "sales_account_id": "sales_account_id",
        "deal_stage_id": "deal_stage_id",
        "deal_pipeline_id": "deal_pipeline_id",
    },
}


async def wrapped(call: Call, ent: EntityDef) -> Any:
    """The record inside `{"<singular>": {...}}`.

    Raises:
        FsError: 400 when the body is not wrapped in the singular key.
    """
    body = await call.json()
    if not isinstance(body, dict) or ent.singular not in body:
        raise invalid(f'The request body must be wrapped in "{ent.singular}": {{"{ent.singular}": {{...}}}}')
    return body[ent.singular]


async def create(request: Request, call: Call, ent: EntityDef) -> Response:
    values = await wrapped(call, ent)
    with call.tx() as conn:
        stored = records.create(conn, ent, values, call.user_id)
        body = {ent.singular: records.render(conn, ent, stored, call.include())}
    return ok(body, 200 if ent.name == "notes" else 201)


async def one(request: Request, call: Call, ent: EntityDef) -> Response:
    """GET, PUT or DELETE `/<entity>/{id}`."""
    record_id = request.path_params["record_id"]
    if request.method == "GET":
        with call.tx() as conn:
            return ok({ent.singular: records.render(conn, ent, records.load(conn, ent, record_id), call.include())})
    if request.method == "DELETE":
        with call.tx() as conn:
            records.remove(conn, ent, int(records.load(conn, ent, record_id)["id"]))
        return no_content()
    values = await wrapped(call, ent)
    with call.tx() as conn:
        stored = records.update(conn, ent, records.load(conn, ent, record_id), values, call.user_id)
        return ok({ent.singular: records.render(conn, ent, stored, call.include())})


async def upsert(request: Request, call: Call, ent: EntityDef) -> Response:
    body = await call.json()
    if not isinstance(body, dict) or "unique_identifier" not in body or ent.singular not in body:
        raise invalid(f'The body needs "unique_identifier" and "{ent.singular}"')
    with call.tx() as conn:
        stored, created = records.upsert(conn, ent, body["unique_identifier"], body[ent.singular], call.user_id)
        rendered = records.render(conn, ent, stored, call.include())
    return ok({ent.singular: rendered}, 201 if created else 200)


async def bulk_destroy(request: Request, call: Call, ent: EntityDef) -> Response:
    body = await call.json()
    ids = body.get("selected_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or any(not str(i).isdigit() for i in ids):
        raise invalid('The body needs "selected_ids": a list of record ids')
    if len(ids) > BULK_DESTROY_MAX:
        raise invalid(f"At most {BULK_DESTROY_MAX} records can be deleted at once")
    with call.tx() as conn:
        found = get_records(conn, ent.name, [int(i) for i in ids])
        for values in found:
            with savepoint(conn):
                records.remove(conn, ent, int(values["id"]))
    return ok({"message": f"{len(found)} {ent.name.replace('_', ' ')} deleted"})


async def filters(request: Request, call: Call, ent: EntityDef) -> Response:
    views = [
        {
            "id": view_id,
            "name": name,
            "model_class_name": ent.model,
            "user_id": call.user_id if mine else None,
            "is_default": not mine,
            "is_public": not mine,
        }
        for view_id, name, mine in ent.views
    ]
    return ok({"filters": views})


async def view(request: Request, call: Call, ent: EntityDef) -> Response:
    chosen = next((v for v in ent.views if str(v[0]) == request.path_params["view_id"]), None)
    if chosen is None:
        raise not_found("View")
    page, per_page = call.paging()
    order, descending = _sorting(call)
    owned = [("owner_id", "in", [str(call.user_id)])] if chosen[2] else []
    with call.tx() as conn:
        ids, total = page_ids(conn, ent.name, owned, page, per_page, order=order, descending=descending)
        items = [records.render(conn, ent, v, call.include()) for v in _ordered(conn, ent, ids)]
    return ok({ent.name: items, "meta": meta(total, per_page)})


def _sorting(call: Call) -> tuple[str, bool]:
    """(order, descending) of `sort=created_at|updated_at&sort_type=asc|desc` (default: newest created)."""
    sort = call.request.query_params.get("sort", "created_at")
    sort_type = call.request.query_params.get("sort_type", "desc")
    if sort not in ("created_at", "updated_at") or sort_type not in ("asc", "desc"):
        raise invalid("sort must be created_at or updated_at and sort_type asc or desc")
    return ("touched" if sort == "updated_at" else "seq"), sort_type == "desc"


def _ordered(conn, ent: EntityDef, ids: list[int]) -> list[dict[str, Any]]:
    found = {int(v["id"]): v for v in get_records(conn, ent.name, ids)}
    return [found[i] for i in ids if i in found]


async def listing(request: Request, call: Call, ent: EntityDef) -> Response:
    """`GET /tasks?filter=`, `GET /appointments?filter=`, `GET /sales_activities`."""
    page, per_page = call.paging()
    wanted = request.query_params.get("filter")
    with call.tx() as conn:
        if ent.name == "tasks":
            if wanted not in ("open", "completed"):
                raise invalid("filter must be open or completed")
            ids, total = page_ids(
                conn, ent.name, [("status", "in", ["0" if wanted == "open" else "1"])], page, per_page
            )
        elif ent.name == "appointments":
            if wanted not in ("past", "upcoming"):
                raise invalid("filter must be past or upcoming")
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            ids, total = page_where(conn, ent.name, "end_date", "<" if wanted == "past" else ">=", now, page, per_page)
        else:
            ids, total = page_ids(conn, ent.name, [], page, per_page)
        items = [records.render(conn, ent, v, call.include()) for v in _ordered(conn, ent, ids)]
    return ok({ent.name: items, "meta": meta(total, per_page)})


async def notes_of(request: Request, call: Call, ent: EntityDef) -> Response:
    """`GET /<contacts|sales_accounts|deals>/{id}/notes`."""
    page, per_page = call.paging()
    with call.tx() as conn:
        parent = records.load(conn, ent, request.path_params["record_id"])
        target = f"{ent.model}:{parent['id']}"
        ids, total = page_ids(conn, "notes", [("targetable", "in", [target])], page, per_page)
        items = [records.render(conn, ENTITIES["notes"], v) for v in _ordered(conn, ENTITIES["notes"], ids)]
    return ok({"notes": items, "meta": meta(total, per_page)})


async def filtered_search(request: Request, call: Call) -> Response:
    ent = BY_SEARCH_NAME.get(request.path_params["name"])
    if ent is None:
        raise not_found("Search entity")
    body = await call.json()
    rules = body.get("filter_rule") if isinstance(body, dict) else None
    if not isinstance(rules, list) or not rules:
        raise invalid('The body needs "filter_rule": a list of {attribute, operator, value}')
    page, per_page = call.paging(body)
    with call.tx() as conn:
        custom = {f.name for f in schema.custom_fields(conn, ent.name)}
        ids, total = page_ids(conn, ent.name, [_rule(ent, r, custom) for r in rules], page, per_page)
        items = [records.thin(ent, v) for v in _ordered(conn, ent, ids)]
    return ok({ent.name: items, "meta": meta(total, per_page)})


def _rule(ent: EntityDef, rule: Any, custom: set[str]) -> tuple[str, str, list[str]]:
    if not isinstance(rule, dict):
        raise invalid("Each filter_rule item must be an object")
    attribute, operator, value = rule.get("attribute"), rule.get("operator"), rule.get("value")
    field = _SEARCH_ATTRIBUTES[str(ent.search)].get(str(attribute)) or (attribute if attribute in custom else None)
    if field is None:
        raise invalid(f"Invalid attribute for {ent.search}: {attribute}")
    if operator == "is_not_empty":
        return field, "present", []
    if operator != "is_in":
        raise invalid(f"Invalid operator: {operator} (is_in, is_not_empty)")
    values = value if isinstance(value, list) else [value]
    if not values or any(v is None or isinstance(v, dict | list) for v in values):
        raise invalid(f"Invalid value for {attribute}")
    return field, "in", [str(v) for v in values]


def _bind(handler, ent: EntityDef, allowed: tuple[str, ...]):
    return endpoint(functools.partial(handler, ent=ent), allowed=allowed)


def entity_routes(prefix: str) -> list[Route]:
    """Routes of every record entity (documents have their own module), specific paths first."""
    every = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    routes: list[Route] = []
    for ent in ENTITIES.values():
        if ent.name == "documents":
            continue
        base = f"{prefix}/{ent.name}"
        if ent.bulk:
            routes += [
                Route(f"{base}/upsert", _bind(upsert, ent, ("POST",)), methods=every),
                Route(f"{base}/bulk_destroy", _bind(bulk_destroy, ent, ("POST",)), methods=every),
            ]
        if ent.views:
            routes += [
                Route(f"{base}/filters", _bind(filters, ent, ("GET",)), methods=every),
                Route(f"{base}/view/{{view_id}}", _bind(view, ent, ("GET",)), methods=every),
            ]
        if ent.model in ("Contact", "SalesAccount", "Deal"):
            routes.append(Route(f"{base}/{{record_id}}/notes", _bind(notes_of, ent, ("GET",)), methods=every))
        lists = ent.name in ("tasks", "appointments", "sales_activities")
        collection = _bind(listing, ent, ("GET", "POST")) if lists else None
        create_or_list = _collection(ent, collection)
        routes += [
            Route(base, create_or_list, methods=every),
            Route(f"{base}/{{record_id}}", _bind(one, ent, ("GET", "PUT", "DELETE")), methods=every),
        ]
    routes.append(
        Route(f"{prefix}/filtered_search/{{name}}", endpoint(filtered_search, allowed=("POST",)), methods=every)
    )
    return routes


def _collection(ent: EntityDef, lister):
    creator = _bind(create, ent, ("POST",) if lister is None else ("GET", "POST"))

    async def run(request: Request) -> Response:
        return await (lister if lister is not None and request.method == "GET" else creator)(request)

    return run
