"""CERTIFICATE identity service: alone and as the second factor behind JOC and LDAP, with user
certificates of the home's CA (and a foreign one), keys in files and in a real ssh-agent."""

from __future__ import annotations

import os
import subprocess

import pytest

from js7tui.errors import ValidationError
from js7tui.identity import throttle
from js7tui.identity.chain import LoginFailed, LoginStatus
from js7tui.identity.factors import sshsig
from js7tui.identity.factors.client import certificate_evidence
from js7tui.identity.providers.base import LoginRequest
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from tests.conftest import make_account
from tests.factor_support import foreign_user, key_pem, last_refusal, pem, ssh_add, ssh_agent
from tests.ldap_helpers import Ldap

__all__ = ["ssh_agent"]
PASSWORD = "a-good-password-42"


@pytest.fixture
def ca(console, root):
    console.certificates.create_ca(root, KeyType.EC_P256)


def user_cert(console, root, name: str):
    issued = console.certificates.issue(root, IssueRequest("user", name))
    return pem(issued.cert, *issued.chain), key_pem(issued.key), issued


@pytest.fixture
def two_factor(console, root, ca):
    """alice and bob in JOC-INITIAL, which asks the CERTIFICATE service CERT second."""
    make_account(console, root, "alice", ["administrator"], PASSWORD)
    make_account(console, root, "bob", ["api_user"], PASSWORD)
    console.identity_services.create(root, "CERT", "CERTIFICATE", second_factor=True)
    for who in ("root", "alice"):   # administrators who can still log in afterwards
        crt, _, _ = user_cert(console, root, who)
        console.second_factors.bind_certificate(root, "CERT", who, crt)
    console.identity_services.update(root, "JOC-INITIAL", auth_scheme="TWO-FACTOR",
                                     second_factor_service="CERT")


def first(console, account="alice", password=PASSWORD):
    result = console.login.login(LoginRequest(account, password, "test"))
    assert result.status is LoginStatus.SECOND_FACTOR_REQUIRED, result
    assert result.pending and result.interaction["type"] == "certificate_challenge"
    return result


def refused(console, result, evidence, words: str) -> None:
    with pytest.raises(LoginFailed, match=r"second factor was not accepted|certificate was not"):
        console.login.continue_login(result.pending, evidence)
    history, audit = last_refusal(console)
    assert words in history and words in audit, (history, audit)


def test_joc_then_certificate_with_a_key_file(console, root, two_factor):
    crt, key, _ = user_cert(console, root, "alice")
    console.second_factors.reset_certificate(root, "CERT", "alice")
    result = first(console)
    assert "CERT" in result.message and result.session is None
    evidence = certificate_evidence(result.interaction, certificate=crt, key=key)
    done = console.login.continue_login(result.pending, evidence)
    assert done.status is LoginStatus.AUTHENTICATED
    assert done.session.account == "alice" and done.session.services == ("JOC-INITIAL",)
    entry = console.sessions.login_history(root, limit=1)[0]
    assert entry.success and any("accepted" in text for _, text in entry.details)


def test_joc_then_certificate_through_a_real_ssh_agent(console, root, two_factor, ssh_agent,
                                                       tmp_path):
    crt, _, issued = user_cert(console, root, "alice")
    console.second_factors.bind_certificate(root, "CERT", "alice", crt, replace=True)
    ssh_add(ssh_agent, issued.key, tmp_path)
    result = first(console)
    # the console needs no file: the bound certificate comes with the challenge
    evidence = certificate_evidence(result.interaction, agent=ssh_agent)
    assert console.login.continue_login(result.pending, evidence).session.account == "alice"


def test_a_signature_made_by_ssh_keygen_is_accepted_and_ours_verifies_there(
        console, root, two_factor, ssh_agent, tmp_path):
    crt, _, issued = user_cert(console, root, "alice")
    console.second_factors.bind_certificate(root, "CERT", "alice", crt, replace=True)
    ssh_add(ssh_agent, issued.key, tmp_path)
    result = first(console)
    text = result.interaction["text"].encode()
    (tmp_path / "msg").write_bytes(text)
    public = issued.key.public_key().public_bytes(
        sshsig.serialization.Encoding.OpenSSH, sshsig.serialization.PublicFormat.OpenSSH)
    (tmp_path / "id.pub").write_bytes(public + b"\n")
    env = {**os.environ, "SSH_AUTH_SOCK": ssh_agent.path}
    subprocess.run(["ssh-keygen", "-Y", "sign", "-f", str(tmp_path / "id.pub"), "-n",
                    sshsig.NAMESPACE, str(tmp_path / "msg")], env=env, check=True,
                   capture_output=True)
    armored = (tmp_path / "msg.sig").read_text()
    evidence = {"challenge": result.interaction["challenge"], "certificate": crt.decode(),
                "signature": armored}
    assert console.login.continue_login(result.pending, evidence).session.account == "alice"
    # the other way: our agent-made signature verifies with ssh-keygen -Y verify
    ours = ssh_agent.sign(sshsig.public_key_blob(issued.key.public_key()), text)
    (tmp_path / "ours.sig").write_text(ours.armored())
    (tmp_path / "allowed").write_bytes(b"alice " + public + b"\n")
    subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "allowed"), "-I",
                    "alice", "-n", sshsig.NAMESPACE, "-s", str(tmp_path / "ours.sig")],
                   input=text, check=True, capture_output=True)


