"""The permission editor of one role: the whole catalogue as a tree, for the default section or
one Controller's, with the role's folders below it.

Keys (on the tree): space grants/ungrants, ``-`` denies/undenies, ``x`` removes the node's
entry, ``u`` undoes and ctrl+r redoes (per role, for the session), ``e`` explains the node's
state, ``c`` chooses the section, ``a`` adds a folder; ``d`` on the folder list removes one.
Every change goes through ``console.roles`` (permission checked, comment asked when needed,
audited), and the tree is redrawn from what the store returns.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from js7tui import words
from js7tui.audit import AuditMeta
from js7tui.identity.roles import RoleView
from js7tui.identity.sessions import Session
from js7tui.permissions import CONTROLLER, DEFAULT_SECTION, ROOT, EffectivePermissions, catalogue
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW
from js7tui.tui.permission_marks import RoleMarks
from js7tui.tui.role_history import RoleChange, RoleHistory, State, apply_state
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import ConfirmModal, Field, FormModal
from js7tui.tui.widgets.permission_tree import PermissionTree
from js7tui.tui.widgets.quiet import update_quietly

EDITS = frozenset({"grant", "deny", "remove", "undo", "redo", "add_folder", "remove_folder"})


class TreeFind(Input):
    """Find-as-you-type over the tree; escape goes back to it."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Close", id="perm.find.close", tooltip="Back to the tree"),
    ]
    HELP = "Type part of a permission's name or description; **enter** next match, **esc** back."

    def action_close(self) -> None:
        self.display = False
        self.screen.query_one(PermissionTree).focus()


