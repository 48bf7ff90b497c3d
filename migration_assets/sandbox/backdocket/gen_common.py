"""Shared pieces of the seeded BackDocket generator: the seeded context, the fixed clock, ids and
the "1 in n" rule that plants each dirty class in a known proportion.

Every timestamp is relative to BASE (2026-11-01T00:00:00Z), never to the wall clock, so two runs
with the same (scale, seed) write byte-identical documents.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from faker import Faker

from migration_assets.sandbox.backdocket.resources import make_id

BASE = datetime(2026, 11, 1, tzinfo=UTC)
FIRM_DOMAIN = "harbordocket.example"
SUFFIXES: tuple[str, ...] = ("Jr.", "Sr.", "III", "Esq.")


@dataclass
class Context:
    """The seeded randomness and the records already generated, passed to every builder."""

    seed: int
    rng: random.Random = field(init=False)
    fake: Faker = field(init=False)
    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(self.seed)

    def stamps(self, *, naive: bool = False, max_days: int = 1500) -> dict[str, Any]:
        """`created_at`, a later `updated_at` (both before BASE) and `deleted_at` None; `naive` drops
        the 'Z' of created_at (offset-less dates of older imports)."""
        created = BASE - timedelta(seconds=self.rng.randint(3600, max_days * 86400))
        updated = created + (BASE - created) * self.rng.random()
        return {"created_at": iso(created, naive=naive), "updated_at": iso(updated), "deleted_at": None}

    def day(self, *, back: int = 1500, ahead: int = 0) -> date:
        return (BASE - timedelta(days=self.rng.randint(-ahead, back))).date()

    def live(self, resource: str) -> list[dict[str, Any]]:
        return [doc for doc in self.data.get(resource, []) if not doc.get("deleted_at")]

    def dead(self, resource: str) -> list[dict[str, Any]]:
        return [doc for doc in self.data.get(resource, []) if doc.get("deleted_at")]


def iso(moment: datetime, *, naive: bool = False) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if naive else "%Y-%m-%dT%H:%M:%SZ")


def every(i: int, n: int, offset: int) -> bool:
    """Whether item `i` is one of the 1-in-`n` items carrying a dirty class (a known proportion)."""
    return i % n == offset


def ident(resource: str, i: int) -> str:
    """The id of the i-th (from 0) generated record of `resource`."""
    return make_id(resource, i + 1)


def delete(doc: dict[str, Any]) -> dict[str, Any]:
    """Soft-delete a generated record at its own updated_at."""
    doc["deleted_at"] = doc["updated_at"]
    return doc


def slug(text: str) -> str:
    """A lower-case ASCII form of a name, for email local parts."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def phone(rng: random.Random, style: int) -> str:
    """A US number in one of three formats, only the first being E.164."""
    area, line = rng.choice((312, 773, 630, 847, 414, 608)), rng.randint(2000000, 9999999)
    local = f"{line // 10000:03d}-{line % 10000:04d}"
    return (f"+1{area}{line}", f"({area}) {local}", f"{area}.{local.replace('-', '.')}")[style % 3]


def money(rng: random.Random, low: int, high: int, step: int = 500) -> str:
    """A decimal amount as text with two decimals, as the API renders money ("75000.00")."""
    return f"{rng.randint(low // step, high // step) * step}.00"
