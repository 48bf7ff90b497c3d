"""HTTP access to one Freshsales account: URLs, error mapping, budget accounting and paging.

Every call goes through the shared HttpSession (`Authorization: Token token=<key>`, retries, rate
limit). Creates that the API cannot make idempotent (POST of a task, note, appointment, sales activity
or document) go through a second session over the same client that never retries by itself: a
create whose answer was lost is looked up by its external id before it is sent again. Errors in the
envelope `{"errors": {"code", "message": [...]}}` become AuthError (401/403) or RemoteRejected; a 429
that outlasts the retry budget becomes BudgetExhausted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from migration_assets.connectors.freshsales.budget import HourlyBudget
from migration_assets.connectors.freshsales.settings import API_PREFIX, PER_PAGE, SYSTEM
from migration_assets.connectors.http import HeaderAuth, HttpSession, redact
from migration_assets.errors import AuthError, BudgetExhausted, RateLimited, RemoteRejected

_ALL_STATUSES = tuple(range(200, 600))
PAGES_AHEAD = 8  # list pages asked at once once the total is known
REMAINING_HEADER = "X-RateLimit-Remaining"


def error_messages(body: object) -> list[str]:
    """The `message` list of an errors envelope (or the body as text)."""
    if isinstance(body, dict) and isinstance(body.get("errors"), dict):
        messages = body["errors"].get("message")
        if isinstance(messages, list):
            return [str(m) for m in messages]
        if messages:
            return [str(messages)]
    return [str(body)[:300]] if body not in (None, "") else []


class FreshsalesClient:
    """Sends calls to `<base_url>/crm/sales/api`.

    Args:
        session: the authenticated, retrying session.
        creates: a session over the same client without retries (non-idempotent creates).
        base_url: the bundle URL (with or without the API prefix).
        budget: the hourly budget updated by every call.
    """

    def __init__(self, session: HttpSession, creates: HttpSession, *, base_url: str, budget: HourlyBudget) -> None:
        self.session, self.creates, self.budget = session, creates, budget
        self.views: dict[str, int] = {}  # entity -> id of its "All" view
        base = base_url.rstrip("/")
        self.api = base if base.endswith(API_PREFIX) else base + API_PREFIX

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.api}/{path.lstrip('/')}"

    async def send(
        self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 202, 204), create: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send one call and return the response when its status is in `ok`.

        Args:
            method: HTTP method.
            path: path under the API prefix, or an absolute URL (a job status URL).
            ok: statuses that count as success.
            create: a non-idempotent create (sent once; a lost answer raises ConnectorError).
            **kwargs: passed to httpx (json, content, params, headers).

        Raises:
            BudgetExhausted: 429 answers continued past the retry budget.
            AuthError: 401/403.
            RemoteRejected: any other status outside `ok` (404 included).
            ConnectorError: the transport failed.
        """
        self.budget.note_sent()
        session = self.creates if create else self.session
        try:
            response = await session.request(method, self.url(path), expect=_ALL_STATUSES, **kwargs)
        except RateLimited as exc:
            if exc.status != 429:
                raise
            self.budget.exhaust()
            raise self.budget.exhausted(1, f"{method} {path.split('?')[0]}", cause="the account answered 429") from exc
        self.budget.observe(response.headers.get(REMAINING_HEADER))
        if response.status_code in ok:
            return response
        raise self._error(response, method, path)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`send` and decode the JSON body (None for an empty body)."""
        response = await self.send(method, path, **kwargs)
        return response.json() if response.content else None

    async def pages(
        self, path: str, key: str, params: Mapping[str, Any] | None = None, *, what: str = "a list page"
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield the items of every page of a list (`page`/`per_page`, until `meta.total_pages`): the
        first page says how many there are, the others are then asked several at a time (as many as
        the identity's limiter admits, at most PAGES_AHEAD), in order.

        Raises:
            BudgetExhausted: a page does not fit the hourly budget (checked page by page).
        """

        async def get(page: int) -> Any:
            self.ensure(1, what)
            return await self.json("GET", path, params={**(params or {}), "page": page, "per_page": PER_PAGE})

        body = await get(1)
        items = list((body or {}).get(key) or [])
        yield items
        total_pages = int(((body or {}).get("meta") or {}).get("total_pages") or 0)
        page = 2
        while page <= total_pages and items:
            ahead = max(1, min(PAGES_AHEAD, self.session.limiter.slots() + 1, total_pages - page + 1))
            bodies = await asyncio.gather(*(get(n) for n in range(page, page + ahead)))
            page += ahead
            for body in bodies:
                items = list((body or {}).get(key) or [])
                yield items
                if not items:
                    return

    def ensure(self, needed: int, what: str) -> None:
        """Raise BudgetExhausted unless `needed` requests fit in the hourly budget.

        Raises:
            BudgetExhausted: with requests used and left and when the window reopens.
        """
        if needed > 0 and not self.budget.fits(needed):
            raise self.budget.exhausted(needed, what)

    def _error(self, response: httpx.Response, method: str, path: str) -> Exception:
        body = _body(response)
        auth = self.session.auth
        header = auth.value.get_secret_value() if isinstance(auth, HeaderAuth) else ""
        secrets = [header, header.partition("token=")[2]]
        text = redact("; ".join(error_messages(body))[:500], secrets)
        message = f"{method} {path.split('?')[0]} -> {response.status_code}: {text}"
        if response.status_code == 429:  # only without Retry-After, after the retries
            self.budget.exhaust()
            return BudgetExhausted(message, system=SYSTEM, resume_after=self.budget.resume_after())
        error = AuthError if response.status_code in (401, 403) else RemoteRejected
        return error(message, system=SYSTEM, status=response.status_code, body=body)


def _body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text
