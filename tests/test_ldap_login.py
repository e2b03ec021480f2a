"""LDAP logins against a real slapd: bind by template and by search, PLAIN/STARTTLS/LDAPS,
failover, refused certificates, the system account, escaping of user input, and a distinct
reason in the login history for each kind of failure while the login form stays neutral."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from js7tui.identity.chain import NEUTRAL_FAILURE
from tests.ldap_helpers import Ldap
from tests.ldap_server import (
    BASE,
    ODD_NAME,
    PASSWORDS,
    PEOPLE,
    SYSTEM_DN,
    SYSTEM_PASSWORD,
    free_port,
    user_dn,
)

SEARCH = {"user_dn_template": None, "search_base": BASE, "user_search_filter": "(uid=%s)",
          "system_user_dn": SYSTEM_DN, "system_password": SYSTEM_PASSWORD}


@pytest.fixture
def ldap(ldap_server, console, root) -> Ldap:
    return Ldap(ldap_server, console, root)


@pytest.fixture
def dead_url() -> str:
    """A port on 127.0.0.1 where nothing listens: connection refused at once."""
    return f"ldap://127.0.0.1:{free_port()}"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that accepts TCP connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"ldap://127.0.0.1:{sock.getsockname()[1]}"


# -- binding: template, search, transports -----------------------------------------------------
@pytest.mark.parametrize("transport", ["STARTTLS", "SSL", "PLAIN", "ldaps-by-name"])
def test_bind_by_template_over_each_transport(ldap, transport):
    urls = {"STARTTLS": ldap.server.ldap_url, "PLAIN": ldap.server.ldap_url,
            "SSL": ldap.server.ldaps_url, "ldaps-by-name": ldap.server.ldaps_url_localhost}
    protocol = transport if transport in ("STARTTLS", "PLAIN") else "SSL"
    ldap.service(server_urls=[urls[transport]], protocol=protocol)
    attempt = ldap.login("alice", PASSWORDS["alice"])
    assert attempt.ok, attempt.details
    assert attempt.session.services == ("DIR",)
    assert f"authenticated by {urls[transport]} as '{user_dn('alice')}'" in attempt.details["DIR"]
    assert ("unencrypted" in attempt.details["DIR"]) == (transport == "PLAIN")


def test_bind_by_search_with_the_system_account_finds_entries_outside_the_template(ldap):
    ldap.service(server_urls=[ldap.server.ldaps_url], **SEARCH)
    erin = ldap.login("erin", PASSWORDS["erin"])      # in ou=contractors, not ou=people
    assert erin.ok, erin.details
    assert user_dn("erin") in erin.details["DIR"]
    ldap.reconfigure(user_search_filter=None, search_base=None, system_user_dn=None,
                     system_password=None, user_dn_template=f"uid={{0}},{PEOPLE}")
    assert not ldap.login("erin", PASSWORDS["erin"]).ok


def test_the_system_password_may_come_from_a_private_file(ldap, tmp_path):
    secret = tmp_path / "bind.secret"
    secret.touch(mode=0o600)
    secret.write_text(SYSTEM_PASSWORD + "\n")
    ldap.service(**{**SEARCH, "system_password": None, "system_password_file": str(secret)})
    assert ldap.login("bob", PASSWORDS["bob"]).ok
    secret.chmod(0o644)
    attempt = ldap.login("bob", PASSWORDS["bob"])
    assert not attempt.ok
    assert "can be read by every user (mode 0644); make it 0600" in attempt.details["DIR"]
    secret.unlink()
    assert "cannot be read: No such file" in ldap.login("bob", PASSWORDS["bob"]).details["DIR"]


def test_an_anonymous_search_says_the_directory_may_hide_entries(ldap):
    ldap.service(**{**SEARCH, "system_user_dn": None, "system_password": None})
    attempt = ldap.login("alice", PASSWORDS["alice"])
    assert not attempt.ok and attempt.public == NEUTRAL_FAILURE
    assert "hidden from anonymous clients" in attempt.details["DIR"]
    assert "set system_user_dn" in attempt.details["DIR"]


# -- failover and servers that cannot be used ---------------------------------------------------
def test_failover_from_a_dead_url_to_a_live_one_names_the_dead_one(ldap, dead_url):
    ldap.service(server_urls=[dead_url, ldap.server.ldap_url])
    attempt = ldap.login("alice", PASSWORDS["alice"])
    assert attempt.ok
    assert f"authenticated by {ldap.server.ldap_url}" in attempt.details["DIR"]
    assert f"after {dead_url}: connection refused" in attempt.details["DIR"]


def test_failover_leaves_a_server_that_never_answers_after_the_read_timeout(ldap, silent_url):
    ldap.service(server_urls=[silent_url, ldap.server.ldaps_url], read_timeout=1,
                 connect_timeout=1)
    attempt = ldap.login("bob", PASSWORDS["bob"])
    assert attempt.ok, attempt.details
    assert f"after {silent_url}:" in attempt.details["DIR"]


def test_every_server_down_names_each_one_and_the_form_says_unreachable(ldap, dead_url):
    second = f"ldap://127.0.0.1:{free_port()}"
    ldap.service(server_urls=[dead_url, second], required=True)
    attempt = ldap.login("alice", PASSWORDS["alice"])
    assert attempt.public == "login failed: the identity service 'DIR' cannot be reached"
    detail = attempt.details["DIR"]
    assert detail.startswith("unreachable: no directory server could be used")
    assert f"{dead_url}: connection refused" in detail and f"{second}: connection refused" in detail


@pytest.mark.parametrize("transport", ["SSL", "STARTTLS"])
def test_an_untrusted_server_certificate_is_refused(ldap, transport):
    url = ldap.server.ldaps_url if transport == "SSL" else ldap.server.ldap_url
    ldap.service(server_urls=[url], protocol=transport, ca_file=str(ldap.server.other_ca_file),
                 required=True)
    attempt = ldap.login("alice", PASSWORDS["alice"])
    assert not attempt.ok
    assert "cannot be reached" in attempt.public
    detail = attempt.details["DIR"]
    assert "the server certificate is not trusted" in detail
    assert "set ca_file to the CA that issued it" in detail


def test_a_replaced_ca_file_is_read_again(ldap, tmp_path):
    """TLS contexts are kept between logins (loading CAs is slow), but not past a change."""
    ca_file = tmp_path / "directory-ca.pem"
    ca_file.write_bytes(ldap.server.other_ca_file.read_bytes())
    ldap.service(server_urls=[ldap.server.ldaps_url], protocol="SSL", ca_file=str(ca_file))
    assert "not trusted" in ldap.login("bob", PASSWORDS["bob"]).details["DIR"]
    ca_file.write_bytes(ldap.server.ca_file.read_bytes() + b"\n")
    assert ldap.login("bob", PASSWORDS["bob"]).ok


def test_the_system_trust_store_does_not_trust_a_private_ca(ldap):
    ldap.service(server_urls=[ldap.server.ldaps_url], protocol="SSL", ca_file=None)
    assert "certificate is not trusted" in ldap.login("bob", PASSWORDS["bob"]).details["DIR"]


def test_host_names_are_verified_by_default_and_can_be_turned_off(ldap):
    ldap.service(server_urls=[ldap.server.ldaps_url_unnamed_ip], protocol="SSL")
    attempt = ldap.login("alice", PASSWORDS["alice"])
    assert "the server certificate does not name this host" in attempt.details["DIR"]
    assert "127.0.0.2" in attempt.details["DIR"]
    ldap.reconfigure(verify_hostname=False)
    assert ldap.login("alice", PASSWORDS["alice"]).ok


def test_a_missing_ca_file_is_a_configuration_problem(ldap, tmp_path):
    ldap.service(ca_file=str(tmp_path / "nope.pem"))
    detail = ldap.login("alice", PASSWORDS["alice"]).details["DIR"]
    assert "'DIR' cannot work as configured: ca_file" in detail


# -- the system account -------------------------------------------------------------------------
@pytest.mark.parametrize(("dn", "password"), [
    (SYSTEM_DN, "not-the-system-password"),
    (f"cn=nobody,ou=system,{BASE}", SYSTEM_PASSWORD),
])
def test_a_refused_system_account_is_reported_as_such(ldap, dn, password):
    ldap.service(**{**SEARCH, "system_user_dn": dn, "system_password": password},
                 required=True)
    attempt = ldap.login("alice", PASSWORDS["alice"])
    assert "cannot be reached" in attempt.public
    assert f"refused the system account '{dn}' (invalid credentials)" in attempt.details["DIR"]
    assert "check system_user_dn and system_password" in attempt.details["DIR"]


def test_a_system_account_without_a_password_is_a_configuration_problem(ldap):
    ldap.service(**{**SEARCH, "system_password": None})
    detail = ldap.login("alice", PASSWORDS["alice"]).details["DIR"]
    assert f"the system account '{SYSTEM_DN}' has no password" in detail


@pytest.mark.parametrize(("settings", "expected"), [
    ({"user_dn_template": None}, "set user_dn_template, or user_search_filter"),
    ({"user_dn_template": "uid=alice,ou=people"}, "must contain {0}"),
    ({"server_urls": ["http://dir.example:389"]}, "is not an LDAP server URL"),
    ({"user_search_filter": "(uid=%s)"}, "search_base is not"),
    ({"search_base": "ou=nowhere,dc=example,dc=test", "user_search_filter": "(uid=%s)",
      "system_user_dn": SYSTEM_DN, "system_password": SYSTEM_PASSWORD},
     "the user base 'ou=nowhere,dc=example,dc=test' does not exist"),
])
def test_configuration_problems_name_the_setting(ldap, settings, expected):
    ldap.service(**settings)
    attempt = ldap.login("alice", PASSWORDS["alice"])
    assert not attempt.ok and attempt.public == NEUTRAL_FAILURE
    assert attempt.details["DIR"].startswith("unreachable: ")
    assert expected in attempt.details["DIR"]


# -- credentials --------------------------------------------------------------------------------
def test_invalid_credentials_and_unknown_accounts_look_alike_on_the_form(ldap):
    ldap.service()
    wrong = ldap.login("alice", "not-alices-password")
    unknown = ldap.login("mallory", "whatever-password")
    assert wrong.public == unknown.public == NEUTRAL_FAILURE
    assert f"rejected: invalid credentials for '{user_dn('alice')}'" in wrong.details["DIR"]
    assert "invalid credentials" in unknown.details["DIR"]


def test_an_empty_password_is_never_sent_as_an_anonymous_bind(ldap):
    ldap.service()
    attempt = ldap.login("alice", "")
    assert not attempt.ok
    assert "anonymous bind" in attempt.details["DIR"]


@pytest.mark.parametrize("mode", ["template", "search"])
@pytest.mark.parametrize("account", [
    "*)(uid=*", "admin)(|(uid=*", "*", "a*", "alice)(objectClass=*", "alice,ou=people",
    "uid=alice,ou=people,dc=example,dc=test", "alice\\2a", "#alice", "alice\x00", "alice+cn=x",
])
def test_injection_attempts_never_log_in(ldap, mode, account):
    """Wildcards, closing parentheses and DN syntax in the login name are data: each of these
    would reach alice's entry (or every entry) if it were put into a filter or DN unescaped."""
    ldap.service(**(SEARCH if mode == "search" else {}))
    attempt = ldap.login(account, PASSWORDS["alice"])
    assert not attempt.ok, attempt.details
    assert attempt.public == NEUTRAL_FAILURE


