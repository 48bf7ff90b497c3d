"""Activity parties (attendees, senders, recipients) written with an activity record.

Real (reference section 4, secondary): `"<activity>_activity_parties": [{"partyid_systemuser@odata.bind":
"/systemusers(<id>)", "participationtypemask": 5}]`, or `addressused` instead of a party; masks 1-11
(1 Sender, 2 To, 3 CC, 4 BCC, 5 Required, 6 Optional, 7 Organizer, 8 Regarding, 9 Owner,
10 Resource, 11 Customer). They read back through `$expand=<activity>_activity_parties`.
Invented: the texts of the refusals.
"""

from __future__ import annotations

import uuid
from typing import Any

from migration_assets.sandbox.dataverse.core import Ctx, ODataError
from migration_assets.sandbox.dataverse.model import Entity
from migration_assets.sandbox.dataverse.references import resolve_reference

PARTY_TARGETS = ("systemuser", "contact", "account", "lead")
STORED = "activity_parties"


def parties_property(entity: Entity) -> str | None:
    """Name of the activity-party collection of a table (None when it is not an activity)."""
    return f"{entity.logical_name}_activity_parties" if entity.is_activity else None


def parse_parties(ctx: Ctx, entity: Entity, value: Any) -> list[dict[str, Any]]:
    """Validate the party list of an activity body.

    Raises:
        ODataError: 400 for a malformed item, an unknown party table or a mask outside 1-11;
            404 when the bound party record does not exist.
    """
    if not isinstance(value, list):
        raise ODataError(400, "0x80048d19", f"'{parties_property(entity)}' must be an array of activity parties.")
    parties = []
    for item in value:
        if not isinstance(item, dict):
            raise ODataError(400, "0x80048d19", "Each activity party must be a JSON object.")
        mask = item.get("participationtypemask")
        if isinstance(mask, bool) or not isinstance(mask, int) or not 1 <= mask <= 11:
            raise ODataError(
                400, "0x8004431a", f"participationtypemask {mask!r} is outside the valid range. Accepted Values: 1-11"
            )
        party = None
        for key, reference in item.items():
            if key.endswith("@odata.bind"):
                target = key.removesuffix("@odata.bind").removeprefix("partyid_")
                if not key.startswith("partyid_") or target not in PARTY_TARGETS:
                    raise ODataError(400, "0x80048d19", f"An undeclared property '{key}' was found on activityparty.")
                table, record_id = resolve_reference(ctx, str(reference))
                if table.logical_name != target:
                    raise ODataError(400, "0x80048d19", f"'{key}' must reference a {target} record.")
                party = {"id": record_id, "type": target}
            elif key not in ("participationtypemask", "addressused", "@odata.type"):
                raise ODataError(
                    400, "0x0", f"Invalid property '{key}' was found in entity 'Microsoft.Dynamics.CRM.activityparty'."
                )
        if party is None and not item.get("addressused"):
            raise ODataError(400, "0x80040203", "An activity party needs a partyid binding or an addressused value.")
        parties.append(
            {
                "activitypartyid": str(uuid.uuid4()),
                "partyid": party,
                "addressused": item.get("addressused"),
                "participationtypemask": mask,
            }
        )
    return parties


def render_parties(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "activitypartyid": p["activitypartyid"],
            "_partyid_value": (p["partyid"] or {}).get("id"),
            "addressused": p["addressused"],
            "participationtypemask": p["participationtypemask"],
        }
        for p in data.get(STORED) or []
    ]
