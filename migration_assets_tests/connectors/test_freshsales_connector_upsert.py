"""Freshsales connector writes and reads: the round trip per path, lookups and associations, a
dropdown refused for one row of a bulk batch, restores, and creates whose answer is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_assets.connectors.base import LookupRef, UpsertRow
from migration_assets.connectors.freshsales import FreshsalesDestination
from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.store import open_state
from migration_assets.sandbox.freshsales.testing import connection
from migration_assets.systems import Person

KEY = "cf_source_system_id"
PLAN = [
    *(
        {"kind": "field", "entity": e, "label": "Source System ID", "type": "text", "unique": True}
        for e in ("contacts", "sales_accounts", "deals", "sales_activities")
    ),
    {
        "kind": "field",
        "entity": "contacts",
        "label": "Client Type",
        "type": "dropdown",
        "choices": ["Individual", "Business"],
    },
    {"kind": "field", "entity": "deals", "label": "Matter Stage", "type": "dropdown", "choices": ["Active", "Closed"]},
    {"kind": "field", "entity": "deals", "label": "Filing Date", "type": "date"},
    {"kind": "pipeline", "name": "Matters", "stages": ["Intake", "Active", "Won"]},
]


def prepare(tmp_path: Path, **options: object) -> tuple[Path, FreshsalesDestination]:
    path = tmp_path / "fs.sqlite"
    seed.reset(path)
    seed.apply_field_plan(path, PLAN)
    return path, FreshsalesDestination.from_connection(connection(path, **options))


@pytest.fixture(params=["bulk", "single"])
async def fs(request, tmp_path: Path):
    threshold = 1 if request.param == "bulk" else 10_000
    path, connector = prepare(tmp_path, bulk_threshold=threshold)
    connector.state_path = path  # type: ignore[attr-defined]
    yield connector
    await connector.aclose()


def clients(n: int, suffix: str = "") -> list[UpsertRow]:
    return [
        UpsertRow(
            f"C-{i}",
            {"last_name": f"Client {i}{suffix}", "emails": f"c{i}@firm.example", "cf_client_type": "Individual"},
        )
        for i in range(n)
    ]


async def test_round_trip_upsert_read_back_delete_count(fs, request):
    first = await fs.upsert("contact", KEY, clients(7))
    assert [r.operation for r in first] == ["created"] * 7 and all(r.destination_id for r in first)
    assert fs.last_path == request.node.callspec.params["fs"]
    again = await fs.upsert("contact", KEY, clients(7, " (renamed)"))
    assert [r.operation for r in again] == ["updated"] * 7
    assert [r.destination_id for r in again] == [r.destination_id for r in first]
    assert await fs.count("contact", KEY) == 7
    back = await fs.read_back("contact", KEY, ["C-0", "C-6", "C-404"], ["last_name", "emails", "cf_client_type"])
    assert set(back) == {"C-0", "C-6"}
    assert back["C-6"] == {
        "id": first[6].destination_id,
        KEY: "C-6",
        "last_name": "Client 6 (renamed)",
        "emails": "c6@firm.example",
        "cf_client_type": "Individual",
    }
    deleted = await fs.delete("contact", [r.destination_id for r in first])
    assert all(r.ok and r.operation == "deleted" for r in deleted)
    assert await fs.count("contact", KEY) == 0
    assert await fs.read_back("contact", KEY, ["C-0"], []) == {}
    assert all(r.ok for r in await fs.delete("contact", [first[0].destination_id]))  # already gone


async def test_dropdown_value_outside_its_choices_fails_only_its_row(fs):
    rows = clients(5)
    rows[2] = UpsertRow("C-2", {"last_name": "Bad", "cf_client_type": "Corporation"})
    results = await fs.upsert("contact", KEY, rows)
    assert [r.ok for r in results] == [True, True, False, True, True]
    assert results[2].error == "cf_client_type: 'Corporation' is not a valid choice for Client Type"
    assert await fs.count("contact", KEY) == 4


async def test_rows_without_external_id_or_with_an_unknown_stage_fail_unsent(fs):
    rows = [
        UpsertRow("", {"name": "No key", "amount": 1}),
        UpsertRow("M-1", {"name": "Bad stage", "amount": 1, "deal_stage_id": "Appeal"}),
        UpsertRow("M-2", {"name": "Good", "amount": 1, "deal_pipeline_id": "Matters", "deal_stage_id": "Won"}),
    ]
    results = await fs.upsert("deal", KEY, rows)
    assert [r.ok for r in results] == [False, False, True]
    assert results[0].error == "empty external id" and "'Appeal' is not one of" in str(results[1].error)
    back = await fs.read_back("deal", KEY, ["M-2"], ["deal_pipeline_id", "deal_stage_id"])
    assert back["M-2"]["deal_pipeline_id"] == "Matters" and back["M-2"]["deal_stage_id"] == "Won"


async def test_lookups_and_numbered_associations_round_trip(fs):
    firms = await fs.upsert("sales_account", KEY, [UpsertRow(f"A-{i}", {"name": f"Firm {i}"}) for i in range(2)])
    people = await fs.upsert(
        "contact",
        KEY,
        [
            UpsertRow(
                f"C-{i}",
                {"last_name": f"Client {i}"},
                {"sales_account_id": LookupRef("sales_account", firms[i % 2].destination_id)},
            )
            for i in range(3)
        ],
    )
    owner = next(u for u in await fs.users() if u.active)
    lookups = {
        "sales_account_id": LookupRef("sales_account", firms[0].destination_id),
        "contact_ids": LookupRef("contact", people[0].destination_id),
        "contact_ids_2": LookupRef("contact", people[2].destination_id),
        "owner_id": LookupRef("user", owner.id),
    }
    deal = UpsertRow("M-1", {"name": "Matter", "amount": 1500.5, "cf_filing_date": "2024-02-01"}, lookups)
    assert (await fs.upsert("deal", KEY, [deal]))[0].ok
    columns = ["name", "amount", "cf_filing_date", *lookups, "contact_ids_3"]
    back = (await fs.read_back("deal", KEY, ["M-1"], columns))["M-1"]
    assert back["sales_account_id"] == firms[0].destination_id and back["owner_id"] == owner.id
    assert (back["contact_ids"], back["contact_ids_2"], back["contact_ids_3"]) == (
        people[0].destination_id,
        people[2].destination_id,
        None,
    )
    assert back["amount"] == 1500.5 and back["cf_filing_date"] == "2024-02-01"
    contact = await fs.read_back("contact", KEY, ["C-1"], ["sales_account_id", "sales_account_id_2"])
    assert (
        contact["C-1"]["sales_account_id"] == firms[1].destination_id and contact["C-1"]["sales_account_id_2"] is None
    )


async def test_activities_are_upserted_one_by_one_and_found_again_by_key(fs):
    people = await fs.upsert("contact", KEY, clients(1))
    target = {"targetable_id": LookupRef("contact", people[0].destination_id)}
    owner = {"owner_id": LookupRef("user", (await fs.users())[0].id)}
    tasks = [
        UpsertRow(
            f"T-{i}",
            {
                "title": f"Call {i}",
                "description": "Phone log",
                "due_date": "2024-01-05T15:00:00Z",
                "task_type_id": "Call",
                "status": "Completed" if i else "Open",
            },
            {**target, **owner},
        )
        for i in range(2)
    ]
    first = await fs.upsert("task", KEY, tasks)
    assert [r.operation for r in first] == ["created", "created"] and fs.last_path == "listed"
    assert [r.operation for r in await fs.upsert("task", KEY, tasks)] == ["updated", "updated"]
    fresh = FreshsalesDestination.from_connection(connection(fs.state_path))  # a new run: finds them by listing
    columns = ["title", "description", "due_date", "task_type_id", "status", "targetable_id", "owner_id"]
    back = await fresh.read_back("task", KEY, ["T-0", "T-1"], columns)
    assert back["T-1"]["description"] == "Phone log" and back["T-1"]["status"] == "Completed"
    assert back["T-0"]["task_type_id"] == "Call" and back["T-0"]["targetable_id"] == people[0].destination_id
    assert back["T-0"]["due_date"] == "2024-01-05T11:00:00-04:00"  # the account's offset, same instant
    assert await fresh.count("task", KEY) == 2
    assert [r.operation for r in await fresh.upsert("task", KEY, tasks)] == ["updated", "updated"]
    await fresh.aclose()


async def test_sales_activities_notes_and_appointments_with_attendees(fs):
    seed.seed_users(fs.state_path, [Person("lawyer@firm.example", "Lee", "Law")])
    people = await fs.upsert("contact", KEY, clients(2))
    lawyer = next(u for u in await fs.users() if u.email == "lawyer@firm.example")
    target = {"targetable_id": LookupRef("contact", people[0].destination_id)}
    email = UpsertRow(
        "E-1",
        {
            "sales_activity_type_id": "Email",
            "title": "Update",
            "start_date": "2024-01-01T10:00:00Z",
            "end_date": "2024-01-01T10:05:00Z",
        },
        target,
    )
    note = UpsertRow("N-1", {"description": "Inline note"}, target)
    meeting = UpsertRow(
        "AP-1",
        {"title": "Hearing prep", "from_date": "2024-01-02T10:00:00Z", "end_date": "2024-01-02T11:00:00Z"},
        {
            **target,
            "attendee_contact_id": LookupRef("contact", people[1].destination_id),
            "attendee_user_id": LookupRef("user", lawyer.id),
        },
    )
    for table, row in (("sales_activity", email), ("note", note), ("appointment", meeting)):
        assert (await fs.upsert(table, KEY, [row]))[0].operation == "created"
        assert (await fs.upsert(table, KEY, [row]))[0].operation == "updated"
    back = await fs.read_back("appointment", KEY, ["AP-1"], ["attendee_contact_id", "attendee_user_id", "description"])
    assert (
        back["AP-1"]["attendee_contact_id"] == people[1].destination_id
        and back["AP-1"]["attendee_user_id"] == lawyer.id
    )
    assert back["AP-1"]["description"] is None  # only the key line was there
    assert (await fs.read_back("note", KEY, ["N-1"], ["description"]))["N-1"]["description"] == "Inline note"
    assert await fs.count("note", KEY) == 1 and await fs.count("sales_activity", KEY) == 1


async def test_restore_writes_the_before_image_back(fs):
    firm = (await fs.upsert("sales_account", KEY, [UpsertRow("A-1", {"name": "Firm"})]))[0].destination_id
    row = UpsertRow(
        "M-1",
        {"name": "Before", "amount": 10, "cf_matter_stage": "Active"},
        {"sales_account_id": LookupRef("sales_account", firm)},
    )
    deal_id = (await fs.upsert("deal", KEY, [row]))[0].destination_id
    columns = ["name", "amount", "cf_matter_stage", "sales_account_id"]
    image = (await fs.read_back("deal", KEY, ["M-1"], columns))["M-1"]
    await fs.upsert(
        "deal",
        KEY,
        [UpsertRow("M-1", {"name": "After", "amount": 99, "cf_matter_stage": "Closed"}, {"sales_account_id": None})],
    )
    before = {**image, "sales_account_id": {"table": "sales_account", "id": firm}}
    restored = await fs.restore("deal", [before])
    assert restored[0].ok and restored[0].operation == "restored"
    assert (await fs.read_back("deal", KEY, ["M-1"], columns))["M-1"] == image
    await fs.delete("deal", [deal_id])
    gone = await fs.restore("deal", [before])
    assert not gone[0].ok and gone[0].error == "the record no longer exists"


async def test_read_by_ids_reads_records_that_exist(fs):
    ids = [r.destination_id for r in await fs.upsert("contact", KEY, clients(2))]
    found = await fs.read_by_ids("contact", [*ids, "70009999999"], ["last_name", KEY])
    assert set(found) == set(ids) and found[ids[0]] == {"last_name": "Client 0", KEY: "C-0"}


async def test_users_lists_owners_with_email_and_active_flag(fs):
    seed.seed_users(
        fs.state_path, [Person("ada@firm.example", "Ada", "Ng"), Person("bo@firm.example", "Bo", "Li", False)]
    )
    users = {u.email: u for u in await fs.users()}
    assert users["ada@firm.example"].active and not users["bo@firm.example"].active
    assert users["ada@firm.example"].name == "Ada Ng"


async def test_creates_whose_answers_are_lost_are_not_duplicated(tmp_path):
    path, fs = prepare(tmp_path, concurrency=1)
    people = await fs.upsert("contact", KEY, clients(1))
    open_state(path).set_options({"faults": "lost:0.3", "faults_seed": 11})
    lossy = FreshsalesDestination.from_connection(connection(path, concurrency=1))
    target = {"targetable_id": LookupRef("contact", people[0].destination_id)}
    rows = [UpsertRow(f"N-{i}", {"description": f"note {i}"}, target) for i in range(8)]
    results = await lossy.upsert("note", KEY, rows)
    open_state(path).set_options({"faults": ""})
    assert all(r.ok for r in results), results
    assert injected_faults(open_state(path)).get("lost", 0) > 0
    assert await fs.count("note", KEY) == 8
    await fs.aclose()
    await lossy.aclose()


async def test_reading_back_most_of_a_table_pages_its_view_instead_of_one_request_per_record(tmp_path):
    path, fs = prepare(tmp_path, bulk_threshold=1)
    try:
        [account] = await fs.upsert("sales_account", KEY, [UpsertRow("A-1", {"name": "Ng LLP"})])
        firm = {"sales_account_id": LookupRef("sales_account", account.destination_id)}
        rows = [UpsertRow(f"C-{i}", {"last_name": f"Client {i}"}, firm) for i in range(150)]
        assert all(r.ok for r in await fs.upsert("contact", KEY, rows))
        used = seed.usage(path)["used"]
        wanted = [f"C-{i}" for i in range(0, 150, 3)]
        back = await fs.read_back("contact", KEY, wanted, ["last_name", "sales_account_id"])
        assert set(back) == set(wanted)
        assert all(b["sales_account_id"] == account.destination_id for b in back.values())
        # a search and the two pages of the "All" view (known from the bulk job): not 50 record reads
        assert seed.usage(path)["used"] - used == 3
        few = await fs.read_back("contact", KEY, ["C-1", "C-4"], ["last_name"])
        assert few["C-4"]["last_name"] == "Client 4"
        assert seed.usage(path)["used"] - used == 3 + 1 + 2  # fewer records than pages: one read each
    finally:
        await fs.aclose()
