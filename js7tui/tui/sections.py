"""The console's sections, declared once: the digit keys, the header tabs and the command
palette all come from this list.

Numbering (documented in the README):

====  ==================  ==========================================  =====================
key   section             what                                        needs
====  ==================  ==========================================  =====================
1     Dashboard           overview (Controllers come with issue 7)    a session
2     Identity services   order, required/disabled, settings          accounts:view
3     Accounts            per identity service, roles, state          accounts:view
4     Roles               roles and the permission tree               accounts:view
5     Audit log           every change, verify the chain, export      auditlog:view
6     Sessions            live sessions, cancel                       accounts:view
7     Settings            global identity and audit settings          settings:view
====  ==================  ==========================================  =====================

8, 9 and 0 are left for the sections of later releases (certificates, Controllers,
deployment). A screen is named as ``"module:attribute"`` and imported when the section is
first opened, so the login screen paints without importing every screen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from js7tui.permissions.names import ACCOUNTS_VIEW, AUDITLOG_VIEW, SETTINGS_VIEW

if TYPE_CHECKING:
    from textual.screen import Screen

    from js7tui.tui.context import TuiContext


@dataclass(frozen=True)
class Section:
    mode: str               # the Textual mode name
    key: str                # the digit that switches to it
    title: str
    tab: str                # short title for the header tabs (80 columns)
    screen: str             # "module:attribute", a callable (ctx) -> Screen
    permission: str | None  # needed to open the section; None: any session
    description: str

    def factory(self) -> Callable[[TuiContext], Screen]:
        module, _, attribute = self.screen.partition(":")
        return getattr(importlib.import_module(module), attribute)


SECTIONS: tuple[Section, ...] = (
    Section("dashboard", "1", "Dashboard", "Dashboard",
            "js7tui.tui.screens.dashboard:DashboardScreen",
            None, "Who is logged in, security level, where to go next"),
    Section("services", "2", "Identity services", "Services",
            "js7tui.tui.screens.services:ServicesScreen",
            ACCOUNTS_VIEW, "Login order, required/optional, disabled, per-type settings"),
    Section("accounts", "3", "Accounts", "Accounts", "js7tui.tui.screens.accounts:AccountsScreen",
            ACCOUNTS_VIEW, "Accounts per identity service: roles, passwords, block, disable"),
    Section("roles", "4", "Roles", "Roles", "js7tui.tui.screens.roles:RolesScreen",
            ACCOUNTS_VIEW, "Roles, their permission tree and folders"),
    Section("audit", "5", "Audit log", "Audit", "js7tui.tui.screens.audit_log:AuditLogScreen",
            AUDITLOG_VIEW, "Every change and refusal; verify the hash chain; export"),
    Section("sessions", "6", "Sessions", "Sessions", "js7tui.tui.screens.sessions:SessionsScreen",
            ACCOUNTS_VIEW, "Live console sessions; cancel one"),
    Section("settings", "7", "Settings", "Settings", "js7tui.tui.screens.settings:SettingsScreen",
            SETTINGS_VIEW, "Idle timeout, initial password, minimum length, audit comments"),
)

BY_MODE = {section.mode: section for section in SECTIONS}
BY_KEY = {section.key: section for section in SECTIONS}
