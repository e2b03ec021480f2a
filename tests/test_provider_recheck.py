"""Two general rules for token-backed sessions (the Vault provider relies on them; OIDC can):
a session used after its provider's ``valid_until`` is confirmed by the provider rather than
ended, and a token issued for a login that ends without a session is revoked at once. The
provider is the test double of test_provider_sessions; the real one is in test_vault_*."""

from __future__ import annotations

from datetime import timedelta

import pytest

from js7tui.errors import SessionRequired
from js7tui.identity.chain import PENDING_LIFETIME, LoginFailed, LoginStatus
from js7tui.identity.providers.base import LoginRequest
from tests import test_provider_sessions

double = test_provider_sessions.provider     # the same fixture: an OIDC service "IDP"


def test_a_session_idle_past_valid_until_is_confirmed_by_the_provider(double, console, clock):
    token = console.login.login(LoginRequest("alice", "pw", "test")).token
    clock.advance(minutes=10)                # past valid_until, within the 15m idle timeout
    session = console.sessions.resume(token)
    assert double.refreshed == [{"access_token": "secret-token-1"}]
    assert session.valid_until == clock.now() + timedelta(minutes=5)


def test_past_valid_until_a_refusing_or_unreachable_provider_ends_the_session(double, console,
                                                                              clock):
    token = console.login.login(LoginRequest("alice", "pw", "test")).token
    double.next_refresh = "unreachable"
    clock.advance(minutes=10)
    with pytest.raises(SessionRequired, match="token has expired"):
        console.sessions.resume(token)
    token = console.login.login(LoginRequest("alice", "pw", "test")).token
    double.next_refresh = "reject"
    clock.advance(minutes=10)
    with pytest.raises(SessionRequired, match="refresh token revoked"):
        console.sessions.resume(token)


def test_tokens_of_a_login_that_ends_without_a_session_are_revoked(double, console, root):
    # The provider authenticates alice, but the console refuses her: blocked.
    console.accounts.block(root, "alice", "left the company")
    with pytest.raises(LoginFailed, match="blocked"):
        console.login.login(LoginRequest("alice", "pw", "test"))
    assert double.ended == [{"access_token": "secret-token-1"}]


def test_tokens_of_a_first_factor_waiting_for_the_second_are_revoked(double, console, root,
                                                                    clock):
    console.registry.register("CERTIFICATE", lambda: double)    # never asked here
    console.identity_services.create(root, "CERT", "CERTIFICATE", second_factor=True)
    console.identity_services.update(root, "IDP", auth_scheme="TWO-FACTOR",
                                     second_factor_service="CERT")
    result = console.login.login(LoginRequest("alice", "pw", "test"))
    assert result.status is LoginStatus.SECOND_FACTOR_REQUIRED
    # kept (sealed) while the login waits for its second factor ...
    assert double.ended == []
    # ... and revoked once the waiting login expired unanswered (swept by the next one)
    clock.advance(seconds=PENDING_LIFETIME + 1)
    console.login.login(LoginRequest("alice", "pw", "test"))
    assert double.ended == [{"access_token": "secret-token-1"}]
    assert console.store.conn.execute("SELECT COUNT(*) FROM pending_logins").fetchone()[0] == 1
