"""Changes to the Case Status sandbox between runs, for delta-pickup tests: `create`, `update` and
`delete` (soft) of `_generation.DocumentEdits`, with integer ids (a new record gets the next id of
its resource unless its fields bring one)."""

from __future__ import annotations

from migration_assets.sandbox._generation import DocumentEdits
from migration_assets.sandbox.case_status import store
from migration_assets.sandbox.case_status.resources import RESOURCES

EDITS = DocumentEdits(
    store, "Case Status", RESOURCES, new_id=lambda conn, r, doc: doc.get("id") or store.next_id(conn, r), key=int
)
create, update, delete = EDITS.create, EDITS.update, EDITS.delete
