"""The permission model: catalogue, evaluation, folders, explanations (no I/O here)."""

from js7tui.permissions.catalogue import CONTROLLER, JOC, ROOT, Catalogue, catalogue
from js7tui.permissions.evaluator import (
    DEFAULT_SECTION,
    EffectivePermissions,
    Explanation,
    FolderDecision,
    FolderEntry,
    PermissionEntry,
)
from js7tui.permissions.folders import normalize_folder

__all__ = [
    "CONTROLLER",
    "DEFAULT_SECTION",
    "JOC",
    "ROOT",
    "Catalogue",
    "EffectivePermissions",
    "Explanation",
    "FolderDecision",
    "FolderEntry",
    "PermissionEntry",
    "catalogue",
    "normalize_folder",
]
