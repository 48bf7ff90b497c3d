"""Seeded, deterministic dataset of the Interactive emulator.

`generate(path, scale=N, seed=S)` replaces every record in the state file by a dataset of N deals
and proportional sizes of the rest; the same (scale, seed) writes identical rows (Faker and
`random.Random` are seeded, timestamps are relative to 2026-11-01T00:00:00Z).

Sizes: owners max(6, scale/20); companies max(6, 0.6 x scale); contacts max(10, 1.5 x scale);
deals scale; calls, emails and tasks max(2, 0.5 x scale) each; meetings max(2, 0.3 x scale); notes
max(4, 0.6 x scale); files max(4, 0.3 x scale); spouse links (custom object "2-4815162")
max(3, 0.2 x scale); 2 deal pipelines (7 and 6 stages); 4 flows.

Dirty data, each kind in a known small proportion (the 1-in-n of each is in the docstrings of
`gen_crm`, `gen_activity` and `gen_config`); at scale >= 100 every kind is present. Records changed
while paging come from the `bump_when_served` option (`crm.py`), records changed or archived
inside a delta window from `seed.simulate_delta`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from migration_assets.sandbox.interactive import gen_activity, gen_config, gen_crm, store
from migration_assets.sandbox.interactive.gen_common import Context
from migration_assets.sandbox.interactive.objects import CUSTOM_TYPE_ID, ENGAGEMENTS

RESOURCES = ("owners", "pipelines", "files", "flows")


def sizes(scale: int) -> dict[str, int]:
    """Records per object for `scale` deals."""
    half = max(2, round(0.5 * scale))
    return {
        "owners": max(6, scale // 20),
        "companies": max(6, round(0.6 * scale)),
        "contacts": max(10, round(1.5 * scale)),
        "deals": scale,
        "calls": half,
        "emails": half,
        "meetings": max(2, round(0.3 * scale)),
        "tasks": half,
        "notes": max(4, round(0.6 * scale)),
        "files": max(4, round(0.3 * scale)),
        CUSTOM_TYPE_ID: max(3, round(0.2 * scale)),
    }


def _steps(n: dict[str, int]) -> list[tuple[str, Callable[[Context], list[dict[str, Any]]]]]:
    """Each builder in dependency order: later builders read earlier records."""
    steps: list[tuple[str, Callable[[Context], list[dict[str, Any]]]]] = [
        ("owners", lambda c: gen_config.owners(c, n["owners"])),
        ("pipelines", gen_config.pipelines),
        ("flows", gen_config.flows),
        ("files", lambda c: gen_activity.files(c, n["files"])),
        ("companies", lambda c: gen_crm.companies(c, n["companies"])),
        ("contacts", lambda c: gen_crm.contacts(c, n["contacts"])),
        ("deals", lambda c: gen_crm.deals(c, n["deals"])),
    ]
    for kind in ENGAGEMENTS:
        steps.append((kind, lambda c, k=kind: gen_activity.engagements(c, k, n[k])))
    steps.append((CUSTOM_TYPE_ID, lambda c: gen_activity.spouse_links(c, n[CUSTOM_TYPE_ID])))
    return steps


def build(*, scale: int, seed: int) -> Context:
    """Every record, link and resource of the dataset, without writing them.

    Raises:
        ValueError: when `scale` is below 1.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    ctx = Context(seed)
    for name, builder in _steps(sizes(scale)):
        target = ctx.resources if name in RESOURCES else ctx.objects
        target[name] = builder(ctx)
    return ctx


def generate(state_path: Path, *, scale: int, seed: int) -> dict[str, int]:
    """Replace the emulator's data with a seeded dataset of `scale` deals.

    Args:
        state_path: the sandbox SQLite file (created when missing; options are kept).
        scale: number of deals; the other objects are proportional (module docstring).
        seed: seed of Faker and `random.Random`; the same (scale, seed) gives identical data.

    Returns:
        Records the API lists per object (archived ones not counted; owners active and archived).

    Raises:
        ValueError: when `scale` is below 1.
    """
    ctx = build(scale=scale, seed=seed)
    with store.open_state(Path(state_path)).connect() as conn:
        store.clear(conn)
        for kind, docs in ctx.resources.items():
            store.put_resources(conn, kind, docs)
        for otype, records in ctx.objects.items():
            store.put_objects(conn, otype, records)
        for from_type, from_id, to_id, type_ids in ctx.links:
            store.link(conn, from_type, from_id, to_id, type_ids)
    counts = {otype: sum(1 for r in records if not r["archived"]) for otype, records in ctx.objects.items()}
    return {**counts, **{kind: len(docs) for kind, docs in ctx.resources.items()}}
