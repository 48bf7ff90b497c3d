"""The seeded BackDocket dataset: deterministic, proportional to the scale, with every dirty class
of the reference present in a small known proportion, and a clean majority."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from migration_assets.sandbox._documents import parse_timestamp
from migration_assets.sandbox.backdocket import build, generate, people, seed
from migration_assets.sandbox.backdocket.content import sha256
from migration_assets.sandbox.backdocket.gen_matters import CLAIM_STATUSES, MATTER_STATUSES
from migration_assets.sandbox.backdocket.generator import sizes
from migration_assets.sandbox.backdocket.resources import RESOURCES
from migration_assets.sandbox.backdocket.store import open_state
from migration_assets.systems import Person

SCALE, SEED = 60, 23
Data = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def data() -> Data:
    return build(scale=SCALE, seed=SEED)


def _live(data: Data, resource: str) -> list[dict[str, Any]]:
    return [d for d in data[resource] if not d["deleted_at"]]


def _people(data: Data) -> list[dict[str, Any]]:
    return [c for c in data["contacts"] if not c["is_organization"]]


class _Balance(HTMLParser):
    VOID = frozenset({"br", "img", "hr", "input", "meta", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.broken = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.broken = True


def _broken_html(text: str) -> bool:
    parser = _Balance()
    parser.feed(text)
    parser.close()
    return parser.broken or bool(parser.stack)


def _definitions(data: Data, type_: str) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in data["custom-fields"] if d["type"] == type_}


def _custom_values(data: Data, type_: str) -> list[tuple[str, Any]]:
    ids = _definitions(data, type_)
    return [
        (cf, value)
        for resource in ("organizations", "contacts", "matters", "claims")
        for record in data[resource]
        for cf, value in record["custom_fields"].items()
        if cf in ids
    ]


def _org_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _same_file_on_two_parents(data: Data) -> list[str]:
    parents: dict[str, set] = defaultdict(set)
    for doc in data["documents"]:
        parents[doc["sha256"]].add((doc["parent_type"], doc["parent_id"]))
    return [h for h, p in parents.items() if len(p) > 1]


def _duplicate_contacts(data: Data) -> list[str]:
    seen = Counter((c["full_name"], (c["email"] or "").lower()) for c in _people(data))
    return [k[0] for k, n in seen.items() if n > 1]


def _assignees(data: Data) -> tuple[set[str], set[str], set[str]]:
    exact = {u["email"] for u in data["users"]}
    active = {u["email"].lower() for u in data["users"] if u["active"]}
    inactive = {u["email"].lower() for u in data["users"] if not u["active"]}
    return exact, active, inactive


# dirty class -> (resource, predicate on one record, given the whole dataset)
DIRTY: dict[str, tuple[str, Callable[[Data, dict[str, Any]], bool]]] = {
    "one-word full name": ("contacts", lambda d, c: not c["is_organization"] and len(c["full_name"].split()) == 1),
    "'Last, First' full name": (
        "contacts",
        lambda d, c: not c["is_organization"] and bool(re.fullmatch(r"[\w'-]+, [\w'-]+", c["full_name"])),
    ),
    "suffix in full name": (
        "contacts",
        lambda d, c: c["full_name"].endswith((" Jr.", " Sr.", " III", ", Esq.")),
    ),
    "firm name in a person field": (
        "contacts",
        lambda d, c: not c["is_organization"] and c["full_name"].endswith("LLP"),
    ),
    "duplicate contact": ("contacts", lambda d, c: c["full_name"] in _duplicate_contacts(d)),
    "duplicate organization": (
        "organizations",
        lambda d, o: Counter(_org_key(x["name"]) for x in d["organizations"])[_org_key(o["name"])] > 1,
    ),
    "contact on a missing or deleted organization": (
        "contacts",
        lambda d, c: (
            c["organization_id"] is not None
            and c["organization_id"] not in {o["id"] for o in _live(d, "organizations")}
        ),
    ),
    "claim with no matter": ("claims", lambda d, c: c["matter_id"] is None),
    "claim on a deleted matter": (
        "claims",
        lambda d, c: c["matter_id"] in {m["id"] for m in d["matters"] if m["deleted_at"]},
    ),
    "plaintiff claim without estimated_value": (
        "claims",
        lambda d, c: c["side"] == "plaintiff" and c["estimated_value"] is None,
    ),
    "legacy matter status": ("matters", lambda d, m: m["status"] not in MATTER_STATUSES),
    "legacy claim status": ("claims", lambda d, c: c["status"] not in CLAIM_STATUSES),
    "assignee email of nobody": (
        "tasks",
        lambda d, t: t["assignee_email"].lower() not in {u["email"].lower() for u in d["users"]},
    ),
    "assignee email of an inactive user": ("tasks", lambda d, t: t["assignee_email"].lower() in _assignees(d)[2]),
    "assignee email in another letter case": (
        "tasks",
        lambda d, t: t["assignee_email"] not in _assignees(d)[0] and t["assignee_email"].lower() in _assignees(d)[1],
    ),
    "zone-less event": (
        "calendar-events",
        lambda d, e: e["time_zone"] is None and not e["start"].endswith("Z"),
    ),
    "event ending before it starts": (
        "calendar-events",
        lambda d, e: parse_timestamp(e["end"]) < parse_timestamp(e["start"]),
    ),
    "broken HTML in formatted text": (
        "matters",
        lambda d, m: any(
            _broken_html(v) for cf, v in m["custom_fields"].items() if cf in _definitions(d, "formatted_text")
        ),
    ),
    "multi-select value outside the options": (
        "claims",
        lambda d, c: any(
            set(v) - set(_definitions(d, "multi_select")[cf]["options"])
            for cf, v in c["custom_fields"].items()
            if cf in _definitions(d, "multi_select")
        ),
    ),
    "null computed value": (
        "matters",
        lambda d, m: any(
            v["value"] is None for cf, v in m["custom_fields"].items() if cf in _definitions(d, "computed")
        ),
    ),
    "onsite-warehouse document": ("documents", lambda d, doc: doc["storage"] == "onsite_warehouse"),
    "document over 25 MiB": ("documents", lambda d, doc: doc["size_bytes"] > 25 * 1024 * 1024),
    "same file on two parents": ("documents", lambda d, doc: doc["sha256"] in _same_file_on_two_parents(d)),
    "intake already converted": (
        "intake-submissions",
        lambda d, i: i["converted_claim_id"] in {c["id"] for c in _live(d, "claims")},
    ),
    "inactive user": ("users", lambda d, u: not u["active"]),
    "unlicensed user": ("users", lambda d, u: not u["licensed"]),
    "created_at without offset": ("contacts", lambda d, c: not c["created_at"].endswith("Z")),
    "soft-deleted record": ("contacts", lambda d, c: c["deleted_at"] is not None),
}


@pytest.mark.parametrize("name", sorted(DIRTY))
def test_every_dirty_class_is_present_in_a_small_proportion(data: Data, name: str) -> None:
    resource, is_dirty = DIRTY[name]
    hits = [r for r in data[resource] if is_dirty(data, r)]
    assert hits, f"{name}: no {resource} record"
    share = len(hits) / len(data[resource])
    limit = 0.3 if resource == "users" else 0.15
    assert share <= limit, f"{name}: {len(hits)}/{len(data[resource])} {resource}"


def test_more_than_15_matter_types(data: Data) -> None:
    assert len({m["matter_type"] for m in data["matters"]}) > 15


def test_external_attendees_are_marked_not_internal(data: Data) -> None:
    events = [e for e in data["calendar-events"] if any(not a["internal"] for a in e["attendees"])]
    assert events and all(
        {a["email"] for a in e["attendees"] if not a["internal"]}.isdisjoint({u["email"] for u in data["users"]})
        for e in events
    )


def test_custom_field_values_have_the_shape_of_their_type(data: Data) -> None:
    assert all(isinstance(v, list) for _, v in _custom_values(data, "multi_select"))
    assert all(isinstance(v, str) and v.startswith("<") for _, v in _custom_values(data, "formatted_text"))
    computed = _custom_values(data, "computed")
    assert computed and all(set(v) == {"formula", "value"} for _, v in computed)
    assert {d["type"] for d in data["custom-fields"]} == {
        "text",
        "number",
        "date",
        "picklist",
        "multi_select",
        "formatted_text",
        "computed",
    }


def test_a_clean_majority_of_each_object_loads(data: Data) -> None:
    by_resource: dict[str, list[Callable]] = defaultdict(list)
    for resource, is_dirty in DIRTY.values():
        by_resource[resource].append(is_dirty)
    for resource, checks in by_resource.items():
        if resource == "users":
            continue
        dirty = sum(1 for r in data[resource] if any(check(data, r) for check in checks))
        assert dirty / len(data[resource]) < 0.5, resource


def test_revenue_claims_are_plaintiff_with_an_estimated_value(data: Data) -> None:
    claims = data["claims"]
    revenue = [c for c in claims if c["side"] == "plaintiff" and c["estimated_value"] is not None]
    assert 0.4 < len(revenue) / len(claims) < 0.85
    assert all(c["estimated_value"] is None for c in claims if c["side"] == "defense")
    assert all(re.fullmatch(r"\d+\.\d\d", c["estimated_value"]) for c in revenue)


def test_document_hashes_are_the_sha256_of_the_served_bytes(data: Data) -> None:
    small = [d for d in data["documents"] if d["size_bytes"] < 1 << 20][:5]
    built = build(scale=SCALE, seed=SEED)  # private content keys stay in build()'s documents
    keys = {d["id"]: d["_content"] for d in built["documents"]}
    assert all(sha256(keys[d["id"]], d["size_bytes"]) == d["sha256"] for d in small)


def test_same_scale_and_seed_build_identical_data(data: Data) -> None:
    assert build(scale=SCALE, seed=SEED) == data
    assert build(scale=SCALE, seed=SEED + 1) != data


def test_sizes_are_proportional_to_the_scale(tmp_path: Path) -> None:
    counts = generate(tmp_path / "bd.sqlite", scale=SCALE, seed=SEED)
    expected = sizes(SCALE)
    assert set(counts) == set(RESOURCES)
    assert counts["matters"] <= SCALE and counts["matters"] >= SCALE - 2
    for resource, n in expected.items():
        assert n * 0.9 <= counts[resource] <= n, resource
    assert counts["workflows"] == 8 and counts["merge-templates"] == 6 and counts["custom-fields"] == 16


def test_scale_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        build(scale=0, seed=1)


def test_people_are_the_users_with_active_flags(tmp_path: Path) -> None:
    path = tmp_path / "bd.sqlite"
    generate(path, scale=SCALE, seed=SEED)
    found = people(path)
    users = build(scale=SCALE, seed=SEED)["users"]
    assert all(isinstance(p, Person) for p in found)
    assert [p.email for p in found] == [u["email"] for u in users]
    assert [p.active for p in found] == [u["active"] for u in users] and not all(p.active for p in found)
    assert all(p.first_name and p.last_name for p in found)


def _doc(path: Path, ref: str) -> dict[str, Any]:
    resource, _, record_id = ref.partition("/")
    with sqlite3.connect(path) as conn:
        return json.loads(
            conn.execute("select doc from records where resource = ? and id = ?", (resource, record_id)).fetchone()[0]
        )


def test_simulate_delta_changes_a_realistic_slice_within_the_last_hours(tmp_path: Path) -> None:
    path = tmp_path / "bd.sqlite"
    generate(path, scale=SCALE, seed=SEED)
    changes = seed.simulate_delta(path, now="2026-12-02T12:00:00Z")
    assert len(changes["created"]) == 6 and len(changes["updated"]) == 8 and len(changes["deleted"]) == 4
    start, end = (parse_timestamp(t) for t in changes["window"])
    assert (end - start).total_seconds() <= 3 * 3600
    for ref in changes["created"] + changes["updated"] + changes["deleted"]:
        assert start <= parse_timestamp(_doc(path, ref)["updated_at"]) <= end, ref
    for ref in changes["deleted"]:
        assert _doc(path, ref)["deleted_at"] is not None
    assert not set(changes["deleted"]) & set(changes["created"] + changes["updated"])
    (converted,) = changes["converted"]
    intake, _, claim = converted.partition("->")
    assert _doc(path, intake)["converted_claim_id"] == claim.partition("/")[2]
    assert _doc(path, claim)["side"] == "plaintiff" and _doc(path, claim)["estimated_value"]


def test_simulate_delta_is_deterministic_for_the_same_state_and_clock(tmp_path: Path) -> None:
    results = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.sqlite"
        generate(path, scale=20, seed=4)
        results.append(seed.simulate_delta(path, now="2026-12-02T12:00:00Z"))
    assert results[0] == results[1]


def test_reset_keeps_nothing_but_the_new_options(tmp_path: Path) -> None:
    path = tmp_path / "bd.sqlite"
    generate(path, scale=5, seed=1)
    seed.reset(path, rate_limit=7)
    state = open_state(path)
    with state.connect() as conn:
        assert conn.execute("select count(*) from records").fetchone()[0] == 0
    assert state.option("rate_limit") == 7 and state.option("token_lifetime_seconds") == 3600
