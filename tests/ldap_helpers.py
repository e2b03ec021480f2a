"""What the LDAP tests share: a service configured against the session's slapd, a login
attempt that returns the public message and the login history's details."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from js7tui.console import Console
from js7tui.identity.chain import LoginFailed, LoginResult
from js7tui.identity.providers.base import LoginRequest
from js7tui.identity.sessions import Session
from tests.ldap_server import ADMINS, OPERATORS, PEOPLE, Slapd

ROLE_MAP = {ADMINS: ["administrator"], OPERATORS: ["it_operator"]}
# What each console role of an LDAP service grants in these tests.
ROLE_GRANTS = {"administrator": "sos:products:joc:administration",
               "it_operator": "sos:products:controller:orders", "business_user": None}


@dataclass
class Attempt:
    """One login: the result (or the public failure message) and what the history recorded."""

    result: LoginResult | None
    public: str
    history_message: str
    details: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def session(self) -> Session:
        assert self.result is not None and self.result.session is not None, self.public
        return self.result.session


class Ldap:
    def __init__(self, server: Slapd, console: Console, root: Session) -> None:
        self.server = server
        self.console = console
        self.root = root

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """STARTTLS to the plain port, our CA, DN by template, groups from memberOf."""
        base: dict[str, Any] = {
            "server_urls": [self.server.ldap_url], "protocol": "STARTTLS",
            "ca_file": str(self.server.ca_file),
            "user_dn_template": f"uid={{0}},{PEOPLE}", "group_roles": ROLE_MAP,
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def service(self, name: str = "DIR", kind: str = "LDAP", *, first: bool = True,
                required: bool = False, roles: tuple[str, ...] = ("administrator", "it_operator"),
                **overrides: Any) -> str:
        settings = self.settings(**overrides)
        if kind == "LDAP-JOC":
            for key in ("group_roles", "group_attribute", "group_search_base",
                        "group_search_filter", "nested_groups"):
                settings.pop(key, None)
        admin = self.console.identity_services
        admin.create(self.root, name, kind, required=required, settings=settings)
        for role in roles:
            self.console.roles.create(self.root, role, service=name)
            if ROLE_GRANTS.get(role):
                self.console.roles.set_permission(self.root, role, ROLE_GRANTS[role],
                                                  excluded=False, service=name)
        if first:
            admin.reorder(self.root, [name])
        return name

    def reconfigure(self, name: str = "DIR", **changes: Any) -> None:
        self.console.identity_services.set_settings(self.root, name, changes)

    def login(self, account: str, password: str, source: str = "ldap-test") -> Attempt:
        try:
            result = self.console.login.login(LoginRequest(account, password, source))
            public = result.message
        except LoginFailed as failed:
            result, public = None, str(failed)
        entry = self.console.sessions.login_history(self.root, limit=1)[0]
        assert entry.account == account.strip()
        return Attempt(result, public, entry.message, dict(entry.details))

    def history_text(self) -> str:
        return json.dumps([[a.message, list(a.details)] for a in
                           self.console.sessions.login_history(self.root, limit=500)])
