"""Seeded, deterministic dataset of the Case Status emulator.

`generate(path, scale=N, seed=S)` replaces every record in the state file by a dataset of N cases
and proportional sizes of the rest; the same (scale, seed) writes byte-identical documents (Faker
and `random.Random` are seeded, timestamps are relative to 2026-11-01T00:00:00Z).

Sizes: users max(8, scale/50); practice areas 5; clients 0.8*scale; cases scale; matters
0.4*scale; messages 2*scale; files, case events, calendar events, tasks, notes, time entries and
NPS responses 0.5*scale each; automations 2 per practice area; one portal config.

Dirty data, each kind in a known small proportion (see `gen_core` and `gen_activity` docstrings for
the exact 1-in-n of each): duplicate client emails (case/space variants) and phones; empty, variant
("Acme LLC", "ACME, L.L.C.", " Acme LLC ") and missing companies; cases without clients or with
deleted clients; orphan matters; status variants ("On-Hold", "on hold"), a label outside every
stage list and one custom stage per practice area; unicode/RTL/emoji names and texts; empty
last_name and case name; created_at without 'Z'; custom_properties with mixed key spellings, dates
in 3 formats, "$1,200" strings, nested objects, double-encoded and invalid JSON strings; HTML with
scripts; inline images (data: URIs) in notes; messages without a case; inactive or missing primary
attorneys; hours < 0 or > 24; amount != hours*rate; files > 25 MB, of 0 bytes, with a missing
blob, names with "/" and ".."; NPS scores above 10; soft-deleted clients and cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migration_assets.sandbox import _documents as documents
from migration_assets.sandbox._generation import build_documents, write_documents
from migration_assets.sandbox.case_status import gen_activity, gen_core, store
from migration_assets.sandbox.case_status.gen_common import Context

USER_FIELDS = ("id", "email", "first_name", "last_name", "role", "active")


def _sizes(scale: int) -> dict[str, int]:
    half = max(1, round(0.5 * scale))
    return {
        "users": max(8, scale // 50),
        "clients": max(4, round(0.8 * scale)),
        "cases": scale,
        "matters": max(1, round(0.4 * scale)),
        "case-events": half,
        "messages": 2 * scale,
        "files": half,
        "calendar-events": half,
        "tasks": half,
        "notes": half,
        "time-entries": half,
        "nps-responses": half,
    }


def _builders(sizes: dict[str, int]) -> list[tuple[str, Callable[[Context], list[dict[str, Any]]]]]:
    """Each resource's builder, in dependency order (later builders read earlier records)."""
    return [
        ("users", lambda c: gen_core.users(c, sizes["users"])),
        ("practice-areas", gen_core.practice_areas),
        ("clients", lambda c: gen_core.clients(c, sizes["clients"])),
        ("cases", lambda c: gen_core.cases(c, sizes["cases"])),
        ("matters", lambda c: gen_activity.matters(c, sizes["matters"])),
        ("case-events", lambda c: gen_activity.case_events(c, sizes["case-events"])),
        ("messages", lambda c: gen_activity.messages(c, sizes["messages"])),
        ("files", lambda c: gen_activity.files(c, sizes["files"])),
        ("calendar-events", lambda c: gen_activity.calendar_events(c, sizes["calendar-events"])),
        ("tasks", lambda c: gen_activity.tasks(c, sizes["tasks"])),
        ("notes", lambda c: gen_activity.notes(c, sizes["notes"])),
        ("time-entries", lambda c: gen_activity.time_entries(c, sizes["time-entries"])),
        ("nps-responses", lambda c: gen_activity.nps_responses(c, sizes["nps-responses"])),
        ("automations", gen_activity.automations),
        ("portal-config", gen_activity.portal_config),
    ]


def build(*, scale: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """The documents of every resource, deleted ones included, without writing them (ValueError
    when `scale` is below 1)."""
    return build_documents(Context(seed), _builders(_sizes(scale)), scale)


def generate(state_path: Path, *, scale: int, seed: int) -> dict[str, int]:
    """Replace the Case Status sandbox's records with `scale` cases and the rest in proportion (module
    docstring); the same (scale, seed) gives identical data. Returns the records the API lists per
    resource."""
    return write_documents(store, state_path, build(scale=scale, seed=seed))


def source_users(state_path: Path) -> list[dict[str, Any]]:
    """Every user of the source (inactive ones included), to seed destination users from.

    Args:
        state_path: the Case Status sandbox SQLite file.

    Returns:
        Dicts with id, email, first_name, last_name, role and active, ordered by id.
    """
    with store.open_state(state_path).connect() as conn:
        rows = conn.execute(
            "select doc from records where resource = 'users' and deleted_at is null order by id"
        ).fetchall()
    docs = [documents.public(json.loads(r["doc"])) for r in rows]
    return [{k: d.get(k) for k in USER_FIELDS} for d in docs]
