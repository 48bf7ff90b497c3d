"""Freshsales emulator: every rejection rule, one test each (status and errors body)."""

from __future__ import annotations

import pytest

from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.model import SALES_ACTIVITY_TYPES
from migration_assets.sandbox.freshsales.testing import api
from migration_assets.systems import Person
from migration_assets_tests.sandbox.freshsales_calls import planned_sandbox

PLAN = [
    {"kind": "field", "entity": "contacts", "label": "Source System ID", "type": "text", "unique": True},
    {"kind": "field", "entity": "contacts", "label": "Client Satisfaction Score", "type": "number"},
    {"kind": "field", "entity": "contacts", "label": "Client Since", "type": "date"},
    {"kind": "field", "entity": "contacts", "label": "VIP", "type": "checkbox"},
    {"kind": "field", "entity": "contacts", "label": "Original Create Date", "type": "datetime"},
    {"kind": "field", "entity": "deals", "label": "Matter Stage", "type": "dropdown", "choices": ["Active", "Closed"]},
    {"kind": "field", "entity": "deals", "label": "Court Name", "type": "text"},
    {"kind": "pipeline", "name": "Matters", "stages": ["Intake", "Active"]},
]


@pytest.fixture
async def client(tmp_path):
    async with planned_sandbox(tmp_path / "fs.sqlite", PLAN) as client:
        yield client


def messages(response) -> list[str]:
    body = response.json()
    assert set(body) == {"errors"} and body["errors"]["code"] == response.status_code, body
    return body["errors"]["message"]


async def create(client, entity: str, singular: str, values: dict):
    return await client.post(api(entity), json={singular: values})


async def contact(client, **values) -> dict:
    response = await create(client, "contacts", "contact", {"last_name": "Ng", **values})
    assert response.status_code == 201, response.json()
    return response.json()["contact"]


async def test_unwrapped_body_is_rejected(client):
    response = await client.post(api("contacts"), json={"last_name": "Ng"})
    assert response.status_code == 400
    assert 'wrapped in "contact"' in messages(response)[0]


async def test_body_that_is_not_json_is_rejected(client):
    response = await client.post(api("contacts"), content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and messages(response) == ["The request body is not valid JSON"]


async def test_unknown_custom_field_is_rejected_with_400_and_errors_body(client):
    response = await create(client, "contacts", "contact", {"last_name": "Ng", "custom_field": {"cf_nope": "x"}})
    assert response.status_code == 400
    assert messages(response) == ["Invalid custom field: cf_nope"]


async def test_custom_field_outside_custom_field_object_is_rejected(client):
    response = await create(client, "contacts", "contact", {"last_name": "Ng", "cf_vip": True})
    assert response.status_code == 400
    assert messages(response) == ["cf_vip: custom fields must be sent under custom_field"]


async def test_unknown_attribute_is_rejected(client):
    response = await create(client, "contacts", "contact", {"last_name": "Ng", "favourite_colour": "red"})
    assert response.status_code == 400 and messages(response) == ["Unknown attribute: favourite_colour"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("cf_client_satisfaction_score", "nine", "must be a number"),
        ("cf_client_satisfaction_score", True, "must be a number"),
        ("cf_client_since", "01/02/2024", "must be a date (YYYY-MM-DD)"),
        ("cf_client_since", "2024-02-30", "must be a date (YYYY-MM-DD)"),
        ("cf_vip", "yes", "must be true or false"),
        ("cf_original_create_date", "yesterday", "must be a date-time (ISO 8601)"),
        ("cf_source_system_id", 12, "must be text"),
        ("cf_source_system_id", "x" * 256, "longer than 255 characters"),
    ],
)
async def test_custom_value_of_the_wrong_type_is_rejected(client, field, value, expected):
    response = await create(client, "contacts", "contact", {"last_name": "Ng", "custom_field": {field: value}})
    assert response.status_code == 400
    assert expected in messages(response)[0] and messages(response)[0].startswith(field)


async def test_dropdown_value_outside_its_choices_is_rejected(client):
    response = await create(
        client, "deals", "deal", {"name": "M", "amount": 1, "custom_field": {"cf_matter_stage": "Lost"}}
    )
    assert response.status_code == 400
    assert messages(response) == ["cf_matter_stage: 'Lost' is not a valid choice for Matter Stage"]


async def test_deal_needs_name_and_amount(client):
    response = await create(client, "deals", "deal", {"expected_close": "2024-05-01"})
    assert response.status_code == 400
    assert messages(response) == ["Name can't be blank", "Deal value can't be blank"]


