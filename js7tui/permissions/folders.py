"""Folder paths as the inventory and folder permissions use them: absolute, ``/``-separated."""

from __future__ import annotations

from js7tui.errors import ValidationError


def normalize_folder(path: str) -> str:
    """``/a/b`` form: leading slash, no trailing slash (except ``/``), no empty or dot parts."""
    text = path.strip()
    if not text.startswith("/"):
        raise ValidationError(f"folder '{path}' must be absolute, starting with '/'")
    parts = [part for part in text.split("/") if part != ""]
    for part in parts:
        if part in (".", ".."):
            raise ValidationError(f"folder '{path}' must not contain '.' or '..'")
        if any(ord(ch) < 32 for ch in part):
            raise ValidationError(f"folder '{path}' contains a control character")
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
