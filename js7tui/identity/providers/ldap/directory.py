"""One login against the directory: find the person's entry, bind as it, read its groups;
servers tried in order until one can be used.

Who does the lookups: when a system account is configured it binds first and does every search
(user and groups) before the person's own bind, which then only proves the password; without
one, the user search runs anonymously and the groups are read as the person after its bind.
Either way one connection and at most two binds.

User input reaches the directory only escaped: ``escape_rdn`` for a DN built from the template,
``escape_filter_chars`` for every filter, substituted in one pass so that an escaped value is
never substituted again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ldap3 import BASE, NO_ATTRIBUTES, SUBTREE, Connection
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPException,
    LDAPInvalidCredentialsResult,
    LDAPNoSuchObjectResult,
    LDAPOperationResult,
    LDAPSizeLimitExceededResult,
)
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from js7tui.identity.providers.ldap.config import LdapConfig, ServerUrl
from js7tui.identity.providers.ldap.groups import Group
from js7tui.identity.providers.ldap.transport import (
    OpenServer,
    ServerUnavailable,
    TlsContexts,
    open_server,
)

MAX_NESTING = 8
_PLACEHOLDER = re.compile(r"%[su]")


class Refused(Exception):
    """The directory answered and the person may not log in (wrong password, no entry)."""


class Broken(Exception):
    """The directory answered but the service's configuration cannot work (system account
    refused, search base missing, filter invalid): an administrator must act."""


class NoServer(Exception):
    """No configured server could be used; one reason per server, in order."""

    def __init__(self, failures: list[ServerUnavailable]) -> None:
        super().__init__("; ".join(str(f) for f in failures))
        self.failures = failures


@dataclass(frozen=True)
class DirectoryLogin:
    server: ServerUrl
    user_dn: str
    groups: tuple[Group, ...] | None   # None when groups were not asked for
    skipped: tuple[ServerUnavailable, ...] = ()   # servers tried before, and why they failed


def login(config: LdapConfig, account: str, password: str, *, want_groups: bool,
          contexts: TlsContexts | None = None) -> DirectoryLogin:
    """Authenticate ``account``; raises Refused, Broken, NoServer or ConfigProblem."""
    context = (contexts or TlsContexts()).get(config)
    system = config.system_credentials()
    failures: list[ServerUnavailable] = []
    for server in config.servers:
        try:
            opened = open_server(server, config, context)
        except ServerUnavailable as exc:
            failures.append(exc)
            continue
        try:
            found = _Login(opened, config, account, want_groups).run(password, system)
            return DirectoryLogin(found.server, found.user_dn, found.groups, tuple(failures))
        except ServerUnavailable as exc:
            failures.append(exc)
        except (LDAPCommunicationError, OSError) as exc:
            failures.append(ServerUnavailable(server, f"stopped answering ({exc})"))
        finally:
            opened.close()
    raise NoServer(failures)


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace %s/%u in one pass (a substituted value is never scanned again)."""
    text = _PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), template)
    return text if text.startswith("(") else f"({text})"


def _result(exc: LDAPOperationResult) -> str:
    message = (exc.message or "").strip()
    return f"{exc.description}{f': {message}' if message else ''}"


def _values(entry: dict, attribute: str) -> list[str]:
    for name, values in (entry.get("raw_attributes") or {}).items():
        if name.lower() == attribute.lower():
            return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
                    for v in values]
    return []


