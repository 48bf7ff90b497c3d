"""OAuth 2.0 client-credentials token endpoint and bearer-token checks.

Real (reference section 2): form fields, `{"token_type":"Bearer","expires_in":3599,
"ext_expires_in":3599,"access_token":…}`, `invalid_client` error shape. Invented: the tenant path
`/sandbox-tenant/oauth2/v2.0/token`, opaque random tokens stored in SQLite, several application
users (option `app_users`, store.app_user), the AADSTS texts, the 401 body
`{"error":{"code":"0x80072560",…}}` for data calls, and option `token_expires_in`.
"""

from __future__ import annotations

import secrets
import sqlite3
import time

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import ODataError, Result


def issue_token(conn: sqlite3.Connection, form: dict[str, str], expires_in: int) -> Result:
    """Answer a token request.

    Args:
        conn: open transaction on the emulator state.
        form: the decoded form fields.
        expires_in: token lifetime in seconds.

    Returns:
        200 with a bearer token, or the Entra-style 400/401 error.
    """
    if form.get("grant_type") != "client_credentials":
        return Result(
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": "AADSTS70003: The app requested an unsupported grant type.",
            },
        )
    if not form.get("scope", "").endswith("/.default"):
        return Result(
            400,
            {
                "error": "invalid_scope",
                "error_description": (
                    "AADSTS1002012: The provided value for scope is not valid. Client credential flows must "
                    "have a scope value with /.default suffixed to the resource identifier."
                ),
            },
        )
    users = store.app_users(store.read_options(conn))
    client_id = str(form.get("client_id") or "")
    if client_id not in users:
        return Result(
            400,
            {
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application with identifier was not found in the directory.",
            },
        )
    if not secrets.compare_digest(form.get("client_secret", ""), users[client_id]):
        return Result(
            401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
        )
    token = secrets.token_urlsafe(32)
    conn.execute("delete from tokens where expires_at < ?", (time.time() - 86400,))
    conn.execute("insert into tokens values (?, ?, ?)", (token, client_id, time.time() + expires_in))
    return Result(
        200, {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token}
    )


def caller(conn: sqlite3.Connection, authorization: str | None) -> str:
    """The client id behind a bearer token.

    Raises:
        ODataError: 401 when the header is missing, the token unknown or expired.
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ODataError(
            401,
            "0x80072560",
            "The user is not a member of the organization: no bearer token was provided.",
            {"WWW-Authenticate": "Bearer"},
        )
    row = conn.execute("select client_id, expires_at from tokens where token = ?", (token.strip(),)).fetchone()
    if row is None:
        raise ODataError(
            401, "0x80072560", "InvalidAuthTicket: the access token is not valid.", {"WWW-Authenticate": "Bearer"}
        )
    if row["expires_at"] <= time.time():
        raise ODataError(
            401, "0x80072560", "ExpiredAuthTicket: the access token has expired.", {"WWW-Authenticate": "Bearer"}
        )
    return str(row["client_id"])
