"""Identity providers, one module per service type, all behind one protocol."""

from js7tui.identity.providers import oidc, vault
from js7tui.identity.providers.base import ProviderRegistry
from js7tui.identity.providers.joc import JocProvider


def default_registry() -> ProviderRegistry:
    """The providers this build ships; later types (LDAP, OIDC, ...) register here."""
    registry = ProviderRegistry()
    registry.register("JOC", JocProvider)
    oidc.register(registry)
    vault.register(registry)
    return registry


__all__ = ["ProviderRegistry", "default_registry"]
