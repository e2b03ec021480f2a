"""ID-token validation, the password grant and token-backed sessions, against real glewlwyd
tokens and keys (signature by kid, iss, aud, exp, nonce; refresh; revocation)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest

from js7tui.audit import AuditMeta
from js7tui.errors import SessionRequired
from js7tui.identity.chain import LoginFailed, LoginStatus
from js7tui.identity.oidc.discovery import MetadataCache
from js7tui.identity.oidc.http import OidcHttp
from js7tui.identity.oidc.id_token import TokenInvalid, validate_id_token
from js7tui.identity.oidc.keys import KeyCache, UnknownKey
from js7tui.identity.providers.base import LoginRequest, ProviderContext
from tests.conftest import cheap_hasher
from tests.oidc.conftest import add_oidc_service
from tests.oidc.glewlwyd import CLIENTS, free_port

ROLES = {"scheduler-admins": ["administrator"]}


class Checker:
    """Validates tokens the way the provider does, with glewlwyd's discovery and keys."""

    def __init__(self, server, clock, plugin="oidc"):
        self.http = OidcHttp(str(server.ca_file))
        self.metadata = MetadataCache().get(self.http, server.issuer(plugin), clock.now())
        self.keys = KeyCache()
        self.clock = clock

    def lookup(self, kid, alg):
        try:
            return self.keys.key_for(self.http, self.metadata.jwks_uri, kid, alg,
                                     self.clock.now())
        except UnknownKey as exc:
            raise TokenInvalid(str(exc)) from None

    def __call__(self, token, *, client_id="console", nonce=None):
        return validate_id_token(token, issuer=self.metadata.issuer, client_id=client_id,
                                 keys=self.lookup, now=self.clock.now(), leeway=60,
                                 nonce=nonce, provider_algs=self.metadata.id_token_algs)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def check(glewlwyd, clock):
    return Checker(glewlwyd, clock)


def test_a_genuine_token_passes(glewlwyd, check):
    claims = check(glewlwyd.tokens("alice")["id_token"])
    assert claims["preferred_username"] == "alice"
    assert claims["groups"] == ["scheduler-admins", "ops"]
    assert check.keys.fetches == 1


def test_a_token_for_another_client_is_refused(glewlwyd, check):
    token = glewlwyd.tokens("alice", client_id="other")["id_token"]
    with pytest.raises(TokenInvalid, match="meant for 'other', not for this console's client "
                                           "'console'"):
        check(token)


def test_a_tampered_token_is_refused(glewlwyd, check):
    header, payload, signature = glewlwyd.tokens("bob")["id_token"].split(".")
    claims = json.loads(_unb64(payload))
    claims["groups"] = ["scheduler-admins"]                      # bob promotes himself
    forged = ".".join((header, _b64(json.dumps(claims).encode()), signature))
    with pytest.raises(TokenInvalid, match="signature does not verify"):
        check(forged)
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(TokenInvalid, match="signature does not verify"):
        check(".".join((header, payload, flipped)))


def test_unsigned_and_symmetric_tokens_are_refused(glewlwyd, check):
    _, payload, _ = glewlwyd.tokens("alice")["id_token"].split(".")
    for alg in ("none", "HS256"):
        header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        with pytest.raises(TokenInvalid, match=f"signed with '{alg}', which is not accepted"):
            check(f"{header}.{payload}.")


def test_issuer_expiry_and_nonce_are_checked(glewlwyd, check, clock):
    token = glewlwyd.tokens("alice", nonce="n-123")["id_token"]
    assert check(token, nonce="n-123")["nonce"] == "n-123"
    with pytest.raises(TokenInvalid, match="nonce does not belong to this login"):
        check(token, nonce="another")
    short = Checker(glewlwyd, clock, plugin="oidcshort")
    with pytest.raises(TokenInvalid, match=r"issued by '.*/api/oidc', not by '.*/oidcshort'"):
        short(token)
    clock.advance(hours=1, minutes=2)
    with pytest.raises(TokenInvalid, match="expired at"):
        check(token)


