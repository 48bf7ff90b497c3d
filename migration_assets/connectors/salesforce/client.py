"""HTTP access to one Salesforce org: instance URL, error mapping and budget accounting.

The OAuth token comes from the shared HttpSession (client-credentials flow); its response names the
org's `instance_url`, which is the base of every data call afterwards (the login host only issues
tokens). Every answer feeds the API budget from `Sforce-Limit-Info`; error arrays
(`[{"message","errorCode","fields"}]`) become RemoteRejected, AuthError or, for
`REQUEST_LIMIT_EXCEEDED`, BudgetExhausted.
"""

from __future__ import annotations

from typing import Any

import httpx

from migration_assets.connectors.http import HttpSession, OAuthClientCredentials, redact
from migration_assets.connectors.salesforce.budget import ApiBudget
from migration_assets.connectors.salesforce.settings import (
    DATA_PATH,
    LIMIT_INFO_HEADER,
    RESETS_AT_HEADER,
    SYSTEM,
)
from migration_assets.errors import AuthError, BudgetExhausted, RemoteRejected

# HttpSession retries 429/503 and refreshes the token on a first 401 itself; every other status
# comes back to us so the budget header of error answers is read too.
_ALL_STATUSES = tuple(range(200, 600))


class SalesforceClient:
    """Sends data calls to the org named by the token's `instance_url`.

    Args:
        session: the authenticated HttpSession (its client's base URL is the login host).
        login_url: the login host, used when a token response names no instance.
        budget: the ApiBudget updated from every response.
    """

    def __init__(self, session: HttpSession, *, login_url: str, budget: ApiBudget) -> None:
        self.session = session
        self.login_url = login_url.rstrip("/")
        self.budget = budget

    async def instance_url(self) -> str:
        """The org's base URL from the token response (fetching a token when needed)."""
        token = await self.session.token()
        if token is None:
            return self.login_url
        return str(token.extra.get("instance_url") or self.login_url).rstrip("/")

    async def url(self, path: str) -> str:
        """Absolute URL of `path`: relative to the data API unless it starts with /services/."""
        if path.startswith(("http://", "https://")):
            return path
        base = await self.instance_url()
        return base + (path if path.startswith("/services/") else DATA_PATH + path)

    async def send(
        self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), **kwargs: Any
    ) -> httpx.Response:
        """Send one data call and return the response when its status is in `ok`.

        Args:
            method: HTTP method.
            path: data path ("/sobjects/Account/describe"), a /services/ path or an absolute URL.
            ok: statuses that count as success.
            **kwargs: passed to httpx (json, content, params, headers).

        Returns:
            The response.

        Raises:
            BudgetExhausted: the org answered REQUEST_LIMIT_EXCEEDED.
            AuthError: 401/403 for another reason.
            RemoteRejected: any other status outside `ok`.
        """
        url = await self.url(path)
        response = await self.session.request(method, url, expect=_ALL_STATUSES, **kwargs)
        self.budget.observe_header(response.headers.get(LIMIT_INFO_HEADER), response.headers.get(RESETS_AT_HEADER))
        if response.status_code in ok:
            return response
        raise self._error(response, method, path)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`send` and decode the JSON body (None for an empty body)."""
        response = await self.send(method, path, **kwargs)
        return response.json() if response.content else None

    async def refresh_limits(self) -> None:
        """Read `GET /limits` into the budget (the sandbox does not count this call)."""
        self.budget.observe_limits(await self.json("GET", "/limits"))

    async def ensure_budget(self, needed: int, what: str) -> None:
        """Raise BudgetExhausted unless `needed` calls fit; re-reads /limits before refusing, so a
        reset of the window (or another process' usage) is seen.

        Args:
            needed: calls the next batch of work will make.
            what: words for the error message ("upsert of 500 Case rows").

        Raises:
            BudgetExhausted: the calls do not fit in the allowance minus the reserve.
        """
        if not self.budget.known or not self.budget.fits(needed):
            await self.refresh_limits()
        if not self.budget.fits(needed):
            raise self.budget.exhausted(needed, what)

    def secrets(self) -> list[str]:
        """Values that must never appear in an error message."""
        out: list[str] = []
        auth = self.session.auth
        if isinstance(auth, OAuthClientCredentials):
            out.append(auth.client_secret.get_secret_value())
        token = getattr(self.session, "_token", None)
        if token is not None:
            out.append(token.access_token)
        return out

    def _error(self, response: httpx.Response, method: str, path: str) -> Exception:
        body = _body(response)
        text = redact(str(body)[:500], self.secrets())
        message = f"{method} {path.split('?')[0]} -> {response.status_code}: {text}"
        if "REQUEST_LIMIT_EXCEEDED" in error_codes(body):
            left = self.budget.snapshot()["remaining"]
            usage = f"daily API budget exhausted (used {self.budget.used} of {self.budget.max} ({left} left))"
            hint = self.budget.resume_hint()
            return BudgetExhausted(f"{usage}: {message}; resume after {hint}", system=SYSTEM, resume_after=hint)
        error = AuthError if response.status_code in (401, 403) else RemoteRejected
        return error(message, system=SYSTEM, status=response.status_code, body=body)


def error_codes(body: object) -> list[str]:
    """The `errorCode`s (or `statusCode`s) of a Salesforce error array."""
    items = body if isinstance(body, list) else [body]
    return [str(i.get("errorCode") or i.get("statusCode")) for i in items if isinstance(i, dict)]


def format_errors(errors: list[dict[str, Any]] | None) -> str:
    """One line for a per-record error list: `CODE: message [fields]; ...`."""
    parts = []
    for err in errors or []:
        code = err.get("statusCode") or err.get("errorCode") or "ERROR"
        fields = err.get("fields") or []
        parts.append(f"{code}: {err.get('message', '')}" + (f" {fields}" if fields else ""))
    return "; ".join(parts) or "unknown error"


def _body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text
