"""VAULT, VAULT-JOC and VAULT-JOC-ACTIVE: a HashiCorp Vault (or OpenBao) auth method
authenticates (reference 3.4, "VAULT").

* VAULT: the token's policies map to roles of the service (``policy_roles``); a token without a
  mapped policy is refused, and revoked at once.
* VAULT-JOC: Vault authenticates; the account and its roles are kept in the console.
* VAULT-JOC-ACTIVE: as VAULT-JOC, and creating an account, setting its password and deleting it
  in the console does the same to the userpass user in Vault, with the service's application
  token (:class:`AccountSync`). The console keeps no password for these accounts (see
  :class:`js7tui.identity.types.Passwords`).

The session keeps the Vault token (sealed, see provider_sessions) and must confirm it regularly:
``valid_until`` is the earlier of the token's lease end and ``check_interval`` from now, so a
token revoked in Vault ends the console session at the next check; ``refresh`` renews the token
(renew-self), ``end`` revokes it (revoke-self) at logout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from js7tui.errors import ProviderRefused
from js7tui.identity.providers.base import (
    Authenticated,
    LoginRequest,
    Outcome,
    ProviderContext,
    ProviderRegistry,
    Rejected,
    ServiceRecord,
    Unreachable,
)
from js7tui.identity.providers.vault_api import (
    Endpoint,
    VaultClient,
    VaultRefused,
    VaultUnavailable,
    mount_path,
)
from js7tui.identity.providers.vault_settings import (
    VAULT_JOC_ACTIVE_SCHEMA,
    VAULT_JOC_SCHEMA,
    VAULT_SCHEMA,
)
from js7tui.identity.service_settings import SettingsSchema

REVOKED = "the Vault token was revoked or is invalid"



def _client(settings: dict[str, Any]) -> VaultClient:
    for key in ("check_interval", "connect_timeout", "request_timeout"):
        if settings[key] <= 0:
            raise VaultUnavailable(f"the setting {key} must be longer than 0 s")
    return VaultClient(Endpoint(settings["url"], settings.get("ca_file") or None,
                                float(settings["connect_timeout"]),
                                float(settings["request_timeout"])))


def _valid_until(now: datetime, lease_seconds: int, settings: dict[str, Any]) -> datetime:
    """The earlier of the token's end (none for a token without TTL) and the next check."""
    check = now + timedelta(seconds=settings["check_interval"])
    if lease_seconds > 0:
        return min(check, now + timedelta(seconds=lease_seconds))
    return check


def _policies(auth: dict[str, Any]) -> list[str]:
    found = [*(auth.get("policies") or ()), *(auth.get("identity_policies") or ())]
    return list(dict.fromkeys(str(p) for p in found))


class VaultProvider:
    """VAULT (``map_policies``) and VAULT-JOC."""

    def __init__(self, schema: SettingsSchema, *, map_policies: bool) -> None:
        self.schema = schema
        self.map_policies = map_policies

    # -- login ----------------------------------------------------------------------------
    def authenticate(self, service: ServiceRecord, request: LoginRequest,
                     context: ProviderContext) -> Outcome:
        if not request.password:
            return Rejected("no password given (Vault is never asked without one)")
        settings = context.settings(service, self.schema)
        try:
            with _client(settings) as vault:
                auth = vault.login(settings["auth_method_path"], request.account,
                                   request.password)
                outcome = self._outcome(service, request.account, auth, settings, context)
                if isinstance(outcome, Rejected):
                    _revoke_quietly(vault, auth["client_token"])
                return outcome
        except ValueError as exc:
            return Rejected(str(exc))
        except VaultUnavailable as exc:
            return Unreachable(str(exc))
        except VaultRefused as exc:
            path = settings["auth_method_path"]
            if exc.status == 400:
                return Rejected(f"bad credentials: Vault refused them ({exc.text})")
            if exc.status == 403:
                return Unreachable(f"Vault refused the login at auth/{path} ({exc.text}): is an "
                                   f"auth method enabled at '{path}'?")
            return Unreachable(f"Vault answered the login with {exc}")

    def _outcome(self, service: ServiceRecord, account: str, auth: dict[str, Any],
                 settings: dict[str, Any], context: ProviderContext) -> Outcome:
        policies = _policies(auth)
        roles: tuple[str, ...] | None = None
        if self.map_policies:
            mapping: dict[str, list[str]] = settings["policy_roles"] or {}
            roles = tuple(dict.fromkeys(r for p in policies for r in mapping.get(p, ())))
            if not roles:
                return Rejected(f"Vault authenticated '{account}', but none of the token's "
                                f"policies ({', '.join(policies) or 'none'}) is mapped to a "
                                f"role in policy_roles of '{service.name}'")
        now = context.clock.now()
        return Authenticated(
            account, roles=roles,
            message=f"authenticated by Vault (policies: {', '.join(policies) or 'none'})",
            state={"token": auth["client_token"], "account": account,
                   "renewable": bool(auth.get("renewable"))},
            valid_until=_valid_until(now, int(auth.get("lease_duration") or 0), settings))

    # -- the session's token --------------------------------------------------------------
    def refresh(self, service: ServiceRecord, state: dict[str, Any],
                context: ProviderContext) -> Outcome:
        """Renew the token (or, when it cannot be renewed, look it up) so that a token revoked
        or expired in Vault ends the session."""
        token = state.get("token")
        if not token:
            return Rejected("the session holds no Vault token")
        settings = context.settings(service, self.schema)
        try:
            with _client(settings) as vault:
                lease, renewable = self._renew(vault, token, bool(state.get("renewable")))
        except VaultRefused as exc:
            if exc.status in (401, 403):
                return Rejected(REVOKED)
            return Unreachable(f"Vault answered the token renewal with {exc}")
        except VaultUnavailable as exc:
            return Unreachable(str(exc))
        return Authenticated(str(state.get("account", "")),
                             message="Vault token renewed",
                             state={**state, "renewable": renewable},
                             valid_until=_valid_until(context.clock.now(), lease, settings))

    @staticmethod
    def _renew(vault: VaultClient, token: str, renewable: bool) -> tuple[int, bool]:
        """(seconds left, still renewable) after renewing, or looking up, the token."""
        if renewable:
            try:
                auth = vault.renew_self(token)
                return int(auth.get("lease_duration") or 0), bool(auth.get("renewable"))
            except VaultRefused as exc:
                if exc.status in (401, 403):
                    raise
                # 400: not renewable after all (e.g. at its max TTL); a lookup still tells
        data = vault.lookup_self(token)
        return int(data.get("ttl") or 0), bool(data.get("renewable"))

    def end(self, service: ServiceRecord, state: dict[str, Any],
            context: ProviderContext) -> None:
        """Revoke the token at logout; one already revoked or expired (403), or one Vault does
        not revoke (400: a batch token, which expires by itself) is fine. Other failures raise
        (the caller logs them)."""
        token = state.get("token")
        if not token:
            return
        settings = context.settings(service, self.schema)
        with _client(settings) as vault:
            try:
                vault.revoke_self(token)
            except VaultRefused as exc:
                if exc.status not in (400, 401, 403):
                    raise


