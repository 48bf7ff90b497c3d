"""Reset and seed every sandbox at once: the source dataset, and destination users derived from
the source's users so that owner matching by email has matches, misses and disabled users to find.

Destination users (deterministic, by the source user's position i in id order):
- i % 7 == 3: absent from the destination (an unmatched owner);
- i % 7 == 5: present but disabled;
- otherwise present and enabled, the email upper-cased when i is odd (matching must be case-blind).
A fallback user FALLBACK_OWNER always exists and is enabled.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from migration_assets.sandbox import SANDBOXES

FALLBACK_OWNER = "migration.fallback@sandbox.example"
SOURCES = ("case_status",)
DESTINATIONS = ("dynamics365", "salesforce")


def _seed_module(system: str):
    return importlib.import_module(SANDBOXES[system].module.rsplit(".", 1)[0] + ".seed")


def directory(source_users: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """People who exist in the destination: {email, first_name, last_name, active}."""
    people = []
    for i, user in enumerate(sorted(source_users, key=lambda u: int(u["id"]))):
        if i % 7 == 3 or not user.get("email"):
            continue
        email = user["email"].upper() if i % 2 else user["email"]
        people.append(
            {
                "email": email,
                "first_name": user.get("first_name") or "",
                "last_name": user.get("last_name") or "User",
                "active": i % 7 != 5,
            }
        )
    people.append(
        {"email": FALLBACK_OWNER, "first_name": "Migration", "last_name": "Fallback", "active": True}
    )
    return people


USER_SHAPES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "dynamics365": lambda p: {
        "internalemailaddress": p["email"],
        "domainname": p["email"],
        "firstname": p["first_name"],
        "lastname": p["last_name"],
        "fullname": f"{p['first_name']} {p['last_name']}".strip(),
        "isdisabled": not p["active"],
    },
    "salesforce": lambda p: {
        "Username": p["email"].lower(),
        "Email": p["email"],
        "FirstName": p["first_name"],
        "LastName": p["last_name"],
        "IsActive": p["active"],
    },
}


def available(system: str) -> bool:
    """Whether the system has an emulator with seeding helpers in this checkout."""
    try:
        _seed_module(system)
    except ModuleNotFoundError:
        return False
    return True


def reset(state_dir: Path, options: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """Wipe every sandbox (with per-system options); returns the systems reset."""
    done = []
    for system in (*SOURCES, *DESTINATIONS):
        if not available(system):
            continue
        _seed_module(system).reset(
            SANDBOXES[system].state_path(state_dir), **dict((options or {}).get(system, {}))
        )
        done.append(system)
    return done


def seed(
    state_dir: Path, *, scale: int, seed: int, options: Mapping[str, Mapping[str, Any]] | None = None
) -> dict:
    """Reset everything, generate the source dataset, and create the destination users."""
    reset(state_dir, options)
    from migration_assets.sandbox.case_status import generator

    source_path = SANDBOXES["case_status"].state_path(state_dir)
    counts = generator.generate(source_path, scale=scale, seed=seed)
    people = directory(generator.source_users(source_path))
    users = {}
    for system in DESTINATIONS:
        if available(system):
            ids = _seed_module(system).seed_users(
                SANDBOXES[system].state_path(state_dir), [USER_SHAPES[system](p) for p in people]
            )
            users[system] = len(ids)
    return {"case_status": counts, "destination_users": users}
