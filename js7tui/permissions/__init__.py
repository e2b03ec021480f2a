"""The permission model: catalogue, evaluation, folders, explanations (no I/O here)."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Loaded on first use (PEP 562): the console's sections only need ``permissions.names``
# before the login form paints, not the catalogue and the evaluator.
_HOMES = {
    "CONTROLLER": "catalogue", "JOC": "catalogue", "ROOT": "catalogue",
    "Catalogue": "catalogue", "catalogue": "catalogue",
    "DEFAULT_SECTION": "evaluator", "EffectivePermissions": "evaluator",
    "Explanation": "evaluator", "FolderDecision": "evaluator", "FolderEntry": "evaluator",
    "PermissionEntry": "evaluator", "normalize_folder": "folders",
}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'js7tui.permissions' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"js7tui.permissions.{module}"), name)
    globals()[name] = value
    return value


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
