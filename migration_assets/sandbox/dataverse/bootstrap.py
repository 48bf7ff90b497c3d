"""What a fresh (or reset) sandbox environment contains.

Standard tables (see `standard.py`), the application user the sandbox client runs as, a few
interactive users, the default SharePoint site (absent with option `sharepoint_site: false`:
document management not set up yet), and one pre-existing publisher, "Contoso Sandbox" (prefix
`cs`, option value prefix 10000; Contoso is Microsoft's sample company). A migration brings its own
publisher and solution (the connector creates them). Invented: the users' names and ids.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.model import save_entities
from migration_assets.sandbox.dataverse.standard import ACTIVITY_TABLES, standard_entities

NS = uuid.UUID("6f1c9b57-3f41-4a55-9d0e-2c1b8f5a7e10")
APP_USER_ID = str(uuid.uuid5(NS, "application-user"))
PUBLISHER_ID = str(uuid.uuid5(NS, "publisher-cs"))
DEFAULT_SITE_ID = str(uuid.uuid5(NS, "default-sharepoint-site"))
PUBLISHER_PREFIX = "cs"
OPTION_VALUE_PREFIX = 10000

DEFAULT_USERS = [
    {
        "firstname": "Avery",
        "lastname": "Admin",
        "internalemailaddress": "admin@sandbox.onmicrosoft.com",
        "domainname": "admin@sandbox.onmicrosoft.com",
        "isdisabled": False,
    },
    {
        "firstname": "Jordan",
        "lastname": "Lee",
        "internalemailaddress": "jordan.lee@sandbox.onmicrosoft.com",
        "domainname": "jordan.lee@sandbox.onmicrosoft.com",
        "isdisabled": False,
    },
    {
        "firstname": "Former",
        "lastname": "Employee",
        "internalemailaddress": "former.employee@sandbox.onmicrosoft.com",
        "domainname": "former.employee@sandbox.onmicrosoft.com",
        "isdisabled": True,
    },
]


def is_installed(conn: sqlite3.Connection) -> bool:
    return conn.execute("select 1 from meta_entities limit 1").fetchone() is not None


def install(conn: sqlite3.Connection) -> None:
    """Create the standard tables and starting records (idempotent per empty database)."""
    if is_installed(conn):
        return
    save_entities(conn, *standard_entities())
    write_raw(
        conn,
        "systemuser",
        APP_USER_ID,
        {
            "firstname": "#",
            "lastname": store.CLIENT_ID,
            "fullname": f"# {store.CLIENT_ID}",
            "internalemailaddress": f"{store.CLIENT_ID}@sandbox.onmicrosoft.com",
            "isdisabled": False,
            "applicationid": str(uuid.uuid5(NS, store.CLIENT_ID)),
            "domainname": f"{store.CLIENT_ID}@sandbox.onmicrosoft.com",
        },
    )
    for user in DEFAULT_USERS:
        write_raw(conn, "systemuser", str(uuid.uuid5(NS, user["internalemailaddress"])), user_row(user))
    write_raw(
        conn,
        "publisher",
        PUBLISHER_ID,
        {
            "uniquename": "contososandbox",
            "friendlyname": "Contoso Sandbox",
            "customizationprefix": PUBLISHER_PREFIX,
            "customizationoptionvalueprefix": OPTION_VALUE_PREFIX,
        },
    )
    add_default_site(conn)


def app_user_id(client_id: str) -> str:
    """The systemuserid of the application user behind `client_id`."""
    return APP_USER_ID if client_id == store.CLIENT_ID else str(uuid.uuid5(NS, f"application-user:{client_id}"))


def add_app_users(conn: sqlite3.Connection, count: int) -> None:
    """The systemusers of application users 2..`count` (each an app user of its own client id)."""
    for n in range(2, min(count, store.MAX_APP_USERS) + 1):
        client_id, _secret = store.app_user(n)
        email = f"{client_id}@sandbox.onmicrosoft.com"
        row = {"firstname": "#", "lastname": client_id, "fullname": f"# {client_id}", "internalemailaddress": email}
        row |= {"isdisabled": False, "applicationid": str(uuid.uuid5(NS, client_id)), "domainname": email}
        write_raw(conn, "systemuser", app_user_id(client_id), row)


def add_default_site(conn: sqlite3.Connection) -> None:
    """The environment's default SharePoint site (document management is set up)."""
    write_raw(
        conn,
        "sharepointsite",
        DEFAULT_SITE_ID,
        {
            "name": "Default Site",
            "absoluteurl": "https://sandbox.sharepoint.local/sites/sandbox",
            "isdefault": True,
            "statecode": 0,
            "statuscode": 1,
            "ownerid": {"id": APP_USER_ID, "type": "systemuser"},
        },
    )


def user_row(user: dict[str, Any]) -> dict[str, Any]:
    row = dict(user)
    if not row.get("fullname"):
        row["fullname"] = " ".join(p for p in (row.get("firstname"), row.get("lastname")) if p)
    row.setdefault("isdisabled", False)
    return row


def write_raw(conn: sqlite3.Connection, entity: str, record_id: str, data: dict[str, Any]) -> None:
    """Store a record without API validation (seeding only); primary id and audit columns added."""
    primary_id = f"{entity}id" if entity not in ACTIVITY_TABLES else "activityid"
    now = store.utc_now()
    row = {primary_id: record_id, "createdon": now, "modifiedon": now, **data}
    store.put_record(conn, entity, record_id, row)
