"""The Interactive source connector: HubSpot CRM v3 wire format, so a real portal is configuration.

- Full extract: `GET /crm/v3/objects/{type}?limit=100&properties=...&archived=false`, following
  `paging.next.after`; records are listed by id, so edits made while paging move nothing.
- Associations: `POST /crm/v4/associations/{from}/{to}/batch/read` per page and target type, with
  type ids (1 primary company, 14 parent company, 5 a deal's primary company) and labels of the
  portal's own types ("Client", "Spouse") flattened into id fields (`settings.Link`).
- Delta (`since`): `POST /crm/v3/objects/{type}/search` on the last-modified property, ascending,
  200 a page. Every page re-queries from the last timestamp seen (GTE, de-duplicated by id)
  instead of following `after`: an offset skips a record whenever one already read is edited and
  moves to the end, and the search refuses to page past 10,000 results; anchoring on the
  timestamp avoids both. A full page sharing one timestamp is paged through with `after` inside
  that instant (repeated until no new id appears), then the query moves past it. Records are
  kept until the end, so a record edited while paging is yielded once, in its latest version.
- Deletions: archived records (`archived=true`) whose `archivedAt` is at or after `since`.
- Owners (active and archived), deal pipelines and stages, files (`/files/v3/files/search`) and
  flows (`/automation/v4/flows` and each definition); `since` keeps those updated at or after it.
- Downloads: the file's metadata `url`, streamed in chunks.
Limits: 100 requests per 10 s, paced by HubSpot's X-HubSpot-RateLimit-* headers when the allowance
runs low (no fixed client-side rate), and the search endpoints' ~4 per second under their own limiter
identity with a ceiling of 3/s (search answers carry no rate headers); a 429 is retried with backoff
(HubSpot sends no Retry-After).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import SecretStr

from migration_assets import json_text
from migration_assets.connectors.base import Deletion, SourceConnector, SourceObject
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.http import HeaderAuth, HttpSession
from migration_assets.connectors.interactive import settings
from migration_assets.errors import AuthError, ConnectorError, MigrationError, RemoteRejected, known_values

Record = dict[str, Any]
NO_ASSOCIATIONS = "crm.associations.NO_ASSOCIATIONS_FOUND"


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp (offset-less means UTC) or epoch milliseconds, as an aware datetime.

    Raises:
        ValueError: for anything else.
    """
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def epoch_ms(value: str) -> int:
    return int(parse_time(value).timestamp() * 1000)


def _is(kind: Mapping[str, Any], key: int | str) -> bool:
    if isinstance(key, int):
        return kind.get("typeId") == key and kind.get("category") == "HUBSPOT_DEFINED"
    return str(kind.get("label") or "").lower() == key.lower()


def flatten_links(link: settings.Link, targets: Sequence[Mapping[str, Any]]) -> Record:
    """The id fields of one association target type (v4 `to` entries -> `company_ids`, ...)."""

    def ids(key: int | str) -> list[str]:
        return [str(t["toObjectId"]) for t in targets if any(_is(k, key) for k in t["associationTypes"])]

    row: Record = {}
    if link.all_ids:
        row[link.all_ids] = list(dict.fromkeys(str(t["toObjectId"]) for t in targets))
    for name, key in link.single.items():
        row[name] = next(iter(ids(key)), None)
    for name, key in link.many.items():
        row[name] = ids(key)
    return row


