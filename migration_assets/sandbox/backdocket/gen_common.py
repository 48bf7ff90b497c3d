"""Shared pieces of the seeded BackDocket generator: its context, ids and value formats (the clock,
the seeded randomness and the "1 in n" rule are every generator's: `sandbox/_generation.py`)."""

from __future__ import annotations

import random
from typing import Any

from migration_assets.sandbox._generation import BASE, SeededContext, ascii_slug, every, iso
from migration_assets.sandbox.backdocket.resources import make_id

__all__ = ["BASE", "Context", "ascii_slug", "every", "iso"]

FIRM_DOMAIN = "harbordocket.example"
SUFFIXES: tuple[str, ...] = ("Jr.", "Sr.", "III", "Esq.")


class Context(SeededContext):
    """The seeded randomness and the records already generated, passed to every builder."""

    def stamps(self, *, naive: bool = False, max_days: int = 1500) -> dict[str, Any]:
        """`created_at`, a later `updated_at` (both before BASE) and `deleted_at` None; `naive` drops
        the 'Z' of created_at (offset-less dates of older imports)."""
        created, updated = self.moments(max_days=max_days)
        return {"created_at": iso(created, naive=naive), "updated_at": iso(updated), "deleted_at": None}

    def dead(self, resource: str) -> list[dict[str, Any]]:
        return [doc for doc in self.data.get(resource, []) if doc.get("deleted_at")]


def ident(resource: str, i: int) -> str:
    """The id of the i-th (from 0) generated record of `resource`."""
    return make_id(resource, i + 1)


def delete(doc: dict[str, Any]) -> dict[str, Any]:
    """Soft-delete a generated record at its own updated_at."""
    doc["deleted_at"] = doc["updated_at"]
    return doc


def phone(rng: random.Random, style: int) -> str:
    """A US number in one of three formats, only the first being E.164."""
    area, line = rng.choice((312, 773, 630, 847, 414, 608)), rng.randint(2000000, 9999999)
    local = f"{line // 10000:03d}-{line % 10000:04d}"
    return (f"+1{area}{line}", f"({area}) {local}", f"{area}.{local.replace('-', '.')}")[style % 3]


def money(rng: random.Random, low: int, high: int, step: int = 500) -> str:
    """A decimal amount as text with two decimals, as the API renders money ("75000.00")."""
    return f"{rng.randint(low // step, high // step) * step}.00"