def _revoke_quietly(vault: VaultClient, token: str) -> None:
    """A token the console will not use is revoked at once; failing that it expires."""
    with contextlib.suppress(VaultRefused, VaultUnavailable):
        vault.revoke_self(token)


class ActiveVaultProvider(VaultProvider):
    """VAULT-JOC-ACTIVE: a VAULT-JOC provider that also implements AccountSync for userpass."""

    def __init__(self) -> None:
        super().__init__(VAULT_JOC_ACTIVE_SCHEMA, map_policies=False)

    def _manage(self, service: ServiceRecord, context: ProviderContext, doing: str,
                action: Callable[[VaultClient, str, str, dict[str, Any]], None]) -> None:
        settings = context.settings(service, self.schema)
        token = settings.get("application_token")
        if not token:
            raise ProviderRefused(
                f"'{service.name}' has no application_token to {doing} in Vault; set it with "
                f"'js7tui identity-service set {service.name} --secret application_token'")
        try:
            mount = mount_path(settings["auth_method_path"])
            with _client(settings) as vault:
                action(vault, token, mount, settings)
        except ValueError as exc:
            raise ProviderRefused(str(exc)) from None
        except VaultUnavailable as exc:
            raise ProviderRefused(f"Vault cannot be reached to {doing} ({exc})") from None
        except VaultRefused as exc:
            if exc.status in (401, 403):
                raise ProviderRefused(
                    f"Vault refused to {doing}: permission denied; the application_token of "
                    f"'{service.name}' has expired or lacks create, read, update and delete on "
                    f"auth/{settings['auth_method_path']}/users/*") from None
            raise ProviderRefused(f"Vault refused to {doing}: {exc.text}") from None

    def create_account(self, service: ServiceRecord, account: str, password: str,
                       context: ProviderContext) -> None:
        def create(vault: VaultClient, token: str, mount: str, settings: dict[str, Any]) -> None:
            if vault.read_user(token, mount, account) is not None:
                raise ProviderRefused(
                    f"Vault already has a user '{account}' at auth/{mount}; the console does "
                    "not take over (and overwrite) an existing user: delete it in Vault first, "
                    "or use a VAULT-JOC service for users managed in Vault")
            vault.write_user(token, mount, account, password, list(settings["user_policies"]))
        self._manage(service, context, f"create the user '{account}'", create)

    def set_password(self, service: ServiceRecord, account: str, password: str,
                     context: ProviderContext) -> None:
        def change(vault: VaultClient, token: str, mount: str, settings: dict[str, Any]) -> None:
            if vault.read_user(token, mount, account) is None:
                # Deleted in Vault behind the console's back: setting a password recreates it.
                vault.write_user(token, mount, account, password,
                                 list(settings["user_policies"]))
            else:
                vault.set_user_password(token, mount, account, password)
        self._manage(service, context, f"set the password of '{account}'", change)

    def delete_account(self, service: ServiceRecord, account: str,
                       context: ProviderContext) -> None:
        def delete(vault: VaultClient, token: str, mount: str, settings: dict[str, Any]) -> None:
            vault.delete_user(token, mount, account)
        self._manage(service, context, f"delete the user '{account}'", delete)

    def rename_account(self, service: ServiceRecord, account: str, new_name: str,
                       context: ProviderContext) -> None:
        raise ProviderRefused(
            f"Vault cannot rename the userpass user '{account}' and the console does not know "
            f"its password: create '{new_name}' with a password and delete '{account}' instead")


def vault_provider() -> VaultProvider:
    return VaultProvider(VAULT_SCHEMA, map_policies=True)


def vault_joc_provider() -> VaultProvider:
    return VaultProvider(VAULT_JOC_SCHEMA, map_policies=False)


def register(registry: ProviderRegistry) -> None:
    """VAULT, VAULT-JOC and VAULT-JOC-ACTIVE with their settings."""
    registry.register("VAULT", vault_provider, VAULT_SCHEMA)
    registry.register("VAULT-JOC", vault_joc_provider, VAULT_JOC_SCHEMA)
    registry.register("VAULT-JOC-ACTIVE", ActiveVaultProvider, VAULT_JOC_ACTIVE_SCHEMA)