def test_an_unknown_kid_fetches_the_keys_once_more(glewlwyd, clock):
    # A plugin of its own, so that rotating its key leaves the other tests alone.
    with glewlwyd.admin() as admin:
        glewlwyd.add_plugin(admin, "oidcrotate")
    check = Checker(glewlwyd, clock, plugin="oidcrotate")
    check(glewlwyd.tokens("alice", plugin="oidcrotate")["id_token"])
    glewlwyd.rotate_key("oidcrotate")
    claims = check(glewlwyd.tokens("alice", plugin="oidcrotate")["id_token"])
    assert claims["preferred_username"] == "alice" and check.keys.fetches == 2
    # A kid the provider never published: one more fetch, then a refusal.
    header, payload, signature = glewlwyd.tokens("alice", plugin="oidcrotate")["id_token"] \
        .split(".")
    fields = json.loads(_unb64(header))
    fields["kid"] = "retired-key"
    with pytest.raises(TokenInvalid, match=r"no key for this token \(kid 'retired-key'\), "
                                           "even after fetching its key set again"):
        check(".".join((_b64(json.dumps(fields).encode()), payload, signature)))
    assert check.keys.fetches == 3


def test_the_provider_refuses_a_tampered_token_in_the_login_history(console, root,
                                                                    glewlwyd):
    """The provider's own path from a token answer to an outcome, fed a forged answer."""
    add_oidc_service(console, root, glewlwyd, group_roles=ROLES)
    provider = console.registry.get("OIDC")
    record = console.identity_services.show(root, "IDP")
    context = ProviderContext(console.store.conn, cheap_hasher(), console.clock,
                              console.secrets)
    config = provider.config(record, context)
    tokens = glewlwyd.tokens("bob")
    header, payload, signature = tokens["id_token"].split(".")
    claims = json.loads(_unb64(payload))
    claims["groups"] = ["scheduler-admins"]
    tokens["id_token"] = ".".join((header, _b64(json.dumps(claims).encode()), signature))
    outcome = provider._outcome(record, config, provider.discover(config, context), tokens,
                                context, how="test")
    assert outcome.reason.startswith("token invalid: the ID token's signature does not "
                                     "verify with the provider's key")
    assert outcome.public and "token was refused" in outcome.public


# -- password grant -------------------------------------------------------------------------
@pytest.fixture
def idp_password(console, root, glewlwyd):
    name = add_oidc_service(console, root, glewlwyd, group_roles=ROLES, password_grant=True)
    console.roles.create(root, "administrator", service=name, meta=AuditMeta())
    return name


def test_password_grant(idp_password, console, root):
    result = console.login.login(LoginRequest("alice", "alice-password", "test"))
    assert result.status is LoginStatus.AUTHENTICATED
    assert result.session.services == ("IDP",)
    assert result.session.grants[0].roles == ("administrator",)
    [attempt] = console.sessions.login_history(root, limit=1)
    assert attempt.details[0][1].startswith("authenticated 'alice' (preferred_username) by "
                                            "password grant")
    assert console.login.login_methods("IDP") == ("device", "password")


def test_password_grant_with_a_wrong_password(idp_password, console, root):
    with pytest.raises(LoginFailed, match="wrong account name or password"):
        console.login.login(LoginRequest("alice", "not-her-password", "test"))
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details[0][0] == "IDP"
    assert attempt.details[0][1].startswith("rejected: wrong account name or password: the "
                                            "provider refused them (HTTP 403")
    assert "not-her-password" not in json.dumps(attempt.details)


def test_a_wrong_client_secret_is_a_configuration_problem(console, root, glewlwyd):
    add_oidc_service(console, root, glewlwyd, password_grant=True,
                     client_secret="not-the-secret")
    with pytest.raises(LoginFailed, match="wrong account name or password"):
        console.login.login(LoginRequest("alice", "alice-password", "test"))
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details[0] == ("IDP", "rejected: the provider refused the password login "
                                  "(HTTP 400 without an error code): a wrong account name or "
                                  "password, or check client_id and client_secret")
    with pytest.raises(LoginFailed, match=r"could be reached \(IDP\)"):
        console.login.login(LoginRequest("", None, "test", service="IDP"))
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details == (("IDP", "unreachable: the provider refused to start a device "
                                "login (HTTP 403 unauthorized_client); check client_id, "
                                "client_secret, the scopes and that the client may use the "
                                "device grant"),)