class InteractiveSource(SourceConnector):
    """Reads Interactive through its HubSpot-shaped API with a private-app bearer token.

    Args:
        session: an HttpSession whose client points at the API (or the sandbox transport).
        page_size: records per list page, at most 100.
        search_page_size: records per search page, at most 200.
        search_rate: search requests per second (the search endpoints' own limit is ~4).
    """

    system: ClassVar[str] = "interactive"
    catalog: ClassVar[Mapping[str, SourceObject]] = settings.CATALOG

    def __init__(
        self,
        session: HttpSession,
        *,
        page_size: int = settings.PAGE_SIZE,
        search_page_size: int = settings.SEARCH_PAGE_SIZE,
        search_rate: float = settings.SEARCH_RATE_PER_SECOND,
    ) -> None:
        super().__init__(session)
        if not 1 <= page_size <= settings.PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {settings.PAGE_SIZE}, got {page_size}")
        if not 1 <= search_page_size <= settings.SEARCH_PAGE_SIZE:
            raise ValueError(
                f"search_page_size must be between 1 and {settings.SEARCH_PAGE_SIZE}, got {search_page_size}"
            )
        self.page_size, self.search_page_size = page_size, search_page_size
        # the search endpoints have their own limit (about 4/s per token): their own limiter identity
        self.search_session = HttpSession(
            session.system,
            session.client,
            auth=session.auth,
            rate=search_rate,
            concurrency=1,
            retry=session.retry,
            identity=session.identity + ":search",
        )
        self._custom_type: str | None = None
        self._deletions: dict[str, list[Deletion]] = {}

    @classmethod
    def from_connection(cls, connection: Connection, **options: Any) -> Self:
        """Build the connector for a real portal or the sandbox.

        Raises:
            AuthError: when the connection has no private-app token (`INTERACTIVE_TOKEN`).
        """
        if connection.api_key is None:
            raise AuthError("no private-app token configured (set INTERACTIVE_TOKEN)", system=cls.system)
        auth = HeaderAuth("Authorization", SecretStr("Bearer " + connection.api_key.get_secret_value()))
        session = HttpSession(
            cls.system,
            connection.http_client(),
            auth=auth,
            concurrency=settings.CONCURRENCY,
            retry=settings.RETRY,
            rate_hints=settings.RATE_HEADERS,
        )
        return cls(session, **options)

    # -- HTTP -------------------------------------------------------------------------------
    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.session.request("GET", path, params=dict(params or {}), expect=(200,))
        return json_text.response_json(response)

    async def _post(self, path: str, body: Any, *, expect: tuple[int, ...] = (200,)) -> Any:
        response = await self.session.request("POST", path, json=body, expect=expect)
        return json_text.response_json(response)

    async def _pages(self, path: str, params: Mapping[str, Any]) -> AsyncIterator[list[Record]]:
        """The `results` of each page of a GET listing, following `paging.next.after`."""
        after: str | None = None
        while True:
            body = await self._get(path, {**params, **({"after": after} if after else {})})
            yield body.get("results", [])
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    async def api_type(self, obj: str) -> str:
        """The API type of a CRM catalog object (the custom object's "2-<n>" from its schema).

        Raises:
            MigrationError: for an object that is not a CRM object.
            ConnectorError: when the portal has no custom object named `spouse_link`.
        """
        crm = settings.CRM.get(obj)
        if crm is None:
            raise MigrationError(f"interactive has no CRM object {obj!r} {known_values(settings.CRM)}")
        if crm.api:
            return crm.api
        if self._custom_type is None:
            schemas = (await self._get("/crm/v3/schemas")).get("results", [])
            found = next((s for s in schemas if s.get("name") == settings.CUSTOM_OBJECT_NAME), None)
            if found is None:
                raise ConnectorError(f"no custom object named {settings.CUSTOM_OBJECT_NAME!r}", system=self.system)
            self._custom_type = str(found["objectTypeId"])
        return self._custom_type

    # -- records ----------------------------------------------------------------------------
    async def extract(self, obj: str, *, since: str | None = None) -> AsyncIterator[list[Record]]:
        """Yield pages of records of `obj`, only those changed at or after `since` if given.

        Raises:
            MigrationError: for an unknown object.
            ConnectorError: when the API refuses a request.
        """
        if obj in settings.CRM:
            api = await self.api_type(obj)
            if since is None:
                async for results in self._pages(f"/crm/v3/objects/{api}", self._list_params(obj)):
                    if results:
                        yield await self._flatten(obj, api, results)
                return
            changed = list((await self._changed(obj, api, since)).values())
            for start in range(0, len(changed), self.page_size):
                yield await self._flatten(obj, api, changed[start : start + self.page_size])
            return
        readers = {"owners": self._owners, "pipelines": self._pipelines, "pipeline_stages": self._stages}
        readers |= {"files": self._files, "flows": self._flows}
        if obj not in readers:
            raise MigrationError(f"interactive has no object {obj!r} {known_values(self.catalog)}")
        cutoff = parse_time(since) if since else None
        async for rows in readers[obj]():
            kept = [r for r in rows if cutoff is None or (r.get("updatedAt") and parse_time(r["updatedAt"]) >= cutoff)]
            if kept:
                yield kept

    def _list_params(self, obj: str) -> dict[str, Any]:
        names = settings.CRM[obj].property_names
        return {"limit": self.page_size, "properties": ",".join(names), "archived": "false"}

    async def _search(self, obj: str, api: str, filters: list[tuple[str, int]], after: int = 0) -> Record:
        crm = settings.CRM[obj]
        body: Record = {
            "filterGroups": [
                {"filters": [{"propertyName": crm.modified, "operator": op, "value": str(v)} for op, v in filters]}
            ],
            "sorts": [{"propertyName": crm.modified, "direction": "ASCENDING"}],
            "properties": list(crm.property_names),
            "limit": self.search_page_size,
        }
        if after:
            body["after"] = str(after)
        response = await self.search_session.request(
            "POST", f"/crm/v3/objects/{api}/search", json=body, expect=(200,), idempotent=True
        )
        return json_text.response_json(response)

    async def _changed(self, obj: str, api: str, since: str) -> dict[str, Record]:
        """Every record modified at or after `since`, latest version, keyed by id (module docstring)."""
        modified = settings.CRM[obj].modified
        latest: dict[str, Record] = {}
        mark, operator = epoch_ms(since), "GTE"
        while True:
            page = await self._search(obj, api, [(operator, mark)])
            results = page.get("results", [])
            _keep(latest, results)
            if not page.get("paging") or not results:
                return latest
            top = epoch_ms(results[-1]["properties"][modified])
            if top > mark:
                mark, operator = top, "GTE"
            else:  # a whole page at one instant: drain it, then query past it
                await self._drain_instant(obj, api, mark, latest)
                operator = "GT"

    async def _drain_instant(self, obj: str, api: str, mark: int, latest: dict[str, Record]) -> None:
        """Page with `after` through the records modified exactly at `mark`, again until a pass
        finds no new id (an edit moves a record out of the instant and shifts the offsets)."""
        while True:
            new, after = 0, 0
            while True:
                try:
                    page = await self._search(obj, api, [("GTE", mark), ("LTE", mark)], after)
                except RemoteRejected as exc:
                    raise ConnectorError(
                        f"{obj}: more records modified at {mark} ms than the search can page through",
                        system=self.system,
                    ) from exc
                results = page.get("results", [])
                new += sum(1 for r in results if r["id"] not in latest)
                _keep(latest, results)
                after = int(((page.get("paging") or {}).get("next") or {}).get("after") or 0)
                if not after:
                    break
            if new == 0:
                return

    async def _flatten(self, obj: str, api: str, records: list[Record]) -> list[Record]:
        """API records -> flat rows: `id`, stamps, `archived`, every property and association ids."""
        crm = settings.CRM[obj]
        ids = [str(r["id"]) for r in records]
        found = [await self._associations(api, await self.api_type(link.to), ids) for link in crm.links]
        rows = []
        for r in records:
            row: Record = {
                "id": str(r["id"]),
                "createdAt": r.get("createdAt"),
                "updatedAt": r.get("updatedAt"),
                "archived": bool(r.get("archived", False)),
                **(r.get("properties") or {}),
            }
            for link, by_id in zip(crm.links, found, strict=True):
                row |= flatten_links(link, by_id.get(row["id"], []))
            if "attachment_ids" in self.catalog[obj].parents:
                row["attachment_ids"] = [i for i in str(row.get("hs_attachment_ids") or "").split(";") if i]
            rows.append(row)
        return rows

    async def _associations(self, from_api: str, to_api: str, ids: Sequence[str]) -> dict[str, list[Record]]:
        """{from id: v4 `to` entries} through the v4 batch read (ids without any are absent)."""
        out: dict[str, list[Record]] = {}
        for start in range(0, len(ids), settings.ASSOCIATION_BATCH):
            chunk = ids[start : start + settings.ASSOCIATION_BATCH]
            body = await self._post(
                f"/crm/v4/associations/{from_api}/{to_api}/batch/read",
                {"inputs": [{"id": i} for i in chunk]},
                expect=(200, 207),
            )
            for error in body.get("errors") or []:
                if error.get("subCategory") != NO_ASSOCIATIONS:
                    raise ConnectorError(f"association read {from_api}->{to_api} failed: {error}", system=self.system)
            for result in body.get("results") or []:
                out[str(result["from"]["id"])] = result.get("to") or []
        return out

    # -- owners, pipelines, files, flows ----------------------------------------------------
    async def _owners(self) -> AsyncIterator[list[Record]]:
        keys = [f.name for f in self.catalog["owners"].fields]
        for archived in ("false", "true"):
            async for results in self._pages("/crm/v3/owners", {"archived": archived, "limit": 100}):
                yield [{k: r.get(k) for k in keys} for r in results]

    async def _pipelines(self) -> AsyncIterator[list[Record]]:
        keys = [f.name for f in self.catalog["pipelines"].fields]
        yield [{k: p.get(k) for k in keys} for p in (await self._get("/crm/v3/pipelines/deals"))["results"]]

    async def _stages(self) -> AsyncIterator[list[Record]]:
        rows = []
        for pipe in (await self._get("/crm/v3/pipelines/deals"))["results"]:
            for stage in pipe.get("stages") or []:
                metadata = stage.get("metadata") or {}
                rows.append(
                    {
                        "id": stage["id"],
                        "pipeline_id": pipe["id"],
                        "label": stage.get("label"),
                        "displayOrder": stage.get("displayOrder"),
                        "probability": metadata.get("probability"),
                        "isClosed": metadata.get("isClosed"),
                        "archived": stage.get("archived", False),
                        "createdAt": stage.get("createdAt"),
                        "updatedAt": stage.get("updatedAt"),
                    }
                )
        yield rows

    async def _files(self) -> AsyncIterator[list[Record]]:
        keys = [f.name for f in self.catalog["files"].fields]
        async for results in self._pages("/files/v3/files/search", {"limit": 100}):
            yield [{k: r.get(k) for k in keys} for r in results]

    async def _flows(self) -> AsyncIterator[list[Record]]:
        summary = {f.name for f in self.catalog["flows"].fields} - {"definition"}
        async for results in self._pages("/automation/v4/flows", {"limit": 100}):
            rows = []
            for item in results:
                flow = await self._get(f"/automation/v4/flows/{item['id']}")
                row = {k: flow.get(k) for k in summary}
                row["definition"] = {k: v for k, v in flow.items() if k not in summary}
                rows.append(row)
            yield rows

    # -- deletions and files ----------------------------------------------------------------
    async def deleted_since(self, since: str) -> list[Deletion]:
        """Records archived at or after `since`, from every CRM object (cached per `since`)."""
        if since in self._deletions:
            return list(self._deletions[since])
        cutoff, out = parse_time(since), []
        for obj, crm in settings.CRM.items():
            api = await self.api_type(obj)
            params = {"archived": "true", "limit": self.page_size, "properties": crm.modified}
            async for results in self._pages(f"/crm/v3/objects/{api}", params):
                for r in results:
                    stamp = r.get("archivedAt") or r.get("updatedAt")
                    if stamp and parse_time(stamp) >= cutoff:
                        out.append(Deletion(object=obj, id=str(r["id"]), deleted_at=stamp))
        self._deletions[since] = out
        return list(out)

    async def properties(self, obj: str) -> list[Record]:
        """The property definitions of a CRM object (`GET /crm/v3/properties/{type}`)."""
        return (await self._get(f"/crm/v3/properties/{await self.api_type(obj)}"))["results"]

    async def download(self, obj: str, record_id: str) -> AsyncIterator[bytes]:
        """Stream the bytes of file `record_id` in chunks, never the whole file in memory.

        Raises:
            MigrationError: when `obj` is not "files".
            RemoteRejected: when the file (or its content) does not exist (404).
            AuthError, RateLimited: refused credentials, or throttling beyond the retry budget.
        """
        if obj != "files":
            raise MigrationError(f"interactive can only download 'files', not {obj!r}")
        meta = await self._get(f"/files/v3/files/{record_id}")
        async with self.session.stream("GET", meta["url"]) as response:
            async for chunk in response.aiter_bytes(settings.DOWNLOAD_CHUNK):
                yield chunk


def _keep(latest: dict[str, Record], results: Sequence[Record]) -> None:
    """Keep the newest version of each record by id."""
    for r in results:
        rid = str(r["id"])
        held = latest.get(rid)
        if held is None or parse_time(r["updatedAt"]) >= parse_time(held["updatedAt"]):
            latest[rid] = r