@pytest.mark.parametrize("mode", ["template", "search"])
def test_names_with_dn_and_filter_syntax_are_escaped_not_refused(ldap, mode):
    ldap.service(**(SEARCH if mode == "search" else {}))
    attempt = ldap.login(ODD_NAME, PASSWORDS[ODD_NAME])
    assert attempt.ok, attempt.details
    assert attempt.session.account == ODD_NAME


def test_a_filter_matching_several_entries_is_refused(ldap):
    ldap.service(**{**SEARCH, "user_search_filter": "(|(uid=%s)(objectClass=inetOrgPerson))"})
    detail = ldap.login("alice", PASSWORDS["alice"]).details["DIR"]
    assert "more than one entry matches" in detail


def test_no_password_reaches_the_store_or_the_logs(ldap, dead_url):
    """Every log record of the login path, at every level, and the whole store."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("js7tui"), logging.getLogger("ldap3")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(keep)
        logger.setLevel(logging.DEBUG)
    try:
        ldap.service(server_urls=[dead_url, ldap.server.ldap_url], **SEARCH)
        for account, password in (("alice", PASSWORDS["alice"]), ("alice", "wrong-pw-xyz"),
                                  ("bob", PASSWORDS["bob"])):
            ldap.login(account, password)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(keep)
            logger.setLevel(level)
    logged = "\n".join(record.getMessage() for record in records)
    assert "failed login of 'alice'" in logged
    dump = "\n".join(ldap.console.store.conn.iterdump())
    for secret in (PASSWORDS["alice"], PASSWORDS["bob"], "wrong-pw-xyz", SYSTEM_PASSWORD):
        assert secret not in dump and secret not in logged
