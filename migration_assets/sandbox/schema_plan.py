"""Play the destination's admin in the sandbox: apply a pair's latest schema setup plan by hand.

Some destinations cannot create custom fields or pipelines through their API (their system
declaration names an `admin_schema_hook`): `plan/schema_diff` writes what the spec needs as a
checklist (`<reports>/<pair>/schema_diff_<phase>.json`, items under `to_create`) and
`plan/schema_apply` refuses to load until a person has done it. In the sandbox, this module does
what that person would, through the emulator's hook, so demos and tests run unattended:

    migrate sandbox apply-schema-plan case_status__freshsales

(the command writes the plan first when no run wrote one yet, and does nothing for a destination
that creates its schema itself).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from migration_assets.errors import MigrationError
from migration_assets.settings import Paths
from migration_assets.systems import load_object, system


def latest_plan(paths: Paths, pair: str) -> tuple[Path, dict[str, Any]]:
    """The newest schema diff report of `pair` (any phase) and its content.

    Raises:
        MigrationError: no plan/schema_diff has run for the pair yet.
    """
    found = sorted(paths.report_dir(pair).glob("schema_diff_*.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise MigrationError(
            f"{pair}: no schema plan yet; run a phase (plan/schema_diff writes the plan) and apply it then"
        )
    return found[-1], json.loads(found[-1].read_text(encoding="utf-8"))


def needs_admin(destination: str) -> bool:
    """Whether a person (the admin) creates the destination's custom schema, per its declaration."""
    return system(destination, "destination").sandbox.admin_schema_hook is not None


def apply_schema_plan(paths: Paths, pair: str, destination: str) -> tuple[Path, list[str]]:
    """Apply the latest schema plan of `pair` to the sandbox of its `destination` as its admin would.

    Args:
        paths: the workbench folders (reports, sandbox state).
        pair: the pair whose plan to apply.
        destination: the pair's destination system.

    Returns:
        (the plan file applied, one line per change made; empty when everything existed).

    Raises:
        MigrationError: the destination creates its schema through its API (no admin hook), or no
            plan exists yet, or the sandbox cannot apply an item.
    """
    declared = system(destination, "destination")
    if declared.sandbox.admin_schema_hook is None:
        raise MigrationError(
            f"{destination} creates its custom schema through its API (plan/schema_apply): nothing to apply by hand"
        )
    plan_file, plan = latest_plan(paths, pair)
    hook = load_object(declared.sandbox.admin_schema_hook)
    try:
        done = hook(declared.state_path(paths.sandbox), plan)
    except ValueError as exc:
        raise MigrationError(f"{destination} sandbox: the plan {plan_file.name} cannot be applied: {exc}") from exc
    return plan_file, list(done)
