"""Seeding helpers of the Case Status sandbox, shaped like the destinations' (`reset`), so
`migrate sandbox reset/seed` treats every system alike. Data comes from `generator.generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migration_assets.errors import known_values
from migration_assets.sandbox._common import SharedWindow, parse_faults
from migration_assets.sandbox.case_status import store
from migration_assets.sandbox.case_status.guard import WINDOW_NAME
from migration_assets.systems import Person

KNOWN_OPTIONS = frozenset({"rate_per_second", "burst", "faults", "faults_seed", "faults_retry_after"})


def reset(state_path: Path, **options: Any) -> None:
    """Remove every record and rate-limit count and set the given options.

    Args:
        state_path: the sandbox's state file.
        **options: `rate_per_second` (5.0) and `burst` (10): the limit per API key; `faults` (e.g.
            "429:0.1,503:0.05,timeout:0.02,lost:0.05"), `faults_seed`, `faults_retry_after` (1).

    Raises:
        ValueError: an unknown option, or `faults` that do not parse.
    """
    unknown = set(options) - KNOWN_OPTIONS
    if unknown:
        raise ValueError(f"unknown case_status options {sorted(unknown)} {known_values(KNOWN_OPTIONS)}")
    parse_faults(options.get("faults"))
    state = store.open_state(Path(state_path))
    SharedWindow(state, WINDOW_NAME)  # creates its table, so the delete below always works
    with state.connect() as conn:
        store.clear(conn)
        conn.execute("delete from sandbox_options")
        conn.execute("delete from sandbox_rate_events")
    if options:
        state.set_options(options)


def generate(state_path: Path, *, scale: int, seed: int) -> dict[str, int]:
    """The seeding hook: a fresh deterministic dataset of `scale` cases (see `generator`)."""
    from migration_assets.sandbox.case_status.generator import generate as make

    return make(Path(state_path), scale=scale, seed=seed)


def people(state_path: Path) -> list[Person]:
    """The seeding hook: every user of the source (inactive ones included), by id."""
    from migration_assets.sandbox.case_status.generator import source_users

    users = sorted(source_users(Path(state_path)), key=lambda u: int(u["id"]))
    return [
        Person(u["email"], u.get("first_name") or "", u.get("last_name") or "User", bool(u.get("active", True)))
        for u in users
        if u.get("email")
    ]


def simulate_delta(state_path: Path) -> dict[str, Any]:
    """The seeding hook: a small burst of changes as during a cutover window (see `simulate`)."""
    from migration_assets.sandbox.case_status.simulate import simulate_delta as simulate

    return simulate(Path(state_path))
