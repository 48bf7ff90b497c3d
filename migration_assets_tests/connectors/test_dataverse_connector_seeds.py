"""DataverseDestination features seeds 003 (BackDocket) and 004 (Interactive) need, against the
strict emulator: publisher from options, change sets with isolation, multi-select choices,
primary-key upserts, process/stage references, N:N pseudo-tables and activity parties."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_assets.connectors.base import ColumnRequirement, LookupRef, TableRequirement, UpsertRow
from migration_assets.errors import MigrationError
from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.dataverse.seed import reset
from migration_assets.sandbox.dataverse.store import open_state
from migration_assets_tests.connectors.destinations import connect_dataverse

BD = {"publisher_prefix": "bd", "publisher": {"unique_name": "backdocket", "option_value_prefix": 20000}}


@pytest.fixture
async def dv(tmp_path: Path):
    destination = connect_dataverse(tmp_path / "dv.sqlite", **BD)
    yield destination
    await destination.aclose()


def keyed(table: str, *extra: ColumnRequirement, custom: bool = False) -> TableRequirement:
    columns = (ColumnRequirement("bd_source_id", "string", max_length=100), *extra)
    return TableRequirement(table, custom=custom, columns=columns, keys={"bd_source_id_key": ("bd_source_id",)})


# -- publisher and solution from the options ---------------------------------------------------------
async def test_publisher_and_solution_come_from_options_and_are_created_when_missing(dv):
    kinds = ColumnRequirement("bd_matter_types", "multipicklist", options=("Probate", "Injury"))
    actions = await dv.apply_schema([keyed("contact", kinds)])
    assert "created publisher backdocket (prefix bd)" in actions and "created solution bd_migration" in actions
    column = (await dv.describe(["contact"])).tables["contact"].columns["bd_matter_types"]
    assert column.type == "multipicklist" and column.options == {"Probate": 200000000, "Injury": 200000001}
    facts = (await dv.describe(["contact"])).facts
    assert facts["publisher_prefix"] == "bd" and facts["first_choice_value"] == 200000000


async def test_existing_column_of_another_prefix_is_existing_and_only_new_names_conflict(tmp_path: Path):
    state = tmp_path / "dv.sqlite"
    cs = connect_dataverse(state, publisher_prefix="cs")
    await cs.apply_schema([TableRequirement("contact", columns=(ColumnRequirement("cs_legacy", "string"),))])
    await cs.aclose()
    bd = connect_dataverse(state, **BD)
    try:
        required = [
            TableRequirement(
                "contact", columns=(ColumnRequirement("cs_legacy", "string"), ColumnRequirement("cs_new", "string"))
            )
        ]
        plan = await bd.plan_schema(required)
        assert ("contact", "cs_legacy") in {(i["table"], i["name"]) for i in plan.existing}
        [conflict] = plan.conflicting
        assert conflict["name"] == "cs_new" and "must be named bd_<lowercase name>" in conflict["detail"]
    finally:
        await bd.aclose()


async def test_without_a_publisher_nothing_custom_can_be_created(tmp_path: Path):
    dv = connect_dataverse(tmp_path / "dv.sqlite")
    try:
        plan = await dv.plan_schema([keyed("contact")])
        assert plan.to_create == [] and "publisher_prefix" in plan.conflicting[0]["detail"]
    finally:
        await dv.aclose()


async def test_a_solution_of_another_publisher_is_refused(tmp_path: Path):
    state = tmp_path / "dv.sqlite"
    cs = connect_dataverse(state, publisher_prefix="cs", solution="shared")
    await cs.apply_schema([TableRequirement("contact", columns=(ColumnRequirement("cs_a", "string"),))])
    await cs.aclose()
    bd = connect_dataverse(state, publisher_prefix="bd", solution="shared")
    try:
        with pytest.raises(MigrationError, match="prefix 'cs', not 'bd'"):
            await bd.apply_schema([TableRequirement("contact", columns=(ColumnRequirement("bd_a", "string"),))])
    finally:
        await bd.aclose()


# -- change sets -----------------------------------------------------------------------------------
async def test_a_failing_row_is_isolated_from_its_change_set_and_the_rest_loads(tmp_path: Path):
    dv = connect_dataverse(tmp_path / "dv.sqlite", records_per_changeset=5, **BD)
    try:
        await dv.apply_schema([keyed("contact")])
        rows = [UpsertRow(f"C-{i}", {"lastname": "x" * (51 if i == 3 else 5)}) for i in range(10)]
        results = await dv.upsert("contact", "bd_source_id", rows)
        assert [r.ok for r in results] == [i != 3 for i in range(10)]
        assert results[3].error.startswith("0x80044331 ")
        assert await dv.count("contact", "bd_source_id") == 9
    finally:
        await dv.aclose()


async def test_rows_share_change_sets_in_one_batch(dv):
    await dv.apply_schema([keyed("contact")])
    await dv.upsert("contact", "bd_source_id", [UpsertRow("warm-up", {"lastname": "Ng"})])  # reads the metadata
    before = dv.session.stats.requests
    results = await dv.upsert("contact", "bd_source_id", [UpsertRow(f"C-{i}", {"lastname": "Ng"}) for i in range(30)])
    assert all(r.operation == "created" for r in results) and dv.session.stats.requests - before == 1


async def test_multi_select_values_are_sent_as_a_list_and_read_back_as_the_stored_string(dv):
    kinds = ColumnRequirement("bd_matter_types", "multipicklist", options=("Probate", "Injury", "Family"))
    await dv.apply_schema([keyed("contact", kinds)])
    [ok, bad] = await dv.upsert(
        "contact",
        "bd_source_id",
        [
            UpsertRow("C-1", {"lastname": "Ng", "bd_matter_types": [200000000, 200000002]}),
            UpsertRow("C-2", {"lastname": "Po", "bd_matter_types": [7]}),
        ],
    )
    assert ok.ok and not bad.ok and bad.error.startswith("0x8004431a")
    back = await dv.read_back("contact", "bd_source_id", ["C-1"], ["bd_matter_types"])
    assert back["C-1"]["bd_matter_types"] == "200000000,200000002"


# -- primary-key upserts and sales processes ----------------------------------------------------------
async def sales_process(dv) -> tuple[str, str]:
    [process] = await dv.upsert(
        "workflow",
        "workflowid",
        [
            UpsertRow(
                "pipeline-1", {"name": "Default pipeline", "primaryentity": "opportunity", "category": 4, "type": 1}
            )
        ],
    )
    stage = UpsertRow(
        "pipeline-1/qualify",
        {"stagename": "Qualify", "stagecategory": 0, "clientdata": '{"probability": 0.2, "forecast": "Pipeline"}'},
        {"processid": LookupRef("workflow", process.destination_id)},
    )
    [stage_result] = await dv.upsert("processstage", "processstageid", [stage])
    assert process.ok and stage_result.ok, (process.error, stage_result.error)
    return process.destination_id or "", stage_result.destination_id or ""


async def test_tables_without_alternate_keys_upsert_by_a_deterministic_primary_id(dv):
    process, stage = await sales_process(dv)
    again_process, again_stage = await sales_process(dv)
    assert (again_process, again_stage) == (process, stage)
    assert await dv.count("workflow", "workflowid") == 1
    back = await dv.read_back("processstage", "processstageid", ["pipeline-1/qualify"], ["stagename", "processid"])
    assert back == {"pipeline-1/qualify": {"id": stage, "stagename": "Qualify", "processid": process}}


async def test_opportunity_is_placed_on_its_process_and_stage(dv):
    process, stage = await sales_process(dv)
    await dv.apply_schema([keyed("opportunity")])
    opportunity = dv.meta
    assert (await opportunity.table("opportunity")).info.columns["processid"].targets == ("workflow",)
    row = UpsertRow(
        "D-1",
        {"name": "Deal", "estimatedvalue": 1200.5, "closeprobability": 20},
        {"processid": LookupRef("workflow", process), "stageid": LookupRef("processstage", stage)},
    )
    [result] = await dv.upsert("opportunity", "bd_source_id", [row])
    assert result.ok, result.error
    back = await dv.read_back("opportunity", "bd_source_id", ["D-1"], ["processid", "stageid", "estimatedvalue"])
    assert back["D-1"]["processid"] == process and back["D-1"]["stageid"] == stage


# -- many-to-many pseudo-tables ---------------------------------------------------------------------
def spouse_requirement() -> TableRequirement:
    columns = (
        ColumnRequirement("contactidone", "lookup", target="contact"),
        ColumnRequirement("contactidtwo", "lookup", target="contact"),
    )
    return TableRequirement("bd_contact_spouse", association=True, columns=columns, label="Spouse")


async def test_many_to_many_relationship_is_planned_created_and_described_as_a_pseudo_table(dv):
    plan = await dv.plan_schema([keyed("contact"), spouse_requirement()])
    assert ("relationship", "bd_contact_spouse") in {(i["kind"], i["name"]) for i in plan.to_create}
    await dv.apply_schema([keyed("contact"), spouse_requirement()])
    table = (await dv.describe(["bd_contact_spouse"])).tables["bd_contact_spouse"]
    assert table.association and table.columns["contactidtwo"].targets == ("contact",)
    assert (await dv.plan_schema([spouse_requirement()])).to_create == []


async def test_pairs_are_associated_idempotently_read_back_by_external_id_and_disassociated(dv):
    await dv.apply_schema([keyed("contact"), spouse_requirement()])
    people = await dv.upsert("contact", "bd_source_id", [UpsertRow(n, {"lastname": n}) for n in ("A", "B", "C")])
    ids = {r.external_id: r.destination_id for r in people}

    def link(one: str, two: str) -> UpsertRow:
        lookups = {"contactidone": LookupRef("contact", ids[one]), "contactidtwo": LookupRef("contact", ids[two])}
        return UpsertRow(f"{one}|{two}", {}, lookups)

    first = await dv.upsert("bd_contact_spouse", "bd_source_id", [link("A", "B"), link("B", "C")])
    again = await dv.upsert("bd_contact_spouse", "bd_source_id", [link("A", "B"), UpsertRow("A|C", {})])
    assert [r.operation for r in first] == ["created", "created"]
    assert [r.operation for r in again] == ["updated", "created"], [r.error for r in again]
    back = await dv.read_back(
        "bd_contact_spouse", "bd_source_id", ["A|B", "C|A", "A|C"], ["contactidone", "contactidtwo"]
    )
    assert set(back) == {"A|B", "A|C"} and back["A|B"]["contactidtwo"] == ids["B"]
    assert await dv.count("bd_contact_spouse", "bd_source_id") == 3
    deleted = await dv.delete("bd_contact_spouse", [first[0].destination_id, first[0].destination_id])
    assert all(r.ok for r in deleted)
    assert set(await dv.read_back("bd_contact_spouse", "bd_source_id", ["A|B", "B|C"], [])) == {"B|C"}


# -- activity parties --------------------------------------------------------------------------------
async def test_attendees_resolve_to_users_and_contacts_and_unknown_invitees_stay_addresses(dv):
    await dv.apply_schema([keyed("contact"), keyed("appointment")])
    [contact] = await dv.upsert(
        "contact", "bd_source_id", [UpsertRow("C-1", {"lastname": "Ng", "emailaddress1": "ng@client.example"})]
    )
    attendees = ["JORDAN.LEE@sandbox.onmicrosoft.com", "ng@client.example", "judge@court.example"]
    row = UpsertRow(
        "E-1", {"subject": "Hearing", "requiredattendees": attendees, "optionalattendees": '["clerk@court.example"]'}
    )
    [result] = await dv.upsert("appointment", "bd_source_id", [row])
    assert result.ok, result.error
    back = await dv.read_back("appointment", "bd_source_id", ["E-1"], ["requiredattendees", "optionalattendees"])
    assert back["E-1"]["requiredattendees"] == attendees and back["E-1"]["optionalattendees"] == ["clerk@court.example"]
    parties = await dv.api.get_json(
        f"appointments({result.destination_id})", {"$expand": "appointment_activity_parties"}
    )
    bound = [p["_partyid_value"] for p in parties["appointment_activity_parties"]]
    assert bound[1] == contact.destination_id and bound[0] is not None and bound[2:] == [None, None]


async def test_a_malformed_party_list_fails_only_its_row(dv):
    await dv.apply_schema([keyed("appointment")])
    rows = [UpsertRow("E-1", {"subject": "x", "requiredattendees": "not json"}), UpsertRow("E-2", {"subject": "y"})]
    results = await dv.upsert("appointment", "bd_source_id", rows)
    assert [r.ok for r in results] == [False, True] and "JSON array" in (results[0].error or "")


# -- notes and leads -----------------------------------------------------------------------------------
async def test_enhanced_notes_keep_sanitized_html_and_upsert_by_primary_id(dv):
    await dv.apply_schema([keyed("opportunity"), keyed("lead")])
    [deal] = await dv.upsert("opportunity", "bd_source_id", [UpsertRow("D-1", {"name": "Deal"})])
    html = '<p>Call <b>Ana</b> about the <a href="https://x.example">offer</a></p>'
    note = UpsertRow(
        "N-1",
        {"subject": "Call notes", "notetext": html, "overriddencreatedon": "2020-05-06T07:08:09Z"},
        {"objectid": LookupRef("opportunity", deal.destination_id)},
    )
    [first] = await dv.upsert("annotation", "annotationid", [note])
    [second] = await dv.upsert("annotation", "annotationid", [note])
    assert (first.operation, second.operation, second.destination_id) == ("created", "updated", first.destination_id)
    back = await dv.read_back("annotation", "annotationid", ["N-1"], ["notetext", "objectid", "createdon"])
    assert back["N-1"]["notetext"] == html and back["N-1"]["objectid"] == deal.destination_id
    assert back["N-1"]["createdon"].startswith("2020-05-06T07:08:09")
    lead = UpsertRow("L-1", {"subject": "Intake", "lastname": "Ng", "companyname": "Ng LLC", "leadsourcecode": 2})
    [result] = await dv.upsert("lead", "bd_source_id", [lead])
    assert result.ok, result.error


async def test_schema_apply_survives_lost_responses(tmp_path: Path):
    state = tmp_path / "dv.sqlite"
    reset(state, faults="lost:0.15", faults_seed=8)
    dv = connect_dataverse(state, **BD)
    try:
        kinds = ColumnRequirement("bd_kinds", "picklist", options=("A", "B"))
        matter = TableRequirement(
            "bd_matter",
            custom=True,
            columns=(ColumnRequirement("bd_source_id", "string"), kinds),
            keys={"bd_key": ("bd_source_id",)},
        )
        await dv.apply_schema([matter, spouse_requirement()])
        assert injected_faults(open_state(state)).get("lost", 0) > 0
        reset_faults(state)
        plan = await dv.plan_schema([matter, spouse_requirement()])
        assert plan.to_create == [] and plan.conflicting == []
        options = (await dv.describe(["bd_matter"])).tables["bd_matter"].columns["bd_kinds"].options
        assert options == {"A": 200000000, "B": 200000001}
    finally:
        await dv.aclose()


def reset_faults(state: Path) -> None:
    open_state(state).set_options({"faults": ""})
