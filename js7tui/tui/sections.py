"""The console's sections, declared once: the digit keys, the header tabs and the command
palette all come from this list.

Numbering (documented in the README): the estate first, then who may do what.

====  ==================  ==========================================  ======================
key   section             what                                        needs (permission)
====  ==================  ==========================================  ======================
1     Dashboard           Controllers, Agents, certificates, alerts   a session
2     Controllers         Controllers and their Agents, diagnosis     admin...:controllers:view
3     Inventory           folders, objects, deploy, history, keys     inventory:view
4     Orders              orders on a Controller, job logs            controller:orders:view
5     Certificates        the CA, issued certificates, bundles, CRL   admin...:certificates:view
6     Identity services   order, required/disabled, settings          accounts:view
7     Accounts            per identity service, roles, state          accounts:view
8     Roles               roles and the permission tree               accounts:view
9     Audit log           every change, verify the chain, export      auditlog:view
0     Sessions            live sessions, cancel                       accounts:view
-     Settings            global identity and audit settings          settings:view
-     Approvals           four-eyes requests for me and mine          a session
====  ==================  ==========================================  ======================

Settings has no digit: it is reached from the palette and with ``s`` on the identity services.
Approvals has none either (the palette; the header counts what waits) and no tab of its own.
A screen is named as ``"module:attribute"`` and imported when the section is first opened, so
the login screen paints without importing every screen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from js7tui.permissions.names import (
    ACCOUNTS_VIEW,
    AUDITLOG_VIEW,
    CERTIFICATES_VIEW,
    CONTROLLERS_VIEW,
    INVENTORY_VIEW,
    ORDERS_VIEW,
    SETTINGS_VIEW,
)

if TYPE_CHECKING:
    from textual.screen import Screen

    from js7tui.tui.context import TuiContext


@dataclass(frozen=True)
class Section:
    mode: str               # the Textual mode name
    key: str                # the digit that switches to it ('' for none)
    title: str
    tab: str                # short title for the header tabs (80 columns)
    screen: str             # "module:attribute", a callable (ctx) -> Screen
    permission: str | None  # needed to open the section; None: any session
    description: str
    in_tabs: bool = True    # shown among the header's tabs (else only while it is open)

    def factory(self) -> Callable[[TuiContext], Screen]:
        module, _, attribute = self.screen.partition(":")
        return getattr(importlib.import_module(module), attribute)


SECTIONS: tuple[Section, ...] = (
    Section("dashboard", "1", "Dashboard", "Dashboard",
            "js7tui.tui.screens.dashboard:DashboardScreen",
            None, "Controllers, Agents, expiring certificates, failed logins, latest changes"),
    Section("controllers", "2", "Controllers and Agents", "Controllers",
            "js7tui.tui.screens.controllers:ControllersScreen",
            CONTROLLERS_VIEW, "Register Controllers, test connections, their Agents"),
    Section("inventory", "3", "Inventory and deployments", "Inventory",
            "js7tui.tui.screens.inventory:InventoryScreen",
            INVENTORY_VIEW, "Folders, workflows, job resources; deploy, revoke, history"),
    Section("orders", "4", "Orders and job logs", "Orders",
            "js7tui.tui.screens.orders:OrdersScreen",
            ORDERS_VIEW, "Add, watch and cancel orders; read job output"),
    Section("certificates", "5", "Certificates", "Certs",
            "js7tui.tui.screens.certificates:CertificatesScreen",
            CERTIFICATES_VIEW, "The CA, issued certificates, bundles, revocation, CRL"),
    Section("services", "6", "Identity services", "Services",
            "js7tui.tui.screens.services:ServicesScreen",
            ACCOUNTS_VIEW, "Login order, required/optional, disabled, per-type settings"),
    Section("accounts", "7", "Accounts", "Accounts", "js7tui.tui.screens.accounts:AccountsScreen",
            ACCOUNTS_VIEW, "Accounts per identity service: roles, passwords, block, disable"),
    Section("roles", "8", "Roles", "Roles", "js7tui.tui.screens.roles:RolesScreen",
            ACCOUNTS_VIEW, "Roles, their permission tree and folders"),
    Section("audit", "9", "Audit log", "Audit", "js7tui.tui.screens.audit_log:AuditLogScreen",
            AUDITLOG_VIEW, "Every change and refusal; verify the hash chain; export"),
    Section("sessions", "0", "Sessions", "Sessions", "js7tui.tui.screens.sessions:SessionsScreen",
            ACCOUNTS_VIEW, "Live console sessions; cancel one"),
    Section("settings", "", "Settings", "Settings", "js7tui.tui.screens.settings:SettingsScreen",
            SETTINGS_VIEW, "Idle timeout, initial password, minimum length, audit comments"),
    Section("approvals", "", "Approvals", "Approvals",
            "js7tui.tui.screens.approvals:ApprovalsScreen", None,
            "Four-eyes requests for me and mine: approve, reject, withdraw, execute",
            in_tabs=False),
)

BY_MODE = {section.mode: section for section in SECTIONS}
BY_KEY = {section.key: section for section in SECTIONS if section.key}
