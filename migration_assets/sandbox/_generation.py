"""What every seeded source generator shares: the fixed clock, the seeded context, the "1 in n" rule
that plants each dirty class in a known proportion, the build/write loop over resource builders, and
the changes between runs that delta tests make to a document-store emulator (create, update, soft
delete).

Every timestamp is relative to BASE (2026-11-01T00:00:00Z), never to the wall clock, so two runs
with the same (scale, seed) write byte-identical documents.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from faker import Faker

from migration_assets.sandbox import _documents as documents

BASE = datetime(2026, 11, 1, tzinfo=UTC)
# (first, last): accents, Arabic and Hebrew (RTL), CJK, emoji.
UNICODE_NAMES: tuple[tuple[str, str], ...] = (
    ("José", "Núñez-Ibáñez"),
    ("محمد", "العلي"),
    ("שרה", "כהן"),
    ("李", "小龙"),
    ("Zoë 😀", "O'Brien"),
    ("Łukasz", "Żółć"),
)


@dataclass
class SeededContext:
    """The seeded randomness and the records already generated, passed to every builder."""

    seed: int
    rng: random.Random = field(init=False)
    fake: Faker = field(init=False)
    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _live: dict[str, tuple[list, int, list]] = field(default_factory=dict, init=False, repr=False)
    _user_ids: dict[tuple[str, ...], list] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(self.seed)

    def moments(self, *, max_days: int = 1500) -> tuple[datetime, datetime]:
        """A creation time and a later last-modification time, both before BASE."""
        created = BASE - timedelta(seconds=self.rng.randint(3600, max_days * 86400))
        return created, created + (BASE - created) * self.rng.random()

    def day(self, *, back: int = 1500, ahead: int = 0) -> date:
        return (BASE - timedelta(days=self.rng.randint(-ahead, back))).date()

    def live(self, resource: str) -> list[dict[str, Any]]:
        """The records of `resource` that are not soft-deleted (read-only). Kept between calls: a
        builder's records do not change once it has returned, and builders draw from this list once
        per record they make (rebuilding it each time made seeding O(N²))."""
        docs = self.data.get(resource, [])
        cached = self._live.get(resource)
        if cached is None or cached[0] is not docs or cached[1] != len(docs):
            cached = (docs, len(docs), [doc for doc in docs if not doc.get("deleted_at")])
            self._live[resource] = cached
        return cached[2]

    def user_ids(self, roles: tuple[str, ...]) -> list[Any]:
        """Ids of the users with one of `roles` (every user when empty), in generation order (read-only);
        kept per roles, as users are generated first and drawn from once per record."""
        if roles not in self._user_ids:
            self._user_ids[roles] = [u["id"] for u in self.data["users"] if not roles or u["role"] in roles]
        return self._user_ids[roles]

    def people(self, n: int, domain: str) -> Iterator[tuple[int, str, str, str]]:
        """`n` people (i, first name, last name, email `first.last@domain` in ASCII), emails unique;
        drawn one at a time, so a caller's own draws between them keep their place in the seed."""
        seen: set[str] = set()
        for i in range(n):
            first, last = self.fake.first_name(), self.fake.last_name()
            email = f"{ascii_slug(first)}.{ascii_slug(last)}@{domain}"
            if email in seen:
                email = email.replace("@", f"{i}@")
            seen.add(email)
            yield i, first, last, email


def iso(moment: datetime, *, naive: bool = False) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if naive else "%Y-%m-%dT%H:%M:%SZ")


def every(i: int, n: int, offset: int) -> bool:
    """Whether item `i` is one of the 1-in-`n` items carrying a dirty class (a known proportion)."""
    return i % n == offset


def ascii_slug(text: str) -> str:
    """A lower-case ASCII form of a name, for email local parts."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


Builder = Callable[[Any], list[dict[str, Any]]]


class DocumentStore(Protocol):
    """The part of a document-store emulator (Case Status, BackDocket) that seeding needs besides
    the shared document table (`_documents`)."""

    def open_state(self, path: Path) -> Any: ...
    def clear(self, conn: Any) -> None: ...


def build_documents(
    ctx: SeededContext, builders: Iterable[tuple[str, Builder]], scale: int
) -> dict[str, list[dict[str, Any]]]:
    """Run each resource's builder in order (later builders read earlier records).

    Raises:
        ValueError: when `scale` is below 1.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    for resource, builder in builders:
        ctx.data[resource] = builder(ctx)
    return ctx.data