# -- sessions: refresh, revocation ----------------------------------------------------------
def test_the_session_follows_and_refreshes_the_token(idp_password, console, clock, glewlwyd):
    result = console.login.login(LoginRequest("alice", "alice-password", "test"))
    token, first_end = result.token, result.session.valid_until
    state = _state(console, result.session.id)
    session = work_until_the_token_nearly_ends(console, clock, token)
    assert session.valid_until > first_end + timedelta(minutes=59)
    refreshed = _state(console, session.id)
    assert refreshed["access_token"] != state["access_token"]
    assert refreshed["refresh_token"] == state["refresh_token"]    # glewlwyd keeps it
    # Logout revokes the refresh token at the provider.
    assert console.sessions.logout(token)
    answer = httpx.post(f"{glewlwyd.issuer()}/token", verify=glewlwyd.tls,
                        auth=("console", CLIENTS["console"]),
                        data={"grant_type": "refresh_token",
                              "refresh_token": state["refresh_token"]})
    assert answer.status_code == 400


def test_a_refresh_token_revoked_at_the_provider_ends_the_session(idp_password, console,
                                                                   clock, glewlwyd):
    result = console.login.login(LoginRequest("alice", "alice-password", "test"))
    state = _state(console, result.session.id)
    httpx.post(f"{glewlwyd.issuer()}/revoke", verify=glewlwyd.tls,
               auth=("console", CLIENTS["console"]),
               data={"token": state["refresh_token"], "token_type_hint": "refresh_token"}
               ).raise_for_status()
    with pytest.raises(SessionRequired, match="the identity service 'IDP' ended the session "
                                              r"\(the provider refused the refresh token"):
        work_until_the_token_nearly_ends(console, clock, result.token)


def test_an_unreachable_provider_keeps_the_session_until_the_token_ends(
        idp_password, console, root, clock, glewlwyd):
    result = console.login.login(LoginRequest("alice", "alice-password", "test"))
    console.identity_services.set_settings(root, "IDP", {"ca_file": None})   # TLS now fails
    console.registry.get("OIDC").metadata.forget(glewlwyd.issuer())
    assert work_until_the_token_nearly_ends(console, clock, result.token).account == "alice"
    clock.advance(minutes=1)
    with pytest.raises(SessionRequired, match="token has expired"):
        console.sessions.resume(result.token)


def work_until_the_token_nearly_ends(console, clock, token):
    """Use the session every 12 minutes (idle timeout 15m) until 30 s before the hour-long
    access token ends; the last use is within the refresh margin."""
    for _ in range(4):
        clock.advance(minutes=12)
        console.sessions.resume(token)
    clock.advance(minutes=11, seconds=30)
    return console.sessions.resume(token)


def _state(console, session_id):
    from js7tui.identity import sessions
    entry = sessions.provider_states(console.store.conn, session_id)["IDP"]
    assert entry["sealed"].startswith("sealed:v1:")
    return json.loads(console.secrets.open(entry["sealed"]))


# -- reachability ---------------------------------------------------------------------------
def test_an_untrusted_certificate_is_reported(console, root, glewlwyd):
    add_oidc_service(console, root, glewlwyd, ca_file=None)
    with pytest.raises(LoginFailed, match=r"no identity service could be reached \(IDP\)"):
        console.login.login(LoginRequest("", None, "test", service="IDP"))
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert "is not trusted by the system's trusted CAs (set ca_file)" in attempt.details[0][1]
    console.identity_services.set_settings(root, "IDP", {"ca_file": str(glewlwyd.other_ca_file)})
    with pytest.raises(LoginFailed):     # another source: no delay from the failure above
        console.login.login(LoginRequest("", None, "test-2", service="IDP"))
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert (f"is not trusted by the CA file '{glewlwyd.other_ca_file}' (certificate verify "
            "failed: unable to get local issuer certificate)") in attempt.details[0][1]


def test_a_provider_that_is_down_is_reported(console, root, glewlwyd):
    add_oidc_service(console, root, glewlwyd,
                     issuer_url=f"https://127.0.0.1:{free_port()}/api/oidc")
    with pytest.raises(LoginFailed, match="no identity service could be reached"):
        console.login.login(LoginRequest("", None, "test", service="IDP"))
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details[0][1].startswith("unreachable: cannot connect to 127.0.0.1:")


def test_plain_http_is_refused_for_a_remote_provider(console, root, glewlwyd):
    add_oidc_service(console, root, glewlwyd, issuer_url="http://idp.example.test/realms/x")
    with pytest.raises(LoginFailed):
        console.login.login(LoginRequest("", None, "test", service="IDP"))
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert "must be an https:// URL" in attempt.details[0][1]
