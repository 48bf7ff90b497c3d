"""Seeding hooks of the Interactive sandbox (a source; see `migration_assets.systems`):
`reset`, `generate`, `people` and `simulate_delta`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from migration_assets.sandbox.interactive import mutate, store
from migration_assets.sandbox.interactive.generator import generate
from migration_assets.systems import Person

__all__ = ["generate", "people", "reset", "simulate_delta"]


def reset(state_path: Path, **options: Any) -> None:
    """Remove every record, counter and option, then set the given options.

    Args:
        state_path: the sandbox SQLite file.
        **options: e.g. ten_secondly_limit=190, search_cap=50, faults="503:0.1" (names in
            `store.DEFAULT_OPTIONS`).

    Raises:
        ValueError: an unknown option name (the message lists the known ones).
    """
    unknown = sorted(set(options) - set(store.DEFAULT_OPTIONS) - {"faults", "faults_seed", "faults_retry_after"})
    if unknown:
        known = ", ".join(sorted([*store.DEFAULT_OPTIONS, "faults", "faults_seed", "faults_retry_after"]))
        raise ValueError(f"unknown Interactive sandbox option {unknown[0]!r} (known: {known})")
    state = store.open_state(Path(state_path))
    with state.connect() as conn:
        store.clear(conn)
        conn.execute("delete from sandbox_options")
        if _has(conn, "sandbox_rate_events"):  # created by the first app, maybe not yet
            conn.execute("delete from sandbox_rate_events")
    if options:
        state.set_options(options)


def _has(conn: Any, table: str) -> bool:
    return (
        conn.execute("select 1 from sqlite_master where type = 'table' and name = ?", (table,)).fetchone() is not None
    )


def people(state_path: Path) -> list[Person]:
    """Every owner (archived ones inactive), to mirror as destination users.

    Returns:
        One Person per owner, ordered by owner id.
    """
    with store.open_state(Path(state_path)).connect() as conn:
        docs = store.page_resources(conn, "owners", archived=None, after=0, limit=1_000_000)
    return [Person(d["email"], d["firstName"], d["lastName"], active=not d["archived"]) for d in docs]


def simulate_delta(state_path: Path, *, now: str | None = None) -> dict[str, list[str]]:
    """A burst of activity within the last hours before `now` (default: the wall clock): three
    contacts, two companies and two deals (amount) updated; a new company, contact (primary company set),
    deal and note; one contact and one deal archived.

    Returns:
        {"created" | "updated" | "archived": ["<type>/<id>", ...]}.
    """
    end = datetime.fromisoformat((now or store.now()).replace("Z", "+00:00")).astimezone(UTC)

    def at(minutes: int) -> str:
        return store.stamp(end - timedelta(minutes=minutes))

    out: dict[str, list[str]] = {"created": [], "updated": [], "archived": []}
    for otype, count, field, value in (
        ("contacts", 3, "lifecyclestage", "customer"),
        ("companies", 2, "description", "Updated during cutover"),
        ("deals", 2, "amount", "12500"),
    ):
        for n, rid in enumerate(mutate.live_ids(state_path, otype, limit=count)):
            mutate.update(state_path, otype, rid, {field: value}, at=at(150 - 10 * n))
            out["updated"].append(f"{otype}/{rid}")
    company = mutate.create(
        state_path, "companies", {"name": "Cutover Partners LLP", "domain": "cutover.example"}, at=at(120)
    )
    contact = mutate.create(
        state_path,
        "contacts",
        {
            "firstname": "Cutover",
            "lastname": "Client",
            "email": "cutover.client@example.com",
            "lifecyclestage": "lead",
            "associatedcompanyid": str(company),
        },
        at=at(110),
        links={company: (1, 279)},
    )
    deal = mutate.create(
        state_path,
        "deals",
        {
            "dealname": "Cutover Estate Plan",
            "amount": "4500",
            "pipeline": "default",
            "dealstage": "appointmentscheduled",
        },
        at=at(100),
        links={contact: (3,), company: (5, 341)},
    )
    note = mutate.create(
        state_path,
        "notes",
        {"hs_note_body": "<p>Signed during the cutover window</p>", "hs_timestamp": at(90)},
        at=at(90),
        links={contact: (202,)},
    )
    out["created"] += [f"companies/{company}", f"contacts/{contact}", f"deals/{deal}", f"notes/{note}"]
    for otype, fresh in (("contacts", contact), ("deals", deal)):
        gone = next(r for r in mutate.live_ids(state_path, otype, limit=5, newest=True) if r != fresh)
        mutate.archive(state_path, otype, gone, at=at(60))
        out["archived"].append(f"{otype}/{gone}")
    return out
