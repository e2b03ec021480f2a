"""Object types of the inventory and the paths that name them (no I/O here).

An object's path is ``<folder>/<name>``. The Controller sees only the name (JOC puts the name in
the item's ``path`` before signing, reference 4.3), so a name is unique per type across all
folders and uses the engine's name characters (:func:`js7tui.engine.shapes.check_name`):
letters of any one script (JS7 allows them; NFC, no look-alike mixes), digits, ``.``, ``_`` and
``-``. Folder segments use the same characters, so that every object path is also a safe
archive entry name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from js7tui.engine.shapes import NAME_PATTERN as _ENGINE_NAME_PATTERN
from js7tui.engine.shapes import NAME_RULE as NAME_RULE
from js7tui.engine.shapes import name_problem
from js7tui.errors import ValidationError
from js7tui.permissions.folders import normalize_folder

NAME_PATTERN = _ENGINE_NAME_PATTERN  # the engine's: letters of any script JS7 allows

MAX_FOLDER_DEPTH = 32


class ObjectType(StrEnum):
    """The signed item types of JS7 (reference 4.3): the only ones this inventory holds."""

    WORKFLOW = "WORKFLOW"
    JOBRESOURCE = "JOBRESOURCE"

    @property
    def wire_type(self) -> str:
        """The ``TYPE`` of the item's JSON, as the Controller names it."""
        return {"WORKFLOW": "Workflow", "JOBRESOURCE": "JobResource"}[self.value]

    @property
    def extension(self) -> str:
        """The archive entry suffix (reference 4.4, ControllerObjectFileExtension)."""
        return {"WORKFLOW": ".workflow.json", "JOBRESOURCE": ".jobresource.json"}[self.value]

    @property
    def label(self) -> str:
        return {"WORKFLOW": "workflow", "JOBRESOURCE": "job resource"}[self.value]

    @classmethod
    def parse(cls, text: str) -> ObjectType:
        key = text.strip().upper().replace("_", "").replace("-", "").replace(" ", "")
        for kind in cls:
            if key in (kind.value, kind.wire_type.upper()):
                return kind
        raise ValidationError(f"'{text}' is not an inventory object type; types: workflow, "
                              "jobresource")

    @classmethod
    def from_wire(cls, wire_type: object) -> ObjectType | None:
        return next((kind for kind in cls if kind.wire_type == wire_type), None)


def check_name(kind: str, name: str) -> str:
    why = name_problem(name)
    if why is not None:
        raise ValidationError(f"{kind} name {name!r} is not valid: {why}")
    return name


def check_folder(path: str) -> str:
    """A normalised folder whose every segment is a valid name."""
    folder = normalize_folder(path)
    parts = [p for p in folder.split("/") if p]
    if len(parts) > MAX_FOLDER_DEPTH:
        raise ValidationError(f"folder '{path}' is deeper than {MAX_FOLDER_DEPTH} levels")
    for part in parts:
        check_name("folder", part)
    return folder


@dataclass(frozen=True, order=True)
class ObjectPath:
    """``/folder/name`` of one object."""

    folder: str
    name: str

    @classmethod
    def parse(cls, text: str) -> ObjectPath:
        raw = text.strip()
        if not raw.startswith("/"):
            raise ValidationError(f"object path '{text}' must be absolute, e.g. /folder/name")
        head, _, name = raw.rstrip("/").rpartition("/")
        return cls(check_folder(head or "/"), check_name("object", name))

    def __str__(self) -> str:
        return f"{self.folder.rstrip('/')}/{self.name}"

    @property
    def relative(self) -> str:
        """Without the leading '/': the archive entry name before the extension."""
        return str(self)[1:]


def is_below(folder: str, ancestor: str) -> bool:
    """``folder`` is ``ancestor`` or inside it."""
    return ancestor == "/" or folder == ancestor or folder.startswith(ancestor + "/")
