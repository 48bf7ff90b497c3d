"""Owner resolution: source people (attorneys, paralegals) to destination users, by email.

Emails compare trimmed and case-blind. A person whose email matches an enabled destination user is
`matched`; one matching only a disabled user, or no user at all, is `unmatched`/`disabled` and gets
the spec's fallback owner where the column allows a fallback. Activities are never written with a
disabled owner: the real Dataverse API accepts such writes and then fails them silently.

Example:
    table = owner_map(people, users, fallback_email="migration.fallback@firm.example")
    # source_user_id | email | name | status | destination_user_id | fallback_user_id
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from migration_assets.connectors.base import DestinationUser
from migration_assets.errors import MigrationError
from migration_assets.spec.loader import LoadedSpec

OWNER_MAP_SCHEMA = {
    "source_user_id": pl.String,
    "email": pl.String,
    "name": pl.String,
    "status": pl.String,  # matched | disabled | unmatched | no email
    "destination_user_id": pl.String,  # the matched enabled user, else null
    "fallback_user_id": pl.String,  # the spec's fallback owner (for columns that allow it)
}


@dataclass(frozen=True)
class Fallback:
    email: str | None
    user_id: str | None


def _key(email: str | None) -> str | None:
    return email.strip().casefold() if email and email.strip() else None


def resolve_fallback(users: Sequence[DestinationUser], email: str | None) -> Fallback:
    """The fallback owner must be an enabled destination user; anything else stops the plan."""
    if email is None:
        return Fallback(None, None)
    found = [u for u in users if _key(u.email) == _key(email)]
    if not found:
        raise MigrationError(f"fallback owner {email!r} (options.fallback_owner) is not a destination user")
    enabled = [u for u in found if u.active]
    if not enabled:
        raise MigrationError(f"fallback owner {email!r} (options.fallback_owner) is disabled in the destination")
    return Fallback(email, enabled[0].id)


def owner_map(people: pl.DataFrame, users: Sequence[DestinationUser], fallback: Fallback) -> pl.DataFrame:
    """One row per source person: how they resolve in the destination.

    Args:
        people: source_user_id, email, name (one row per source person).
        users: the destination's users (`DestinationConnector.users()`).
        fallback: the resolved fallback owner.
    """
    by_email: dict[str, list[DestinationUser]] = {}
    for user in users:
        if (key := _key(user.email)) is not None:
            by_email.setdefault(key, []).append(user)
    rows = []
    for person in people.iter_rows(named=True):
        candidates = by_email.get(_key(person["email"]) or "", [])
        enabled = [u for u in candidates if u.active]
        if _key(person["email"]) is None:
            status = "no email"
        elif enabled:
            status = "matched"
        else:
            status = "disabled" if candidates else "unmatched"
        rows.append(
            {
                **person,
                "status": status,
                "destination_user_id": enabled[0].id if enabled else None,
                "fallback_user_id": fallback.user_id,
            }
        )
    return pl.DataFrame(rows, schema=OWNER_MAP_SCHEMA)


def fallback_id(owners: pl.DataFrame) -> str | None:
    ids = owners["fallback_user_id"].drop_nulls()
    return ids[0] if len(ids) else None


def resolve_column(owners: pl.DataFrame, source_ids: pl.Series, *, fallback: bool) -> tuple[pl.Series, pl.Series]:
    """Destination user ids (and the person's name) for a column of source user ids.

    Returns:
        (user ids, names): the id is the matched user, else (also without a person) the fallback
        when allowed, else null;
        the name is set only where no destination user was set (for a text column).
    """
    keyed = pl.DataFrame({"source_user_id": source_ids.cast(pl.String)}).join(
        owners, on="source_user_id", how="left", maintain_order="left"
    )
    user = pl.col("destination_user_id")
    if fallback:  # also for records without a person: never owned by the migration's app user
        user = pl.coalesce(user, pl.lit(fallback_id(owners), pl.String))
    out = keyed.select(user.alias("id"), pl.col("name"))
    names = out.select(pl.when(pl.col("id").is_null()).then(pl.col("name"))).to_series()
    return out["id"], names


def report_markdown(pair: str, phase: str, table: pl.DataFrame, fallback: Fallback, usage: pl.DataFrame) -> str:
    """The unmatched-owner report: who needs a destination account or gets the fallback owner."""
    counts = {s: table.filter(pl.col("status") == s).height for s in ("matched", "disabled", "unmatched", "no email")}
    lines = [
        f"# Owner resolution — {pair} ({phase})",
        "",
        f"{counts['matched']} matched by email, {counts['disabled']} disabled in the destination, "
        f"{counts['unmatched']} without a destination user, {counts['no email']} without an email.",
        f"Fallback owner: {fallback.email or '(none configured)'}.",
        "",
        "Invite the people below to the destination (or re-run after adding them) before the full run;"
        " otherwise their records are owned by the fallback owner.",
        "",
        "| source user | email | name | status | records |",
        "|---|---|---|---|---|",
    ]
    attention = table.filter(pl.col("status") != "matched").join(usage, on="source_user_id", how="left")
    for row in attention.sort("status", "email", nulls_last=True).iter_rows(named=True):
        lines.append(
            f"| {row['source_user_id']} | {row['email'] or ''} | {row['name'] or ''} | {row['status']} "
            f"| {row.get('records') or 0} |"
        )
    unknown = unknown_people(table, usage)
    if unknown.height:
        lines += [
            "",
            f"{unknown.height} source user id(s) that records point at are unknown to the source's own user list; "
            "their records get the fallback owner:",
            "",
            "| source user | records |",
            "|---|---|",
        ]
        lines += [f"| {r['source_user_id']} | {r['records']} |" for r in unknown.iter_rows(named=True)]
    return "\n".join(lines) + "\n"


def ownerless(loaded: LoadedSpec, obj_name: str, raw: pl.DataFrame) -> dict[str, int]:
    """Records of a destination object without any person in an owner column (they get the fallback
    owner): {owner column: records}, over the source rows (joins applied) its exclusions keep.

    Args:
        loaded: the spec.
        obj_name: an object with `owners`.
        raw: its source rows, joined sources already added.
    """
    obj = loaded.spec.objects[obj_name]
    if raw.height == 0:
        return dict.fromkeys(obj.owners, 0)
    rules = [
        loaded.compile(obj_name, f"exclude[{i}].when", r.when).expr.fill_null(False) for i, r in enumerate(obj.exclude)
    ]
    kept = raw.filter(~pl.any_horizontal(rules)) if rules else raw
    out = {}
    for column, owner in obj.owners.items():
        value = loaded.compile(obj_name, f"owners.{column}.value", owner.value).expr.cast(pl.String)
        out[column] = kept.select((value.is_null() | (value.str.strip_chars() == "")).sum()).item()
    return out


def ownerless_markdown(counts: dict[str, dict[str, int]]) -> str:
    """The report section listing, per object and owner column, the records that name no owner."""
    rows = [(obj, column, n) for obj, by_column in counts.items() for column, n in by_column.items()]
    lines = ["", "Records without an owner in the source (they get the fallback owner):", ""]
    lines += ["| object | owner column | records |", "|---|---|---|"]
    lines += [f"| {obj} | {column} | {n} |" for obj, column, n in rows]
    return "\n".join(lines) + "\n"


def unknown_people(table: pl.DataFrame, usage: pl.DataFrame) -> pl.DataFrame:
    """Source user ids records point at that the source's user list does not know (with counts)."""
    return usage.join(table.select("source_user_id"), on="source_user_id", how="anti").sort("source_user_id")
