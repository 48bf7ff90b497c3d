"""Shared pieces of the seeded Interactive generator: the seeded context, the fixed clock, id
ranges and pools of dirty values.

Every timestamp is relative to BASE (2026-11-01T00:00:00Z), never to the wall clock, so the same
(scale, seed) writes identical records. Ids of each type live in their own range, so that a
contact id used as a company id is caught by a test instead of matching by chance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from migration_assets.sandbox._generation import BASE, SeededContext, ascii_slug, every

__all__ = ["BASE", "Context", "ascii_slug", "every", "iso"]

ID_BASE: dict[str, int] = {
    "contacts": 1_000_000,
    "companies": 2_000_000,
    "deals": 3_000_000,
    "calls": 4_000_000,
    "emails": 5_000_000,
    "meetings": 6_000_000,
    "notes": 7_000_000,
    "tasks": 8_000_000,
    "2-4815162": 9_000_000,
    "files": 11_000_000,
    "owners": 70_000_000,
    "users": 9_100_000,
    "flows": 55_000_000,
}
# (first, last): accents, Arabic and Hebrew (right to left), CJK, emoji.
UNICODE_NAMES: tuple[tuple[str, str], ...] = (
    ("José", "Núñez-Ibáñez"),
    ("محمد", "العلي"),
    ("שרה", "כהן"),
    ("李", "小龙"),
    ("Zoë 😀", "O'Brien"),
    ("Łukasz", "Żółć"),
)
UNICODE_COMPANIES: tuple[str, ...] = (
    "Müller & Söhne GmbH",
    "شركة الأمل",
    "חברת אור",
    "株式会社 桜",
    "Café ☕ Partners",
)


@dataclass
class Context(SeededContext):
    """The seeded randomness and everything generated so far, passed to every builder."""

    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    links: list[tuple[str, int, int, tuple[int, ...]]] = field(default_factory=list)
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    primary_company: dict[int, int] = field(default_factory=dict)  # contact id -> company id

    def stamps(self, *, max_days: int = 1500) -> tuple[str, str]:
        """A creation time and a later last-modified time, both before BASE."""
        created, updated = self.moments(max_days=max_days)
        return iso(created), iso(updated)

    def record(self, otype: str, i: int, props: dict[str, Any], *, archived: bool = False) -> dict[str, Any]:
        """A record of `otype` at position `i` (id from the type's range) with string props."""
        created, updated = self.stamps()
        return {
            "id": ID_BASE[otype] + i + 1,
            "created_at": created,
            "updated_at": updated,
            "archived": archived,
            "archived_at": updated if archived else None,
            "props": {k: v for k, v in props.items() if v is not None},
        }

    def live(self, otype: str) -> list[dict[str, Any]]:
        return [r for r in self.objects.get(otype, []) if not r["archived"]]

    def link(self, from_type: str, from_id: int, to_id: int, *type_ids: int) -> None:
        self.links.append((from_type, from_id, to_id, type_ids))


def iso(moment: datetime) -> str:
    """HubSpot's timestamp form: UTC with milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"




def mixed_date(moment: datetime, i: int) -> str:
    """A date as a legacy import wrote it, chosen by position: 1 in 10 epoch milliseconds, 1 in 10
    ISO without a zone, 1 in 10 ISO with an offset, otherwise a plain ISO date."""
    if every(i, 10, 1):
        return str(int(moment.timestamp() * 1000))
    if every(i, 10, 2):
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if every(i, 10, 3):
        return moment.astimezone(timezone(timedelta(hours=-5))).isoformat(timespec="seconds")
    return moment.date().isoformat()


def number(value: float) -> str:
    """A number as HubSpot writes it: no trailing zeros ("1200.5", "800")."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"
