"""Interactive (HubSpot CRM v3 shaped) endpoints, limits and the catalog of source objects.

Object names are snake_case (they become Dagster asset keys). CRM objects map to their API type
(`contacts`, `0-46`...); the custom spouse-per-matter object is found by its schema name
(`spouse_link`) through `GET /crm/v3/schemas`, since its "2-<n>" id differs per portal. Fields are
the properties we request (HubSpot sends every value as a string; the types below are the
properties' own), plus `id`, `createdAt`, `updatedAt`, `archived` and association ids flattened into
JSON lists (`company_ids`) or single ids (`primary_company_id`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from migration_assets.connectors.base import SourceField, SourceObject
from migration_assets.connectors.http import RateHeaders, RetryPolicy
from migration_assets.systems import EnvNames

ENV = EnvNames(base_url="INTERACTIVE_BASE_URL", api_key="INTERACTIVE_TOKEN")  # api_key: a private-app token

PAGE_SIZE = 100  # the largest page of GET /crm/v3/objects
SEARCH_PAGE_SIZE = 200  # the largest page of POST .../search
ASSOCIATION_BATCH = 100  # inputs per POST /crm/v4/associations/{from}/{to}/batch/read (1,000 allowed)
# 100 requests per rolling 10 s per token (190 on Professional/Enterprise): no client-side ceiling, the
# limiter paces by HubSpot's rate headers when the allowance runs low (RATE_HEADERS) and learns from 429s
RATE_PER_SECOND = 10.0  # what the estimate assumes
RATE_HEADERS = RateHeaders(
    remaining="X-HubSpot-RateLimit-Remaining",
    limit="X-HubSpot-RateLimit-Max",
    window_ms="X-HubSpot-RateLimit-Interval-Milliseconds",
)
# The search endpoints' own ~4 requests/s: their own limiter identity with a ceiling of 3/s.
SEARCH_RATE_PER_SECOND = 3.0
CONCURRENCY = 4
DOWNLOAD_CHUNK = 64 * 1024
# HubSpot sends no Retry-After on a 429: back off long enough to leave a 10-second window.
RETRY = RetryPolicy(attempts=10, base_delay=0.5, max_delay=10.0)
CUSTOM_OBJECT_NAME = "spouse_link"

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")


def _f(name: str, type_: str = "str", values: tuple[str, ...] = (), description: str = "") -> SourceField:
    return SourceField(name, type_, values, description)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Link:
    """How the associations of a record to one target type are flattened.

    Attributes:
        to: the target catalog object.
        all_ids: field holding every associated id (a JSON list), or None.
        single: field -> association type id (HUBSPOT_DEFINED) or label (USER_DEFINED, portal
            specific) whose first target id goes in the field.
        many: field -> type id or label whose target ids go in the field as a JSON list.
    """

    to: str
    all_ids: str | None = None
    single: Mapping[str, int | str] = field(default_factory=dict)
    many: Mapping[str, int | str] = field(default_factory=dict)

    def fields(self) -> tuple[SourceField, ...]:
        out = [_f(self.all_ids, "json", description=f"ids of the associated {self.to}")] if self.all_ids else []
        out += [_f(n, description=f"{self.to} id (association {k})") for n, k in self.single.items()]
        out += [_f(n, "json", description=f"{self.to} ids (association {k})") for n, k in self.many.items()]
        return tuple(out)


@dataclass(frozen=True)
class CrmObject:
    """A CRM object read through `/crm/v3/objects/{api}` and its associations."""

    api: str | None  # None: the custom object, resolved by CUSTOM_OBJECT_NAME
    modified: str  # the last-modified property the delta search filters on
    properties: tuple[SourceField, ...]
    links: tuple[Link, ...] = ()

    @property
    def property_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties)


OWNER = _f("hubspot_owner_id", description="owner id; may name an archived owner or none at all")


def _stamps(created: str, modified: str) -> tuple[SourceField, ...]:
    return (_f(created, "datetime"), _f(modified, "datetime"), OWNER)


def _engagement(api: str, *own: SourceField) -> CrmObject:
    return CrmObject(
        api,
        "hs_lastmodifieddate",
        (*_stamps("hs_createdate", "hs_lastmodifieddate"), _f("hs_timestamp", "datetime"), *own),
        (
            Link("contacts", "contact_ids"),
            Link("companies", "company_ids"),
            Link("deals", "deal_ids"),
        ),
    )


CONTACT = CrmObject(
    "contacts",
    "lastmodifieddate",
    (
        *_stamps("createdate", "lastmodifieddate"),
        _f("firstname"),
        _f("lastname"),
        _f("email", description="may be missing or shared with another contact"),
        _f("phone"),
        _f("mobilephone"),
        _f("jobtitle"),
        _f("company"),
        _f("address"),
        _f("city"),
        _f("state"),
        _f("zip"),
        _f("country"),
        _f("date_of_birth"),
        _f("lifecyclestage", values=LIFECYCLE_STAGES, description="also 'prospect'/'active' from old imports"),
        _f("hs_lead_status", values=LEAD_STATUSES),
        _f("associatedcompanyid", description="primary company id"),
        *(_f(f"hs_lifecyclestage_{s}_date", "datetime") for s in LIFECYCLE_STAGES[1:6]),
        _f(
            "estate_plan_type",
            values=("will", "revocable_trust", "irrevocable_trust", "power_of_attorney", "healthcare_directive"),
        ),
        _f("practice_areas", description="multi-select, values joined with ';'"),
        _f("marital_status", values=("single", "married", "widowed", "divorced", "domestic_partnership")),
        _f("matter_open_date", description="text: ISO date, ISO with or without zone, or epoch ms"),
        _f("referral_source"),
    ),
    (Link("companies", "company_ids", single={"primary_company_id": 1}),),
)
COMPANY = CrmObject(
    "companies",
    "hs_lastmodifieddate",
    (
        *_stamps("createdate", "hs_lastmodifieddate"),
        _f("name"),
        _f("domain"),
        _f("phone"),
        _f("industry"),
        _f("city"),
        _f("state"),
        _f("country"),
        _f("numberofemployees", "int"),
        _f("annualrevenue", "float"),
        _f("description"),
        _f("lifecyclestage", values=LIFECYCLE_STAGES),
        _f("type", values=("PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER")),
        _f("hs_parent_company_id"),
        _f("firm_tier", values=("gold", "silver", "bronze")),
    ),
    (Link("companies", single={"parent_company_id": 14}, many={"child_company_ids": 13}),),
)
DEAL = CrmObject(
    "deals",
    "hs_lastmodifieddate",
    (
        *_stamps("createdate", "hs_lastmodifieddate"),
        _f("dealname"),
        _f("amount", "float", description="may be '' or written with thousands separators ('1,200.50')"),
        _f("closedate", "datetime"),
        _f("pipeline", description="pipeline id"),
        _f("dealstage", description="stage id; may be of another pipeline or of none"),
        _f("dealtype", values=("newbusiness", "existingbusiness")),
        _f("description"),
        _f("deal_currency_code"),
        _f("matter_type", values=("estate_plan", "trust_administration", "probate", "elder_law")),
    ),
    (
        Link("contacts", "contact_ids"),
        Link("companies", "company_ids", single={"primary_company_id": 5}),
    ),
)
HTML = "HTML; sanitise before loading"
ATTACHMENTS = _f("hs_attachment_ids", description="file ids joined with ';' (some may not exist)")

CRM: dict[str, CrmObject] = {
    "contacts": CONTACT,
    "companies": COMPANY,
    "deals": DEAL,
    "calls": _engagement(
        "calls",
        _f("hs_call_title"),
        _f("hs_call_body", description=HTML),
        _f("hs_call_direction", values=("INBOUND", "OUTBOUND")),
        _f("hs_call_duration", "int", description="milliseconds"),
        _f("hs_call_status"),
        _f("matter_reference", description="custom activity property"),
    ),
    "emails": _engagement(
        "emails",
        _f("hs_email_subject"),
        _f("hs_email_text"),
        _f("hs_email_html", description=HTML),
        _f("hs_email_direction", values=("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL")),
        _f("hs_email_status"),
        _f("hs_email_sender_email"),
        _f("hs_email_to_email"),
        ATTACHMENTS,
    ),
    "meetings": _engagement(
        "meetings",
        _f("hs_meeting_title"),
        _f("hs_meeting_body", description=HTML),
        _f("hs_internal_meeting_notes", description=HTML),
        _f("hs_meeting_location"),
        _f("hs_meeting_start_time", "datetime"),
        _f("hs_meeting_end_time", "datetime"),
        _f("hs_meeting_outcome", values=("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED")),
        ATTACHMENTS,
    ),
    "tasks": _engagement(
        "tasks",
        _f("hs_task_subject"),
        _f("hs_task_body", description=HTML),
        _f("hs_task_status", values=TASK_STATUSES),
        _f("hs_task_priority", values=("NONE", "LOW", "MEDIUM", "HIGH")),
        _f("hs_task_type", values=("CALL", "EMAIL", "TODO")),
    ),
    "notes": _engagement(
        "notes", _f("hs_note_body", description=HTML + "; may hold data-URI images, over 65,000 chars"), ATTACHMENTS
    ),
    "spouse_links": CrmObject(
        None,
        "hs_lastmodifieddate",
        (
            *_stamps("hs_createdate", "hs_lastmodifieddate"),
            _f("matter_name"),
            _f("matter_number"),
            _f("relationship", values=("spouse", "domestic_partner", "former_spouse")),
            _f("marriage_date", description="text: ISO date, ISO with or without zone, or epoch ms"),
            _f("joint_plan", "bool"),
        ),
        (Link("contacts", "contact_ids", single={"client_contact_id": "Client", "spouse_contact_id": "Spouse"}),),
    ),
}
ENGAGEMENTS = ("calls", "emails", "meetings", "tasks", "notes")

RECORD = (
    _f("id", description="numeric string"),
    _f("createdAt", "datetime"),
    _f("updatedAt", "datetime"),
    _f("archived", "bool"),
)


def _parents(obj: CrmObject) -> dict[str, str]:
    out = {"hubspot_owner_id": "owners"}
    for link in obj.links:
        names = [link.all_ids, *link.single, *link.many]
        out |= {n: link.to for n in names if n}
    return out


def _crm_object(name: str, obj: CrmObject) -> SourceObject:
    links = tuple(f for link in obj.links for f in link.fields())
    parents = _parents(obj)
    if name == "deals":
        parents |= {"pipeline": "pipelines", "dealstage": "pipeline_stages"}
    if name in ("emails", "meetings", "notes"):
        parents |= {"attachment_ids": "files"}
        links += (_f("attachment_ids", "json", description="hs_attachment_ids as a JSON list"),)
    return SourceObject(name, (*RECORD, *obj.properties, *links), "id", "updatedAt", parents)


CATALOG: dict[str, SourceObject] = {
    "owners": SourceObject(
        "owners",
        (
            _f("id"),
            _f("email"),
            _f("firstName"),
            _f("lastName"),
            _f("userId", "int"),
            _f("archived", "bool", description="owners who left"),
            _f("teams", "json"),
            _f("createdAt", "datetime"),
            _f("updatedAt", "datetime"),
        ),
        "id",
        "updatedAt",
    ),
    "pipelines": SourceObject(
        "pipelines",
        (
            _f("id"),
            _f("label"),
            _f("displayOrder", "int"),
            _f("archived", "bool"),
            _f("stages", "json", description="[{id, label, displayOrder, metadata {probability, isClosed}}]"),
            _f("createdAt", "datetime"),
            _f("updatedAt", "datetime"),
        ),
        "id",
        "updatedAt",
    ),
    "pipeline_stages": SourceObject(
        "pipeline_stages",
        (
            _f("id"),
            _f("pipeline_id"),
            _f("label"),
            _f("displayOrder", "int"),
            _f("probability", "float"),
            _f("isClosed", "bool"),
            _f("archived", "bool"),
            _f("createdAt", "datetime"),
            _f("updatedAt", "datetime"),
        ),
        "id",
        "updatedAt",
        {"pipeline_id": "pipelines"},
    ),
    **{name: _crm_object(name, obj) for name, obj in CRM.items()},
    "files": SourceObject(
        "files",
        (
            _f("id"),
            _f("name"),
            _f("extension"),
            _f("type"),
            _f("size", "int", description="bytes; some over 25 MiB"),
            _f("url"),
            _f("path"),
            _f("access"),
            _f("parentFolderId"),
            _f("archived", "bool"),
            _f("createdAt", "datetime"),
            _f("updatedAt", "datetime"),
        ),
        "id",
        "updatedAt",
    ),
    "flows": SourceObject(
        "flows",
        (
            _f("id"),
            _f("name"),
            _f("isEnabled", "bool"),
            _f("flowType"),
            _f("objectTypeId"),
            _f("revisionId"),
            _f("definition", "json", description="actions, enrollment criteria, time windows (rebuild reference)"),
            _f("createdAt", "datetime"),
            _f("updatedAt", "datetime"),
        ),
        "id",
        "updatedAt",
    ),
}
