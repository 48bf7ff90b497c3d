"""OAuth 2.0 client-credentials token endpoint and session checks.

Real: `POST /services/oauth2/token` form body, 200 `{access_token, instance_url, id, token_type, issued_at,
signature}`, RFC 6749 error bodies with 400, data calls with a bad session answered 401
`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`.
Invented: the sandbox client (`sf-sandbox-client` / `sf-sandbox-secret`, from the sandbox registry), the
session lifetime option `session_seconds` (default 7200, counted from issue) and the sessions table.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sqlite3
import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from migration_assets.sandbox import sandbox
from migration_assets.sandbox.salesforce.faults import SfError
from migration_assets.sandbox.salesforce.store import option

ORG_ID = "00DHs0000000001AAA"


def invalid_session() -> SfError:
    """The 401 INVALID_SESSION_ID error."""
    return SfError("INVALID_SESSION_ID", "Session expired or invalid", status=401)


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


async def token_endpoint(request: Request) -> JSONResponse:
    """`POST /services/oauth2/token` (client_credentials only)."""
    form = await request.form()
    if form.get("grant_type") is None:
        return _oauth_error("invalid_request", "grant type is missing")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    expected = sandbox("salesforce").credentials
    same_id = secrets.compare_digest(str(form.get("client_id", "")), expected["client_id"])
    same_secret = secrets.compare_digest(str(form.get("client_secret", "")), expected["client_secret"])
    if not (same_id and same_secret):
        return _oauth_error("invalid_client", "invalid client credentials")
    service = request.app.state.sf
    token = f"{ORG_ID[:15]}!" + secrets.token_urlsafe(48)
    issued = time.time()
    with service.state.connect() as conn:
        conn.execute("insert into sessions(token, issued_at) values (?, ?)", (token, issued))
        user_id = service.integration_user(conn)
    base = f"{request.url.scheme}://{request.url.netloc}"
    signature = base64.b64encode(hashlib.sha256(token.encode()).digest()).decode()
    return JSONResponse(
        {
            "access_token": token,
            "signature": signature,
            "instance_url": base,
            "id": f"{base}/id/{ORG_ID}/{user_id}",
            "token_type": "Bearer",
            "issued_at": str(int(issued * 1000)),
        }
    )


def check_session(conn: sqlite3.Connection, authorization: str | None) -> None:
    """Accept a live `Authorization: Bearer <token>`.

    Raises:
        SfError: 401 INVALID_SESSION_ID for a missing, unknown or expired token.
    """
    if not authorization or not authorization.startswith("Bearer "):
        raise invalid_session()
    row = conn.execute("select issued_at from sessions where token = ?", (authorization[7:].strip(),)).fetchone()
    if row is None or time.time() - row["issued_at"] > float(option(conn, "session_seconds")):
        raise invalid_session()
