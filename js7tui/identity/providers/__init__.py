"""Identity providers, one module per service type, all behind one protocol."""

from js7tui.identity.providers import oidc, vault
from js7tui.identity.providers.base import ProviderRegistry
from js7tui.identity.providers.joc import JocProvider
from js7tui.identity.providers.ldap import (
    LDAP_JOC_SCHEMA,
    LDAP_SCHEMA,
    ldap_joc_provider,
    ldap_provider,
)


def default_registry() -> ProviderRegistry:
    """The providers this build ships; later types (LDAP, OIDC, ...) register here."""
    registry = ProviderRegistry()
    registry.register("JOC", JocProvider)
    oidc.register(registry)
    vault.register(registry)
    registry.register("LDAP", ldap_provider, LDAP_SCHEMA)
    registry.register("LDAP-JOC", ldap_joc_provider, LDAP_JOC_SCHEMA)
    return registry


__all__ = ["ProviderRegistry", "default_registry"]
