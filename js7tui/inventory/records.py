"""SQL of the inventory: folders and objects as rows. Called inside the service's transaction;
nothing here checks permissions (the service does, before it gets here)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.inventory.types import ObjectPath, ObjectType, is_below
from js7tui.permissions.folders import parent_folders


@dataclass(frozen=True)
class InventoryObject:
    """One workflow or job resource as stored: its JSON without 'path' and 'versionId'."""

    id: int
    object_type: ObjectType
    path: ObjectPath
    content: dict[str, Any]
    revision: int
    created: str
    modified: str
    modified_by: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def folder(self) -> str:
        return self.path.folder

    def document(self) -> dict[str, Any]:
        """The object as an administrator edits it: TYPE, then its name as 'path', then the
        rest, in the stored order."""
        rest = {k: v for k, v in self.content.items() if k != "TYPE"}
        return {"TYPE": self.object_type.wire_type, "path": self.name, **rest}

    def text(self) -> str:
        return json.dumps(self.document(), indent=2, ensure_ascii=False) + "\n"

    def describe(self) -> str:
        return f"{self.object_type.label} {self.path}"


def store_text(content: dict[str, Any]) -> str:
    return json.dumps(content, indent=2, ensure_ascii=False)


def _object(row: sqlite3.Row) -> InventoryObject:
    return InventoryObject(
        id=row["id"], object_type=ObjectType(row["object_type"]),
        path=ObjectPath(row["folder"], row["name"]), content=json.loads(row["content"]),
        revision=row["revision"], created=row["created"], modified=row["modified"],
        modified_by=row["modified_by"])


# -- folders --------------------------------------------------------------------------------
def folder_exists(conn: sqlite3.Connection, folder: str) -> bool:
    return conn.execute("SELECT 1 FROM inventory_folders WHERE path = ?",
                        (folder,)).fetchone() is not None


def all_folders(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT path FROM inventory_folders ORDER BY path")]


def folders_below(conn: sqlite3.Connection, folder: str) -> list[str]:
    """``folder`` and every folder inside it."""
    return [f for f in all_folders(conn) if is_below(f, folder)]


def create_folders(conn: sqlite3.Connection, folder: str, now: str) -> list[str]:
    """Create ``folder`` and its missing parents (``mkdir -p``); returns those created."""
    created = []
    for path in [*parent_folders(folder), folder]:
        if path != "/" and not folder_exists(conn, path):
            conn.execute("INSERT INTO inventory_folders (path, created) VALUES (?, ?)",
                         (path, now))
            created.append(path)
    return created


def rename_folder(conn: sqlite3.Connection, old: str, new: str) -> None:
    """Move ``old`` and everything below it to ``new``; objects follow by ON UPDATE CASCADE."""
    moving = folders_below(conn, old)
    clashes = [f for f in moving if folder_exists(conn, new + f[len(old):])]
    if clashes:
        raise Conflict(f"folder {new + clashes[0][len(old):]} already exists")
    # Deepest last would clash with nothing; parents first keep the cascade simple.
    for folder in moving:
        conn.execute("UPDATE inventory_folders SET path = ? WHERE path = ?",
                     (new + folder[len(old):], folder))


def delete_folders(conn: sqlite3.Connection, folders: Iterable[str]) -> None:
    for folder in sorted(folders, key=len, reverse=True):
        conn.execute("DELETE FROM inventory_folders WHERE path = ?", (folder,))


# -- objects --------------------------------------------------------------------------------
def find(conn: sqlite3.Connection, path: ObjectPath,
         object_type: ObjectType | None = None) -> list[InventoryObject]:
    sql = "SELECT * FROM inventory_objects WHERE folder = ? AND name = ?"
    params: list[Any] = [path.folder, path.name]
    if object_type is not None:
        sql += " AND object_type = ?"
        params.append(object_type.value)
    return [_object(r) for r in conn.execute(sql + " ORDER BY object_type", params)]


def one(conn: sqlite3.Connection, path: ObjectPath,
        object_type: ObjectType | None = None) -> InventoryObject:
    found = find(conn, path, object_type)
    what = object_type.label if object_type else "workflow or job resource"
    if not found:
        raise NotFound(f"no {what} {path} in the inventory")
    if len(found) > 1:
        raise ValidationError(f"{path} is both a workflow and a job resource; say which with "
                              "--type workflow|jobresource")
    return found[0]


def by_name(conn: sqlite3.Connection, object_type: ObjectType, name: str
            ) -> InventoryObject | None:
    row = conn.execute("SELECT * FROM inventory_objects WHERE object_type = ? AND name = ?",
                       (object_type.value, name)).fetchone()
    return _object(row) if row else None


def in_folders(conn: sqlite3.Connection, folders: Iterable[str],
               object_type: ObjectType | None = None) -> list[InventoryObject]:
    out: list[InventoryObject] = []
    for folder in folders:
        sql = "SELECT * FROM inventory_objects WHERE folder = ?"
        params: list[Any] = [folder]
        if object_type is not None:
            sql += " AND object_type = ?"
            params.append(object_type.value)
        out.extend(_object(r) for r in conn.execute(sql + " ORDER BY object_type, name", params))
    return out


def insert(conn: sqlite3.Connection, object_type: ObjectType, path: ObjectPath,
           content: dict[str, Any], now: str, account: str) -> InventoryObject:
    clash = by_name(conn, object_type, path.name)
    if clash is not None:
        raise Conflict(f"a {object_type.label} named '{path.name}' already exists (names are "
                       "unique across folders, because a Controller knows objects by name)")
    conn.execute(
        "INSERT INTO inventory_objects (object_type, name, folder, content, revision, created,"
        " modified, modified_by) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
        (object_type.value, path.name, path.folder, store_text(content), now, now, account))
    return one(conn, path, object_type)


def replace_content(conn: sqlite3.Connection, obj: InventoryObject, content: dict[str, Any],
                    now: str, account: str) -> InventoryObject:
    conn.execute("UPDATE inventory_objects SET content = ?, revision = revision + 1, "
                 "modified = ?, modified_by = ? WHERE id = ?",
                 (store_text(content), now, account, obj.id))
    return one(conn, obj.path, obj.object_type)


def relocate(conn: sqlite3.Connection, obj: InventoryObject, path: ObjectPath, now: str,
             account: str) -> InventoryObject:
    if path.name != obj.name:
        clash = by_name(conn, obj.object_type, path.name)
        if clash is not None:
            raise Conflict(f"a {obj.object_type.label} named '{path.name}' already exists "
                           f"({clash.path})")
    conn.execute("UPDATE inventory_objects SET folder = ?, name = ?, revision = revision + 1, "
                 "modified = ?, modified_by = ? WHERE id = ?",
                 (path.folder, path.name, now, account, obj.id))
    return one(conn, path, obj.object_type)


def delete(conn: sqlite3.Connection, obj: InventoryObject) -> None:
    conn.execute("DELETE FROM inventory_objects WHERE id = ?", (obj.id,))
