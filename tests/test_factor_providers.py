"""Second factors behind the token-issuing first factors: VAULT (a real OpenBao) and an
OIDC-type provider whose token must survive the wait, sealed, or be revoked on a refusal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from js7tui.identity.chain import LoginFailed, LoginStatus
from js7tui.identity.factors import fido_client
from js7tui.identity.providers.base import Authenticated, LoginRequest
from tests.factor_support import last_refusal
from tests.openbao import OpenBao, vault_service
from tests.soft_fido import SoftCtapDevice


def fido_second(console, root, account: str) -> SoftCtapDevice:
    console.identity_services.create(root, "KEY", "FIDO", second_factor=True)
    device = SoftCtapDevice()
    prompt = console.second_factors.registration_challenge("KEY", account)
    console.second_factors.register("KEY", account, fido_client.registration(prompt, device),
                                    session=root)
    return device


def test_vault_then_fido_keeps_the_vault_token_sealed(console, root, openbao: OpenBao):
    mount = openbao.userpass()
    openbao.policy("auditors")
    openbao.user(mount, "vera", "vera-vault-pw", ["auditors"])
    vault_service(console, root, openbao, "VAULT-2F", "VAULT", mount,
                  policy_roles={"auditors": ["readers"]})
    # a role that lets its holder in (a login needs controller:view somewhere)
    console.roles.create(root, "readers", service="VAULT-2F")
    device = fido_second(console, root, "vera")
    console.identity_services.update(root, "VAULT-2F", auth_scheme="TWO-FACTOR",
                                     second_factor_service="KEY")
    result = console.login.login(LoginRequest("vera", "vera-vault-pw", "test"))
    assert result.status is LoginStatus.SECOND_FACTOR_REQUIRED and result.session is None
    waiting = console.store.conn.execute("SELECT subjects FROM pending_logins").fetchone()[0]
    assert waiting.startswith("sealed:") and "hvs." not in waiting and "s." not in waiting[:12]
    done = console.login.continue_login(result.pending,
                                        fido_client.assertion(result.interaction, device))
    assert done.session.account == "vera" and done.session.services == ("VAULT-2F",)
    stored = console.store.conn.execute("SELECT provider_state FROM sessions WHERE id = ?",
                                        (done.session.id,)).fetchone()[0]
    assert json.loads(stored)["VAULT-2F"]["sealed"].startswith("sealed:v1:")


@dataclass
class TokenProvider:
    """An OIDC-JOC-like provider: authenticates and hands out a token it can revoke."""

    ended: list[dict] = field(default_factory=list)

    def authenticate(self, service, request, context):
        return Authenticated(request.account, message="token issued",
                             state={"access_token": "tok-" + request.account})

    def end(self, service, state, context):
        self.ended.append(state)

    def refresh(self, service, state, context):
        return Authenticated("x", state=state)


@pytest.fixture
def token_provider(console, root):
    provider = TokenProvider()
    console.registry.register("OIDC-JOC", lambda: provider)
    console.identity_services.create(root, "IDP", "OIDC-JOC")
    console.roles.create(root, "readers", service="IDP")  # grants controller:view
    console.accounts.create(root, "olga", roles=["readers"], service="IDP")
    return provider


def test_oidc_then_fido_passes_the_token_on_or_revokes_it(console, root, token_provider):
    device = fido_second(console, root, "olga")
    console.identity_services.update(root, "IDP", auth_scheme="TWO-FACTOR",
                                     second_factor_service="KEY")
    result = console.login.login(LoginRequest("olga", None, "test", service="IDP"))
    assert result.status is LoginStatus.SECOND_FACTOR_REQUIRED
    assert token_provider.ended == []                        # kept for the second step
    done = console.login.continue_login(result.pending,
                                        fido_client.assertion(result.interaction, device))
    assert done.session.services == ("IDP",)
    # a refused second factor revokes the token the first factor got
    result = console.login.login(LoginRequest("olga", None, "test", service="IDP"))
    other = SoftCtapDevice()
    prompt = dict(result.interaction)
    prompt["options"] = {**prompt["options"], "allowCredentials": []}
    with pytest.raises(Exception, match=r"(?i)no.?credentials|ineligible"):
        fido_client.assertion(prompt, other)
    with pytest.raises(LoginFailed):
        console.login.continue_login(result.pending, {"challenge": prompt["challenge"],
                                                      "response": {"id": "x"}})
    assert token_provider.ended == [{"access_token": "tok-olga"}]
    assert "assertion refused" in last_refusal(console)[0]
