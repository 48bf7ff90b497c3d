"""A small, deterministic burst of source activity, as during a cutover window: one new client
with a new case, three cases updated, one client deleted. Used by `migrate sandbox simulate-delta`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from migration_assets.sandbox.case_status import mutate, store


def simulate_delta(state_path: Path, *, now: str | None = None) -> dict[str, list]:
    now = now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    state = store.open_state(Path(state_path))
    with state.connect() as conn:
        cases = [r[0] for r in conn.execute(
            "select id from records where resource = 'cases' and deleted_at is null order by id limit 3")]
        clients = [r[0] for r in conn.execute(
            "select id from records where resource = 'clients' and deleted_at is null order by id desc limit 1")]
    client = mutate.create(state_path, "clients", {"first_name": "Cutover", "last_name": "Client",
                           "email": "cutover.client@example.com", "company": "Cutover Partners LLP"}, now=now)
    case = mutate.create(state_path, "cases", {"name": "Cutover v. Window", "status": "Intake", "priority": "High",
                         "client_ids": [client["id"]], "practice_area_id": 1}, now=now)
    for case_id in cases:
        mutate.update(state_path, "cases", int(case_id), {"status": "Closed"}, now=now)
    for client_id in clients:
        mutate.delete(state_path, "clients", int(client_id), now=now)
    return {"created": [f"clients/{client['id']}", f"cases/{case['id']}"],
            "updated": [f"cases/{c}" for c in cases], "deleted": [f"clients/{c}" for c in clients]}
