"""Seeded, deterministic dataset of the BackDocket emulator.

`generate(path, scale=N, seed=S)` replaces every record in the state file by a dataset of N matters
and proportional sizes of the rest; the same (scale, seed) writes byte-identical documents (Faker and
`random.Random` are seeded, timestamps are relative to 2026-11-01T00:00:00Z).

Sizes (records written, soft-deleted ones included): users max(10, scale/20); custom-fields 16;
organizations max(6, 0.3*scale); contacts max(12, 2*scale); matters scale; claims max(2, 1.5*scale);
intake-submissions max(6, scale/2); tasks 2*scale; calendar-events scale; documents scale; notes
scale; workflows 8; merge-templates 6.

Dirty classes, each a small known proportion so a clean majority loads (the exact 1-in-n of each is
in the docstrings of `gen_people`, `gen_matters`, `gen_activity` and `gen_config`): one-word,
"Last, First" and suffixed full names, firm names in person fields; duplicate contacts and
organizations; contacts on missing or deleted organizations; claims with no or a deleted matter;
plaintiff claims with a null estimated_value; legacy matter and claim statuses; 18 matter types;
task assignee emails unknown, inactive or in another letter case; zone-less events and events
ending before they start; broken HTML in formatted text; multi-select values outside their options;
null computed values; onsite-warehouse and oversized (> 25 MiB) documents; the same file on two
parents; intakes already converted; external event attendees; inactive and unlicensed users;
offset-less created_at; soft-deleted records (listed by `/api/v1/deleted`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migration_assets.sandbox._generation import build_documents, write_documents
from migration_assets.sandbox.backdocket import gen_activity, gen_config, gen_matters, gen_people, store
from migration_assets.sandbox.backdocket.gen_common import Context
from migration_assets.systems import Person

Builder = Callable[[Context], list[dict[str, Any]]]


def sizes(scale: int) -> dict[str, int]:
    """Records generated per resource for `scale` matters (fixed-size resources excluded)."""
    return {
        "users": max(10, scale // 20),
        "organizations": max(6, round(0.3 * scale)),
        "contacts": max(12, 2 * scale),
        "matters": scale,
        "claims": max(2, round(1.5 * scale)),
        "intake-submissions": max(6, scale // 2),
        "tasks": 2 * scale,
        "calendar-events": scale,
        "documents": scale,
        "notes": scale,
    }


def _builders(n: dict[str, int]) -> list[tuple[str, Builder]]:
    """Each resource's builder, in dependency order (later builders read earlier records)."""
    return [
        ("users", lambda c: gen_people.users(c, n["users"])),
        ("custom-fields", gen_config.definitions),
        ("organizations", lambda c: gen_people.organizations(c, n["organizations"])),
        ("contacts", lambda c: gen_people.contacts(c, n["contacts"])),
        ("matters", lambda c: gen_matters.matters(c, n["matters"])),
        ("claims", lambda c: gen_matters.claims(c, n["claims"])),
        ("intake-submissions", lambda c: gen_matters.intakes(c, n["intake-submissions"])),
        ("tasks", lambda c: gen_activity.tasks(c, n["tasks"])),
        ("calendar-events", lambda c: gen_activity.calendar_events(c, n["calendar-events"])),
        ("documents", lambda c: gen_activity.documents(c, n["documents"])),
        ("notes", lambda c: gen_activity.notes(c, n["notes"])),
        ("workflows", gen_config.workflows),
        ("merge-templates", gen_config.merge_templates),
    ]


def build(*, scale: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """The documents of every resource, without writing them (deleted ones included).

    Raises:
        ValueError: when `scale` is below 1.
    """
    return build_documents(Context(seed), _builders(sizes(scale)), scale)


def generate(state_path: Path, *, scale: int, seed: int) -> dict[str, int]:
    """Replace the emulator's records with a seeded dataset of `scale` matters.

    Args:
        state_path: the BackDocket sandbox SQLite file (created when missing; options are kept).
        scale: number of matters; other resources are proportional (module docstring).
        seed: seed of Faker and `random.Random`; the same (scale, seed) gives identical data.

    Returns:
        Records the API lists per resource (soft-deleted ones are not counted).

    Raises:
        ValueError: when `scale` is below 1.
    """
    return write_documents(store, state_path, build(scale=scale, seed=seed))


def people(state_path: Path) -> list[Person]:
    """Every user of the source (inactive and unlicensed ones included), in id order.

    Args:
        state_path: the BackDocket sandbox SQLite file.

    Returns:
        One Person per live user: email as BackDocket shows it, the display name split at its
        first space, and whether the user is active.
    """
    with store.open_state(Path(state_path)).connect() as conn:
        rows = conn.execute(
            "select doc from records where resource = 'users' and deleted_at is null order by id"
        ).fetchall()
    out = []
    for row in rows:
        user = json.loads(row["doc"])
        first, _, last = str(user.get("display_name") or "").partition(" ")
        out.append(Person(email=user["email"], first_name=first, last_name=last or "User", active=bool(user["active"])))
    return out
