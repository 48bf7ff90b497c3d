"""Seeding helpers of the Case Status sandbox, shaped like the destinations' (`reset`), so
`migrate sandbox reset/seed` treats every system alike. Data comes from `generator.generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migration_assets.sandbox.case_status import store


def reset(state_path: Path, **options: Any) -> None:
    """Remove every record and set the given options (e.g. rate_per_second, burst)."""
    state = store.open_state(Path(state_path))
    with state.connect() as conn:
        store.clear(conn)
        conn.execute("delete from sandbox_options")
    if options:
        state.set_options(options)
