"""The inventory service: every read and change of folders, workflows and job resources.

Rules, all here and nowhere else:

- reads need ``sos:products:joc:inventory:view``, changes ``...:inventory:manage``;
- folder permissions apply to every object and folder (reference 2.4): an account whose roles
  have folder entries sees and changes only objects in its permitted folders; parents of those
  are shown for navigation only. A folder is checked *before* anything is looked up in it, so a
  refusal never tells whether an object exists there. Refusals are audited security events;
- every change is one transaction with its audit entry (category INVENTORY), via
  ``Operations.mutate``;
- objects are validated against the JSON schema (:mod:`js7tui.inventory.schema`) before they
  are stored; the stored JSON is the engine's wire shape without 'path' and 'versionId'.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock, to_iso
from js7tui.errors import Conflict, NotFound, PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from js7tui.inventory import records
from js7tui.inventory.joc import from_js7, refuse_simple_item
from js7tui.inventory.records import InventoryObject
from js7tui.inventory.schema import parse_json, validate
from js7tui.inventory.types import ObjectPath, ObjectType, check_folder, check_name, is_below
from js7tui.operations import Op, Operations
from js7tui.permissions.names import INVENTORY_MANAGE, INVENTORY_VIEW
from js7tui.store import Store

CAT = Category.INVENTORY


@dataclass(frozen=True)
class FolderView:
    path: str
    permitted: bool  # False: shown only because a permitted folder lies below it
    objects: int


@dataclass(frozen=True)
class ImportFile:
    """One file to import: its name (for the object's name when the JSON has no 'path')."""

    filename: str
    data: bytes


def _digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(records.store_text(content).encode("utf-8")).hexdigest()


def name_from_filename(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (*(k.extension for k in ObjectType), ".json"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


class InventoryService:
    def __init__(self, store: Store, ops: Operations, clock: Clock) -> None:
        self.store = store
        self.ops = ops
        self.clock = clock

    # -- folder permissions ---------------------------------------------------------------
    @staticmethod
    def _folder_refusal(session: Session, folder: str, permission: str) -> PermissionDenied | None:
        decision = session.permissions.folder_decision(folder)
        if decision.permitted:
            return None
        return PermissionDenied(f"permission denied: {decision.reason}", permission=permission)

    def _guard_read(self, session: Session, folder: str, request: str) -> None:
        """For reads: refuse (and audit) a folder the account may not see."""
        refusal = self._folder_refusal(session, folder, INVENTORY_VIEW)
        if refusal is not None:
            self.ops.refuse(session.account, request, CAT, str(refusal), path=folder)
            raise refusal

    def _guard_change(self, op: Op, folder: str) -> None:
        """Inside a change: the refusal rolls it back and Operations audits it."""
        refusal = self._folder_refusal(op.session, folder, INVENTORY_MANAGE)
        if refusal is not None:
            raise refusal

    def _view(self, session: Session, request: str) -> Session:
        return self.ops.authorize(session, [INVENTORY_VIEW], request=request, category=CAT)

    def _change(self, session: Session, request: str, meta: AuditMeta,
                parameters: dict[str, Any] | None = None) -> Any:
        return self.ops.mutate(session, request=request, category=CAT,
                               permissions=[INVENTORY_MANAGE], meta=meta,
                               parameters=parameters)

    @staticmethod
    def _record(op: Op, obj: InventoryObject, **parameters: Any) -> None:
        op.record(path=str(obj.path), folder=obj.folder, object_type=obj.object_type.value,
                  parameters={"revision": obj.revision, "contentSha256": _digest(obj.content),
                              **parameters})

    # -- reads ----------------------------------------------------------------------------
    def folders(self, session: Session, under: str = "/") -> list[FolderView]:
        """Folders the account may see: permitted ones and, for navigation, their parents."""
        fresh = self._view(session, "./inventory/folders")
        under = check_folder(under)
        conn = self.store.conn
        counts = dict(conn.execute("SELECT folder, count(*) FROM inventory_objects "
                                   "GROUP BY folder").fetchall())
        out = []
        for folder in records.folders_below(conn, under):
            decision = fresh.permissions.folder_decision(folder)
            if decision.navigable:
                out.append(FolderView(folder, decision.permitted,
                                      counts.get(folder, 0) if decision.permitted else 0))
        return out

    def list(self, session: Session, folder: str = "/", *, recursive: bool = True,
             object_type: ObjectType | None = None) -> list[InventoryObject]:
        """Objects in ``folder`` (and below it when recursive) that the account may see."""
        fresh = self._view(session, "./inventory/list")
        folder = check_folder(folder)
        conn = self.store.conn
        folders = records.folders_below(conn, folder) if recursive else [folder]
        if not fresh.permissions.folder_decision(folder).navigable:
            self._guard_read(fresh, folder, "./inventory/list")
        if not records.folder_exists(conn, folder):
            raise NotFound(f"no folder {folder} in the inventory")
        visible = [f for f in folders if fresh.permissions.folder_permitted(f)]
        return records.in_folders(conn, visible, object_type)

    def get(self, session: Session, path: str,
            object_type: ObjectType | None = None) -> InventoryObject:
        fresh = self._view(session, "./inventory/read")
        where = ObjectPath.parse(path)
        self._guard_read(fresh, where.folder, "./inventory/read")
        return records.one(self.store.conn, where, object_type)

    def select(self, session: Session, paths: Sequence[str], *, recursive: bool = True,
               object_type: ObjectType | None = None,
               request: str = "./inventory/select") -> list[InventoryObject]:
        """Objects named by paths of objects or folders (folders recursively when asked), each
        checked against the account's folders; for export and deployment."""
        fresh = self._view(session, request)
        conn = self.store.conn
        chosen: dict[int, InventoryObject] = {}
        for text in paths:
            folder = self._as_folder(conn, fresh, text, object_type)
            if folder is None:
                where = ObjectPath.parse(text)
                self._guard_read(fresh, where.folder, request)
                obj = records.one(conn, where, object_type)
                chosen.setdefault(obj.id, obj)
                continue
            # A parent of permitted folders may be chosen as a whole: it yields what lies in
            # the permitted folders below it, and nothing of its own.
            if not (recursive and fresh.permissions.folder_navigable(folder)):
                self._guard_read(fresh, folder, request)
            if not records.folder_exists(conn, folder):
                raise NotFound(f"no folder {folder} in the inventory")
            folders = records.folders_below(conn, folder) if recursive else [folder]
            permitted = [f for f in folders if fresh.permissions.folder_permitted(f)]
            for obj in records.in_folders(conn, permitted, object_type):
                chosen.setdefault(obj.id, obj)
        return sorted(chosen.values(), key=lambda o: (o.object_type.value, str(o.path)))

    def lookup(self, session: Session, wanted: Sequence[tuple[ObjectType, ObjectPath]], *,
               request: str) -> dict[tuple[ObjectType, ObjectPath], InventoryObject | None]:
        """Many objects by exact type and path with one session check (import-deploy): each
        folder must be permitted, a missing object maps to None."""
        fresh = self._view(session, request)
        conn = self.store.conn
        found: dict[tuple[ObjectType, ObjectPath], InventoryObject | None] = {}
        for kind, where in wanted:
            self._guard_read(fresh, where.folder, request)
            objects = records.find(conn, where, kind)
            found[(kind, where)] = objects[0] if objects else None
        return found

    @staticmethod
    def _as_folder(conn: sqlite3.Connection, session: Session, text: str,
                   object_type: ObjectType | None) -> str | None:
        """The folder ``text`` names: ``/``, anything ending in ``/``, or a folder path where
        no object of that path exists (an object wins; add '/' to mean the folder). The store
        is consulted only for a folder the account may at least navigate, so the answer (and
        the refusal that follows) never tells what exists in a folder it may not see."""
        raw = text.strip()
        if raw.endswith("/"):
            return check_folder(raw)
        where = ObjectPath.parse(raw)
        candidate = str(where)
        if (session.permissions.folder_navigable(candidate)
                and records.folder_exists(conn, candidate)
                and not records.find(conn, where, object_type)):
            return candidate
        return None

    # -- folders --------------------------------------------------------------------------
    def create_folder(self, session: Session, folder: str, *,
                      meta: AuditMeta = AuditMeta()) -> list[str]:
        folder = check_folder(folder)
        with self._change(session, "./inventory/folder/store", meta) as op:
            self._guard_change(op, folder)
            if records.folder_exists(op.conn, folder):
                raise Conflict(f"folder {folder} already exists")
            created = records.create_folders(op.conn, folder, to_iso(self.clock.now()))
            op.record(path=folder, folder=folder, object_type="FOLDER",
                      parameters={"created": created})
        return created

    def _guard_tree(self, op: Op, folders: Iterable[str]) -> None:
        for folder in folders:
            self._guard_change(op, folder)

    def rename_folder(self, session: Session, folder: str, new_folder: str, *,
                      meta: AuditMeta = AuditMeta()) -> None:
        """Rename or move a folder with everything in it (objects keep their names)."""
        old, new = check_folder(folder), check_folder(new_folder)
        if old == "/":
            raise ValidationError("the root folder / cannot be renamed or moved")
        if is_below(new, old):
            raise ValidationError(f"folder {old} cannot be moved into itself ({new})")
        with self._change(session, "./inventory/folder/rename", meta) as op:
            if not records.folder_exists(op.conn, old):
                self._guard_change(op, old)
                raise NotFound(f"no folder {old} in the inventory")
            moving = records.folders_below(op.conn, old)
            self._guard_tree(op, moving)
            self._guard_tree(op, [new + f[len(old):] for f in moving])
            parent = new.rsplit("/", 1)[0] or "/"
            records.create_folders(op.conn, parent, to_iso(self.clock.now()))
            records.rename_folder(op.conn, old, new)
            op.record(path=old, folder=old, object_type="FOLDER",
                      parameters={"newPath": new, "folders": len(moving)})

    def delete_folder(self, session: Session, folder: str, *, recursive: bool = False,
                      meta: AuditMeta = AuditMeta()) -> int:
        """Delete an empty folder, or with ``recursive`` everything in it; returns how many
        objects went."""
        folder = check_folder(folder)
        if folder == "/":
            raise ValidationError("the root folder / cannot be deleted")
        with self._change(session, "./inventory/folder/delete", meta) as op:
            self._guard_change(op, folder)
            if not records.folder_exists(op.conn, folder):
                raise NotFound(f"no folder {folder} in the inventory")
            tree = records.folders_below(op.conn, folder)
            self._guard_tree(op, tree)
            objects = records.in_folders(op.conn, tree)
            if (objects or len(tree) > 1) and not recursive:
                raise Conflict(f"folder {folder} is not empty ({len(objects)} object(s), "
                               f"{len(tree) - 1} folder(s)); delete it with --recursive")
            for obj in objects:
                records.delete(op.conn, obj)
            records.delete_folders(op.conn, tree)
            op.record(path=folder, folder=folder, object_type="FOLDER",
                      parameters={"objects": [str(o.path) for o in objects][:1000],
                                  "folders": len(tree)})
        return len(objects)

    # -- objects --------------------------------------------------------------------------
    @staticmethod
    def _content(kind: ObjectType, document: dict[str, Any], name: str, what: str
                 ) -> dict[str, Any]:
        """The document checked against the schema, its 'path' (if any) against ``name``."""
        given = document.get("TYPE")
        if given != kind.wire_type:
            other = ObjectType.from_wire(given)
            raise ValidationError(
                f"{what} is a {other.label if other else repr(given)}, not a {kind.label} "
                "(see its TYPE)" if given is not None else
                f"{what} has no TYPE; a {kind.label} has \"TYPE\": \"{kind.wire_type}\"")
        validate(kind, document, what=what)
        if "path" in document and document["path"] != name:
            raise ValidationError(
                f"{what}: /path says '{document['path']}' but the object is named '{name}'; "
                "to change the name use 'js7tui inventory rename'")
        return {k: v for k, v in document.items() if k != "path"}

    def _insert(self, op: Op, kind: ObjectType, where: ObjectPath,
                document: dict[str, Any]) -> InventoryObject:
        self._guard_change(op, where.folder)
        what = f"{kind.label} {where}"
        content = self._content(kind, document, where.name, what)
        now = to_iso(self.clock.now())
        records.create_folders(op.conn, where.folder, now)
        return records.insert(op.conn, kind, where, content, now, op.session.account)

    def create(self, session: Session, object_type: ObjectType, path: str,
               text: str | bytes, *, meta: AuditMeta = AuditMeta()) -> InventoryObject:
        """A new object from JSON text (a file, standard input or the editor)."""
        where = ObjectPath.parse(path)
        document = parse_json(text, what=f"the {object_type.label} {where}")
        with self._change(session, "./inventory/store", meta) as op:
            obj = self._insert(op, object_type, where, document)
            self._record(op, obj, action="create")
        return obj

    def import_files(self, session: Session, folder: str, files: Sequence[ImportFile], *,
                     replace: bool = False, meta: AuditMeta = AuditMeta(),
                     notes: list[str] | None = None) -> list[InventoryObject]:
        """Objects from files into ``folder``, all or none. The type comes from each file's
        TYPE or else its name, the name from its 'path' or else the file name
        (``name.workflow.json``); JOC's and JS7's file forms are mapped
        (:mod:`js7tui.inventory.joc`), each mapping added to ``notes``. With ``replace`` an
        object of that name already in ``folder`` gets the new content."""
        folder = check_folder(folder)
        parsed = []
        for item in files:
            refuse_simple_item(item.filename)
            document = parse_json(item.data, what=f"the file {item.filename}")
            kind, document, mapped = from_js7(document, item.filename)
            if kind is None:
                raise ValidationError(
                    f"the file {item.filename} has TYPE {document.get('TYPE')!r} and its name "
                    "does not end in .workflow.json or .jobresource.json; importable types: "
                    "Workflow, JobResource")
            if notes is not None:
                notes.extend(f"{item.filename}: {m}" for m in mapped)
            name = document.get("path") or name_from_filename(item.filename)
            check_name(kind.label, name)
            parsed.append((item.filename, kind, ObjectPath(folder, name), document))
        seen: set[tuple[ObjectType, str]] = set()
        out = []
        with self._change(session, "./inventory/import", meta) as op:
            self._guard_change(op, folder)
            for filename, kind, where, document in parsed:
                if (kind, where.name) in seen:
                    raise Conflict(f"the {kind.label} '{where.name}' is imported twice "
                                   f"(again from {filename})")
                seen.add((kind, where.name))
                existing = records.find(op.conn, where, kind)
                if existing and replace:
                    content = self._content(kind, document, where.name,
                                            f"{kind.label} {where} (from {filename})")
                    obj = records.replace_content(op.conn, existing[0], content,
                                                  to_iso(self.clock.now()), op.session.account)
                else:
                    obj = self._insert(op, kind, where, document)
                self._record(op, obj, action="import", file=filename)
                out.append(obj)
        return out

    def update(self, session: Session, path: str, text: str | bytes, *,
               object_type: ObjectType | None = None, expected_revision: int | None = None,
               meta: AuditMeta = AuditMeta()) -> InventoryObject:
        """New content for an object (``$EDITOR`` or a file). ``expected_revision`` refuses the
        change if someone else changed the object since it was read."""
        where = ObjectPath.parse(path)
        with self._change(session, "./inventory/store", meta) as op:
            self._guard_change(op, where.folder)
            obj = records.one(op.conn, where, object_type)
            if expected_revision is not None and obj.revision != expected_revision:
                raise Conflict(f"{obj.describe()} was changed by {obj.modified_by} at "
                               f"{obj.modified} (revision {obj.revision}, you edited "
                               f"{expected_revision})")
            document = parse_json(text, what=obj.describe())
            content = self._content(obj.object_type, document, obj.name, obj.describe())
            if content == obj.content:
                self._record(op, obj, action="update", unchanged=True)
                return obj
            obj = records.replace_content(op.conn, obj, content, to_iso(self.clock.now()),
                                          op.session.account)
            self._record(op, obj, action="update")
        return obj

    def _relocate(self, session: Session, path: str, target: ObjectPath, request: str,
                  object_type: ObjectType | None, meta: AuditMeta) -> InventoryObject:
        where = ObjectPath.parse(path)
        with self._change(session, request, meta) as op:
            self._guard_change(op, where.folder)
            self._guard_change(op, target.folder)
            obj = records.one(op.conn, where, object_type)
            if target == obj.path:
                self._record(op, obj, action=request.rsplit("/", 1)[-1], unchanged=True)
                return obj
            if not records.folder_exists(op.conn, target.folder):
                records.create_folders(op.conn, target.folder, to_iso(self.clock.now()))
            moved = records.relocate(op.conn, obj, target, to_iso(self.clock.now()),
                                     op.session.account)
            op.record(path=str(where), folder=where.folder,
                      object_type=obj.object_type.value,
                      parameters={"newPath": str(target), "revision": moved.revision})
        return moved

    def rename(self, session: Session, path: str, new_name: str, *,
               object_type: ObjectType | None = None,
               meta: AuditMeta = AuditMeta()) -> InventoryObject:
        where = ObjectPath.parse(path)
        target = ObjectPath(where.folder, check_name("object", new_name))
        return self._relocate(session, path, target, "./inventory/rename", object_type, meta)

    def move(self, session: Session, path: str, folder: str, *,
             object_type: ObjectType | None = None,
             meta: AuditMeta = AuditMeta()) -> InventoryObject:
        where = ObjectPath.parse(path)
        target = ObjectPath(check_folder(folder), where.name)
        return self._relocate(session, path, target, "./inventory/move", object_type, meta)

    def delete(self, session: Session, paths: Sequence[str], *,
               object_type: ObjectType | None = None,
               meta: AuditMeta = AuditMeta()) -> list[InventoryObject]:
        """Delete objects, all or none."""
        wheres = [ObjectPath.parse(p) for p in paths]
        gone: list[InventoryObject] = []
        with self._change(session, "./inventory/delete", meta) as op:
            for where in wheres:
                self._guard_change(op, where.folder)
                obj = records.one(op.conn, where, object_type)
                if any(o.id == obj.id for o in gone):
                    continue
                records.delete(op.conn, obj)
                self._record(op, obj, action="delete")
                gone.append(obj)
        return gone

