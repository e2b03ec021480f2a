"""Section 3: the accounts of one identity service (tab cycles the services that keep
accounts in the store).

Keys: n new, e/enter edit (e-mail and roles from a checklist), c copy, R rename, d delete,
p reset to the initial password, f force a password change, x enable/disable, b block/unblock
(a reason is asked).
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from js7tui.identity.accounts import AccountView
from js7tui.identity.providers.base import ServiceRecord
from js7tui.identity.types import SERVICE_TYPES, RolesFrom
from js7tui.permissions.names import ACCOUNTS_MANAGE
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import ConfirmModal, Field, FormModal, TypedConfirmModal

CHANGES = ("new", "edit", "copy", "rename", "delete", "reset_password", "force_change",
           "toggle_disabled", "toggle_blocked")


def keeps_accounts(record: ServiceRecord) -> bool:
    kind = SERVICE_TYPES.get(record.type)
    return kind is None or kind.roles_from is RolesFrom.STORE


class AccountsScreen(SectionScreen):
    SECTION = "accounts"
    BINDINGS = [
        Binding("s", "next_service", "Service", id="accounts.service",
                tooltip="Show the accounts of the next identity service"),
        Binding("n", "new", "New", id="accounts.new", tooltip="Create an account"),
        Binding("e", "edit", "Edit", id="accounts.edit",
                tooltip="Change the e-mail address and the roles"),
        Binding("c", "copy", "Copy", show=False, id="accounts.copy",
                tooltip="New account with the roles of this one"),
        Binding("R", "rename", "Rename", id="accounts.rename", key_display="R",
                tooltip="Rename the account (its sessions end)"),
        Binding("d", "delete", "Delete", id="accounts.delete", tooltip="Delete the account"),
        Binding("p", "reset_password", "Reset pw", id="accounts.reset",
                tooltip="Reset to the initial password (forces a change at the next login)"),
        Binding("f", "force_change", "Force change", show=False, id="accounts.force",
                tooltip="Force a password change at the next login"),
        Binding("x", "toggle_disabled", "Dis/enable", id="accounts.disable",
                tooltip="Disable (its sessions end) or enable the account"),
        Binding("b", "toggle_blocked", "Block", id="accounts.block",
                tooltip="Block the account name in every service, or unblock it"),
        Binding("w", "effective", "Why", id="accounts.effective",
                tooltip="The account's effective permissions: why can or can't it"),
    ]
    ACTION_PERMISSIONS = dict.fromkeys(CHANGES, ACCOUNTS_MANAGE)
    MUTATING = frozenset(CHANGES)
    HELP = ("Accounts of one identity service. **s** next service, **n** new, **e** edit "
            "roles, **x** disable, **b** block, **p** reset password.")

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.services: list[str] = []
        self.service: str | None = None
        self.accounts: dict[str, AccountView] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="accounts-service")
        yield HouseTable(("Account", "Roles", "State", "E-mail"), id="accounts-table",
                         empty="no accounts")

    def on_mount(self) -> None:
        self.query_one(HouseTable).focus()

    @property
    def table(self) -> HouseTable:
        return self.query_one("#accounts-table", HouseTable)

    def reload(self, then_select: str | None = None) -> None:
        session = self.ctx.session
        if session is None:
            return
        console = self.ctx.console

        def read() -> tuple[list[str], str | None, list[AccountView]]:
            services = [r.name for r in console.identity_services.list(session)
                        if keeps_accounts(r)]
            service = self.service if self.service in services else None
            if service is None:
                mine = [s for s in session.services if s in services]
                service = mine[0] if mine else (services[0] if services else None)
            accounts = console.accounts.list(session, service) if service else []
            return services, service, accounts

        self.run_service("accounts", read, then=lambda r: self._loaded(*r, then_select))

    def _loaded(self, services: list[str], service: str | None, accounts: list[AccountView],
                select: str | None) -> None:
        self.services, self.service = services, service
        self.accounts = {a.name: a for a in accounts}
        others = len(services) - 1
        more = f"   ([b]s[/b]: {others} more)" if others > 0 else ""
        self.query_one("#accounts-service", Static).update(
            f" identity service [b]{escape(service or '-')}[/b]{more}")
        self.table.set_rows(
            Row(a.name, (a.name, ", ".join(a.roles) or "-", a.state, a.email or "-"))
            for a in accounts)
        if select and select in self.table.visible_keys:
            self.table.move_cursor(row=self.table.visible_keys.index(select))

    @property
    def current(self) -> AccountView | None:
        key = self.table.current_key
        return self.accounts.get(key) if key else None

    @on(HouseTable.Opened)
    def _opened(self) -> None:
        if self.check_action("edit", ()):
            self.action_edit()

    def _after(self, name: str | None, done: str) -> Any:
        def then(_: object) -> None:
            self.show_done(done)
            self.reload(then_select=name)
        return then

    def _roles(self, then: Any) -> None:
        session = self.ctx.session
        self.run_service("roles", self.ctx.console.roles.list, session, self.service,
                         then=lambda roles: then([r.name for r in roles]))

    # -- actions --------------------------------------------------------------------------
    def action_next_service(self) -> None:
        if len(self.services) > 1 and self.service in self.services:
            index = self.services.index(self.service)
            self.service = self.services[(index + 1) % len(self.services)]
            self.reload()

    def action_new(self) -> None:
        self._roles(self._new_form)

    def _new_form(self, roles: list[str]) -> None:
        service = self.service
        fields = [Field("name", "Account", required=True),
                  Field("email", "E-mail"),
                  Field("password", "Password", kind="password",
                        placeholder="empty: initial, changed at 1st login"),
                  Field("roles", "Roles", kind="multi", choices=roles)]

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            name = values["name"].strip()
            self.change(f"create account '{name}' in '{service}'",
                        self.ctx.console.accounts.create, name, service=service,
                        password=values["password"] or None, roles=values["roles"],
                        email=values["email"].strip() or None,
                        then=self._after(name, f"created {name}"))
        self.app.push_screen(FormModal(f"New account in {service}", fields), done)

    def action_edit(self) -> None:
        account = self.current
        if account is not None:
            self._roles(lambda roles: self._edit_form(account, roles))

    def _edit_form(self, account: AccountView, roles: list[str]) -> None:
        service = self.service
        fields = [Field("email", "E-mail", value=account.email or ""),
                  Field("roles", "Roles", kind="multi", choices=roles, value=account.roles)]

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            console = self.ctx.console
            email = values["email"].strip() or None
            new_roles = [r for r in roles if r in values["roles"]]

            changes: dict[str, Any] = {}
            if email != account.email:
                changes["email"] = email
            if tuple(new_roles) != tuple(r for r in roles if r in account.roles):
                changes["roles"] = new_roles
            if not changes:
                self.show_done(f"{account.name}: nothing changed")
                return
            self.change(f"change account '{account.name}'", console.accounts.update,
                        account.name, service=service, **changes,
                        then=self._after(account.name, f"saved {account.name}"))
        self.app.push_screen(FormModal(f"Account {account.name}", fields), done)

    def action_effective(self) -> None:
        from js7tui.tui.screens.effective import EffectivePermissionsScreen
        account = self.current
        self.app.push_screen(EffectivePermissionsScreen(
            self.ctx, account=account.name if account is not None else ""))

    def action_copy(self) -> None:
        account = self.current
        if account is None:
            return

        def copy(name: str) -> None:
            self.change(f"copy account '{account.name}' to '{name}'",
                        self.ctx.console.accounts.copy, account.name, name,
                        service=self.service, then=self._after(name, f"created {name}"))
        self.ask_name(f"Copy {account.name}", "New account", copy,
                      note="The new account gets the same roles and the initial password.")

    def action_rename(self) -> None:
        account = self.current
        if account is None:
            return

        def rename(new: str) -> None:
            self.change(f"rename account '{account.name}' to '{new}'",
                        self.ctx.console.accounts.rename, account.name, new,
                        service=self.service, then=self._after(new, f"renamed to {new}"))
        self.ask_name(f"Rename {account.name}", "New name", rename, value=account.name)

    def action_delete(self) -> None:
        account = self.current
        if account is None:
            return

        def done(ok: bool | None) -> None:
            if ok:
                self.change(f"delete account '{account.name}'",
                            self.ctx.console.accounts.delete, [account.name],
                            service=self.service,
                            then=self._after(None, f"deleted {account.name}"))
        self.app.push_screen(TypedConfirmModal(
            f"Delete the account '{account.name}' of '{self.service}'? Its sessions end.",
            account.name, title="Delete account"), done)

    def _confirmed(self, question: str, what: str, fn: Any, done_text: str) -> None:
        account = self.current
        if account is None:
            return

        def done(ok: bool | None) -> None:
            if ok:
                self.change(what, fn, account.name, service=self.service,
                            then=self._after(account.name, done_text))
        self.app.push_screen(ConfirmModal(question), done)

    def action_reset_password(self) -> None:
        account = self.current
        if account is not None:
            self._confirmed(f"Reset the password of '{account.name}' to the initial password? "
                            "A change is forced at the next login.",
                            f"reset the password of '{account.name}'",
                            self.ctx.console.accounts.reset_password,
                            f"password of {account.name} reset")

    def action_force_change(self) -> None:
        account = self.current
        if account is not None:
            self._confirmed(f"Force '{account.name}' to change the password at the next login?",
                            f"force a password change for '{account.name}'",
                            self.ctx.console.accounts.force_password_change,
                            f"{account.name} must change the password")

    def action_toggle_disabled(self) -> None:
        account = self.current
        if account is None:
            return
        word = "enable" if account.disabled else "disable"
        note = "" if account.disabled else " Its sessions end."

        def done(ok: bool | None) -> None:
            if ok:
                self.change(f"{word} account '{account.name}'",
                            self.ctx.console.accounts.set_disabled, account.name,
                            not account.disabled, service=self.service,
                            then=self._after(account.name, f"{account.name}: {word}d"))
        self.app.push_screen(ConfirmModal(f"{word.capitalize()} '{account.name}'?{note}"), done)

    def action_toggle_blocked(self) -> None:
        account = self.current
        if account is None:
            return
        if account.blocked:
            def done(ok: bool | None) -> None:
                if ok:
                    self.change(f"unblock '{account.name}'", self.ctx.console.accounts.unblock,
                                account.name,
                                then=self._after(account.name, f"{account.name} unblocked"))
            self.app.push_screen(ConfirmModal(
                f"Unblock '{account.name}'? (blocked: {account.block_comment})"), done)
            return

        def reason(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            self.change(f"block '{account.name}'", self.ctx.console.accounts.block,
                        account.name, values["reason"].strip(),
                        then=self._after(account.name, f"{account.name} blocked"))
        self.app.push_screen(FormModal(
            f"Block {account.name}", [Field("reason", "Reason", required=True)],
            note="Blocks the name in every identity service and ends its sessions."), reason)
