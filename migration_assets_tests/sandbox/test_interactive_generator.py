"""The seeded Interactive dataset is deterministic, proportional and dirty in every documented
way while a clean majority loads; the seeding hooks and the system declaration fit the contract."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from migration_assets.connectors.interactive.system import SANDBOX_TOKEN as DECLARED_TOKEN
from migration_assets.sandbox.interactive import SANDBOX_TOKEN, seed
from migration_assets.sandbox.interactive.gen_common import Context
from migration_assets.sandbox.interactive.gen_config import DEFAULT_STAGES, ESTATE_STAGES
from migration_assets.sandbox.interactive.generator import build, generate, sizes
from migration_assets.sandbox.interactive.objects import CUSTOM_TYPE_ID, LIFECYCLE_STAGES
from migration_assets.sandbox.interactive.store import open_state
from migration_assets.systems import Person, system

SCALE = 100


@pytest.fixture(scope="module")
def ctx() -> Context:
    return build(scale=SCALE, seed=5)


def _links(ctx: Context, from_type: str, type_id: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for source, from_id, to_id, type_ids in ctx.links:
        if source == from_type and type_id in type_ids:
            out.setdefault(from_id, []).append(to_id)
    return out


def _props(ctx: Context, otype: str) -> list[dict[str, Any]]:
    return [r["props"] for r in ctx.objects[otype]]


# -- determinism and sizes ----------------------------------------------------------------------
# (the same seed writes identical state: test_source_generators.py)
def test_sizes_are_proportional_to_the_number_of_deals(ctx: Context) -> None:
    expected = sizes(SCALE)
    assert expected["deals"] == SCALE and expected["contacts"] == 150 and expected["companies"] == 60
    for otype, records in ctx.objects.items():
        assert len(records) == expected[otype], otype
    assert len(ctx.resources["files"]) == expected["files"] and len(ctx.resources["owners"]) == expected["owners"]
    assert len(ctx.resources["pipelines"]) == 2 and len(ctx.resources["flows"]) == 4


def test_generate_counts_what_the_api_lists(tmp_path: Path) -> None:
    counts = generate(tmp_path / "x.sqlite", scale=20, seed=3)
    with sqlite3.connect(tmp_path / "x.sqlite") as conn:
        live = dict(conn.execute("select type, count(*) from objects where archived = 0 group by type").fetchall())
    assert {k: v for k, v in counts.items() if k in live} == live
    assert counts["owners"] == 6 and counts["pipelines"] == 2


def test_scale_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        build(scale=0, seed=1)


def test_every_property_value_is_a_string(ctx: Context) -> None:
    for otype, records in ctx.objects.items():
        for record in records:
            assert all(isinstance(v, str) for v in record["props"].values()), (otype, record["id"])


# -- every dirty class --------------------------------------------------------------------------
def test_contacts_carry_duplicate_and_missing_emails(ctx: Context) -> None:
    emails = [p.get("email") for p in _props(ctx, "contacts")]
    counted = Counter(e.strip().lower() for e in emails if e)
    assert sum(1 for e in emails if not e) == 150 // 20 + 1
    assert sum(n - 1 for n in counted.values() if n > 1) >= 5
    assert any(e and e != e.lower() for e in emails)  # a case variant


def test_contacts_have_no_company_or_several_without_a_primary(ctx: Context) -> None:
    companies, primary = _links(ctx, "contacts", 279), _links(ctx, "contacts", 1)
    ids = [r["id"] for r in ctx.objects["contacts"]]
    without = [i for i in ids if i not in companies]
    several_no_primary = [i for i in ids if len(companies.get(i, [])) > 1 and i not in primary]
    several_with_primary = [i for i in ids if len(companies.get(i, [])) > 1 and i in primary]
    assert len(without) == 10 and len(several_no_primary) == 8 and len(several_with_primary) >= 10
    assert all(len(v) == 1 for v in primary.values())


def test_companies_have_parent_loops_self_parents_and_archived_parents(ctx: Context) -> None:
    parent = {c: p[0] for c, p in _links(ctx, "companies", 14).items()}
    archived = {r["id"] for r in ctx.objects["companies"] if r["archived"]}
    loops = {(a, b) for a, b in parent.items() if parent.get(b) == a and a != b}
    assert len(loops) == 2 * 2  # two A->B->A pairs at 60 companies
    assert [a for a, b in parent.items() if a == b]  # own parent
    assert [a for a, b in parent.items() if b in archived]  # archived parent
    assert sum(1 for a in parent if a not in {x for pair in loops for x in pair}) >= 10  # plain hierarchies
    by_id = {r["id"]: r["props"] for r in ctx.objects["companies"]}
    assert all(by_id[c]["hs_parent_company_id"] == str(p) for c, p in parent.items())


def test_deals_sit_on_missing_closed_or_foreign_stages(ctx: Context) -> None:
    default = {s[0] for s in DEFAULT_STAGES}
    estate = {s[0] for s in ESTATE_STAGES}
    deals = _props(ctx, "deals")
    missing = [d for d in deals if d["dealstage"] not in default | estate]
    foreign = [d for d in deals if d["dealstage"] in (estate if d["pipeline"] == "default" else default)]
    closed_without_date = [d for d in deals if d["dealstage"] in ("closedwon", "87654326") and "closedate" not in d]
    assert len(missing) == 4 and len(foreign) >= 4 and len(closed_without_date) >= 3
    assert {d["pipeline"] for d in deals} == {"default", "87654321"}


def test_deal_amounts_include_separators_and_blanks(ctx: Context) -> None:
    amounts = [d.get("amount") for d in _props(ctx, "deals")]
    assert sum(1 for a in amounts if a == "") == 5
    assert sum(1 for a in amounts if a and "," in a) == 5
    assert all(float(a.replace(",", "")) > 0 for a in amounts if a)


def test_lifecycle_labels_outside_the_standard_set_and_skipped_stages(ctx: Context) -> None:
    contacts = _props(ctx, "contacts")
    standard = {v for v, _ in LIFECYCLE_STAGES}
    odd = Counter(c["lifecyclestage"] for c in contacts if c["lifecyclestage"] not in standard)
    assert odd == {"prospect": 5, "active": 5}
    skipped = [
        c
        for c in contacts
        if c["lifecyclestage"] == "customer"
        and "hs_lifecyclestage_customer_date" in c
        and "hs_lifecyclestage_lead_date" not in c
    ]
    walked = [c for c in contacts if c["lifecyclestage"] == "customer" and "hs_lifecyclestage_lead_date" in c]
    assert len(skipped) >= 10 and walked


def test_owners_are_archived_or_absent_on_some_records(ctx: Context) -> None:
    owners = {o["id"]: o for o in ctx.resources["owners"]}
    for otype in ("contacts", "companies", "deals", "notes"):
        referenced = [p.get("hubspot_owner_id") for p in _props(ctx, otype)]
        assert any(o in owners and owners[o]["archived"] for o in referenced), otype
        assert any(o and o not in owners for o in referenced), otype
    assert any(p.get("hubspot_owner_id") is None for p in _props(ctx, "contacts"))


def test_notes_hold_data_uri_images_scripts_tables_and_huge_bodies(ctx: Context) -> None:
    bodies = [p["hs_note_body"] for p in _props(ctx, "notes")]
    assert sum('src="data:image/png;base64,' in b for b in bodies) == 6
    assert sum("<script>" in b for b in bodies) == 6
    assert sum("<table>" in b for b in bodies) >= 7
    assert sum(len(b) > 65_000 for b in bodies) == 1
    assert sum(len(b) <= 65_000 and "<script>" not in b and "data:" not in b for b in bodies) > 30


def test_attachments_are_over_25_mib_or_missing(ctx: Context) -> None:
    files = {f["id"]: f for f in ctx.resources["files"]}
    attached = [
        i
        for otype in ("notes", "emails")
        for p in _props(ctx, otype)
        for i in (p.get("hs_attachment_ids") or "").split(";")
        if i
    ]
    assert any(i not in files for i in attached)
    assert sum(f["size"] > 25 * 1024 * 1024 for f in files.values()) == 2
    assert sum(f["size"] < 1024 * 1024 for f in files.values()) == 28


def test_spouse_links_point_at_archived_contacts_sometimes(ctx: Context) -> None:
    archived = {r["id"] for r in ctx.objects["contacts"] if r["archived"]}
    spouses = _links(ctx, CUSTOM_TYPE_ID, 105)
    clients = _links(ctx, CUSTOM_TYPE_ID, 103)
    assert len(spouses) == len(clients) == 20
    assert sum(1 for v in spouses.values() if v[0] in archived) == 3


def test_dates_come_as_epoch_ms_and_iso_with_and_without_zone(ctx: Context) -> None:
    for otype, field in (("contacts", "matter_open_date"), (CUSTOM_TYPE_ID, "marriage_date")):
        values = [p[field] for p in _props(ctx, otype)]
        kinds = Counter(
            "epoch" if v.isdigit() else "offset" if v[-6] in "+-" and "T" in v else "naive" if "T" in v else "date"
            for v in values
        )
        assert set(kinds) == {"epoch", "offset", "naive", "date"}, otype
        assert kinds["date"] > len(values) / 2


def test_names_include_unicode_rtl_and_emoji(ctx: Context) -> None:
    names = " ".join(f"{p['firstname']} {p['lastname']}" for p in _props(ctx, "contacts"))
    companies = " ".join(p["name"] for p in _props(ctx, "companies"))
    assert "محمد" in names and "שרה" in names and "😀" in names and "Ł" in names
    assert "Müller" in companies and "شركة" in companies and "חברת" in companies


def test_a_clean_majority_of_contacts_loads(ctx: Context) -> None:
    primary = _links(ctx, "contacts", 1)
    standard = {v for v, _ in LIFECYCLE_STAGES}
    clean = [
        r
        for r in ctx.objects["contacts"]
        if r["props"].get("email")
        and r["id"] in primary
        and r["props"]["lifecyclestage"] in standard
        and not r["archived"]
    ]
    assert len(clean) > 0.6 * len(ctx.objects["contacts"])


# -- seeding hooks ------------------------------------------------------------------------------
def test_reset_clears_records_and_sets_options(tmp_path: Path) -> None:
    path = tmp_path / "interactive.sqlite"
    generate(path, scale=10, seed=1)
    seed.reset(path, ten_secondly_limit=190, search_cap=50)
    state = open_state(path)
    assert state.option("ten_secondly_limit") == 190 and state.option("search_cap") == 50
    with sqlite3.connect(path) as conn:
        assert conn.execute("select count(*) from objects").fetchone()[0] == 0


def test_reset_refuses_an_unknown_option(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"known: .*search_cap"):
        seed.reset(tmp_path / "interactive.sqlite", serach_cap=5)


def test_people_are_the_owners_with_archived_ones_inactive(tmp_path: Path) -> None:
    path = tmp_path / "interactive.sqlite"
    seed.generate(path, scale=10, seed=1)
    people = seed.people(path)
    assert len(people) == 6 and all(isinstance(p, Person) for p in people)
    assert [p.active for p in people].count(False) == 1
    assert len({p.email for p in people}) == 6


def test_simulate_delta_updates_creates_and_archives_within_the_last_hours(tmp_path: Path) -> None:
    path = tmp_path / "interactive.sqlite"
    seed.generate(path, scale=20, seed=1)
    now = "2026-11-02T12:00:00Z"
    changes = seed.simulate_delta(path, now=now)
    assert len(changes["updated"]) == 7 and len(changes["created"]) == 4 and len(changes["archived"]) == 2
    window = (datetime(2026, 11, 2, 12, tzinfo=UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S")
    with sqlite3.connect(path) as conn:
        for ref in changes["updated"] + changes["created"]:
            otype, rid = ref.split("/")
            stamp = conn.execute("select updated_at from objects where type = ? and id = ?", (otype, rid)).fetchone()[0]
            assert window <= stamp <= "2026-11-02T12:00:00.000Z", ref
        for ref in changes["archived"]:
            otype, rid = ref.split("/")
            row = conn.execute(
                "select archived, archived_at from objects where type = ? and id = ?", (otype, rid)
            ).fetchone()
            assert row[0] == 1 and window <= row[1], ref


def test_the_system_declaration_names_the_sandbox_and_hooks() -> None:
    SYSTEM = system("interactive")  # as discovered: conventions filled in (sandbox package, hooks)
    assert SYSTEM.name == "interactive" and SYSTEM.role == "source"
    assert SYSTEM.env.names() == {"base_url": "INTERACTIVE_BASE_URL", "api_key": "INTERACTIVE_TOKEN"}
    assert SYSTEM.sandbox.credentials == {"api_key": SANDBOX_TOKEN} and DECLARED_TOKEN == SANDBOX_TOKEN
    hooks = SYSTEM.seeding()
    assert all(callable(getattr(hooks, name)) for name in ("reset", "generate", "people", "simulate_delta"))
    assert SYSTEM.connector_class().__name__ == "InteractiveSource"
