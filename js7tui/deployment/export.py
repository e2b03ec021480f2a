"""Export for signing (reference 4.4): the objects an account may see, serialised once, in a
zip or tar.gz with ``meta_inf``, to be signed outside and brought back with import-deploy."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from js7tui import __version__
from js7tui.audit import AuditMeta, Category
from js7tui.deployment.archive import ArchiveEntry, ArchiveFormat, write_archive
from js7tui.deployment.items import entry_name, item_bytes, next_created
from js7tui.deployment.signed_archive import META_INF
from js7tui.errors import ValidationError
from js7tui.identity.sessions import Session
from js7tui.inventory import InventoryService, ObjectType
from js7tui.operations import Operations
from js7tui.permissions.names import INVENTORY_VIEW

INVENTORY_SCHEMA_VERSION = "1"
API_VERSION = "1"
MAX_LISTED = 1000


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: ArchiveFormat
    version_id: str
    entries: tuple[str, ...]


def new_version_id() -> str:
    """A commit id (JOC uses a UUID): names the deployment and every item's versionId."""
    return str(uuid.uuid4())


def meta_inf(version_id: str) -> bytes:
    return json.dumps({"jocVersion": f"js7tui {__version__}",
                       "inventorySchemaVersion": INVENTORY_SCHEMA_VERSION,
                       "apiVersion": API_VERSION, "versionId": version_id},
                      indent=2).encode("utf-8") + b"\n"


class ExportService:
    def __init__(self, ops: Operations, inventory: InventoryService) -> None:
        self.ops = ops
        self.inventory = inventory

    def for_signing(self, session: Session, paths: Sequence[str], output: Path, *,
                    fmt: ArchiveFormat | None = None, recursive: bool = True,
                    object_type: ObjectType | None = None,
                    meta: AuditMeta = AuditMeta()) -> ExportResult:
        """Write the selected objects (objects or folders; only those in the account's folders)
        to ``output`` and audit the export with its versionId."""
        fmt = fmt or ArchiveFormat.for_path(output)
        if not paths:
            raise ValidationError("name the objects or folders to export (e.g. /)")
        objects = self.inventory.select(session, paths, recursive=recursive,
                                        object_type=object_type, request="./inventory/export")
        if not objects:
            raise ValidationError(f"nothing to export: no workflow or job resource in "
                                  f"{', '.join(paths)} that you may see")
        version_id = new_version_id()
        created = next_created(self.ops.store.conn, self.ops.clock.now())
        entries = [ArchiveEntry(entry_name(o), item_bytes(o, version_id, created))
                   for o in objects]
        entries.append(ArchiveEntry(META_INF, meta_inf(version_id)))
        with self.ops.mutate(session, request="./inventory/export", category=Category.INVENTORY,
                             permissions=[INVENTORY_VIEW], meta=meta) as op:
            op.record(path=str(output), commit_id=version_id, parameters={
                "forSigning": True, "format": fmt.value, "versionId": version_id,
                "objects": len(objects),
                "paths": [f"{o.object_type.value}:{o.path}" for o in objects[:MAX_LISTED]]})
            write_archive(output, fmt, entries)
        return ExportResult(output, fmt, version_id, tuple(e.name for e in entries))
