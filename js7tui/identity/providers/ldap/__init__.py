"""LDAP and LDAP-JOC identity services. The schemas are importable without ``ldap3``; the
providers (and ldap3 with them) load at the first login through these factories."""

from __future__ import annotations

from js7tui.identity.providers.ldap.settings import LDAP_JOC_SCHEMA, LDAP_SCHEMA


def ldap_provider():  # -> LdapProvider, imported lazily
    from js7tui.identity.providers.ldap.provider import LdapProvider
    return LdapProvider(roles_from_directory=True)


def ldap_joc_provider():  # -> LdapProvider, imported lazily
    from js7tui.identity.providers.ldap.provider import LdapProvider
    return LdapProvider(roles_from_directory=False)


__all__ = ["LDAP_JOC_SCHEMA", "LDAP_SCHEMA", "ldap_joc_provider", "ldap_provider"]
