"""Section 3: the inventory's folder tree, an object's JSON and deployment state, and every
change and deployment made from there.

Keys: ``e`` edits the object in ``$EDITOR`` (the console is suspended; the service validates
and a refusal names each failing field by its JSON pointer, offering to edit again; nothing is
saved until valid), ``n`` new object from a template, ``R`` rename/move, ``d`` delete
(confirmed), ``N`` new folder; ``D`` deploy and ``V`` revoke (a confirmation listing the objects
with a checklist of target Controllers, then a progress bar per Controller and each
Controller's answer). At security level HIGH the console never signs, so ``D`` is absent and
``x`` export for signing and ``I`` import-deploy (a per-entry verification report before
anything is sent) take its place. ``k`` opens the signing key profile, ``h`` the deployment
history. Reads and changes run in workers; the services check every permission again.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.highlighter import JSONHighlighter
from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import ProgressBar, Static, Tree
from textual.widgets.tree import TreeNode

from js7tui.deployment.policy import Action, decide
from js7tui.deployment.service import Deployment
from js7tui.deployment.status import ObjectStatus
from js7tui.errors import NotFound, ValidationError
from js7tui.identity.sessions import Session
from js7tui.inventory import InventoryObject, ObjectPath, ObjectType
from js7tui.permissions.names import INVENTORY_DEPLOY, INVENTORY_MANAGE, INVENTORY_VIEW
from js7tui.security_level import SecurityLevel
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.deploy_modals import (
    ImportModal,
    ImportReportModal,
    SchemaErrorModal,
    TextModal,
)
from js7tui.tui.widgets.inventory_tree import (
    Children,
    Entry,
    InventoryTree,
    ancestors,
    folder_depth_order,
    parent_of,
)
from js7tui.tui.widgets.modals import ConfirmModal, Field, FormModal, TypedConfirmModal

MANAGE = frozenset({"edit", "new", "rename", "delete", "new_folder", "encrypt"})
DEPLOY = frozenset({"deploy", "revoke", "import_deploy"})
POLICY_ACTIONS = {"deploy": Action.DEPLOY, "revoke": Action.REVOKE,
                  "import_deploy": Action.IMPORT_DEPLOY, "export": Action.EXPORT_FOR_SIGNING}
LISTED = 12

TEMPLATES: dict[ObjectType, dict[str, Any]] = {
    ObjectType.WORKFLOW: {
        "TYPE": "Workflow",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "job1"}],
        "jobs": {"job1": {"agentPath": "agent-1", "executable": {
            "TYPE": "ShellScriptExecutable", "script": "#!/bin/sh\necho hello\n"}}},
    },
    ObjectType.JOBRESOURCE: {
        "TYPE": "JobResource", "variables": {"greeting": "'hello'"},
        "env": {"GREETING": "$greeting"},
    },
}


def template(kind: ObjectType, name: str) -> str:
    body = {k: v for k, v in TEMPLATES[kind].items() if k != "TYPE"}
    return json.dumps({"TYPE": kind.wire_type, "path": name, **body}, indent=2) + "\n"


class DeployProgress(Message):
    """A Controller answered during a deployment (posted from the worker thread)."""

    def __init__(self, controller_id: str, done: int, total: int) -> None:
        super().__init__()
        self.controller_id = controller_id
        self.done = done
        self.total = total


def read_children(console: Any, session: Session, folders: list[str]
                  ) -> dict[str, Children]:
    """The subfolders and objects of each folder (one worker); a folder that went
    away meanwhile is left out."""
    out: dict[str, Children] = {}
    for folder in folders:
        try:
            views = console.inventory.folders(session, folder)
            objects = console.inventory.list(session, folder, recursive=False)
        except (NotFound, ValidationError):
            continue
        subs = tuple(v for v in views if v.path != folder and parent_of(v.path) == folder)
        out[folder] = Children(subs, tuple(objects))
    return out


def short_time(iso: str) -> str:
    """'2026-01-01T12:00:00.000000+00:00' as '2026-01-01 12:00:00' (the store keeps UTC)."""
    return iso[:19].replace("T", " ")


def outcome_lines(result: Deployment) -> list[str]:
    lines = [f"{result.operation.lower()} {result.commit_id} by {result.account}",
             f"{len(result.objects)} object(s):"]
    lines += [f"  {kind.lower()} {path}" for kind, path, _ in result.objects[:LISTED]]
    if len(result.objects) > LISTED:
        lines.append(f"  and {len(result.objects) - LISTED} more")
    lines.append("Controllers:")
    for target in result.targets:
        lines.append(f"  {target.controller_id}  {target.word.upper()}: {target.summary}"
                     if not target.done else f"  {target.controller_id}  {target.word.upper()}")
        lines += [f"    Agent {a.agent}  {a.state}" + (f": {a.message}" if a.message else "")
                  for a in target.agents]
    return lines


class InventoryScreen(SectionScreen):
    SECTION = "inventory"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("e", "edit", "Edit", id="inventory.edit",
                tooltip="Edit the object's JSON in $EDITOR (validated before it is saved)"),
        Binding("n", "new", "New", show=False, id="inventory.new",
                tooltip="A new workflow or job resource from a template, in $EDITOR"),
        Binding("R", "rename", "Rename/move", show=False, id="inventory.rename",
                tooltip="Rename or move the object or folder"),
        Binding("d", "delete", "Delete", show=False, id="inventory.delete",
                tooltip="Delete the object or folder (confirmed)"),
        Binding("N", "new_folder", "New folder", show=False, id="inventory.new_folder",
                tooltip="Create a folder"),
        Binding("D", "deploy", "Deploy", id="inventory.deploy",
                tooltip="Sign and deploy the object or folder to Controllers you choose"),
        Binding("x", "export", "Export", id="inventory.export",
                tooltip="Export the object or folder for signing outside (then "
                        "import-deploy it at HIGH)"),
        Binding("I", "import_deploy", "Import", id="inventory.import",
                tooltip="Import-deploy an archive signed outside: verify, report, then send"),
        Binding("V", "revoke", "Revoke", id="inventory.revoke",
                tooltip="Remove the object or folder's objects from Controllers"),
        Binding("h", "history", "History", id="inventory.history",
                tooltip="The deployment history"),
        Binding("k", "keys", "Keys", show=False, id="inventory.keys",
                tooltip="Your signing key and certificate (by security level)"),
        Binding("E", "encrypt", "Encrypt", show=False, id="inventory.encrypt",
                tooltip="Encrypt a job resource variable, an environment variable or a "
                        "default argument for an Agent's encipherment certificate"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {
        **{action: INVENTORY_MANAGE for action in MANAGE},
        **{action: INVENTORY_DEPLOY for action in DEPLOY},
        "export": INVENTORY_VIEW, "history": INVENTORY_DEPLOY, "keys": INVENTORY_DEPLOY,
    }
    MUTATING: ClassVar[frozenset[str]] = MANAGE | DEPLOY | {"export"}
    DEFAULT_CSS = """
    #inv-body { height: 1fr; }
    #inv-tree { width: 40%; min-width: 28; height: 1fr; border: round $panel-lighten-2; }
    #inv-tree:focus { border: round $accent; }
    #inv-detail { width: 1fr; height: 1fr; border: round $panel-lighten-2; padding: 0 1; }
    #inv-progress { height: auto; padding: 0 1; display: none; }
    #inv-progress.busy { display: block; }
    """

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.status: ObjectStatus | None = None
        self._pending: str | None = None
        self._edit_count = 0
        self._generation = 0

    # -- layout ---------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        with Horizontal(id="inv-body"):
            yield InventoryTree(id="inv-tree")
            with VerticalScroll(id="inv-detail"):
                yield Static("", id="inv-meta")
                yield Static("", id="inv-json")
        with Horizontal(id="inv-progress"):
            yield Static("", id="inv-progress-text")
            yield ProgressBar(id="inv-bar", show_eta=False)

    def on_mount(self) -> None:
        self.tree.focus()

    @property
    def tree(self) -> InventoryTree:
        return self.query_one(InventoryTree)

    @property
    def current(self) -> Entry | None:
        node = self.tree.cursor_node
        return node.data if node is not None else None

    @property
    def high(self) -> bool:
        return self.ctx.security_level == "HIGH"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Deploy, revoke, import-deploy and export follow the one deploy policy
        (``js7tui.deployment.policy``) the services enforce, for this session and level."""
        policy_action = POLICY_ACTIONS.get(action)
        if policy_action is not None:
            if action in self.MUTATING and self.ctx.readonly:
                return False
            return decide(policy_action, SecurityLevel(self.ctx.security_level),
                          self.ctx.session if self.ctx.can(None) else None).allowed
        return super().check_action(action, parameters)

    # -- reading the tree -----------------------------------------------------------------
    def reload(self) -> None:
        """Read the open folders again, keeping the cursor (and opening the way to a path
        given by ``select_item``)."""
        session = self.ctx.session
        if session is None:
            return
        current = self.current
        want = self._pending or (current.path if current is not None else None)
        folders = set(self.tree.expanded_folders()) | {"/"}
        if want is not None:
            folders |= set(ancestors(want)) | {want}
        order = folder_depth_order(list(folders))
        self._generation += 1
        generation = self._generation
        self.run_service("reading the inventory", read_children, self.ctx.console, session,
                         order, then=lambda found: self._rebuild(order, found, want,
                                                                 generation))

    def _rebuild(self, order: list[str], found: dict[str, Children], want: str | None,
                 generation: int) -> None:
        if generation != self._generation:
            return  # a newer read (another reload, select_item) is on its way
        tree = self.tree
        tree.root.remove_children()
        for folder in order:
            node = tree.root if folder == "/" else tree.find(folder)
            if node is None or folder not in found:
                continue
            tree.fill(node, found[folder])
            node.expand()
        tree.root.expand()
        self._pending = None
        target = tree.find(want) if want else None
        # the tree numbers its lines at the next refresh: move the cursor after it
        self.call_after_refresh(self._settle_cursor, target)

    def _settle_cursor(self, target: TreeNode[Entry] | None) -> None:
        tree = self.tree
        if target is not None:
            tree.place_cursor(target)
        self._show_entry(tree.cursor_node.data if tree.cursor_node else None)
        self.refresh_bindings()

    def select_item(self, item: str) -> None:
        """Open the way to a folder or object path and put the cursor on it."""
        self._pending = item.strip() or "/"
        self.reload()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Entry]) -> None:
        event.stop()
        node = event.node
        data = node.data
        session = self.ctx.session
        if data is None or data.loaded or session is None:
            return
        data.loaded = True   # one read per folder, however fast the key repeats
        self.run_service(f"reading {data.path}", read_children, self.ctx.console, session,
                         [data.path], then=lambda found: self._filled(node, found))

    def _filled(self, node: TreeNode[Entry], found: dict[str, Children]) -> None:
        if node.data is not None and node.data.path in found:
            self.tree.fill(node, found[node.data.path])

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Entry]) -> None:
        event.stop()
        self._show_entry(event.node.data)

    def _show_entry(self, entry: Entry | None) -> None:
        self.status = None
        meta, body = self.query_one("#inv-meta", Static), self.query_one("#inv-json", Static)
        if entry is None:
            meta.update("")
            body.update("")
            return
        if entry.is_folder:
            node = self.tree.find(entry.path)
            count = sum(1 for c in node.children if c.data and not c.data.is_folder) \
                if node is not None and entry.loaded else None
            lines = [f"folder {entry.path}",
                     "navigation only: a folder you may see lies below it" if not entry.permitted
                     else (f"{count} object(s) here" if count is not None
                           else "open it (right arrow) to read what it holds")]
            meta.update(escape("\n".join(lines)))
            body.update("")
            return
        session = self.ctx.session
        if session is None:
            return
        self.run_service(f"reading {entry.path}", self.ctx.console.deployments.status,
                         session, entry.path, entry.object_type,
                         then=lambda status: self._show_status(entry, status))

    def _show_status(self, entry: Entry, status: ObjectStatus) -> None:
        if self.current is not entry:
            return  # the cursor moved on meanwhile
        self.status = status
        obj = status.obj
        lines = [f"{obj.object_type.label} {obj.path}   state: {status.state}",
                 f"revision {obj.revision}, modified {short_time(obj.modified)} by "
                 f"{obj.modified_by}"]
        if status.versions:
            lines.append("deployed versions:")
            for v in status.versions:
                now = "current content" if v.current else "older content (changed since)"
                lines.append(f"  {v.controller_id}  version {v.version_id}  {now}  "
                             f"({v.operation.lower()} by {v.account}, {short_time(v.created)})")
        else:
            lines.append("deployed on no Controller")
        for f in status.failures:
            lines.append(f"  {f.controller_id}  newest {f.operation.lower()} {f.word} "
                         f"({short_time(f.created)}): {f.message}")
        self.query_one("#inv-meta", Static).update(escape("\n".join(lines)))
        # rich's JSON highlighter: theme colours without a background block of its own
        self.query_one("#inv-json", Static).update(
            JSONHighlighter()(Text("\n" + obj.text())))

    # -- editing --------------------------------------------------------------------------
    def run_editor(self, text: str, suffix: str) -> str | None:
        """Edit ``text`` in $VISUAL/$EDITOR on a 0600 temp file with the console suspended;
        None when the editor failed (said in a notification)."""
        editor = self.ctx.env.get("VISUAL") or self.ctx.env.get("EDITOR") or "vi"
        fd, name = tempfile.mkstemp(prefix="js7tui-", suffix=suffix)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            command = [*shlex.split(editor), name]
            try:
                with self.app.suspend():
                    code = subprocess.call(command)
            except SuspendNotSupported:   # headless (tests) or web: no terminal to hand over
                code = subprocess.call(command, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if code != 0:
                self.show_error(f"the editor ({editor}) exited with code {code}; nothing "
                                "was saved")
                return None
            return Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.show_error(f"cannot run the editor ({editor}): {exc}")
            return None
        finally:
            Path(name).unlink(missing_ok=True)

    def _edit_loop(self, what: str, text: str, suffix: str, original: str | None,
                   save: Callable[..., None]) -> None:
        """Editor, then ``save(text, then, failed)``; a schema refusal reopens the editor on
        the same text when asked (nothing is saved until the service accepts it)."""
        edited = self.run_editor(text, suffix)
        if edited is None:
            return
        if original is not None and edited == original:
            self.show_done(f"{what}: no change")
            return
        self._edit_count += 1

        def failed(error: Exception) -> None:
            if isinstance(error, ValidationError):
                self.app.push_screen(
                    SchemaErrorModal(what, str(error)),
                    lambda again: self._edit_loop(what, edited, suffix, original, save)
                    if again else self.notify("edit discarded; nothing was saved"))

        save(edited, failed)

    def action_edit(self) -> None:
        entry = self.current
        session = self.ctx.session
        if entry is None or entry.is_folder or session is None:
            return
        self.run_service(f"reading {entry.path}", self.ctx.console.inventory.get, session,
                         entry.path, entry.object_type, then=self._edit_object)

    def _edit_object(self, obj: InventoryObject) -> None:
        def save(text: str, failed: Callable[[Exception], None]) -> None:
            self.change(f"edit {obj.describe()}", self.ctx.console.inventory.update,
                        str(obj.path), text, object_type=obj.object_type,
                        expected_revision=obj.revision, failed=failed,
                        then=lambda saved: self._changed(f"{saved.describe()} saved "
                                                         f"(revision {saved.revision})",
                                                         str(saved.path)))
        self._edit_loop(obj.describe(), obj.text(), obj.object_type.extension, obj.text(), save)

    # -- encrypting a value in place (issue 21) --------------------------------------------
    def action_encrypt(self) -> None:
        entry = self.current
        session = self.ctx.session
        if entry is None or entry.is_folder or session is None:
            return
        console = self.ctx.console

        def read(session: Session) -> tuple[InventoryObject, list[Any]]:
            return (console.inventory.get(session, entry.path, entry.object_type),
                    console.encipherment.choices(session))
        self.run_service(f"reading {entry.path}", read, session, then=self._encrypt_form)

    def _encrypt_form(self, found: tuple[InventoryObject, list[Any]]) -> None:
        from js7tui.encipherment.certificates import places, put
        obj, views = found
        spots = {".".join(keys): (keys, bound) for keys, bound, _ in
                 places(obj.object_type.value, obj.name, obj.content)}
        if not spots:
            self.show_error(f"{obj.describe()} has no variable, environment variable or "
                            "default argument to encrypt; add one with Edit (e) first")
            return
        if not views:
            self.show_error("there is no encipherment certificate to encrypt for (js7tui "
                            "encipherment issue ALIAS --agent AGENT)")
            return
        readers = {v.cert.alias: ", ".join(v.readers) or "no Agent yet" for v in views}
        note = "Who can read the result:\n" + "\n".join(
            f"  {alias}: {agents}" for alias, agents in readers.items())
        fields = [Field("where", "Variable", kind="choice", choices=list(spots),
                        value=next(iter(spots)), required=True),
                  Field("alias", "For", kind="choice", choices=list(readers),
                        value=next(iter(readers)), required=True,
                        help="the encipherment certificate (alias) of the Agents that run it"),
                  Field("value", "Value", kind="password", required=True,
                        help="replaces the variable's expression; never shown or logged")]

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            where = values["where"]
            keys, bound = spots[where]
            alias, value = values["alias"], values["value"]
            values.clear()

            def encrypt_and_store(session: Session, meta: Any = None) -> str:
                result = self.ctx.console.encipherment.encrypt(session, alias, value, bound,
                                                               meta=meta)
                self.ctx.console.inventory.update(
                    session, str(obj.path), json.dumps(put(obj.document(), keys, result.value)),
                    object_type=obj.object_type, expected_revision=obj.revision, meta=meta)
                return (f"{where} of {obj.describe()} encrypted for '{alias}'; readable on "
                        f"{', '.join(result.readers) or 'no Agent yet'}")
            self.change(f"encrypt {where}", encrypt_and_store,
                        then=lambda text: self._changed(text, str(obj.path)))

        self.app.push_screen(FormModal(f"Encrypt a value of {obj.describe()}", fields,
                                       note=note), done)

    def action_new(self) -> None:
        entry = self.current
        folder = entry.folder if entry is not None else "/"
        fields = [Field("type", "Type", kind="choice", value="workflow",
                        choices=["workflow", "job resource"], required=True),
                  Field("name", "Name", required=True),
                  Field("folder", "Folder", value=folder, required=True)]
        self.app.push_screen(FormModal("New object", fields), self._new)

    def _new(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        try:
            kind = ObjectType.parse(str(values["type"]))
            folder = str(values["folder"]).strip()
            where = ObjectPath.parse(folder.rstrip("/") + "/" + str(values["name"]).strip())
        except ValidationError as exc:
            self.show_error(str(exc))
            return

        def save(text: str, failed: Callable[[Exception], None]) -> None:
            self.change(f"create {kind.label} {where}", self.ctx.console.inventory.create,
                        kind, str(where), text, failed=failed,
                        then=lambda obj: self._changed(f"{obj.describe()} created",
                                                       str(obj.path)))
        self._edit_loop(f"new {kind.label} {where}", template(kind, where.name),
                        kind.extension, None, save)

    def action_rename(self) -> None:
        entry = self.current
        if entry is None or entry.path == "/":
            return
        note = ("A new path renames, another folder moves, both do both. Objects keep their "
                "deployment history under the old path.")
        self.app.push_screen(FormModal(f"Rename or move {entry.path}", [
            Field("path", "New path", value=entry.path, required=True)], note=note),
            lambda values: self._rename(entry, values))

    def _rename(self, entry: Entry, values: dict[str, Any] | None) -> None:
        if not values:
            return
        new = str(values["path"]).strip()
        inventory = self.ctx.console.inventory
        if entry.is_folder:
            self.change(f"rename folder {entry.path} to {new}", inventory.rename_folder,
                        entry.path, new, then=lambda _: self._changed(
                            f"folder {entry.path} is now {new}", new))
            return
        try:
            old, target = ObjectPath.parse(entry.path), ObjectPath.parse(new)
        except ValidationError as exc:
            self.show_error(str(exc))
            return

        def relocate(session: Session, *, meta: Any) -> InventoryObject:
            obj = None
            if target.folder != old.folder:
                obj = inventory.move(session, str(old), target.folder,
                                     object_type=entry.object_type, meta=meta)
            here = ObjectPath(target.folder, old.name)
            if target.name != old.name:
                obj = inventory.rename(session, str(here), target.name,
                                       object_type=entry.object_type, meta=meta)
            return obj if obj is not None else inventory.get(session, str(old))

        self.change(f"rename/move {entry.path} to {new}", relocate,
                    then=lambda obj: self._changed(f"{entry.path} is now {obj.path}",
                                                   str(obj.path)))

    def action_delete(self) -> None:
        entry = self.current
        if entry is None or entry.path == "/":
            return
        inventory = self.ctx.console.inventory
        if entry.is_folder:
            def folder_confirmed(yes: bool | None) -> None:
                if yes:
                    self.change(f"delete folder {entry.path}", inventory.delete_folder,
                                entry.path, recursive=True, then=lambda n: self._changed(
                                    f"folder {entry.path} deleted with {n} object(s)",
                                    parent_of(entry.path)))
            self.app.push_screen(TypedConfirmModal(
                escape(f"Delete folder {entry.path} with every folder and object in it? "
                       "Deployed objects stay on the Controllers until revoked."),
                entry.path, title="Delete folder"), folder_confirmed)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change(f"delete {entry.path}", inventory.delete, [entry.path],
                            object_type=entry.object_type, then=lambda _: self._changed(
                                f"{entry.path} deleted", entry.folder))
        self.app.push_screen(ConfirmModal(escape(
            f"Delete the {entry.object_type.label if entry.object_type else 'object'} "
            f"{entry.path}? A deployed version stays on its Controllers until revoked."),
            title="Delete"), confirmed)

    def action_new_folder(self) -> None:
        entry = self.current
        base = entry.folder if entry is not None else "/"
        self.ask_name("New folder", "Path", lambda path: self.change(
            f"create folder {path}", self.ctx.console.inventory.create_folder, path,
            then=lambda _: self._changed(f"folder {path} created", path)),
            value=base.rstrip("/") + "/")

    def _changed(self, text: str, select: str | None = None) -> None:
        self.show_done(text)
        if select is not None:
            self._pending = select
        self.reload()

    # -- deploy and revoke ----------------------------------------------------------------
    def _choose(self, operation: str) -> None:
        entry = self.current
        session = self.ctx.session
        if entry is None or session is None:
            return
        console = self.ctx.console

        def read(s: Session) -> tuple[list[InventoryObject], list[str]]:
            return (console.inventory.select(s, [entry.selector]),
                    console.deployments.targets(s))

        self.run_service(f"preparing to {operation}", read, session,
                         then=lambda found: self._confirm(operation, entry, *found))

    def _confirm(self, operation: str, entry: Entry, objects: list[InventoryObject],
                 targets: list[str]) -> None:
        if not objects:
            self.show_error(f"nothing to {operation}: no workflow or job resource in "
                            f"{entry.path} that you may see")
            return
        if not targets:
            self.show_error(f"no registered Controller that you may {operation} to "
                            "(controller:deployment:deploy on it)")
            return
        lines = [f"{len(objects)} object(s):"]
        lines += [f"  {o.describe()}" for o in objects[:LISTED]]
        if len(objects) > LISTED:
            lines.append(f"  and {len(objects) - LISTED} more")
        verb = "Deploy" if operation == "deploy" else "Revoke"
        note = escape("\n".join(lines)) + (
            "\n[b]space[/b] chooses Controllers, [b]ctrl+s[/b] "
            f"{operation}s" + (" (signed with your key)" if operation == "deploy" else ""))
        fields = [Field("controllers", "Target Controllers", kind="multi", choices=targets,
                        value=[], required=True)]
        self.app.push_screen(FormModal(f"{verb} {entry.path}", fields, note=note),
                             lambda values: self._go(operation, entry, values))

    def _go(self, operation: str, entry: Entry, values: dict[str, Any] | None) -> None:
        if not values:
            return
        controllers = list(values["controllers"])
        service = self.ctx.console.deployments
        fn = service.deploy if operation == "deploy" else service.revoke
        self._start_progress(f"{operation}: {entry.path}", len(controllers))
        self.change(f"{operation} {entry.path}", fn, [entry.selector], controllers,
                    progress=self._post_progress, then=self._deployed,
                    failed=lambda _e: self._stop_progress(),
                    cancelled=self._stop_progress)

    def action_deploy(self) -> None:
        self._choose("deploy")

    def action_revoke(self) -> None:
        self._choose("revoke")

    def _post_progress(self, controller_id: str, done: int, total: int) -> None:
        """From the worker: never blocks (the worker holds the console's lock)."""
        self.post_message(DeployProgress(controller_id, done, total))

    def on_deploy_progress(self, message: DeployProgress) -> None:
        message.stop()
        self.query_one("#inv-bar", ProgressBar).update(total=message.total,
                                                       progress=message.done)
        self.query_one("#inv-progress-text", Static).update(escape(
            f"{message.controller_id} answered ({message.done}/{message.total})  "))

    def _start_progress(self, what: str, total: int) -> None:
        self.query_one("#inv-bar", ProgressBar).update(total=total, progress=0)
        self.query_one("#inv-progress-text", Static).update(escape(f"{what}  "))
        self.query_one("#inv-progress").add_class("busy")

    def _stop_progress(self) -> None:
        self.query_one("#inv-progress").remove_class("busy")

    def _deployed(self, result: Deployment) -> None:
        self._stop_progress()
        outcome = "done" if result.ok else "NOT DONE on some Controllers (see the outcome)"
        self.app.push_screen(TextModal(f"{result.operation.lower()}: {outcome}",
                                       "\n".join(outcome_lines(result))))
        self.reload()

    # -- HIGH: export for signing and import-deploy ---------------------------------------
    def action_export(self) -> None:
        entry = self.current
        if entry is None:
            return
        stem = entry.path.strip("/").replace("/", "-") or "inventory"
        fields = [Field("path", "Archive file", value=f"{stem}.zip", required=True,
                        help=".zip or .tar.gz; written 0600, never overwritten")]
        self.app.push_screen(FormModal(f"Export {entry.path} for signing", fields),
                             lambda values: self._export(entry, values))

    def _export(self, entry: Entry, values: dict[str, Any] | None) -> None:
        if not values:
            return
        output = Path(os.path.expanduser(str(values["path"]).strip()))
        self.change(f"export {entry.path} for signing", self.ctx.console.exports.for_signing,
                    [entry.selector], output, then=lambda r: self.app.push_screen(TextModal(
                        "Exported for signing", "\n".join([
                            f"{len(r.entries) - 1} object(s) written to {r.path}",
                            f"versionId {r.version_id}",
                            "Sign each .json entry outside (e.g. openssl dgst -sha256 -sign "
                            "KEY -out ENTRY.sig ENTRY), pack the tree again and bring it back "
                            "with I (import-deploy)."]))))

    def action_import_deploy(self) -> None:
        session = self.ctx.session
        if session is None:
            return
        self.run_service("reading the Controllers", self.ctx.console.deployments.targets,
                         session, then=self._choose_archive)

    def _choose_archive(self, targets: list[str]) -> None:
        if not targets:
            self.show_error("no registered Controller that you may deploy to")
            return
        self.app.push_screen(ImportModal(targets), self._verify)

    def _verify(self, chosen: tuple[str, str] | None) -> None:
        session = self.ctx.session
        if not chosen or session is None:
            return
        path, controller = Path(chosen[0]), chosen[1]
        self.run_service(f"verifying {path.name}", self.ctx.console.deployments.verify_import,
                         session, path, controller,
                         then=lambda report: self.app.push_screen(
                             ImportReportModal(report),
                             lambda send: self._send_import(path, controller, send)))

    def _send_import(self, path: Path, controller: str, send: bool | None) -> None:
        if not send:
            self.notify("nothing was sent", timeout=3)
            return
        self._start_progress(f"import-deploy: {path.name}", 1)
        self.change(f"import-deploy {path.name} to {controller}",
                    self.ctx.console.deployments.import_deploy, path, controller,
                    progress=self._post_progress, then=self._deployed,
                    failed=lambda _e: self._stop_progress(), cancelled=self._stop_progress)

    # -- other screens --------------------------------------------------------------------
    def action_history(self) -> None:
        from js7tui.tui.screens.deployments import DeploymentsScreen
        self.app.push_screen(DeploymentsScreen(self.ctx))

    def action_keys(self) -> None:
        from js7tui.tui.screens.signing_profile import SigningProfileScreen
        self.app.push_screen(SigningProfileScreen(self.ctx))

