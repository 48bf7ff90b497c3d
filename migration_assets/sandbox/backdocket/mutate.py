"""Changes to the BackDocket sandbox between runs, for delta-pickup tests and the demo: `create`,
`update` and `delete` (soft) of `_generation.DocumentEdits`, with prefixed text ids (a new record
gets the next number of its resource) and an explicit `deleted_at: null` as the API shows it."""

from __future__ import annotations

from migration_assets.sandbox._generation import DocumentEdits
from migration_assets.sandbox.backdocket import store
from migration_assets.sandbox.backdocket.resources import RESOURCES, make_id

EDITS = DocumentEdits(
    store,
    "BackDocket",
    RESOURCES,
    new_id=lambda conn, r, _doc: make_id(r, store.next_number(conn, r)),
    new_fields={"deleted_at": None},
)
create, update, delete = EDITS.create, EDITS.update, EDITS.delete
