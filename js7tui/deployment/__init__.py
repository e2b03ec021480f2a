"""Deployment: the one serialisation of items, export for signing, the hardened archive
reader; deploy/revoke and import-deploy build on these."""

from js7tui.deployment.archive import (
    ArchiveEntry,
    ArchiveFormat,
    ArchiveRefused,
    read_archive,
    write_archive,
)
from js7tui.deployment.export import ExportResult, ExportService
from js7tui.deployment.imports import ImportCandidate, match_inventory, read_signed_archive
from js7tui.deployment.items import entry_name, item_bytes
from js7tui.deployment.signed_archive import ArchivedObject, SignedArchive, classify

__all__ = [
    "ArchiveEntry",
    "ArchiveFormat",
    "ArchiveRefused",
    "ArchivedObject",
    "ExportResult",
    "ExportService",
    "ImportCandidate",
    "SignedArchive",
    "classify",
    "entry_name",
    "item_bytes",
    "match_inventory",
    "read_archive",
    "read_signed_archive",
    "write_archive",
]
