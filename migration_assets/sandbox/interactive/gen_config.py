"""Generator of the Interactive configuration: owners, deal pipelines and workflows (flows).

- owners: max(6, scale/20); 1 in 6 archived (owners who left); records also point at owner ids
  that exist nowhere (see `gen_crm`);
- pipelines: HubSpot's default "Sales Pipeline" (appointmentscheduled ... closedwon, closedlost)
  and "Estate Planning Matters" (numeric ids, as custom pipelines have), each stage with
  `metadata.probability` and `metadata.isClosed` (strings);
- flows: four workflows (three enabled), with actions and enrollment criteria.
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.interactive.gen_common import ID_BASE, Context, every

DEFAULT_STAGES: tuple[tuple[str, str, str, bool], ...] = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
    ("presentationscheduled", "Presentation Scheduled", "0.6", False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
    ("contractsent", "Contract Sent", "0.9", False),
    ("closedwon", "Closed Won", "1.0", True),
    ("closedlost", "Closed Lost", "0.0", True),
)
ESTATE_PIPELINE = "87654321"
ESTATE_STAGES: tuple[tuple[str, str, str, bool], ...] = (
    ("87654322", "Consultation Booked", "0.1", False),
    ("87654323", "Engagement Letter Sent", "0.3", False),
    ("87654324", "Drafting", "0.6", False),
    ("87654325", "Signing Scheduled", "0.85", False),
    ("87654326", "Plan Executed", "1.0", True),
    ("87654327", "Declined", "0.0", True),
)
PIPELINES: tuple[tuple[str, str, tuple[tuple[str, str, str, bool], ...]], ...] = (
    ("default", "Sales Pipeline", DEFAULT_STAGES),
    (ESTATE_PIPELINE, "Estate Planning Matters", ESTATE_STAGES),
)


def owners(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` owners with unique emails; 1 in 6 archived."""
    out = []
    for i, first, last, email in ctx.people(n, "interactive-law.example"):
        created, updated = ctx.stamps()
        out.append(
            {
                "id": str(ID_BASE["owners"] + i + 1),
                "_seq": ID_BASE["owners"] + i + 1,
                "email": email,
                "firstName": first,
                "lastName": last,
                "userId": ID_BASE["users"] + i + 1,
                "userIdIncludingInactive": ID_BASE["users"] + i + 1,
                "type": "PERSON",
                "teams": [],
                "createdAt": created,
                "updatedAt": updated,
                "archived": every(i, 6, 5),
            }
        )
    return out


def pipelines(ctx: Context) -> list[dict[str, Any]]:
    """The two deal pipelines with their stages."""
    out = []
    for order, (pid, label, stages) in enumerate(PIPELINES):
        created, updated = ctx.stamps(max_days=2000)
        out.append(
            {
                "id": pid,
                "_seq": order,
                "label": label,
                "displayOrder": order,
                "archived": False,
                "createdAt": created,
                "updatedAt": updated,
                "stages": [
                    {
                        "id": sid,
                        "label": slabel,
                        "displayOrder": n,
                        "metadata": {"isClosed": "true" if closed else "false", "probability": probability},
                        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                        "archived": False,
                        "createdAt": created,
                        "updatedAt": updated,
                    }
                    for n, (sid, slabel, probability, closed) in enumerate(stages)
                ],
            }
        )
    return out


def _action(action_id: str, type_id: str, fields: dict[str, Any], next_id: str | None) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "SINGLE_CONNECTION",
        "actionId": action_id,
        "actionTypeVersion": 0,
        "actionTypeId": type_id,
        "fields": fields,
    }
    if next_id:
        action["connection"] = {"edgeType": "STANDARD", "nextActionId": next_id}
    return action


FLOWS: tuple[tuple[str, str, bool, list[dict[str, Any]]], ...] = (
    (
        "New lead follow-up",
        "0-1",
        True,
        [
            _action("1", "0-3", {"task_type": "CALL", "subject": "Call new lead", "priority": "HIGH"}, "2"),
            _action("2", "0-4", {"content_id": "113782603056", "type": "STATIC_VALUE"}, None),
        ],
    ),
    (
        "Signing reminder",
        "0-3",
        True,
        [_action("1", "0-4", {"content_id": "113782603057", "type": "STATIC_VALUE"}, None)],
    ),
    (
        "Spouse intake checklist",
        "0-1",
        True,
        [
            _action("1", "0-5", {"property_name": "marital_status", "value": {"staticValue": "married"}}, "2"),
            _action("2", "0-3", {"task_type": "TODO", "subject": "Collect spouse details"}, None),
        ],
    ),
    ("Legacy nurture (off)", "0-1", False, [_action("1", "0-4", {"content_id": "113782603001"}, None)]),
)


def flows(ctx: Context) -> list[dict[str, Any]]:
    """The workflows, with their definitions (read-only through `/automation/v4/flows`)."""
    out = []
    for i, (name, object_type_id, enabled, actions) in enumerate(FLOWS):
        created, updated = ctx.stamps()
        out.append(
            {
                "id": str(ID_BASE["flows"] + i + 1),
                "_seq": ID_BASE["flows"] + i + 1,
                "name": name,
                "isEnabled": enabled,
                "flowType": "WORKFLOW",
                "type": "CONTACT_FLOW" if object_type_id == "0-1" else "PLATFORM_FLOW",
                "objectTypeId": object_type_id,
                "revisionId": str(ctx.rng.randint(1, 40)),
                "startActionId": "1",
                "nextAvailableActionId": str(len(actions) + 1),
                "actions": actions,
                "enrollmentCriteria": {
                    "shouldReEnroll": False,
                    "type": "EVENT_BASED" if i % 2 else "LIST_BASED",
                    "listFilterBranch": {
                        "filterBranchType": "OR",
                        "filters": [
                            {
                                "property": "lifecyclestage",
                                "operation": {
                                    "operator": "IS_ANY_OF",
                                    "values": ["lead"],
                                    "operationType": "ENUMERATION",
                                },
                                "filterType": "PROPERTY",
                            }
                        ],
                    },
                },
                "timeWindows": [],
                "blockedDates": [],
                "createdAt": created,
                "updatedAt": updated,
            }
        )
    return out
