"""Folder paths as the inventory and folder permissions use them: absolute, ``/``-separated."""

from __future__ import annotations

from js7tui.errors import ValidationError
from js7tui.text import for_terminal, nfc, unsafe_character


def normalize_folder(path: str) -> str:
    """``/a/b`` form: leading slash, no trailing slash (except ``/``), no empty or dot parts."""
    text = nfc(path.strip())
    if not text.startswith("/"):
        raise ValidationError(f"folder '{for_terminal(path)}' must be absolute, starting with "
                              "'/'")
    parts = [part for part in text.split("/") if part != ""]
    for part in parts:
        if part in (".", ".."):
            raise ValidationError(f"folder '{for_terminal(path)}' must not contain '.' or '..'")
        bad = unsafe_character(part)
        if bad is not None:
            raise ValidationError(f"folder {for_terminal(repr(path))} contains {bad}")
    return "/" + "/".join(parts)


def parent_folders(folder: str) -> list[str]:
    """``/a/b/c`` -> ``['/', '/a', '/a/b']``."""
    if folder == "/":
        return []
    parts = folder.strip("/").split("/")
    return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def folder_of(path: str) -> str:
    """The folder holding an object path (``/a/b/workflow`` -> ``/a/b``)."""
    head = path.rsplit("/", 1)[0]
    return head or "/"
