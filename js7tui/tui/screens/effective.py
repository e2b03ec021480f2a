"""An account's effective permissions (merged from all its roles) and "why can/can't it".

Type the account (and optionally a Controller and a folder) and press enter: the tree shows
``+`` where the account may, ``-`` where a denial stops it, blank where nothing grants it, each
with the role entry that decided; ``e`` or enter on a node explains it in words, with the folder
decision when a folder is given.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from js7tui import words
from js7tui.permissions import CONTROLLER, ROOT, EffectivePermissions, Explanation
from js7tui.permissions.names import ACCOUNTS_VIEW
from js7tui.tui.permission_marks import NodeMark
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.permission_tree import PermissionTree


def effective_mark(effective: EffectivePermissions | None, controller: str):
    def mark_of(name: str) -> NodeMark:
        if effective is None:
            return NodeMark(" ", None, False, "")
        why = effective.explain(name, controller)
        if why.granted:
            entry = why.deciding[0]
            return NodeMark("+", None, True, f"{entry.role}: +{entry.permission}")
        if why.deciding:
            entry = why.deciding[0]
            return NodeMark("-", None, False, f"{entry.role}: -{entry.permission}")
        return NodeMark(" ", None, False, "")
    return mark_of


class EffectivePermissionsScreen(SectionScreen):
    SECTION = "roles"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", "Back", id="effective.back", tooltip="Back to the roles"),
        Binding("e", "explain", "Explain", id="effective.explain",
                tooltip="Why the account can or cannot: the deciding role entries, the folder"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {"explain": ACCOUNTS_VIEW}

    def __init__(self, ctx: Any, account: str = "", **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.account = account
        self.controller = ""
        self.folder = ""
        self.effective: EffectivePermissions | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="effective-form"):
            yield Input(self.account, placeholder="account", id="effective-account")
            yield Input(placeholder="Controller ID (optional)", id="effective-controller")
            yield Input(placeholder="folder, e.g. /prod (optional)", id="effective-folder")
        yield Static("type an account and press enter", id="effective-title")
        yield PermissionTree(ROOT, effective_mark(None, ""), id="effective-tree")
        yield Static("", id="effective-detail", classes="detail")

    def on_mount(self) -> None:
        self.query_one("#effective-account", Input).focus()

    def reload(self) -> None:
        if self.account and self.ctx.session is not None:
            self.run_service(f"effective permissions of {self.account}",
                             self.ctx.console.permissions.effective, self.ctx.session,
                             self.account, then=self._show)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.account = self.query_one("#effective-account", Input).value.strip()
        controller = self.query_one("#effective-controller", Input).value.strip()
        self.folder = self.query_one("#effective-folder", Input).value.strip()
        if controller != self.controller:
            self.controller = controller
            self._replace_tree()
        self.reload()

    def _replace_tree(self) -> None:
        self.query_one(PermissionTree).show_root_name(
            CONTROLLER if self.controller else ROOT,
            effective_mark(self.effective, self.controller))

    def _show(self, effective: EffectivePermissions) -> None:
        self.effective = effective
        tree = self.query_one(PermissionTree)
        tree.relabel(effective_mark(effective, self.controller))
        roles = sorted({e.role for e in effective.entries})
        where = f" on Controller '{self.controller}'" if self.controller else ""
        self.query_one("#effective-title", Static).update(escape(
            f"{self.account}{where}: roles {', '.join(roles) or 'none'}  |  [+] may  "
            "[-] denied  [ ] not granted  |  e explains"))
        tree.focus()

    def on_tree_node_selected(self, event: PermissionTree.NodeSelected) -> None:
        event.stop()
        self.action_explain()

    def action_explain(self) -> None:
        name = self.query_one(PermissionTree).current
        if name is None or not self.account or self.ctx.session is None:
            return
        self.run_service("explain", self.ctx.console.permissions.explain, self.ctx.session,
                         name, account=self.account, controller=self.controller,
                         folder=self.folder or None, then=self._explained)

    def _explained(self, why: Explanation) -> None:
        # the words of 'js7tui permissions explain'
        verdict = words.verdict(why.allowed)
        where = f" on Controller '{why.controller}'" if why.controller else ""
        folder = f" in folder {why.folder}" if why.folder else ""
        lines = [f"{verdict}: {self.account}, {why.permission}{where}{folder}", why.reason]
        lines += [f"  deciding: {e.describe()}" for e in why.deciding]
        lines += [f"  overruled: {e.describe()}" for e in why.overruled]
        if why.folder_decision is not None:
            lines.append(why.folder_decision.reason)
        self.query_one("#effective-detail", Static).update(escape("\n".join(lines)))

    def action_back(self) -> None:
        self.app.pop_screen()
