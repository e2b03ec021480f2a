"""Sessions backed by a provider's token: sealed state, refresh before expiry, rejection ends
the session, revocation at logout and cancellation. The provider here is a test double of a
token-issuing type; the real OIDC and Vault providers are tested against real servers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from js7tui.errors import SessionRequired
from js7tui.identity.providers.base import Authenticated, Rejected, Unreachable


@dataclass
class TokenProvider:
    clock: object
    lifetime: timedelta = timedelta(minutes=5)
    next_refresh: str = "ok"          # ok | reject | unreachable
    refreshed: list[dict] = field(default_factory=list)
    ended: list[dict] = field(default_factory=list)
    issued: int = 0

    def _token(self) -> Authenticated:
        self.issued += 1
        return Authenticated("alice", roles=("administrator",),
                             state={"access_token": f"secret-token-{self.issued}"},
                             valid_until=self.clock.now() + self.lifetime)

    def authenticate(self, service, request, context):
        return self._token() if request.password == "pw" else Rejected("bad password")

    def refresh(self, service, state, context):
        self.refreshed.append(state)
        if self.next_refresh == "reject":
            return Rejected("refresh token revoked")
        if self.next_refresh == "unreachable":
            return Unreachable("provider down")
        return self._token()

    def end(self, service, state, context):
        self.ended.append(state)


@pytest.fixture
def provider(console, root, clock) -> TokenProvider:
    token_provider = TokenProvider(clock)
    console.registry.register("OIDC", lambda: token_provider)
    console.identity_services.create(root, "IDP", "OIDC")
    # The role the provider names; new roles get sos:products:controller:view, which every
    # login needs.
    console.roles.create(root, "administrator", service="IDP")
    console.identity_services.reorder(root, ["IDP"])
    return token_provider


def alice(console):
    from js7tui.identity.providers.base import LoginRequest
    result = console.login.login(LoginRequest("alice", "pw", "test"))
    return result.session, result.token


def test_provider_state_is_kept_sealed_with_the_session(provider, console):
    session, _ = alice(console)
    row = console.store.conn.execute("SELECT provider_state, valid_until FROM sessions "
                                     "WHERE id = ?", (session.id,)).fetchone()
    assert "secret-token-1" not in row["provider_state"]
    assert json.loads(row["provider_state"])["IDP"]["sealed"].startswith("sealed:v1:")
    assert session.valid_until is not None and session.expires_at == session.valid_until


def test_a_session_is_refreshed_shortly_before_the_token_ends(provider, console, clock):
    _, token = alice(console)
    clock.advance(minutes=3)
    console.sessions.resume(token)
    assert provider.refreshed == []                       # not due yet
    clock.advance(minutes=1, seconds=30)       # 30 s left: within the margin
    session = console.sessions.resume(token)
    assert provider.refreshed == [{"access_token": "secret-token-1"}]
    assert session.valid_until == clock.now() + provider.lifetime
    clock.advance(minutes=4, seconds=50)
    console.sessions.resume(token)
    assert provider.refreshed[-1] == {"access_token": "secret-token-2"}


def test_a_rejected_refresh_ends_the_session(provider, console, clock):
    _, token = alice(console)
    provider.next_refresh = "reject"
    clock.advance(minutes=4, seconds=30)
    with pytest.raises(SessionRequired, match="refresh token revoked"):
        console.sessions.resume(token)
    with pytest.raises(SessionRequired):
        console.sessions.resume(token)


def test_an_unreachable_provider_keeps_the_session_until_the_token_ends(provider, console,
                                                                       clock):
    _, token = alice(console)
    provider.next_refresh = "unreachable"
    clock.advance(minutes=4, seconds=30)
    console.sessions.resume(token)
    clock.advance(seconds=31)
    with pytest.raises(SessionRequired, match="token has expired"):
        console.sessions.resume(token)


def test_logout_and_cancel_revoke_the_provider_token(provider, console, root):
    _, token = alice(console)
    assert console.sessions.logout(token)
    assert provider.ended == [{"access_token": "secret-token-1"}]
    alice(console)
    assert console.sessions.cancel(root, account="alice") == 1
    assert provider.ended[-1] == {"access_token": "secret-token-2"}
