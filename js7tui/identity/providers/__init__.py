"""Identity providers, one module per service type, all behind one protocol.

Registration needs only each type's settings schema; a provider module (and the HTTP, JOSE or
LDAP library it needs) is imported when a service of that type is first used, so starting the
CLI or the console does not pay for libraries a home may never use.
"""

from __future__ import annotations

import importlib
from typing import Any

from js7tui.identity.providers.base import IdentityProvider, ProviderFactory, ProviderRegistry
from js7tui.identity.providers.certificate import CERTIFICATE_SCHEMA
from js7tui.identity.providers.fido_settings import FIDO_SCHEMA
from js7tui.identity.providers.joc import JocProvider
from js7tui.identity.providers.ldap import (
    LDAP_JOC_SCHEMA,
    LDAP_SCHEMA,
    ldap_joc_provider,
    ldap_provider,
)
from js7tui.identity.providers.oidc_settings import OIDC_JOC_SCHEMA, OIDC_SCHEMA
from js7tui.identity.providers.vault_settings import (
    VAULT_JOC_ACTIVE_SCHEMA,
    VAULT_JOC_SCHEMA,
    VAULT_SCHEMA,
)


def _lazy(module: str, factory: str, *args: Any, **kwargs: Any) -> ProviderFactory:
    def build() -> IdentityProvider:
        return getattr(importlib.import_module(module), factory)(*args, **kwargs)
    return build


def default_registry() -> ProviderRegistry:
    """The providers this build ships; KEYCLOAK registers here later."""
    oidc = "js7tui.identity.providers.oidc"
    vault = "js7tui.identity.providers.vault"
    registry = ProviderRegistry()
    registry.register("JOC", JocProvider)
    registry.register("OIDC", _lazy(oidc, "OidcProvider", OIDC_SCHEMA, roles_from_claims=True),
                      OIDC_SCHEMA)
    registry.register("OIDC-JOC", _lazy(oidc, "OidcProvider", OIDC_JOC_SCHEMA,
                                        roles_from_claims=False), OIDC_JOC_SCHEMA)
    registry.register("VAULT", _lazy(vault, "vault_provider"), VAULT_SCHEMA)
    registry.register("VAULT-JOC", _lazy(vault, "vault_joc_provider"), VAULT_JOC_SCHEMA)
    registry.register("VAULT-JOC-ACTIVE", _lazy(vault, "ActiveVaultProvider"),
                      VAULT_JOC_ACTIVE_SCHEMA)
    registry.register("LDAP", ldap_provider, LDAP_SCHEMA)
    registry.register("LDAP-JOC", ldap_joc_provider, LDAP_JOC_SCHEMA)
    registry.register("FIDO", _lazy("js7tui.identity.providers.fido", "FidoProvider"),
                      FIDO_SCHEMA)
    registry.register("CERTIFICATE", _lazy("js7tui.identity.providers.certificate",
                                           "CertificateProvider"), CERTIFICATE_SCHEMA)
    return registry


__all__ = ["ProviderRegistry", "default_registry"]