def write_documents(store: DocumentStore, state_path: Path, data: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Replace the emulator's records with `data`; the records the API lists per resource (soft-deleted
    ones are not counted)."""
    with store.open_state(Path(state_path)).connect() as conn:
        store.clear(conn)
        for resource, docs in data.items():
            documents.put(conn, resource, docs)
    return {resource: sum(1 for d in docs if not d.get("deleted_at")) for resource, docs in data.items()}


DEFAULT_NOW = "2026-11-02T00:00:00Z"  # the stamp of a change made without `now`


@dataclass(frozen=True)
class DocumentEdits:
    """Create, update and soft-delete records of a document-store emulator straight in its state file,
    as a user of the real app would through its UI, stamped with the `now` they are given so that
    delta tests stay deterministic.

    Attributes:
        store: the emulator's store module (its `open_state`; the records are `_documents`' table).
        system: the system's title, for errors.
        resources: its resource (URL) names.
        new_id: (connection, resource, fields) -> the id a new record gets.
        key: a caller's record id in its stored type.
        new_fields: fields every new record starts with (before the caller's).
    """

    store: Any
    system: str
    resources: Iterable[str]
    new_id: Callable[[Any, str, Mapping[str, Any]], Any]
    key: Callable[[Any], Any] = str
    new_fields: Mapping[str, Any] = field(default_factory=dict)

    def _stamp(self, resource: str, now: str) -> str:
        if resource not in self.resources:
            raise ValueError(f"unknown {self.system} resource {resource!r} (known: {', '.join(self.resources)})")
        return documents.utc_z(now)

    def create(self, state_path: Path, resource: str, doc: Mapping[str, Any], *, now: str = DEFAULT_NOW) -> dict:
        """Add a record with a new id (or the one `doc` brings); created_at = updated_at = `now`; the
        document as the API shows it.

        Raises:
            ValueError: for an unknown resource, a malformed `now` or an id already used.
        """
        stamp = self._stamp(resource, now)
        with self.store.open_state(Path(state_path)).connect() as conn:
            record_id = self.key(self.new_id(conn, resource, doc))
            if documents.get(conn, resource, record_id, with_deleted=True) is not None:
                raise ValueError(f"{resource} {record_id} already exists")
            fields = {k: v for k, v in doc.items() if k != "id"}
            new = {"id": record_id, **self.new_fields, **fields, "created_at": stamp, "updated_at": stamp}
            documents.put(conn, resource, [new])
        return documents.public(new)

    def update(
        self, state_path: Path, resource: str, record_id: Any, changes: Mapping[str, Any], *, now: str = DEFAULT_NOW
    ) -> dict:
        """Merge `changes` into a live record, updated_at = `now`; the document as the API shows it.

        Raises:
            KeyError: when the record does not exist or is deleted.
            ValueError: for an unknown resource or a malformed `now`.
        """
        stamp = self._stamp(resource, now)
        with self.store.open_state(Path(state_path)).connect() as conn:
            doc = self._live(conn, resource, record_id)
            new = {**doc, **changes, "id": doc["id"], "updated_at": stamp}
            documents.put(conn, resource, [new])
        return documents.public(new)

    def delete(self, state_path: Path, resource: str, record_id: Any, *, now: str = DEFAULT_NOW) -> None:
        """Soft-delete a live record: deleted_at = updated_at = `now`; it leaves every listing and
        shows in the API's deletions.

        Raises:
            KeyError: when the record does not exist or is already deleted.
            ValueError: for an unknown resource or a malformed `now`.
        """
        stamp = self._stamp(resource, now)
        with self.store.open_state(Path(state_path)).connect() as conn:
            doc = self._live(conn, resource, record_id)
            documents.put(conn, resource, [{**doc, "updated_at": stamp, "deleted_at": stamp}])

    def _live(self, conn: Any, resource: str, record_id: Any) -> dict[str, Any]:
        doc = documents.get(conn, resource, self.key(record_id))
        if doc is None:
            raise KeyError(f"{resource} {record_id} not found")
        return doc