async def test_account_needs_a_name(client):
    response = await create(client, "sales_accounts", "sales_account", {"city": "Austin"})
    assert response.status_code == 400 and messages(response) == ["Name can't be blank"]


async def test_contact_needs_a_last_name_email_or_mobile(client):
    response = await create(client, "contacts", "contact", {"first_name": "Ada"})
    assert response.status_code == 400
    assert messages(response) == ["Please provide at least one of: last name, emails, mobile"]


async def test_task_needs_title_due_date_owner_and_target(client):
    response = await create(client, "tasks", "task", {"description": "call back"})
    assert response.status_code == 400
    assert messages(response) == [
        "Title can't be blank",
        "Due date can't be blank",
        "Related to type can't be blank",
        "Related to can't be blank",
        "Owner can't be blank",
    ]


async def test_note_needs_a_target(client):
    response = await create(client, "notes", "note", {"description": "hello"})
    assert response.status_code == 400
    assert "Related to can't be blank" in messages(response)


async def test_targetable_type_outside_contact_account_deal_is_rejected(client):
    response = await create(
        client, "notes", "note", {"description": "x", "targetable_type": "Lead", "targetable_id": 1}
    )
    assert response.status_code == 400 and "The type for targetable is invalid" in messages(response)[0]


async def test_targetable_that_does_not_exist_is_rejected(client):
    note = {"description": "x", "targetable_type": "Contact", "targetable_id": 123}
    response = await create(client, "notes", "note", note)
    assert response.status_code == 400 and messages(response) == ["Contact 123 does not exist"]


async def test_lookup_to_missing_account_is_rejected(client):
    response = await create(client, "deals", "deal", {"name": "M", "amount": 1, "sales_account_id": 42})
    assert response.status_code == 400 and messages(response) == ["sales_account_id: Account 42 does not exist"]


async def test_contact_account_links_must_be_objects_with_ids(client):
    response = await create(client, "contacts", "contact", {"last_name": "Ng", "sales_accounts": [7]})
    assert response.status_code == 400 and messages(response) == ["The type for sales_accounts is invalid."]


async def test_deal_stage_of_another_pipeline_is_rejected(client):
    pipelines = (await client.get(api("selector/deal_pipelines"))).json()["deal_pipelines"]
    default, matters = pipelines[0], pipelines[1]
    deal = {
        "name": "M",
        "amount": 1,
        "deal_pipeline_id": default["id"],
        "deal_stage_id": matters["deal_stages"][0]["id"],
    }
    response = await create(client, "deals", "deal", deal)
    assert response.status_code == 400 and "does not belong to the deal pipeline" in messages(response)[0]


async def test_unknown_stage_id_is_rejected(client):
    response = await create(client, "deals", "deal", {"name": "M", "amount": 1, "deal_stage_id": 5})
    assert response.status_code == 400 and messages(response) == ["deal_stage_id: 5 is not a valid Deal stage"]


async def test_unknown_sales_activity_type_is_rejected(client):
    person = await contact(client)
    activity = {
        "sales_activity_type_id": 1,
        "title": "t",
        "start_date": "2024-01-01T10:00:00Z",
        "end_date": "2024-01-01T11:00:00Z",
        "targetable_type": "Contact",
        "targetable_id": person["id"],
    }
    response = await create(client, "sales_activities", "sales_activity", activity)
    assert response.status_code == 400 and messages(response) == [
        "sales_activity_type_id: 1 is not a valid Activity type"
    ]
    activity["sales_activity_type_id"] = SALES_ACTIVITY_TYPES[1]["id"]
    assert (await create(client, "sales_activities", "sales_activity", activity)).status_code == 201


async def test_inactive_owner_is_rejected(client):
    [inactive] = seed.seed_users(client.path, [Person("gone@firm.example", "Gone", "User", active=False)])
    response = await create(client, "contacts", "contact", {"last_name": "Ng", "owner_id": int(inactive)})
    assert response.status_code == 400 and "does not exist or is inactive" in messages(response)[0]


async def test_duplicate_email_is_not_unique(client):
    await contact(client, emails="ada@example.com")
    response = await create(client, "contacts", "contact", {"last_name": "Other", "emails": "ADA@example.com"})
    assert response.status_code == 400 and messages(response) == ["Email is not unique"]


async def test_invalid_email_is_rejected(client):
    response = await create(client, "contacts", "contact", {"last_name": "Ng", "emails": "not-an-email"})
    assert response.status_code == 400 and messages(response) == ["emails: 'not-an-email' is not a valid email"]


