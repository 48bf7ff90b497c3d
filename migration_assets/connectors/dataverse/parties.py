"""Activity parties (attendees, senders, recipients) carried in an UpsertRow as party-list columns.

How a loader sends them: a party-list column of the activity (`requiredattendees`,
`optionalattendees`, `organizer`, `to`, `cc`... see settings.PARTY_MASKS) holds a list, or the
JSON text of a list, whose items are an e-mail address (`"a@firm.example"`), `{"email": ...,
"name": ...}`, or an already resolved `{"table": "contact"|"systemuser"|..., "id": <guid>}`.
The connector resolves e-mails against systemuser.internalemailaddress, then contact.emailaddress1
(case-blind, one `In` query per table and chunk) and sends the real shape (reference §4):
`"<activity>_activity_parties": [{"partyid_<table>@odata.bind": "/<set>(<id>)",
"participationtypemask": 5, "addressused": "a@firm.example"}]`; an address nobody matches goes
as an unresolved party with `addressused` only (an external invitee to re-invite by hand).
All party-list columns of a row form one list: Dataverse replaces the whole list on update.
Read back: each party-list column is the list of addresses (`addressused`, else the party's
e-mail as resolved here) in stored order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from migration_assets.connectors.base import UpsertRow
from migration_assets.connectors.dataverse.metadata import TableMeta
from migration_assets.connectors.dataverse.odata import in_filter
from migration_assets.connectors.dataverse.settings import IN_FILTER_CHUNK, PARTY_EMAIL_COLUMNS
from migration_assets.errors import MigrationError

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseDestination


def attendees(value: Any) -> list[dict[str, Any]]:
    """The items of a party-list value as dicts with `email` and/or `table` + `id`.

    Raises:
        ValueError: the value is neither a list nor the JSON text of one, or an item is malformed.
    """
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            raise ValueError(f"party list is not a JSON array: {value[:80]!r}") from None
    if not isinstance(value, list | tuple):
        raise ValueError(f"party list must be a list, got {type(value).__name__}")
    out = []
    for item in value:
        if isinstance(item, str):
            out.append({"email": item.strip()})
        elif isinstance(item, Mapping) and (item.get("email") or (item.get("table") and item.get("id"))):
            out.append(dict(item))
        else:
            raise ValueError(f"party {item!r} needs an e-mail or a table and id")
    return out


class PartyResolver:
    """Turns party-list columns into the activity party collection, resolving e-mails in bulk.

    Args:
        connector: the DataverseDestination (its api, metadata and page size are reused).
    """

    def __init__(self, connector: DataverseDestination) -> None:
        self.connector = connector

    async def bodies(self, meta: TableMeta, rows: Sequence[UpsertRow]) -> list[dict[str, Any] | str]:
        """For each row: `{"<activity>_activity_parties": [...]}` ({} without party columns), or
        the error text of a malformed party list."""
        parsed: list[list[tuple[int, dict[str, Any]]] | str | None] = []
        for row in rows:
            columns = [c for c in meta.party_columns if c in row.fields]
            try:
                parsed.append(
                    [(meta.party_columns[c], a) for c in columns for a in attendees(row.fields[c])] if columns else None
                )
            except ValueError as exc:
                parsed.append(str(exc))
        emails = {a["email"].casefold() for p in parsed if isinstance(p, list) for _, a in p if a.get("email")}
        found = await self.resolve(emails)
        tables = set(PARTY_EMAIL_COLUMNS) | {
            str(a["table"]) for p in parsed if isinstance(p, list) for _, a in p if a.get("table")
        }
        try:
            sets = {t: (await self.connector.meta.entity(t)).entity_set for t in tables}
        except MigrationError as exc:
            return [str(exc)] * len(rows)
        out: list[dict[str, Any] | str] = []
        for item in parsed:
            if item is None or isinstance(item, str):
                out.append(item or {})
                continue
            out.append({meta.parties_property: [_party(mask, a, found, sets) for mask, a in item]})
        return out

    async def resolve(self, emails: set[str]) -> dict[str, tuple[str, str]]:
        """{casefolded e-mail: (table, id)}: systemusers first, then contacts (lowest id wins)."""
        found: dict[str, tuple[str, str]] = {}
        for table, column in PARTY_EMAIL_COLUMNS.items():
            wanted = sorted(e for e in emails if e not in found)
            entity = await self.connector.meta.entity(table)
            for start in range(0, len(wanted), IN_FILTER_CHUNK):
                params = {
                    "$select": f"{entity.primary_id},{column}",
                    "$filter": in_filter(column, wanted[start : start + IN_FILTER_CHUNK]),
                }
                async for page in self.connector.api.pages(entity.entity_set, params, self.connector.page_size):
                    for record in sorted(page, key=lambda r: str(r[entity.primary_id])):
                        email = str(record.get(column) or "").casefold()
                        found.setdefault(email, (table, str(record[entity.primary_id])))
        return found


def _party(
    mask: int, attendee: Mapping[str, Any], found: Mapping[str, tuple[str, str]], sets: Mapping[str, str]
) -> dict[str, Any]:
    party: dict[str, Any] = {"participationtypemask": mask}
    email = attendee.get("email")
    target = (attendee["table"], attendee["id"]) if attendee.get("table") else found.get(str(email).casefold())
    if target is not None:
        table, record_id = target
        party[f"partyid_{table}@odata.bind"] = f"/{sets[table]}({record_id})"
    if email:
        party["addressused"] = email
    return party


def read_parties(meta: TableMeta, record: Mapping[str, Any]) -> dict[str, list[str | None]]:
    """Party-list columns of a record read with `$expand=<activity>_activity_parties`."""
    by_mask: dict[int, list[str | None]] = {}
    for party in record.get(meta.parties_property) or []:
        by_mask.setdefault(int(party.get("participationtypemask") or 0), []).append(
            party.get("addressused") or party.get("_partyid_value")
        )
    return {column: by_mask.get(mask, []) for column, mask in meta.party_columns.items()}
