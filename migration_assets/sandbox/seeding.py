"""Reset and seed every declared sandbox at once: each source's dataset, then destination users
mirrored from all the sources' people, so that owner matching by email has matches, misses and
disabled users to find.

Destination users (deterministic, by each person's position i among their source's people):
- i % 7 == 3: absent from the destination (an unmatched owner);
- i % 7 == 5: present but disabled;
- otherwise present and enabled, the email upper-cased when i is odd (matching must be case-blind).
A fallback user FALLBACK_OWNER always exists and is enabled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from migration_assets.systems import Person, system, systems

FALLBACK_OWNER = "migration.fallback@sandbox.example"


def directory(people_by_source: Mapping[str, list[Person]]) -> list[Person]:
    """The people who exist in the destinations (see the module docstring), fallback owner last."""
    out, seen = [], set()
    for people in people_by_source.values():
        for i, person in enumerate(people):
            key = person.email.casefold()
            if i % 7 == 3 or key in seen:
                continue
            seen.add(key)
            email = person.email.upper() if i % 2 else person.email
            out.append(replace(person, email=email, last_name=person.last_name or "User", active=i % 7 != 5))
    return [*out, Person(FALLBACK_OWNER, "Migration", "Fallback", True)]


def reset(state_dir: Path, options: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """Wipe every sandbox (with per-system options); returns the systems reset."""
    options = dict(options or {})
    unknown = sorted(set(options) - {d.name for d in [*systems("source"), *systems("destination")]})
    for name in unknown:
        system(name)  # raises: unknown system, with the known ones
    done = []
    for declared in [*systems("source"), *systems("destination")]:
        declared.seeding().reset(declared.state_path(state_dir), **dict(options.get(declared.name, {})))
        done.append(declared.name)
    return done


def seed(
    state_dir: Path, *, scale: int, seed: int, options: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Reset everything, generate every source's dataset, and create the destination users."""
    reset(state_dir, options)
    counts: dict[str, Any] = {}
    people: dict[str, list[Person]] = {}
    for source in systems("source"):
        path = source.state_path(state_dir)
        counts[source.name] = source.seeding().generate(path, scale=scale, seed=seed)
        people[source.name] = source.seeding().people(path)
    mirrored = directory(people)
    users = {d.name: len(d.seeding().seed_users(d.state_path(state_dir), mirrored)) for d in systems("destination")}
    return {**counts, "destination_users": users}


def simulate_delta(state_dir: Path, source: str) -> dict[str, Any]:
    """A burst of changes in one source's sandbox, as during a cutover window."""
    declared = system(source, "source")
    return declared.seeding().simulate_delta(declared.state_path(state_dir))
