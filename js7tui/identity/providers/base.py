"""The protocol every identity provider implements, and the outcomes it may answer.

Providers only *authenticate*: they never decide permissions. The chain
(:mod:`js7tui.identity.chain`) combines their outcomes and the store supplies roles. Each
provider type registers a factory in a :class:`ProviderRegistry`; LDAP, OIDC, CERTIFICATE, FIDO
and Vault plug in there without the chain changing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from js7tui.clock import Clock
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.service_settings import NO_SETTINGS, SettingsSchema
from js7tui.secrets import SecretBox


@dataclass(frozen=True)
class LoginRequest:
    account: str
    password: str | None = None
    source: str = "local"
    # Evidence for a second factor (certificate, FIDO assertion...) when the client repeats the
    # login after a SecondFactorNeeded answer.
    second_factor: dict[str, Any] | None = None
    # Extra material for interactive providers (device-flow state, OIDC tokens...).
    extra: dict[str, Any] = field(default_factory=dict)
    # The identity service chosen at the login (JS7's X-IDENTITY-SERVICE): only that service is
    # asked (see LoginChain.login). With a service chosen the account may be empty: the
    # provider then names it (the claim of an OIDC token).
    service: str | None = None


@dataclass(frozen=True)
class ServiceRecord:
    id: int
    name: str
    type: str
    ordering: int
    required: bool
    disabled: bool
    auth_scheme: str
    second_factor: bool
    second_factor_service: str | None
    settings: dict[str, Any]


@dataclass(frozen=True)
class Authenticated:
    account: str
    roles: tuple[str, ...] | None = None   # None: roles come from the store
    message: str = "authenticated"
    # What an external provider needs to keep the session alive or end it (OIDC refresh
    # token, Vault token ...). Kept with the session, sealed; never logged.
    state: dict[str, Any] | None = None
    # The provider's token ends then: the session ends too unless the provider refreshes it.
    valid_until: datetime | None = None


@dataclass(frozen=True)
class Rejected:
    """Credentials wrong, account unknown, disabled at the provider...; ``reason`` is for the
    login history (administrators); the person at the login form sees a neutral message."""

    reason: str
    # What the person at the login may be told instead of the neutral "wrong account name or
    # password", for refusals that are not about credentials (a device code that expired, a
    # login denied at the provider). A rejection with a public text also ends the login: the
    # person was interacting with this service, so no other service is tried.
    public: str | None = None


@dataclass(frozen=True)
class Unreachable:
    reason: str


# InteractionNeeded.prompt["type"] of a device-authorization (RFC 8628) login, for login forms.
DEVICE_CODE_PROMPT = "device_code"


@dataclass(frozen=True)
class InteractionNeeded:
    """The provider needs the person to act (device-flow code, FIDO touch) and to retry."""

    prompt: dict[str, Any]
    message: str = "interaction needed"


Outcome = Authenticated | Rejected | Unreachable | InteractionNeeded


@dataclass(frozen=True)
class ProviderContext:
    conn: sqlite3.Connection
    hasher: PasswordHasher
    clock: Clock
    secrets: SecretBox = field(default_factory=SecretBox)

    def settings(self, service: ServiceRecord, schema: SettingsSchema) -> dict[str, Any]:
        """The service's settings with defaults applied and secrets opened, for this call
        only; never store or log the result."""
        return schema.resolve(service.settings, self.secrets)


class IdentityProvider(Protocol):
    def authenticate(
        self, service: ServiceRecord, request: LoginRequest, context: ProviderContext
    ) -> Outcome: ...


class SessionProvider(Protocol):
    """Optional: a provider whose sessions depend on a token it issued (OIDC, Vault).

    ``refresh`` is called, outside any store transaction, when a session is used within
    :data:`REFRESH_MARGIN` of its ``valid_until``; it answers a new Authenticated (new state and
    validity), Rejected (the session ends now) or Unreachable (keep going until the old token
    expires). ``end`` revokes the token at logout or cancellation; its failure is logged, not
    raised: the console's session is gone either way."""

    def refresh(self, service: ServiceRecord, state: dict[str, Any],
                context: ProviderContext) -> Outcome: ...

    def end(self, service: ServiceRecord, state: dict[str, Any],
            context: ProviderContext) -> None: ...


@runtime_checkable
class AccountSync(Protocol):
    """Optional: a provider that keeps its own user accounts in step with the console's store
    (VAULT-JOC-ACTIVE: userpass users in Vault).

    :class:`js7tui.identity.accounts.AccountService` calls these inside the store transaction
    of the account operation, after the permission check and the store's own checks and writes,
    as the last step before the commit. A method refuses by raising
    :class:`js7tui.errors.ProviderRefused` with a reason an administrator understands; the
    operation then rolls back, so the store and the provider stay alike. ``password`` is the
    clear password the administrator (or the account itself) chose; it is passed on, never kept.
    """

    def create_account(self, service: ServiceRecord, account: str, password: str,
                       context: ProviderContext) -> None: ...

    def set_password(self, service: ServiceRecord, account: str, password: str,
                     context: ProviderContext) -> None: ...

    def delete_account(self, service: ServiceRecord, account: str,
                       context: ProviderContext) -> None: ...

    def rename_account(self, service: ServiceRecord, account: str, new_name: str,
                       context: ProviderContext) -> None: ...


class LoginMethods(Protocol):
    """Optional: how a service takes logins, so a login form knows what to ask before it asks
    (``"password"``; ``"device"`` for a code confirmed elsewhere). Providers without it take
    passwords."""

    def login_methods(self, service: ServiceRecord, context: ProviderContext) -> tuple[str, ...]:
        ...


PASSWORD = "password"
DEVICE = "device"

ProviderFactory = Callable[[], IdentityProvider]


class ProviderRegistry:
    """Service type name -> provider. Types without a provider cannot be created or used."""

    def __init__(self) -> None:
        self._factories: dict[str, ProviderFactory] = {}
        self._instances: dict[str, IdentityProvider] = {}
        self._schemas: dict[str, SettingsSchema] = {}

    def register(self, type_name: str, factory: ProviderFactory,
                 schema: SettingsSchema = NO_SETTINGS) -> None:
        """Make a type usable; ``schema`` declares its settings (see service_settings)."""
        self._factories[type_name] = factory
        self._schemas[type_name] = schema
        self._instances.pop(type_name, None)

    def schema(self, type_name: str) -> SettingsSchema:
        return self._schemas.get(type_name, NO_SETTINGS)

    def available(self, type_name: str) -> bool:
        return type_name in self._factories

    def types(self) -> list[str]:
        return sorted(self._factories)

    def get(self, type_name: str) -> IdentityProvider | None:
        if type_name not in self._factories:
            return None
        if type_name not in self._instances:
            self._instances[type_name] = self._factories[type_name]()
        return self._instances[type_name]
