"""The LDAP and LDAP-JOC identity providers (reference 3.4).

* LDAP: the directory authenticates and the account's groups, through ``group_roles``, give
  its roles (roles of this service in the store). In no mapped group: no login.
* LDAP-JOC: the directory authenticates; the account must exist in this service in the
  console's store, which holds its roles (the chain checks that).

Outcomes carry a reason for the login history that tells the administrator what happened
(server down, certificate refused, system account refused, wrong credentials, no mapped
group); the person at the login form only ever sees the chain's neutral message. No password
appears in any reason or log line.
"""

from __future__ import annotations

from js7tui.identity.providers.base import (
    Authenticated,
    LoginRequest,
    Outcome,
    ProviderContext,
    Rejected,
    ServiceRecord,
    Unreachable,
)
from js7tui.identity.providers.ldap import directory
from js7tui.identity.providers.ldap.config import ConfigProblem, LdapConfig
from js7tui.identity.providers.ldap.groups import map_groups
from js7tui.identity.providers.ldap.settings import LDAP_JOC_SCHEMA, LDAP_SCHEMA
from js7tui.identity.providers.ldap.transport import TlsContexts


class LdapProvider:
    def __init__(self, *, roles_from_directory: bool) -> None:
        self.roles_from_directory = roles_from_directory
        self.tls_contexts = TlsContexts()

    def authenticate(self, service: ServiceRecord, request: LoginRequest,
                     context: ProviderContext) -> Outcome:
        if not request.password:
            return Rejected("no password was given (an LDAP bind without a password is an "
                            "anonymous bind and proves nothing)")
        schema = LDAP_SCHEMA if self.roles_from_directory else LDAP_JOC_SCHEMA
        try:
            config = LdapConfig.from_settings(context.settings(service, schema),
                                              with_groups=self.roles_from_directory)
            found = directory.login(config, request.account, request.password,
                                    want_groups=self.roles_from_directory,
                                    contexts=self.tls_contexts)
        except ConfigProblem as exc:
            return Unreachable(f"'{service.name}' cannot work as configured: {exc}")
        except directory.Broken as exc:
            return Unreachable(str(exc))
        except directory.NoServer as exc:
            return Unreachable(_no_server(exc))
        except directory.Refused as exc:
            return Rejected(str(exc))
        where = f"authenticated by {found.server} as '{found.user_dn}'"
        if found.server.transport == "PLAIN":
            where += " (PLAIN: the password crossed the network unencrypted)"
        if found.skipped:
            where += " (after " + "; ".join(str(f) for f in found.skipped) + ")"
        if not self.roles_from_directory:
            return Authenticated(request.account, message=where)
        return _with_roles(service, request, context, config, found, where)


def _with_roles(service: ServiceRecord, request: LoginRequest, context: ProviderContext,
                config: LdapConfig, found: directory.DirectoryLogin, where: str) -> Outcome:
    groups = found.groups or ()
    mapped = map_groups(groups, config.group_roles or {})
    listed = ", ".join(g.dn for g in groups) or "none"
    if not mapped.roles:
        return Rejected(f"{where}, but in no group mapped to a role (groups: {listed})")
    defined = {row[0] for row in context.conn.execute(
        "SELECT name FROM roles WHERE identity_service_id = ?", (service.id,))}
    roles = tuple(r for r in mapped.roles if r in defined)
    undefined = [r for r in mapped.roles if r not in defined]
    if not roles:
        return Rejected(f"{where}; its groups map to roles that '{service.name}' does not "
                        f"define ({', '.join(undefined)}): create them in this service")
    note = (f"; ignored roles not defined in '{service.name}': {', '.join(undefined)}"
            if undefined else "")
    return Authenticated(request.account, roles=roles,
                         message=f"{where}; groups {', '.join(mapped.matched)} -> roles "
                                 f"{', '.join(roles)}{note}")


def _no_server(exc: directory.NoServer) -> str:
    each = "; ".join(f"{f.server}: {f.reason}" for f in exc.failures)
    if exc.failures and all(f.certificate for f in exc.failures):
        return (f"no directory server could be used, its certificate was refused ({each}); "
                "set ca_file to the CA that issued it")
    return f"no directory server could be used ({each})"
