"""Seeding hooks of the BackDocket sandbox (the source hooks of `migration_assets.systems`).

    reset(state_path, **options)              wipe records, tokens and counters; set options
    generate(state_path, *, scale, seed)      the seeded dataset (`generator`), records per resource
    people(state_path)                        its users as Persons, mirrored as destination users
    simulate_delta(state_path, *, now=None)   a cutover-window burst of changes (`simulate`)

Options (read by every request): rate_limit (120), rate_window_seconds (60),
token_lifetime_seconds (3600), clients ({client_id: secret}), and the fault options of
`FaultInjection` (faults, faults_seed, faults_retry_after).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migration_assets.sandbox._common import SharedWindow
from migration_assets.sandbox.backdocket import generator, simulate, store
from migration_assets.systems import Person


def reset(state_path: Path, **options: Any) -> None:
    """Remove every record, token, counted request and fault count, then set the given options.

    Raises:
        ValueError: for an option the emulator does not know.
    """
    known = {*store.DEFAULT_OPTIONS, "faults", "faults_seed", "faults_retry_after"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown BackDocket sandbox option(s) {unknown} (known: {', '.join(sorted(known))})")
    state = store.open_state(Path(state_path))
    SharedWindow(state, "requests_per_minute")  # creates its table, so the delete below always works
    with state.connect() as conn:
        store.clear(conn)
        conn.execute("delete from sandbox_rate_events")
        conn.execute("create table if not exists sandbox_faults (kind text primary key, count integer)")
        conn.execute("delete from sandbox_faults")
        conn.execute("delete from sandbox_options")
    if options:
        state.set_options(options)


def generate(state_path: Path, *, scale: int, seed: int) -> dict[str, int]:
    """The seeded dataset of `scale` matters (see `generator.generate`)."""
    return generator.generate(Path(state_path), scale=scale, seed=seed)


def people(state_path: Path) -> list[Person]:
    """The source's users (see `generator.people`)."""
    return generator.people(Path(state_path))


def simulate_delta(state_path: Path, *, now: str | None = None) -> dict[str, Any]:
    """Recent changes of a cutover window (see `simulate.simulate_delta`)."""
    return simulate.simulate_delta(Path(state_path), now=now)