def test_replayed_challenge_is_refused(console, root, two_factor):
    crt, key, _ = user_cert(console, root, "alice")
    console.second_factors.bind_certificate(root, "CERT", "alice", crt, replace=True)
    result = first(console)
    evidence = certificate_evidence(result.interaction, certificate=crt, key=key)
    console.login.continue_login(result.pending, evidence)
    again = first(console)                          # a new login, the old answer replayed
    refused(console, again, evidence, "already used")
    # and a waiting login takes one answer only
    with pytest.raises(LoginFailed, match="no login is waiting"):
        console.login.continue_login(result.pending, evidence)


def test_revoked_certificate_is_refused(console, root, two_factor):
    crt, key, issued = user_cert(console, root, "alice")
    console.second_factors.bind_certificate(root, "CERT", "alice", crt, replace=True)
    console.certificates.revoke(root, format(issued.cert.serial_number, "x"), "keyCompromise")
    result = first(console)
    refused(console, result, certificate_evidence(result.interaction, certificate=crt,
                                                  key=key), "was revoked")


def test_expired_certificate_is_refused(console, root, two_factor, clock):
    issued = console.certificates.issue(root, IssueRequest("user", "alice", days=2))
    crt, key = pem(issued.cert, *issued.chain), key_pem(issued.key)
    console.second_factors.bind_certificate(root, "CERT", "alice", crt, replace=True)
    clock.advance(days=3)
    result = first(console)
    refused(console, result, certificate_evidence(result.interaction, certificate=crt,
                                                  key=key), "is not valid now")


def test_certificate_of_a_foreign_ca_is_refused(console, root, two_factor, clock):
    leaf, key, ca = foreign_user("alice", clock.now())
    console.second_factors.reset_certificate(root, "CERT", "alice")
    result = first(console)
    refused(console, result, certificate_evidence(result.interaction, certificate=pem(leaf, ca),
                                                  key=key_pem(key)), "does not chain")


def test_certificate_with_another_cn_is_refused(console, root, two_factor):
    crt, key, _ = user_cert(console, root, "bob")
    result = first(console)
    refused(console, result, certificate_evidence(result.interaction, certificate=crt,
                                                  key=key), "CN 'bob' is not the account 'alice'")


def test_another_key_than_the_bound_one_is_refused_until_reset(console, root, two_factor):
    crt, key, _ = user_cert(console, root, "alice")       # a new key: not the bound one
    result = first(console)
    refused(console, result, certificate_evidence(result.interaction, certificate=crt, key=key),
            "not the one bound")
    console.second_factors.reset_certificate(root, "CERT", "alice")
    result = first(console)
    evidence = certificate_evidence(result.interaction, certificate=crt, key=key)
    assert console.login.continue_login(result.pending, evidence).session.account == "alice"
    binding = console.second_factors.certificate_bindings(root, "CERT")
    assert {b["account_name"]: b["bound_by"] for b in binding}["alice"] == "first use"


def test_a_signature_by_another_key_is_refused(console, root, two_factor):
    crt, _, _ = user_cert(console, root, "alice")
    _, other, issued_other = user_cert(console, root, "alice")
    console.second_factors.bind_certificate(root, "CERT", "alice", crt, replace=True)
    result = first(console)
    with pytest.raises(ValidationError, match="does not belong"):
        certificate_evidence(result.interaction, certificate=crt, key=other)
    # made with another key anyway, sent with alice's certificate
    sig = sshsig.sign_with_key(issued_other.key, result.interaction["text"].encode())
    refused(console, result, {"challenge": result.interaction["challenge"],
                              "certificate": crt.decode(), "signature": sig.armored()},
            "another key")


