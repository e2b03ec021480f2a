"""The checks of import-deploy that need no trust decision yet (reference 4.4, issue point 5):
the archive is read with the home's limits, sorted into signed objects, and every object must
already exist in the inventory, at the same path, in a folder the importing account may see.
Signature verification (js7tui.signing) and the versionId check follow on top of this.

``DeploymentService.verify_import`` runs every check of import-deploy (the same code path, see
``DeploymentService._verify_archive``) and stops before anything is sent; its
:class:`ImportReport` says per entry whether the signature verified or why it was refused, so an
administrator sees the verdict on each object before confirming the send."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from js7tui.config import ArchiveConfig
from js7tui.deployment.archive import ArchiveRefused, read_archive
from js7tui.deployment.signed_archive import ArchivedObject, SignedArchive, classify
from js7tui.identity.sessions import Session
from js7tui.inventory import InventoryObject, InventoryService, ObjectType

IMPORT_REQUEST = "./inventory/deployment/import_deploy"
VERIFY_REQUEST = "./inventory/deployment/import_deploy/verify"


@dataclass(frozen=True)
class ImportCandidate:
    """An archived object and the inventory object it claims to be."""

    archived: ArchivedObject
    current: InventoryObject


@dataclass(frozen=True)
class EntryCheck:
    """The verdict on one archived object: ``refused`` is None when its signature verified
    (and its version was not deployed to the Controller before)."""

    entry: str
    object_type: ObjectType
    path: str
    version_id: str = ""
    refused: ArchiveRefused | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None


@dataclass(frozen=True)
class ImportReport:
    """Every check of an import-deploy, before the send. ``problem`` is a refusal of the whole
    archive (unreadable, hostile, an object the inventory lacks, no signing certificate);
    then ``entries`` is empty."""

    archive: str
    controller_id: str
    signer: str
    entries: tuple[EntryCheck, ...]
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem and bool(self.entries) and all(e.ok for e in self.entries)

    def first_refusal(self) -> ArchiveRefused | None:
        return next((e.refused for e in self.entries if e.refused is not None), None)


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