class PermissionEditorScreen(SectionScreen):
    SECTION = "roles"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", "Back", id="perm.back", tooltip="Back to the roles"),
        Binding("space", "grant", "Grant", id="perm.grant",
                tooltip="Grant the permission (and everything below it); again: ungrant"),
        Binding("minus", "deny", "Deny", key_display="-", id="perm.deny",
                tooltip="Deny the permission (beats every grant); again: remove the denial"),
        Binding("x", "remove", "Remove", id="perm.remove",
                tooltip="Remove this node's entry (grant or denial) from the section"),
        Binding("u", "undo", "Undo", id="perm.undo", tooltip="Undo the last change of this role"),
        Binding("ctrl+r", "redo", "Redo", id="perm.redo",
                tooltip="Redo the change undone last"),
        Binding("e", "explain", "Explain", id="perm.explain",
                tooltip="Why this role grants or does not grant the permission"),
        Binding("slash", "find", "Find", id="perm.find",
                tooltip="Jump to a permission by name or description (enter: next match)"),
        Binding("c", "section_choose", "Section", id="perm.section",
                tooltip="Edit the default section or one Controller's section"),
        Binding("a", "add_folder", "Add folder", id="perm.add_folder",
                tooltip="Restrict the role to a folder (recursive or not)"),
        Binding("d", "remove_folder", "Remove folder", id="perm.remove_folder",
                tooltip="Remove the folder under the cursor of the folder list"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {
        **{action: ACCOUNTS_MANAGE for action in EDITS}, "explain": ACCOUNTS_VIEW,
    }
    MUTATING: ClassVar[frozenset[str]] = EDITS

    def __init__(self, ctx: Any, role: str, service: str | None, history: RoleHistory,
                 **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.role_name = role
        self.service = service
        self.history = history
        self.section = DEFAULT_SECTION
        self.view: RoleView | None = None
        self._busy = False  # one change in flight at a time (undo must not run twice)

    # -- layout -----------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield Static("", id="perm-title")
        yield PermissionTree(ROOT, self._marks().mark, id="perm-tree")
        yield Static("", id="perm-detail", classes="detail")
        yield HouseTable(["Folder", "Recursive", "Section"], id="perm-folders",
                         empty="no folder entries: the role is not restricted to folders")
        find = TreeFind(placeholder="find a permission (enter: next, esc: close)",
                        id="perm-find")
        find.display = False
        yield find

    def on_mount(self) -> None:
        self.tree.border_title = "[+] granted  [-] denied  [~] inherited  [ ] none"
        self.query_one(HouseTable).display = False
        self.tree.focus()

    @property
    def tree(self) -> PermissionTree:
        return self.query_one(PermissionTree)

    def _marks(self) -> RoleMarks:
        return RoleMarks(self.view.permissions if self.view else (), self.section)

    def reload(self) -> None:
        session = self.ctx.session
        if session is not None:
            self.run_service("reading the role", self.ctx.console.roles.show, session,
                             self.role_name, self.service, then=self._show)

    def _show(self, view: RoleView) -> None:
        self.view = view
        self.service = view.service
        self.tree.relabel(self._marks().mark)
        section = f"Controller '{self.section}'" if self.section else "default section"
        sections = ", ".join(view.controllers) or "none"
        folders = [f for f in view.folders if f.controller == self.section]
        none = "none (a adds)" if self.ctx.may_change(ACCOUNTS_MANAGE) else "none"
        self.query_one("#perm-title", Static).update(escape(
            f"{view.name} ({view.service}) | {section} | Controller sections: {sections} | "
            f"folders: {len(folders) or none}"))
        table = self.query_one(HouseTable)
        table.set_rows(
            Row(f.folder, (f.folder, "yes" if f.recursive else "no",
                           f.controller or "(default)")) for f in folders)
        table.display = bool(folders)
        self._describe()
        self.refresh_bindings()

    def on_tree_node_highlighted(self, event: PermissionTree.NodeHighlighted) -> None:
        self._describe()

    def _describe(self) -> None:
        name = self.tree.current
        if name is None:
            return
        mark = self._marks().mark(name)
        state = {"+": "granted here", "-": "denied here", "~": "inherited",
                 " ": "no entry"}[mark.mark]
        effective = "granted" if mark.effective else "not granted"
        note = f" ({mark.note})" if mark.note else ""
        update_quietly(self.query_one("#perm-detail", Static), escape(
            f"{name}\n{catalogue().nodes[name].description}\n"
            f"[{mark.mark}] {state}{note}; for this role: {effective}"))

    # -- finding ----------------------------------------------------------------------------
    def action_find(self) -> None:
        find = self.query_one(TreeFind)
        find.display = True
        find.focus()

    @on(Input.Changed, "#perm-find")
    def _find_changed(self, event: Input.Changed) -> None:
        self._jump(event.value, from_current=False)

    @on(Input.Submitted, "#perm-find")
    def _find_next(self, event: Input.Submitted) -> None:
        self._jump(event.value, from_current=True)

    def _jump(self, text: str, *, from_current: bool) -> None:
        tree = self.tree
        found = tree.find(text, tree.current if from_current else None)
        if found is not None:
            tree.select_name(found)
            self._describe()

    # -- the section ------------------------------------------------------------------------
    def action_section_choose(self) -> None:
        known = ", ".join(self.view.controllers) if self.view else ""
        fields = [Field("controller", "Controller ID", value=self.section,
                        help="empty: the default section" + (f"; with entries: {known}"
                                                             if known else ""))]
        self.app.push_screen(FormModal("Section to edit", fields), self._section_chosen)

    def _section_chosen(self, values: dict[str, Any] | None) -> None:
        if values is None:
            return
        self.section = str(values.get("controller") or "").strip()
        self.tree.show_root_name(CONTROLLER if self.section else ROOT, self._marks().mark)
        self.tree.focus()
        if self.view is not None:
            self._show(self.view)

    # -- editing ----------------------------------------------------------------------------
    def _edit(self, what: str, change: RoleChange, state: State, done: Any) -> None:
        if self._busy:
            self.notify("one change at a time: the last one is still being saved", timeout=3)
            return
        self._busy = True

        def call(session: Session, meta: AuditMeta) -> RoleView:
            return apply_state(self.ctx.console.roles, session, self.role_name, self.service,
                               change, state, meta)

        def then(view: RoleView) -> None:
            self._busy = False
            done(change)
            self._show(view)
            self.show_done(f"{self.role_name}: {change.describe(state)}")

        def idle(*_error: Exception) -> None:
            self._busy = False

        self.change(what, call, then=then, failed=idle, cancelled=idle)

    def _permission_change(self, after: State) -> None:
        name = self.tree.current
        if name is None:
            return
        own = self._marks().own(name)
        change = RoleChange("permission", self.section, name, own, after)
        if own == after:
            return
        self._edit(f"{self.role_name}: {change.describe()}", change, after,
                   self.history.record)

    def action_grant(self) -> None:
        name = self.tree.current
        if name is not None:
            self._permission_change(None if self._marks().own(name) == "+" else "+")

    def action_deny(self) -> None:
        name = self.tree.current
        if name is not None:
            self._permission_change(None if self._marks().own(name) == "-" else "-")

    def action_remove(self) -> None:
        self._permission_change(None)

    def action_undo(self) -> None:
        change = self.history.next_undo()
        if change is None:
            self.notify("nothing to undo for this role", timeout=3)
            return
        self._edit(f"undo: {change.describe(change.before)}", change, change.before,
                   self.history.undid)

    def action_redo(self) -> None:
        change = self.history.next_redo()
        if change is None:
            self.notify("nothing to redo for this role", timeout=3)
            return
        self._edit(f"redo: {change.describe()}", change, change.after, self.history.redid)

    def action_explain(self) -> None:
        name = self.tree.current
        if name is None or self.view is None:
            return
        effective = EffectivePermissions.compile(self.view.permissions, self.view.folders)
        explanation = effective.explain(name, self.section)
        # the words of 'js7tui permissions explain' (and of the account view, w)
        verdict = words.verdict(explanation.granted)
        lines = [f"{verdict} by this role: {explanation.reason}"]
        lines += [f"  deciding: {e.describe()}" for e in explanation.deciding]
        lines += [f"  overruled: {e.describe()}" for e in explanation.overruled]
        lines.append("(this role alone; an account's other roles can add grants and denials: "
                     "see w on the roles list)")
        update_quietly(self.query_one("#perm-detail", Static), escape("\n".join(lines)))
        self.call_after_refresh(self._cursor_in_view)

    def _cursor_in_view(self) -> None:
        """The detail pane grew: keep the node it talks about on screen."""
        tree = self.tree
        if tree.cursor_node is not None:
            tree.scroll_to_node(tree.cursor_node, animate=False)

    # -- folders ----------------------------------------------------------------------------
    def action_add_folder(self) -> None:
        fields = [Field("folder", "Folder", value="/", required=True,
                        help="absolute, e.g. /prod/billing"),
                  Field("recursive", "With subfolders", kind="bool", value=True)]
        where = f"Controller '{self.section}'" if self.section else "the default section"
        self.app.push_screen(FormModal(f"Add a folder ({where})", fields), self._folder_added)

    def _folder_added(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        from js7tui.errors import ValidationError
        from js7tui.permissions import normalize_folder
        try:
            folder = normalize_folder(str(values["folder"]))
        except ValidationError as exc:
            self.show_error(str(exc))
            return
        before = self._folder_state(folder)
        change = RoleChange("folder", self.section, folder, before, bool(values["recursive"]))
        self._edit(f"{self.role_name}: {change.describe()}", change, change.after,
                   self.history.record)

    def _folder_state(self, folder: str) -> State:
        for entry in self.view.folders if self.view else ():
            if entry.folder == folder and entry.controller == self.section:
                return entry.recursive
        return None

    def action_remove_folder(self) -> None:
        table = self.query_one(HouseTable)
        folder = table.current_key
        if folder is None:
            self.notify("no folder selected (tab to the folder list)", timeout=3)
            return
        change = RoleChange("folder", self.section, folder, self._folder_state(folder), None)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._edit(f"{self.role_name}: remove folder {folder}", change, None,
                           self.history.record)

        self.app.push_screen(ConfirmModal(
            escape(f"Remove folder {folder} from role '{self.role_name}'?")), confirmed)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if not allowed:
            return allowed
        if action == "undo":
            return self.history.next_undo() is not None or None
        if action == "redo":
            return self.history.next_redo() is not None or None
        if action == "remove_folder":
            return self.query_one(HouseTable).row_count > 0 or None
        return allowed

    def action_back(self) -> None:
        self.app.pop_screen()
