"""The permission model: catalogue, evaluation, folders, explanations (no I/O here).

The names below are loaded on first use (PEP 562): the console's sections import
``js7tui.permissions.names`` before the login form paints, and only need the names then, not
the evaluator and the catalogue, whose dataclasses cost the first frame a few milliseconds.
The catalogue's module is ``tree`` so that no submodule shares a name with the ``catalogue()``
function exported here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from js7tui.permissions.evaluator import (
        DEFAULT_SECTION,
        EffectivePermissions,
        Explanation,
        FolderDecision,
        FolderEntry,
        PermissionEntry,
    )
    from js7tui.permissions.folders import normalize_folder
    from js7tui.permissions.tree import CONTROLLER, JOC, ROOT, Catalogue, catalogue

_HOME = {
    "CONTROLLER": "tree",
    "JOC": "tree",
    "ROOT": "tree",
    "Catalogue": "tree",
    "catalogue": "tree",
    "DEFAULT_SECTION": "evaluator",
    "EffectivePermissions": "evaluator",
    "Explanation": "evaluator",
    "FolderDecision": "evaluator",
    "FolderEntry": "evaluator",
    "PermissionEntry": "evaluator",
    "normalize_folder": "folders",
}

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
assert sorted(__all__) == sorted(_HOME)


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