async def test_duplicate_value_of_a_unique_custom_field_is_rejected(client):
    await contact(client, custom_field={"cf_source_system_id": "C-1"})
    response = await create(
        client, "contacts", "contact", {"last_name": "B", "custom_field": {"cf_source_system_id": "C-1"}}
    )
    assert response.status_code == 400 and messages(response) == ["Source System ID is not unique"]


async def test_upsert_by_a_custom_field_that_is_not_unique_is_rejected(client):
    body = {"unique_identifier": {"custom_field": {"cf_client_since": "2024-01-01"}}, "contact": {"last_name": "Ng"}}
    response = await client.post(api("contacts/upsert"), json=body)
    assert response.status_code == 400
    assert messages(response) == ["cf_client_since is not a unique field and cannot identify a contact"]


async def test_upsert_by_an_unknown_identifier_is_rejected(client):
    body = {"unique_identifier": {"job_title": "CEO"}, "contact": {"last_name": "Ng"}}
    response = await client.post(api("contacts/upsert"), json=body)
    assert response.status_code == 400 and messages(response)[0].startswith("job_title cannot identify a contact")


async def test_upsert_without_unique_identifier_is_rejected(client):
    response = await client.post(api("contacts/upsert"), json={"contact": {"last_name": "Ng"}})
    assert response.status_code == 400


async def test_upsert_by_a_name_several_accounts_share_is_not_unique(client):
    for _ in range(2):
        assert (await create(client, "sales_accounts", "sales_account", {"name": "Smith"})).status_code == 201
    body = {"unique_identifier": {"name": "Smith"}, "sales_account": {"city": "Austin"}}
    response = await client.post(api("sales_accounts/upsert"), json=body)
    assert response.status_code == 400 and messages(response) == ["Sales account is not unique"]


async def test_appointment_ending_before_it_starts_is_rejected(client):
    appointment = {"title": "Meet", "from_date": "2024-01-02T10:00:00Z", "end_date": "2024-01-02T09:00:00Z"}
    response = await create(client, "appointments", "appointment", appointment)
    assert response.status_code == 400 and messages(response) == ["End date should be after the start date"]


async def test_attendee_that_does_not_exist_is_rejected(client):
    appointment = {
        "title": "Meet",
        "from_date": "2024-01-02T10:00:00Z",
        "end_date": "2024-01-02T11:00:00Z",
        "appointment_attendees_attributes": [{"attendee_type": "Contact", "attendee_id": 9}],
    }
    response = await create(client, "appointments", "appointment", appointment)
    assert response.status_code == 400 and "Contact 9 does not exist" in messages(response)[0]


async def test_required_field_cannot_be_blanked_by_an_update(client):
    created = await create(client, "sales_accounts", "sales_account", {"name": "Acme"})
    account_id = created.json()["sales_account"]["id"]
    response = await client.put(api(f"sales_accounts/{account_id}"), json={"sales_account": {"name": ""}})
    assert response.status_code == 400 and messages(response) == ["Name can't be blank"]


async def test_unknown_record_is_404_in_the_errors_envelope(client):
    response = await client.get(api("deals/70000999999"))
    assert response.status_code == 404 and messages(response) == ["Deal not found"]


async def test_unknown_path_is_404_in_the_errors_envelope(client):
    response = await client.get(api("leads/filters"))
    assert response.status_code == 404 and messages(response) == ["Resource not found"]


async def test_wrong_method_is_405_in_the_errors_envelope(client):
    response = await client.delete(api("contacts/filters"))
    assert response.status_code == 405 and "not allowed" in messages(response)[0]


async def test_per_page_above_100_is_rejected(client):
    response = await client.get(api("contacts/view/70000000201?per_page=101"))
    assert response.status_code == 400 and "per_page between 1 and 100" in messages(response)[0]


async def test_search_on_an_unknown_attribute_is_rejected(client):
    rule = {"attribute": "cf_nope", "operator": "is_in", "value": "x"}
    response = await client.post(api("filtered_search/contact"), json={"filter_rule": [rule]})
    assert response.status_code == 400 and messages(response) == ["Invalid attribute for contact: cf_nope"]


async def test_search_with_an_unknown_operator_is_rejected(client):
    rule = {"attribute": "email", "operator": "contains", "value": "x"}
    response = await client.post(api("filtered_search/contact"), json={"filter_rule": [rule]})
    assert response.status_code == 400 and messages(response)[0].startswith("Invalid operator: contains")


async def test_task_list_without_a_known_filter_is_rejected(client):
    response = await client.get(api("tasks?filter=someday"))
    assert response.status_code == 400 and messages(response) == ["filter must be open or completed"]
