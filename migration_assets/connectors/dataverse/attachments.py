"""Files kept in Dataverse itself: a note (annotation) with the file as `documentbody`.

Used when a FileUpload asks for `store="attachment"`, or for `store="auto"` when the environment has
no active SharePoint site (document management not set up): seed 004's "Dataverse file storage",
and seed 003's documents while the SharePoint site is still being provisioned.
Why a note and not a file column: a note attaches to any table with notes enabled (every custom
table we create has `HasNotes`), needs no schema change per parent table, is written in one request
and carries file name, MIME type and the original upload time (`overriddencreatedon`) as columns;
a file column needs a column per table and the three-step block upload (reference §10).

Real API (reference §4, §10): `PATCH /annotations(<id>)` with `subject`, `filename`, `mimetype`,
`documentbody` (base64), `isdocument`, `objectid_<table>@odata.bind`; the size cap
`organization.maxuploadfilesize` (5 MB by default) counts the base64 text and is refused with
`0x80044a02` "Attachment file size is too big." (reported per file, never retried).
Ours: the note's primary id is deterministic (records.deterministic_id of the external id), so a
retried or re-run upload updates the same note instead of adding a second one.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from migration_assets.connectors.base import FileUpload, WriteResult
from migration_assets.connectors.dataverse.batch import error_text
from migration_assets.connectors.dataverse.documents import safe_name
from migration_assets.connectors.dataverse.records import deterministic_id, record_url
from migration_assets.errors import AuthError, ConnectorError, RateLimited

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseDestination

NOTE_TABLE = "annotation"
SUBJECT_MAX = 500


class AttachmentStore:
    """Uploads files as notes and reads them back.

    Args:
        connector: the DataverseDestination (api, metadata and id namespace are reused).
    """

    def __init__(self, connector: DataverseDestination) -> None:
        self.connector = connector

    async def upload(self, upload: FileUpload) -> WriteResult:
        """Create or update the note holding `upload`, regarding its parent record.

        Returns:
            ok=True with destination_id = the note's id; ok=False with Dataverse's error.
        """
        meta = await self.connector.meta.table(NOTE_TABLE)
        note_id = deterministic_id(self.connector.id_namespace, NOTE_TABLE, upload.external_id)
        name = safe_name(upload.file_name)
        data = b"".join([chunk async for chunk in upload.content])
        body: dict[str, Any] = {
            "subject": name[:SUBJECT_MAX],
            "filename": name,
            "mimetype": upload.content_type,
            "documentbody": base64.b64encode(data).decode("ascii"),
            "isdocument": True,
        }
        if upload.created_at:
            body["overriddencreatedon"] = upload.created_at
        if upload.parent_table and upload.parent_id:
            nav = meta.nav("objectid", upload.parent_table)
            if nav is None:
                error = f"notes cannot regard {upload.parent_table} (is HasNotes enabled on that table?)"
                return WriteResult(upload.external_id, ok=False, error=error)
            target = await self.connector.meta.entity(upload.parent_table)
            body[f"{nav}@odata.bind"] = f"/{target.entity_set}({upload.parent_id})"
        try:
            response = await self.connector.api.send(
                "PATCH",
                record_url(self.connector.api.prefix, meta, note_id) + f"?$select={meta.entity.primary_id}",
                json=body,
                headers={"Prefer": "return=representation"},
                expect=(200, 201),
            )
        except (AuthError, RateLimited):
            raise
        except ConnectorError as exc:
            error = error_text(exc.status or 0, exc.body) if exc.body is not None else str(exc)
            return WriteResult(upload.external_id, ok=False, error=error)
        operation = "created" if response.status_code == 201 else "updated"
        return WriteResult(upload.external_id, ok=True, destination_id=note_id, operation=operation)

    async def read(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """`{note id: {name, folder (None: notes have none), size, parent_id, mime_type}}` of the notes
        that hold a file."""
        rows = await self.connector.read_by_ids(NOTE_TABLE, ids, ["filename", "filesize", "objectid", "mimetype"])
        return {
            note_id: {
                "name": row.get("filename"),
                "folder": None,  # a note keeps no folder
                "size": row.get("filesize"),
                "parent_id": row.get("objectid"),
                "mime_type": row.get("mimetype"),
            }
            for note_id, row in rows.items()
            if row.get("filename")
        }
