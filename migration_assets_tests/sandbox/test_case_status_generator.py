"""The seeded Case Status dataset is deterministic, proportional and dirty in known ways."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migration_assets.sandbox.case_status import generate, source_users
from migration_assets.sandbox.case_status.gen_common import BASE, STANDARD_STATUSES
from migration_assets.sandbox.case_status.generator import build

Data = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def data() -> Data:
    return build(scale=200, seed=5)




def test_regenerating_replaces_the_previous_dataset(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    generate(path, scale=80, seed=1)
    counts = generate(path, scale=20, seed=1)
    with sqlite3.connect(path) as conn:
        cases = conn.execute("select count(*) from records where resource = 'cases' and deleted_at is null")
        assert cases.fetchone()[0] == counts["cases"]


def test_counts_are_listed_records_proportional_to_scale(tmp_path: Path) -> None:
    counts = generate(tmp_path / "a.sqlite", scale=200, seed=5)
    written = build(scale=200, seed=5)
    assert {r: len(docs) for r, docs in written.items()} == {
        "users": 8, "practice-areas": 5, "clients": 160, "cases": 200, "matters": 80, "case-events": 100,
        "messages": 400, "files": 100, "calendar-events": 100, "tasks": 100, "notes": 100,
        "time-entries": 100, "nps-responses": 100, "automations": 10, "portal-config": 1,
    }  # fmt: skip
    assert counts["clients"] == 160 - sum(1 for c in written["clients"] if c.get("deleted_at"))
    assert counts["cases"] == 200 - sum(1 for c in written["cases"] if c.get("deleted_at"))
    with sqlite3.connect(tmp_path / "a.sqlite") as conn:
        live = dict(conn.execute("select resource, count(*) from records where deleted_at is null group by 1"))
    assert live == counts


def test_scale_below_one_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path / "a.sqlite", scale=0, seed=1)


def test_timestamps_never_pass_the_base_date(data: Data) -> None:
    stamps = [d["updated_at"] for docs in data.values() for d in docs]
    assert max(stamps) < BASE.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_source_users_have_every_role_unique_emails_and_some_inactive(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    generate(path, scale=200, seed=5)
    users = source_users(path)
    assert set(users[0]) == {"id", "email", "first_name", "last_name", "role", "active"}
    assert {u["role"] for u in users} == {"attorney", "paralegal", "case_manager", "admin"}
    assert len({u["email"] for u in users}) == len(users)
    assert any(not u["active"] for u in users if u["role"] == "attorney")


def _live(data: Data, resource: str) -> list[dict[str, Any]]:
    return [d for d in data[resource] if not d.get("deleted_at")]


def _props(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["custom_properties"] if isinstance(doc["custom_properties"], dict) else {}


def _json_kind(value: Any) -> str:
    if not isinstance(value, str):
        return "object"
    try:
        return "double-encoded" if isinstance(json.loads(value), dict) else "scalar"
    except ValueError:
        return "invalid"


def _dup_emails(data: Data) -> bool:
    raw = [c["email"] for c in data["clients"]]
    norm = Counter(e.strip().lower() for e in raw)
    return any(n > 1 for n in norm.values()) and len(set(raw)) == len(raw)


def _case_with_deleted_client(data: Data) -> bool:
    deleted = {c["id"] for c in data["clients"] if c.get("deleted_at")}
    return any(set(c["client_ids"]) & deleted for c in data["cases"])


def _inactive_primary(data: Data) -> bool:
    inactive = {u["id"] for u in data["users"] if not u["active"]}
    return any(c["primary_attorney_id"] in inactive for c in data["cases"])


def _custom_stage_per_area(data: Data) -> bool:
    used = {(c["practice_area_id"], c["status"]) for c in data["cases"]}
    return all((a["id"], a["stages"][2]["display_name"]) in used for a in data["practice-areas"])


def _date_formats(values: list[str]) -> set[str]:
    patterns = {"iso": r"\d{4}-\d\d-\d\d$", "us": r"\d\d/\d\d/\d{4}$", "long": r"[A-Z][a-z]+ \d{1,2}, \d{4}$"}
    return {name for v in values for name, p in patterns.items() if re.match(p, v)}


DIRTY: dict[str, Callable[[Data], bool]] = {
    "duplicate client emails (case/space variants)": _dup_emails,
    "duplicate client phones": lambda d: (
        len({re.sub(r"\D", "", c["cell_phone"])[-10:] for c in d["clients"]}) < len(d["clients"])
    ),
    "non-E.164 phones": lambda d: any(not c["cell_phone"].startswith("+") for c in d["clients"]),
    "Acme company variants": lambda d: (
        {"Acme LLC", "ACME, L.L.C.", " Acme LLC "} <= {c["company"] for c in d["clients"]}
    ),
    "empty company": lambda d: any(c["company"] == "" for c in d["clients"]),
    "no company": lambda d: any(c["company"] is None for c in d["clients"]),
    "unicode names": lambda d: any(not (c["first_name"] + c["last_name"]).isascii() for c in d["clients"]),
    "RTL names": lambda d: any(re.search("[\u0590-\u06ff]", c["first_name"]) for c in d["clients"]),
    "emoji names": lambda d: any(re.search("[\U0001f300-\U0001faff]", c["first_name"]) for c in d["clients"]),
    "empty last_name": lambda d: any(c["last_name"] == "" for c in d["clients"]),
    "empty case name": lambda d: any(c["name"] == "" for c in d["cases"]),
    "created_at without Z": lambda d: any(not c["created_at"].endswith("Z") for c in d["clients"] + d["cases"]),
    "birth dates in 3 formats": lambda d: (
        _date_formats([c["birth_date"] for c in d["clients"]]) == {"iso", "us", "long"}
    ),
    "mixed custom key spellings": lambda d: (
        {"court_name", "Court Name", "courtName"} <= {k for c in d["cases"] for k in _props(c)}
    ),
    "filing dates in 3 formats": lambda d: (
        _date_formats(
            [
                v
                for c in d["cases"]
                for k, v in _props(c).items()
                if k.lower().replace(" ", "") in ("filingdate", "filing_date")
            ]
        )
        == {"iso", "us", "long"}
    ),
    "$1,200 strings": lambda d: (
        any(c["case_value"].startswith("$") for c in d["cases"])
        and any(str(v).startswith("$") for c in d["cases"] for v in _props(c).values())
    ),
    "nested objects": lambda d: any(isinstance(v, dict) for c in d["cases"] for v in _props(c).values()),
    "double-encoded JSON": lambda d: (
        {"double-encoded"} <= {_json_kind(x["custom_properties"]) for x in d["clients"] + d["cases"]}
    ),
    "invalid JSON": lambda d: {"invalid"} <= {_json_kind(x["custom_properties"]) for x in d["clients"] + d["cases"]},
    "cases without clients": lambda d: any(c["client_ids"] == [] for c in d["cases"]),
    "cases with deleted clients": _case_with_deleted_client,
    "status variants On Hold/On-Hold/on hold": lambda d: (
        {"On Hold", "On-Hold", "on hold"} <= {c["status"] for c in d["cases"]}
    ),
    "status outside every stage list": lambda d: any(
        c["status"] not in STANDARD_STATUSES and c["stage_id"] is None and c["status"] not in ("On-Hold", "on hold")
        for c in d["cases"]
    ),
    "custom stage per practice area": _custom_stage_per_area,
    "inactive primary attorney": _inactive_primary,
    "missing primary attorney": lambda d: any(c["primary_attorney_id"] is None for c in d["cases"]),
    "closed and on hold together": lambda d: any(c["on_hold"] and c["closed_at"] for c in d["cases"]),
    "messages with script": lambda d: any("<script" in m["content"] for m in d["messages"]),
    "messages without case": lambda d: any(m["case_id"] is None for m in d["messages"]),
    "messages with emoji/RTL": lambda d: any(
        re.search("[\u0590-\u06ff\U0001f300-\U0001faff]", m["content"]) for m in d["messages"]
    ),
    "hours below 0": lambda d: any(t["hours"] < 0 for t in d["time-entries"]),
    "hours above 24": lambda d: any(t["hours"] > 24 for t in d["time-entries"]),
    "amount != hours*rate": lambda d: any(abs(t["amount"] - t["hours"] * t["rate"]) > 0.01 for t in d["time-entries"]),
    "files over 25 MB": lambda d: any(f["size"] > 25 * 1024 * 1024 for f in d["files"]),
    "files of 0 bytes": lambda d: any(f["size"] == 0 for f in d["files"]),
    "files with missing blob": lambda d: any(f.get("_blob") == "missing" for f in d["files"]),
    "file names with /": lambda d: any("/" in f["file_name"] and ".." not in f["file_name"] for f in d["files"]),
    "file names with ..": lambda d: any(".." in f["file_name"] for f in d["files"]),
    "orphan matters": lambda d: any(m["case_id"] not in {c["id"] for c in d["cases"]} for m in d["matters"]),
    "NPS above 10": lambda d: any(n["score"] > 10 for n in d["nps-responses"]),
    "deleted clients and cases": lambda d: (
        any(c.get("deleted_at") for c in d["clients"]) and any(c.get("deleted_at") for c in d["cases"])
    ),
}


@pytest.mark.parametrize("kind", list(DIRTY))
def test_each_dirty_kind_is_present_at_scale_200(data: Data, kind: str) -> None:
    assert DIRTY[kind](data), kind


def test_dirty_kinds_stay_a_small_proportion(data: Data) -> None:
    cases = data["cases"]
    assert sum(c["client_ids"] == [] for c in cases) / len(cases) <= 0.05
    assert sum(f["size"] > 25 * 1024 * 1024 for f in data["files"]) / len(data["files"]) <= 0.05
    sizes = [f["size"] for f in data["files"] if 0 < f["size"] <= 25 * 1024 * 1024]
    assert all(1024 <= s <= 200 * 1024 for s in sizes)
    live_cases = _live(data, "cases")
    assert len(live_cases) / len(cases) >= 0.95