def test_wrong_second_factor_is_throttled_and_needs_the_password_again(console, root,
                                                                       two_factor, clock):
    crt, key, _ = user_cert(console, root, "bob")
    result = first(console)
    refused(console, result, certificate_evidence(result.interaction, certificate=crt, key=key),
            "CN 'bob'")
    assert throttle.failures(console.store.conn, clock, "alice") == 1
    before = len(clock.slept)
    first(console)                                  # the next attempt waits first
    assert clock.slept[before:] == [1.0]


def test_a_second_factor_alone_never_logs_in(console, root, two_factor):
    with pytest.raises(ValidationError, match="no enabled identity service 'CERT'"):
        console.login.login(LoginRequest("alice", None, "test", service="CERT"))
    with pytest.raises(LoginFailed, match="no login is waiting"):
        console.login.continue_login("made-up-token", {"challenge": "x"})
    with pytest.raises(LoginFailed, match="wrong account name or password"):
        console.login.login(LoginRequest("alice", "wrong", "test", second_factor={"x": 1}))


def test_certificate_alone_as_the_first_factor(console, root, ca):
    console.identity_services.create(root, "CERT1", "CERTIFICATE")
    console.roles.create(root, "reader", service="CERT1")
    console.accounts.create(root, "carol", roles=["reader"], service="CERT1")
    crt, key, _ = user_cert(console, root, "carol")
    result = console.login.login(LoginRequest("", None, "test", service="CERT1"))
    assert result.status is LoginStatus.INTERACTION_NEEDED
    evidence = certificate_evidence(result.interaction, certificate=crt, key=key)
    done = console.login.login(LoginRequest("", None, "test", service="CERT1",
                                            extra={"certificate": evidence}))
    assert done.session.account == "carol" and done.session.services == ("CERT1",)
    # replayed: refused
    with pytest.raises(LoginFailed, match="certificate was not accepted"):
        console.login.login(LoginRequest("", None, "test", service="CERT1",
                                         extra={"certificate": evidence}))
    assert "already used" in last_refusal(console)[0]


def test_ldap_then_certificate(ldap_server, console, root, ca):
    ldap = Ldap(ldap_server, console, root)
    console.identity_services.create(root, "CERT", "CERTIFICATE", second_factor=True)
    ldap.service("DIR", "LDAP")
    console.identity_services.update(root, "DIR", auth_scheme="TWO-FACTOR",
                                     second_factor_service="CERT")
    crt, key, _ = user_cert(console, root, "alice")
    result = console.login.login(LoginRequest("alice", "alice-secret-1", "test"))
    assert result.status is LoginStatus.SECOND_FACTOR_REQUIRED
    evidence = certificate_evidence(result.interaction, certificate=crt, key=key)
    done = console.login.continue_login(result.pending, evidence)
    assert done.session.account == "alice" and done.session.services == ("DIR",)
    bob_crt, bob_key, _ = user_cert(console, root, "bob")
    result = console.login.login(LoginRequest("alice", "alice-secret-1", "test"))
    refused(console, result, certificate_evidence(result.interaction, certificate=bob_crt,
                                                  key=bob_key), "CN 'bob'")


def test_the_challenge_text_names_service_and_account_and_expires(console, root, two_factor,
                                                                  clock):
    result = first(console)
    text = result.interaction["text"]
    assert "service: CERT\n" in text and "account: alice\n" in text
    crt, key, _ = user_cert(console, root, "alice")
    console.second_factors.bind_certificate(root, "CERT", "alice", crt, replace=True)
    evidence = certificate_evidence(result.interaction, certificate=crt, key=key)
    clock.advance(seconds=200)                       # challenge lives 120 s
    refused(console, result, evidence, "expired")


def test_a_waiting_logins_challenge_cannot_be_spent_by_a_single_factor_login(console, root,
                                                                          two_factor):
    console.identity_services.update(root, "CERT", second_factor=False)
    console.roles.create(root, "reader", service="CERT")
    console.accounts.create(root, "alice", roles=["reader"], service="CERT")
    crt, key, _ = user_cert(console, root, "alice")
    console.second_factors.bind_certificate(root, "CERT", "alice", crt, replace=True)
    result = first(console)
    evidence = certificate_evidence(result.interaction, certificate=crt, key=key)
    from js7tui.identity.chain import _token_hash
    with pytest.raises(LoginFailed, match="certificate was not accepted"):
        console.login.login(LoginRequest("alice", None, "test", service="CERT", extra={
            "certificate": evidence, "pending_id": _token_hash(result.pending)}))
    assert "another login" in last_refusal(console)[0]
