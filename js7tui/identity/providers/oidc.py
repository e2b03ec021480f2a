"""OIDC and OIDC-JOC identity services for a console without a browser.

A terminal cannot receive an authorization-code redirect, so the console logs in with the
OAuth 2.0 Device Authorization Grant (RFC 8628), and - only where an administrator enables it
for a provider without a device grant - the resource-owner password grant.

Device flow through the login chain:

1. A login without a password (or naming this service) starts a device authorization and
   answers :class:`InteractionNeeded` with the verification URL, the user code, the polling
   interval, when the code expires, and an opaque ``device_handle``.
2. The login is repeated with ``extra={"device_handle": ...}``. Each repetition polls the token
   endpoint once, never sooner than the provider's interval (waiting on the console's clock for
   the rest, and adding 5 s for good after ``slow_down``), and answers: still pending
   (InteractionNeeded again), ``Rejected("the device code expired")``, ``Rejected("the user
   denied the login")``, or Authenticated. ``extra={"cancel": True}`` with the handle ends it.

Account name: the token decides (the configured claim, ``preferred_username`` by default,
falling back to ``email``). The login chain refuses a login whose typed account differs from it,
and accepts an empty account when a service is chosen at the login, taking the token's.

OIDC maps the token's groups to roles of this service (``group_roles``); OIDC-JOC keeps the
account and its roles in the console's store. The session keeps the refresh and access token
(sealed), lasts as long as the access token, is refreshed with the refresh token while in use,
and revokes both at logout where the provider has a revocation endpoint (RFC 7009).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from js7tui.identity import records
from js7tui.identity.oidc import claims as claim_tools
from js7tui.identity.oidc.device import (
    SLOW_DOWN_STEP,
    DeviceFlows,
    PendingDevice,
    device_handle,
    wants_cancel,
)
from js7tui.identity.oidc.discovery import DEVICE_GRANT, MetadataCache, ProviderMetadata
from js7tui.identity.oidc.http import (
    ClientCredentials,
    OAuthError,
    OidcHttp,
    ProviderUnreachable,
)
from js7tui.identity.oidc.id_token import TokenInvalid, validate_id_token
from js7tui.identity.oidc.keys import KeyCache, UnknownKey
from js7tui.identity.providers.base import (
    DEVICE,
    PASSWORD,
    Authenticated,
    InteractionNeeded,
    LoginRequest,
    Outcome,
    ProviderContext,
    ProviderRegistry,
    Rejected,
    ServiceRecord,
    Unreachable,
)
from js7tui.identity.providers.oidc_settings import OIDC_JOC_SCHEMA, OIDC_SCHEMA
from js7tui.identity.service_settings import SettingsSchema

log = logging.getLogger("js7tui.oidc")

DEFAULT_TOKEN_LIFETIME = timedelta(minutes=5)   # when the provider names no lifetime
UNREACHABLE_POLLS = 3       # polls in a row without an answer before a device login fails

EXPIRED = "the device code expired before the login was confirmed"
DENIED = "the user denied the login at the identity provider"
CANCELLED = "the login was cancelled at the console"
UNKNOWN_HANDLE = "the device login is unknown to this console (finished, expired or started " \
                 "by another process)"
PUBLIC_EXPIRED = "login failed: the device code expired before the login was confirmed; " \
                 "start again"
PUBLIC_DENIED = "login failed: the login was denied at the identity provider"
PUBLIC_CANCELLED = "login cancelled"
PUBLIC_UNKNOWN = "login failed: this device login is no longer pending; start again"
PUBLIC_TOKEN = "login failed: the identity provider's token was refused; an administrator " \
               "finds the reason in the login history"




@dataclass(frozen=True)
class OidcConfig:
    issuer_url: str
    client: ClientCredentials
    account_claim: str
    scopes: tuple[str, ...]
    password_grant: bool
    leeway: int
    http: OidcHttp
    group_claims: tuple[str, ...] = ()
    group_roles: dict[str, list[str]] | None = None

    @property
    def scope(self) -> str:
        return " ".join(dict.fromkeys(("openid", *self.scopes)))


def read_config(settings: dict[str, Any]) -> OidcConfig:
    return OidcConfig(
        issuer_url=settings["issuer_url"].strip(),
        client=ClientCredentials(settings["client_id"], settings.get("client_secret"),
                                 settings["client_auth"]),
        account_claim=settings["account_claim"] or "preferred_username",
        scopes=tuple(settings["scopes"] or ()),
        password_grant=bool(settings["password_grant"]),
        leeway=int(settings["clock_leeway"]),
        http=OidcHttp(settings.get("ca_file"), float(settings["timeout"])),
        group_claims=tuple(settings.get("group_claims") or ()),
        group_roles=settings.get("group_roles"),
    )


# -- the provider ---------------------------------------------------------------------------
class OidcProvider:
    """One instance per service type (the registry keeps it), shared by that type's services;
    the caches and pending device logins are keyed by issuer and service."""

    def __init__(self, schema: SettingsSchema, *, roles_from_claims: bool) -> None:
        self.schema = schema
        self.roles_from_claims = roles_from_claims
        self.metadata = MetadataCache()
        self.keys = KeyCache()
        self.flows = DeviceFlows()

    def config(self, service: ServiceRecord, context: ProviderContext) -> OidcConfig:
        return read_config(context.settings(service, self.schema))

    def discover(self, config: OidcConfig, context: ProviderContext) -> ProviderMetadata:
        return self.metadata.get(config.http, config.issuer_url, context.clock.now())

    def login_methods(self, service: ServiceRecord, context: ProviderContext) -> tuple[str, ...]:
        settings = context.settings(service, self.schema)
        return (DEVICE, PASSWORD) if settings.get("password_grant") else (DEVICE,)

    # -- login ----------------------------------------------------------------------------
    def authenticate(self, service: ServiceRecord, request: LoginRequest,
                     context: ProviderContext) -> Outcome:
        config = self.config(service, context)
        handle = device_handle(request.extra)
        try:
            if handle is not None:
                return self._continue_device(service, config, request, handle, context)
            if request.password:
                if not config.password_grant:
                    return Rejected(f"'{service.name}' logs in with the provider's device flow; "
                                    "password logins are off (password_grant)")
                return self._password_grant(service, config, request, context)
            return self._start_device(service, config, request, context)
        except ProviderUnreachable as exc:
            return Unreachable(str(exc))

    def _start_device(self, service: ServiceRecord, config: OidcConfig, request: LoginRequest,
                      context: ProviderContext) -> Outcome:
        metadata = self.discover(config, context)
        if not metadata.device_authorization_endpoint:
            return Unreachable("the provider offers no device authorization endpoint "
                               "(RFC 8628); enable password_grant if it takes passwords")
        try:
            answer = config.http.post_form(metadata.device_authorization_endpoint,
                                           {"scope": config.scope}, config.client)
        except OAuthError as exc:
            return Unreachable(f"the provider refused to start a device login ({exc}); check "
                               "client_id, client_secret, the scopes and that the client may "
                               "use the device grant")
        pending = self.flows.start(service.id, request.source, answer, context.clock.now())
        target = pending.verification_uri_complete or pending.verification_uri
        return InteractionNeeded(
            pending.prompt("started"),
            message=f"open {target} and confirm the code {pending.user_code}")

    def _continue_device(self, service: ServiceRecord, config: OidcConfig,
                         request: LoginRequest, handle: str,
                         context: ProviderContext) -> Outcome:
        pending = self.flows.find(handle, service.id, request.source)
        if pending is None:
            return Rejected(UNKNOWN_HANDLE, public=PUBLIC_UNKNOWN)
        if wants_cancel(request.extra):
            self.flows.finish(handle)
            return Rejected(CANCELLED, public=PUBLIC_CANCELLED)
        clock = context.clock
        wait = (pending.next_poll - clock.now()).total_seconds()
        if wait > 0:
            clock.sleep(max(0.0, min(wait, (pending.expires_at - clock.now()).total_seconds())))
        now = clock.now()
        if now >= pending.expires_at:
            self.flows.finish(handle)
            return Rejected(EXPIRED, public=PUBLIC_EXPIRED)
        pending.next_poll = now + timedelta(seconds=pending.interval)
        try:
            metadata = self.discover(config, context)
            tokens = config.http.post_form(
                metadata.token_endpoint,
                {"grant_type": DEVICE_GRANT, "device_code": pending.device_code},
                config.client)
        except ProviderUnreachable as exc:
            pending.failures_in_a_row += 1
            if pending.failures_in_a_row >= UNREACHABLE_POLLS:
                self.flows.finish(handle)
                return Unreachable(f"{exc} ({pending.failures_in_a_row} polls in a row)")
            return self._waiting(pending, f"the provider did not answer ({exc}); trying again")
        except OAuthError as exc:
            pending.failures_in_a_row = 0
            return self._device_error(service, pending, exc, now)
        self.flows.finish(handle)
        return self._outcome(service, config, metadata, tokens, context, how="device flow")

    def _waiting(self, pending: PendingDevice, message: str) -> InteractionNeeded:
        return InteractionNeeded(pending.prompt("waiting"), message=message)

    def _device_error(self, service: ServiceRecord, pending: PendingDevice, exc: OAuthError,
                      now: datetime) -> Outcome:
        if exc.error == "authorization_pending":
            return self._waiting(pending, "waiting for the login to be confirmed at the "
                                          "identity provider")
        if exc.error == "slow_down":
            pending.interval += SLOW_DOWN_STEP
            pending.next_poll = now + timedelta(seconds=pending.interval)
            return self._waiting(pending, f"the provider asked to poll less often; now every "
                                          f"{pending.interval} s")
        self.flows.finish(pending.handle)
        if exc.error == "expired_token":
            return Rejected(EXPIRED, public=PUBLIC_EXPIRED)
        if exc.error == "access_denied":
            return Rejected(DENIED, public=PUBLIC_DENIED)
        if exc.error in ("invalid_client", "unauthorized_client"):
            return Unreachable(f"the provider refused this console's client ({exc}); check "
                               "client_id and client_secret")
        return Rejected(f"the provider ended the device login ({exc})",
                        public="login failed: the identity provider ended the device login")

    def _password_grant(self, service: ServiceRecord, config: OidcConfig,
                        request: LoginRequest, context: ProviderContext) -> Outcome:
        if not request.account:
            return Rejected("no account name was given for the password grant")
        metadata = self.discover(config, context)
        try:
            tokens = config.http.post_form(
                metadata.token_endpoint,
                {"grant_type": "password", "username": request.account,
                 "password": request.password or "", "scope": config.scope},
                config.client)
        except OAuthError as exc:
            if exc.error in ("invalid_client", "unauthorized_client", "unsupported_grant_type"):
                return Unreachable(f"the provider refused the password grant for this console's "
                                   f"client ({exc}); check client_id, client_secret and that "
                                   "the client may use the password grant")
            if exc.error == "invalid_grant" or (not exc.error and exc.status in (401, 403)):
                return Rejected(f"wrong account name or password: the provider refused them "
                                f"({exc})")
            return Rejected(f"the provider refused the password login ({exc}): a wrong account "
                            "name or password, or check client_id and client_secret")
        return self._outcome(service, config, metadata, tokens, context, how="password grant")

    # -- tokens -> outcome ----------------------------------------------------------------
    def verify_id_token(self, config: OidcConfig, metadata: ProviderMetadata, token: str,
                        context: ProviderContext, nonce: str | None = None) -> dict[str, Any]:
        """Claims of a token the provider issued to this console (TokenInvalid if not)."""
        now = context.clock.now()

        def key(kid: str | None, alg: str):  # -> a joserfc key
            try:
                return self.keys.key_for(config.http, metadata.jwks_uri, kid, alg, now)
            except UnknownKey as exc:
                raise TokenInvalid(str(exc)) from None

        return validate_id_token(token, issuer=metadata.issuer,
                                 client_id=config.client.client_id, keys=key, now=now,
                                 leeway=config.leeway, nonce=nonce,
                                 provider_algs=metadata.id_token_algs)

    def _outcome(self, service: ServiceRecord, config: OidcConfig, metadata: ProviderMetadata,
                 tokens: dict[str, Any], context: ProviderContext, *, how: str) -> Outcome:
        outcome = self._judge(service, config, metadata, tokens, context, how=how)
        if not isinstance(outcome, Authenticated):
            # Tokens of a refused login are not left valid at the provider.
            try:
                self._revoke(config, metadata, tokens)
            except ProviderUnreachable as exc:
                log.info("could not revoke the tokens of a refused login: %s", exc)
        return outcome

    def _judge(self, service: ServiceRecord, config: OidcConfig, metadata: ProviderMetadata,
               tokens: dict[str, Any], context: ProviderContext, *, how: str) -> Outcome:
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            return Rejected("token invalid: the provider answered without an ID token (is "
                            "'openid' among the client's allowed scopes?)", public=PUBLIC_TOKEN)
        try:
            claims = self.verify_id_token(config, metadata, id_token, context)
        except TokenInvalid as exc:
            return Rejected(f"token invalid: {exc}", public=PUBLIC_TOKEN)
        access_token = tokens.get("access_token")
        wanted = [config.account_claim, *(config.group_claims if self.roles_from_claims else ())]
        if (claim_tools.missing_from(claims, wanted) and metadata.userinfo_endpoint
                and isinstance(access_token, str)):
            claims = self._with_userinfo(config, metadata, claims, access_token)
        account, from_claim = claim_tools.account_name(claims, config.account_claim)
        if account is None:
            return Rejected(f"the ID token names no account: it has neither "
                            f"'{config.account_claim}' nor 'email'", public=PUBLIC_TOKEN)
        valid_until = _valid_until(tokens, claims, context.clock.now())
        state = {"access_token": access_token, "refresh_token": tokens.get("refresh_token"),
                 "sub": claims["sub"], "account": account}
        message = f"authenticated '{account}' ({from_claim}) by {how}"
        roles = None
        if self.roles_from_claims:
            groups = claim_tools.groups(claims, config.group_claims)
            mapped = claim_tools.mapped_roles(groups, config.group_roles or {})
            defined = set(records.role_names(context.conn, service))
            roles = [role for role in mapped if role in defined]
            shown = ", ".join(groups) or "none"
            if not mapped:
                return Rejected(f"'{account}' was authenticated, but none of the groups "
                                f"({shown}) maps to a role (group_roles)")
            if not roles:
                return Rejected(f"'{account}' was authenticated, but the roles of the groups "
                                f"({shown} -> {', '.join(mapped)}) do not exist in "
                                f"'{service.name}'")
            message += f"; groups {shown} -> roles {', '.join(roles)}"
            unknown = [role for role in mapped if role not in defined]
            if unknown:
                message += f" (not in '{service.name}': {', '.join(unknown)})"
        return Authenticated(account, roles=tuple(roles) if roles is not None else None,
                             message=message, state=state, valid_until=valid_until)

    def _with_userinfo(self, config: OidcConfig, metadata: ProviderMetadata,
                       claims: dict[str, Any], access_token: str) -> dict[str, Any]:
        """Claims missing from the ID token, taken from userinfo (same subject only); the
        signed ID token wins where both have a claim."""
        try:
            info = config.http.get_json(metadata.userinfo_endpoint or "", bearer=access_token)
        except ProviderUnreachable as exc:
            log.info("userinfo not available: %s", exc)
            return claims
        if info.get("sub") != claims.get("sub"):
            log.warning("userinfo answered for another subject; ignored")
            return claims
        return {**info, **claims}

    # -- sessions -------------------------------------------------------------------------
    def refresh(self, service: ServiceRecord, state: dict[str, Any],
                context: ProviderContext) -> Outcome:
        refresh_token = state.get("refresh_token")
        if not refresh_token:
            return Unreachable("the provider issued no refresh token; the session ends with "
                               "its access token")
        config = self.config(service, context)
        try:
            metadata = self.discover(config, context)
            tokens = config.http.post_form(
                metadata.token_endpoint,
                {"grant_type": "refresh_token", "refresh_token": refresh_token},
                config.client)
        except ProviderUnreachable as exc:
            return Unreachable(str(exc))
        except OAuthError as exc:
            if exc.error in ("invalid_client", "unauthorized_client"):
                return Unreachable(f"the provider refused this console's client ({exc})")
            return Rejected(f"the provider refused the refresh token ({exc}): it was revoked "
                            "or has expired")
        claims: dict[str, Any] = {}
        if isinstance(tokens.get("id_token"), str):
            try:
                claims = self.verify_id_token(config, metadata, tokens["id_token"], context)
            except TokenInvalid as exc:
                return Rejected(f"token invalid: {exc}")
            if claims.get("sub") != state.get("sub"):
                return Rejected("token invalid: the refreshed ID token names another subject")
        access_token = tokens.get("access_token")
        if not isinstance(access_token, str):
            return Rejected("the provider's refresh answer has no access token")
        new_state = {**state, "access_token": access_token,
                     "refresh_token": tokens.get("refresh_token") or refresh_token}
        return Authenticated(state.get("account", ""), message="refreshed", state=new_state,
                             valid_until=_valid_until(tokens, claims, context.clock.now()))

    def end(self, service: ServiceRecord, state: dict[str, Any],
            context: ProviderContext) -> None:
        """Revoke the refresh and the access token (RFC 7009) where the provider can."""
        config = self.config(service, context)
        self._revoke(config, self.discover(config, context), state)

    @staticmethod
    def _revoke(config: OidcConfig, metadata: ProviderMetadata, state: dict[str, Any]) -> None:
        if not metadata.revocation_endpoint:
            return
        failures = []
        for kind in ("refresh_token", "access_token"):
            token = state.get(kind)
            if not token:
                continue
            try:
                config.http.post_form(metadata.revocation_endpoint,
                                      {"token": token, "token_type_hint": kind}, config.client)
            except (OAuthError, ProviderUnreachable) as exc:
                failures.append(f"{kind}: {exc}")
        if failures:
            raise ProviderUnreachable("revocation failed for " + "; ".join(failures))


def _valid_until(tokens: dict[str, Any], claims: dict[str, Any], now: datetime) -> datetime:
    """When the session's token ends: ``expires_in`` of the access token, else the ID token's
    ``exp``, else a short default."""
    expires_in = tokens.get("expires_in")
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) \
            and expires_in > 0:
        return now + timedelta(seconds=expires_in)
    exp = claims.get("exp")
    if isinstance(exp, int | float):
        return datetime.fromtimestamp(exp, now.tzinfo)
    return now + DEFAULT_TOKEN_LIFETIME


def register(registry: ProviderRegistry) -> None:
    registry.register("OIDC", lambda: OidcProvider(OIDC_SCHEMA, roles_from_claims=True),
                      OIDC_SCHEMA)
    registry.register("OIDC-JOC", lambda: OidcProvider(OIDC_JOC_SCHEMA, roles_from_claims=False),
                      OIDC_JOC_SCHEMA)