class _Login:
    def __init__(self, opened: OpenServer, config: LdapConfig, account: str,
                 want_groups: bool) -> None:
        self.opened = opened
        self.conn: Connection = opened.connection
        self.config = config
        self.account = account
        self.want_groups = want_groups
        self.entry_groups: list[str] | None = None

    @property
    def _reads_group_attribute(self) -> bool:
        return self.want_groups and not self.config.group_search_filter

    def run(self, password: str, system: tuple[str, str] | None) -> DirectoryLogin:
        config = self.config
        if system:
            self._bind_system(*system)
        if config.searches_users:
            user_dn = self._search_user(anonymous=system is None,
                                        with_groups=system is not None)
        else:
            user_dn = (config.user_dn_template or "").replace("{0}", escape_rdn(self.account))
        groups = self._groups(user_dn) if self.want_groups and system else None
        self._bind_user(user_dn, password)
        if self.want_groups and groups is None:
            groups = self._groups(user_dn)
        return DirectoryLogin(self.opened.server, user_dn, groups)

    # -- binds ----------------------------------------------------------------------------
    def _bind_system(self, dn: str, password: str) -> None:
        try:
            self.opened.bind(dn, password)
        except LDAPInvalidCredentialsResult:
            raise Broken(f"{self.opened.server} refused the system account '{dn}' (invalid "
                         "credentials): the entry does not exist or its password is wrong; "
                         "check system_user_dn and system_password") from None
        except LDAPOperationResult as exc:
            raise Broken(f"{self.opened.server} refused the bind of the system account "
                         f"'{dn}': {_result(exc)}") from None

    def _bind_user(self, dn: str, password: str) -> None:
        try:
            self.opened.bind(dn, password)
        except LDAPInvalidCredentialsResult as exc:
            which = ("wrong password" if self.config.searches_users else
                     "wrong password, or no such entry: the directory does not say which")
            detail = (exc.message or "").strip()
            raise Refused(f"invalid credentials for '{dn}' ({which})"
                          + (f"; the directory says: {detail}" if detail else "")) from None
        except LDAPOperationResult as exc:
            raise Refused(f"{self.opened.server} refused the bind of '{dn}': "
                          f"{_result(exc)}") from None

    # -- searches -------------------------------------------------------------------------
    def _search(self, base: str, flt: str, scope: str, attributes: list[str], *,
                what: str, size_limit: int = 0, hint: str = "") -> list[dict]:
        try:
            self.conn.search(base, flt, scope, attributes=attributes, size_limit=size_limit)
        except LDAPSizeLimitExceededResult:
            raise
        except LDAPNoSuchObjectResult:
            if scope == BASE:
                return []
            raise Broken(f"the {what} base '{base}' does not exist on "
                         f"{self.opened.server}{hint}") from None
        except LDAPOperationResult as exc:
            raise Broken(f"{self.opened.server} refused the {what} search under '{base}' "
                         f"with {flt}: {_result(exc)}") from None
        except LDAPCommunicationError:
            raise
        except LDAPException as exc:   # a filter ldap3 cannot parse, a bad attribute name
            raise Broken(f"the {what} search {flt} cannot be sent: {exc}") from None
        return [r for r in self.conn.response or [] if r.get("type") == "searchResEntry"]

    def _search_user(self, *, anonymous: bool, with_groups: bool) -> str:
        config = self.config
        base = config.search_base or ""
        flt = _fill(config.user_search_filter or "", {"%s": escape_filter_chars(self.account)})
        attributes = ([config.group_attribute] if with_groups and self._reads_group_attribute
                      else [NO_ATTRIBUTES])
        hidden = (" (searched anonymously: if the directory hides entries from anonymous "
                  "clients, set system_user_dn)" if anonymous else "")
        try:
            entries = self._search(base, flt, SUBTREE, attributes, what="user", size_limit=2,
                                   hint=" or is hidden from anonymous clients (then set "
                                   "system_user_dn)" if anonymous
                                   else "")
        except LDAPSizeLimitExceededResult:
            entries = [{}, {}]
        if len(entries) > 1:
            raise Refused(f"more than one entry matches {flt} under '{base}'; the filter must "
                          "find exactly one entry per login name")
        if not entries:
            raise Refused(f"no entry matches {flt} under '{base}'{hidden}")
        if attributes != [NO_ATTRIBUTES]:
            self.entry_groups = _values(entries[0], config.group_attribute)
        return str(entries[0]["dn"])

    def _groups(self, user_dn: str) -> tuple[Group, ...]:
        config = self.config
        if config.group_search_filter:
            flt = _fill(config.group_search_filter, {"%s": escape_filter_chars(user_dn),
                                                     "%u": escape_filter_chars(self.account)})
            dns = [str(e["dn"]) for e in self._search(
                config.groups_base or "", flt, SUBTREE, [NO_ATTRIBUTES], what="group")]
        elif self.entry_groups is not None:
            dns = self.entry_groups
        else:
            entries = self._search(user_dn, "(objectClass=*)", BASE, [config.group_attribute],
                                   what="user entry")
            dns = _values(entries[0], config.group_attribute) if entries else []
        groups = {g.key or g.dn: g for g in (Group(dn) for dn in dns)}
        if config.nested_groups:
            self._add_parents(groups)
        return tuple(groups.values())

    def _add_parents(self, groups: dict[object, Group]) -> None:
        """Groups whose ``member`` is one of ours, level by level (cycles stop at seen ones)."""
        frontier = list(groups.values())
        for _ in range(MAX_NESTING):
            if not frontier:
                return
            flt = "(|" + "".join(f"(member={escape_filter_chars(g.dn)})"
                                 for g in frontier) + ")"
            found = [Group(str(e["dn"])) for e in self._search(
                self.config.groups_base or "", flt, SUBTREE, [NO_ATTRIBUTES],
                what="nested group")]
            frontier = [g for g in found if (g.key or g.dn) not in groups]
            groups.update({g.key or g.dn: g for g in frontier})
