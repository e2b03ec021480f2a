"""The checks of import-deploy that need no trust decision yet (reference 4.4, issue point 5):
the archive is read with the home's limits, sorted into signed objects, and every object must
already exist in the inventory, at the same path, in a folder the importing account may see.
Signature verification (js7tui.signing) and the versionId check follow on top of this."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from js7tui.config import ArchiveConfig
from js7tui.deployment.archive import ArchiveRefused, read_archive
from js7tui.deployment.signed_archive import ArchivedObject, SignedArchive, classify
from js7tui.identity.sessions import Session
from js7tui.inventory import InventoryObject, InventoryService

IMPORT_REQUEST = "./inventory/deployment/import_deploy"


@dataclass(frozen=True)
class ImportCandidate:
    """An archived object and the inventory object it claims to be."""

    archived: ArchivedObject
    current: InventoryObject


def read_signed_archive(path: Path, limits: ArchiveConfig) -> SignedArchive:
    return classify(path.name, read_archive(path, limits))


def match_inventory(inventory: InventoryService, session: Session,
                    archive: SignedArchive) -> list[ImportCandidate]:
    """Each archived object with its inventory object, or a refusal naming the entry of the
    first object the inventory does not hold."""
    found = inventory.lookup(session, [(o.object_type, o.path) for o in archive.objects],
                             request=IMPORT_REQUEST)
    out = []
    for obj in archive.objects:
        current = found[(obj.object_type, obj.path)]
        if current is None:
            raise ArchiveRefused(
                archive.label, obj.entry,
                f"there is no {obj.object_type.label} {obj.path} in the inventory: "
                "import-deploy deploys only objects that already exist there, at the same path")
        out.append(ImportCandidate(obj, current))
    return out
