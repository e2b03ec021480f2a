"""VAULT and VAULT-JOC against a real OpenBao dev server over TLS: login through userpass,
policies mapped to roles, roles from the store, the token renewed while the session is used,
a token revoked in Vault ending the session, logout revoking the token, and distinct reasons
for bad credentials, an unreachable server, an untrusted certificate and a wrong mount."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from js7tui.errors import SessionRequired
from js7tui.identity import history
from js7tui.identity.chain import NEUTRAL_FAILURE, LoginFailed, LoginStatus
from js7tui.identity.providers.base import (
    LoginRequest,
    ProviderContext,
    ServiceRecord,
    Unreachable,
)
from js7tui.identity.providers.vault import vault_provider
from js7tui.permissions.names import ACCOUNTS_VIEW, AUDITLOG_VIEW
from tests.conftest import cheap_hasher
from tests.openbao import OpenBao, free_port, start, stop, vault_service

AUDIT_PERMISSION = AUDITLOG_VIEW
FIVE_MINUTES = timedelta(minutes=5)


def _login(console, account: str, password: str):
    return console.login.login(LoginRequest(account, password, "test"))


def _last_attempt(console, account: str) -> history.LoginAttempt:
    return history.page(console.store.conn, account=account, limit=1)[0]


def _reason(console, account: str, service: str) -> str:
    return dict(_last_attempt(console, account).details)[service]


@pytest.fixture
def mount(openbao: OpenBao) -> str:
    return openbao.userpass()


@pytest.fixture
def vault(console, root, openbao: OpenBao, mount: str) -> str:
    """A VAULT service mapping the policy 'auditors' to a role that may read the audit log."""
    openbao.policy("auditors")
    openbao.policy("unmapped")
    openbao.user(mount, "alice", "alice-vault-pw", ["auditors"])
    openbao.user(mount, "bob", "bob-vault-pw", ["unmapped"])
    vault_service(console, root, openbao, "VAULT-A", "VAULT", mount,
                  policy_roles={"auditors": ["audit-readers"], "other": ["nobody"]})
    console.roles.create(root, "audit-readers", service="VAULT-A")  # + controller:view (login)
    console.roles.set_permission(root, "audit-readers", AUDIT_PERMISSION, service="VAULT-A")
    return "VAULT-A"


def test_userpass_login_maps_policies_to_roles(vault, console, openbao, clock):
    result = _login(console, "alice", "alice-vault-pw")
    assert result.status is LoginStatus.AUTHENTICATED
    session = result.session
    assert [(g.service, g.roles) for g in session.grants] == [(vault, ("audit-readers",))]
    assert session.can(AUDIT_PERMISSION) and not session.can(ACCOUNTS_VIEW)
    # Lease 1h, check interval 5m: the session must re-check within 5 minutes.
    assert session.valid_until == clock.now() + FIVE_MINUTES
    details = _last_attempt(console, "alice").details
    assert details[0] == (vault, "authenticated by Vault (policies: auditors, default)")
    # The Vault token is kept sealed with the session, never in clear.
    stored = console.store.conn.execute("SELECT provider_state FROM sessions WHERE id = ?",
                                        (session.id,)).fetchone()[0]
    assert "s." not in stored and json.loads(stored)[vault]["sealed"].startswith("sealed:v1:")


def test_a_token_without_a_mapped_policy_is_refused_and_revoked(vault, console, openbao, root):
    before = openbao.accessors()
    with pytest.raises(LoginFailed) as failure:
        _login(console, "bob", "bob-vault-pw")
    assert str(failure.value) == NEUTRAL_FAILURE
    assert _reason(console, "bob", vault) == (
        "rejected: Vault authenticated 'bob', but none of the token's policies (default, "
        "unmapped) is mapped to a role in policy_roles of 'VAULT-A'")
    assert openbao.accessors() == before            # the token Vault issued is gone again
    refused = [e for e in console.audit.list(root) if e.outcome == "REFUSED"]
    assert refused[0].account == "bob" and "VAULT-A: rejected: Vault authenticated" in (
        refused[0].parameters)


def test_bad_credentials_and_unreachable_server_have_distinct_reasons(vault, console, root,
                                                                      openbao):
    with pytest.raises(LoginFailed) as failure:
        _login(console, "alice", "wrong-password")
    assert str(failure.value) == NEUTRAL_FAILURE
    assert _reason(console, "alice", vault) == (
        "rejected: bad credentials: Vault refused them (invalid username or password)")

    closed = f"https://127.0.0.1:{free_port()}"
    console.identity_services.set_settings(root, vault, {"url": closed})
    console.identity_services.update(root, vault, required=True)
    with pytest.raises(LoginFailed) as failure:
        _login(console, "alice", "alice-vault-pw")
    assert str(failure.value) == "login failed: the identity service 'VAULT-A' cannot be reached"
    assert _reason(console, "alice", vault).startswith(f"unreachable: cannot connect to {closed}")


def test_untrusted_certificate_and_wrong_mount_are_named(vault, console, root, openbao):
    console.identity_services.set_settings(root, vault, {"ca_file": None})
    with pytest.raises(LoginFailed):
        _login(console, "alice", "alice-vault-pw")
    assert _reason(console, "alice", vault) == (
        f"unreachable: the TLS certificate of {openbao.url} is not trusted (certificate verify "
        "failed: unable to get local issuer certificate); set ca_file to the CA that issued it")

    console.identity_services.set_settings(root, vault, {"ca_file": openbao.ca_file,
                                                         "auth_method_path": "nowhere"})
    with pytest.raises(LoginFailed):
        _login(console, "alice", "alice-vault-pw")
    assert _reason(console, "alice", vault) == (
        "unreachable: Vault refused the login at auth/nowhere (permission denied): is an auth "
        "method enabled at 'nowhere'?")


def test_a_sealed_vault_is_named(console, root, tmp_path):
    """A server of its own: sealing the shared one would stop the other tests."""
    server = start(tmp_path)
    try:
        mount = server.userpass()
        server.user(mount, "alice", "alice-vault-pw", ["default"])
        vault_service(console, root, server, "VAULT-S", "VAULT-JOC", mount)
        server.api("PUT", "sys/seal")
        with pytest.raises(LoginFailed):
            _login(console, "alice", "alice-vault-pw")
        assert _reason(console, "alice", "VAULT-S") == (
            f"unreachable: {server.url} cannot serve requests now (Vault is sealed)")
    finally:
        stop(server)


def test_plain_http_to_another_host_and_empty_passwords_never_reach_vault(console):
    context = ProviderContext(console.store.conn, cheap_hasher(), console.clock)
    provider = vault_provider()
    record = ServiceRecord(0, "V", "VAULT", 0, False, False, "SINGLE-FACTOR", False, None,
                           {"url": "http://vault.example:8200"})
    outcome = provider.authenticate(record, LoginRequest("alice", "pw"), context)
    assert isinstance(outcome, Unreachable)
    assert "plain http to another host" in outcome.reason
    empty = provider.authenticate(record, LoginRequest("alice", ""), context)
    assert "no password given" in empty.reason


def test_the_token_is_renewed_while_used_and_a_revoked_token_ends_the_session(
        vault, console, openbao, mount, clock, root):
    result = _login(console, "alice", "alice-vault-pw")
    token = result.token
    first_limit = result.session.valid_until
    clock.advance(minutes=4, seconds=30)                 # within a minute of the next check
    renewed = console.sessions.resume(token)
    assert renewed.valid_until == clock.now() + FIVE_MINUTES > first_limit

    openbao.revoke_logins(mount, "alice")                # an operator revokes alice's tokens
    clock.advance(minutes=4, seconds=30)
    with pytest.raises(SessionRequired, match="the Vault token was revoked or is invalid"):
        console.sessions.resume(token)
    with pytest.raises(SessionRequired):
        console.sessions.resume(token)                   # the session is gone for good
    ended = console.audit.list(root)[0]                  # a security event, audited
    assert (ended.account, ended.outcome, ended.request) == (
        "alice", "REFUSED", "./authentication/session/refresh")
    assert "the Vault token was revoked or is invalid" in ended.parameters


def test_a_session_idle_beyond_the_check_interval_is_confirmed_not_ended(vault, console,
                                                                          clock):
    token = _login(console, "alice", "alice-vault-pw").token
    clock.advance(minutes=12)                            # idle timeout is 15 minutes
    session = console.sessions.resume(token)
    assert session.valid_until == clock.now() + FIVE_MINUTES


def test_batch_tokens_are_checked_by_lookup(vault, console, openbao, mount, clock, caplog):
    """Batch tokens can be neither renewed nor revoked: the check looks them up instead, and
    logout leaves them to expire without an error."""
    openbao.api("POST", f"auth/{mount}/users/batch", {
        "password": "batch-vault-pw", "token_policies": ["auditors"], "token_type": "batch",
        "token_ttl": "3m"})
    result = _login(console, "batch", "batch-vault-pw")
    assert result.session.valid_until == clock.now() + timedelta(minutes=3)   # lease < check
    clock.advance(minutes=2, seconds=30)
    renewed = console.sessions.resume(result.token).valid_until     # looked up: ~3m left
    assert renewed is not None and renewed > clock.now() + timedelta(minutes=2)
    assert console.sessions.logout(result.token)
    assert "could not revoke" not in caplog.text


def test_odd_account_names_never_reach_vault(console):
    context = ProviderContext(console.store.conn, cheap_hasher(), console.clock)
    record = ServiceRecord(0, "V", "VAULT", 0, False, False, "SINGLE-FACTOR", False, None,
                           {"url": "https://127.0.0.1:9"})
    for name in ("../sys/seal", "a/b", ".."):
        outcome = vault_provider().authenticate(record, LoginRequest(name, "pw"), context)
        assert outcome.reason == f"'{name}' cannot be a Vault user name"


def test_logout_revokes_the_vault_token(vault, console, openbao):
    before = openbao.accessors()
    token = _login(console, "alice", "alice-vault-pw").token
    (accessor,) = openbao.accessors() - before
    assert openbao.token_live(accessor)
    assert console.sessions.logout(token)
    assert not openbao.token_live(accessor)


def test_vault_joc_takes_roles_from_the_store(console, root, openbao, mount):
    openbao.user(mount, "carol", "carol-vault-pw", ["default"])
    openbao.user(mount, "dave", "dave-vault-pw", ["default"])
    vault_service(console, root, openbao, "VAULT-J", "VAULT-JOC", mount)
    console.roles.create(root, "auditors", service="VAULT-J")  # + controller:view (login)
    console.roles.set_permission(root, "auditors", AUDIT_PERMISSION, service="VAULT-J")
    view = console.accounts.create(root, "carol", service="VAULT-J", roles=["auditors"])
    assert not view.has_password          # Vault holds the password, the store nothing

    session = _login(console, "carol", "carol-vault-pw").session
    assert [(g.service, g.roles_from) for g in session.grants] == [("VAULT-J", "store")]
    assert session.can(AUDIT_PERMISSION)
    assert session.valid_until is not None

    before = openbao.accessors()
    with pytest.raises(LoginFailed):      # Vault knows dave, the console does not
        _login(console, "dave", "dave-vault-pw")
    assert "no account 'dave' in 'VAULT-J'" in _reason(console, "dave", "VAULT-J")
    assert openbao.accessors() == before  # the chain revoked the token it will not use

