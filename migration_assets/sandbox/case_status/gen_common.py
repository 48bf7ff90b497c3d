"""Shared pieces of the seeded Case Status generator: its context and the pools of dirty values (the
clock, the seeded randomness and the "1 in n" rule are every generator's: `sandbox/_generation.py`)."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

from migration_assets.sandbox._generation import BASE, SeededContext, ascii_slug, every, iso

__all__ = ["BASE", "Context", "ascii_slug", "every", "iso"]

STANDARD_STATUSES: tuple[str, ...] = (
    "Intake",
    "Active",
    "Pending",
    "On Hold",
    "Closed",
    "Closed Won",
    "Closed Lost",
)
ON_HOLD_VARIANTS: tuple[str, ...] = ("On-Hold", "on hold")
UNKNOWN_STATUS = "Archived (legacy)"
PRIORITIES: tuple[str, ...] = ("Low", "Normal", "High", "Urgent")
ACME_VARIANTS: tuple[str, ...] = ("Acme LLC", "ACME, L.L.C.", " Acme LLC ", "acme llc")
# (first, last): accents, Arabic and Hebrew (RTL), CJK, emoji.
UNICODE_NAMES: tuple[tuple[str, str], ...] = (
    ("José", "Núñez-Ibáñez"),
    ("محمد", "العلي"),
    ("שרה", "כהן"),
    ("李", "小龙"),
    ("Zoë 😀", "O'Brien"),
    ("Łukasz", "Żółć"),
)
HTML_MESSAGES: tuple[str, ...] = (
    '<p>Please sign the form</p><script>alert("x")</script>',
    '<img src=x onerror="alert(1)">Your documents are ready',
    '<a href="javascript:alert(1)">View case</a> <b>update</b>',
)
UNICODE_MESSAGES: tuple[str, ...] = (
    "Thank you so much 🙏🎉 see you Monday",
    "شكراً لكم على التحديث",
    "תודה רבה על העדכון",
    "谢谢 收到了 ✅",
)


class Context(SeededContext):
    """The seeded randomness and the ids already generated, passed to every builder."""

    def stamps(self, *, naive: bool = False, max_days: int = 1500) -> dict[str, str]:
        """`created_at` and a later `updated_at`, both before BASE; `naive` drops the 'Z' of
        created_at (timezone-less dates of older imports)."""
        created, updated = self.moments(max_days=max_days)
        return {"created_at": iso(created, naive=naive), "updated_at": iso(updated)}


def date_in_format(day: date, style: int) -> str:
    """`day` in one of three formats: ISO, US (MM/DD/YYYY) and long English."""
    return (day.isoformat(), day.strftime("%m/%d/%Y"), f"{day:%B} {day.day}, {day.year}")[style % 3]


def spell(keys: tuple[str, ...], style: int) -> list[str]:
    """Custom property keys in one of three spellings: snake_case, 'Title Case', camelCase."""
    if style % 3 == 0:
        return list(keys)
    if style % 3 == 1:
        return [k.replace("_", " ").title() for k in keys]
    return [k.split("_")[0] + "".join(p.title() for p in k.split("_")[1:]) for k in keys]


def encode_badly(props: dict[str, Any], i: int, *, double_at: int, invalid_at: int) -> Any:
    """Keep `props` as an object, or (1 in 50 each) store it double-encoded or as invalid JSON."""
    if every(i, 50, double_at):
        return json.dumps(props)
    if every(i, 50, invalid_at):
        return json.dumps(props)[:-7]  # truncated: not parseable
    return props


def phone(rng: random.Random, style: int) -> str:
    """A US number in one of four formats, only the first being E.164."""
    area, line = rng.choice((843, 212, 415, 312, 617, 704)), rng.randint(2000000, 9999999)
    local = f"{line // 10000:03d}-{line % 10000:04d}"
    dotted = local.replace("-", ".")
    return (f"+1{area}{line}", f"({area}) {local}", f"{area}.{dotted}", f"{area}-{local}")[style % 4]


def money(amount: int, style: bool) -> str | int:
    """An amount as a number, or as a '$1,200' string."""
    return f"${amount:,}" if style else amount
