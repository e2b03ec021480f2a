"""The chain's rules for interactive providers, with small provider doubles (the OIDC provider
itself is tested against a real glewlwyd in tests/oidc): a chosen service, the account the
provider names, refusals that speak to the person, and how a service takes logins."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from js7tui.audit import AuditMeta
from js7tui.errors import ValidationError
from js7tui.identity.chain import NEUTRAL_FAILURE, LoginFailed, LoginStatus
from js7tui.identity.providers.base import (
    Authenticated,
    InteractionNeeded,
    LoginRequest,
    Rejected,
)
from tests.conftest import ROOT_PASSWORD, login


@dataclass
class NamingProvider:
    """Authenticates whoever its 'token' names; asks for an interaction first."""

    names: str = "alice"
    refuse_with: str | None = None

    def login_methods(self, service, context):
        return ("device",)

    def authenticate(self, service, request, context):
        if request.password:
            return Rejected("takes no passwords")
        if not request.extra.get("done"):
            return InteractionNeeded({"code": "XY-12"}, message="confirm XY-12")
        if self.refuse_with:
            return Rejected("the code expired", public=self.refuse_with)
        return Authenticated(self.names, roles=("operators",))


@pytest.fixture
def idp(console, root) -> NamingProvider:
    provider = NamingProvider()
    console.registry.register("OIDC", lambda: provider)
    console.identity_services.create(root, "IDP", "OIDC", meta=AuditMeta())
    console.roles.create(root, "operators", service="IDP", meta=AuditMeta())
    return provider


def test_a_chosen_service_is_the_only_one_asked(idp, console, root):
    started = console.login.login(LoginRequest("", None, "t", service="idp"))
    assert started.status is LoginStatus.INTERACTION_NEEDED
    assert started.interaction == {"service": "IDP", "code": "XY-12"}
    result = console.login.login(LoginRequest("", None, "t", service="IDP",
                                              extra={"done": True}))
    assert result.session.account == "alice" and result.session.services == ("IDP",)
    [attempt] = console.sessions.login_history(root, limit=1)
    assert attempt.account == "alice" and [n for n, _ in attempt.details] == ["IDP"]


def test_the_provider_names_the_account_and_a_different_typed_one_is_refused(idp, console,
                                                                           root):
    with pytest.raises(LoginFailed, match="'IDP' confirmed the account 'alice', not 'mallory'"):
        console.login.login(LoginRequest("mallory", None, "t", service="IDP",
                                         extra={"done": True}))
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details == (("IDP", "rejected: authenticated the account 'alice', not the "
                                "account 'mallory' that was entered"),)


def test_an_adopted_account_is_still_checked_against_blocklist_and_store(idp, console, root):
    console.accounts.block(root, "alice", "left", meta=AuditMeta())
    with pytest.raises(LoginFailed, match="'alice' is blocked"):
        console.login.login(LoginRequest("", None, "t", service="IDP", extra={"done": True}))


def test_without_a_chosen_service_the_account_is_required(idp, console):
    with pytest.raises(ValidationError, match="account name is empty"):
        console.login.login(LoginRequest("", None, "t"))
    with pytest.raises(ValidationError, match="no enabled identity service 'NOPE'"):
        console.login.login(LoginRequest("", None, "t", service="NOPE"))


def test_required_services_are_never_bypassed(idp, console, root):
    console.identity_services.update(root, "JOC-INITIAL", required=True, meta=AuditMeta())
    with pytest.raises(ValidationError, match="'IDP' is optional, and every login must pass "
                                              r"the required identity services \(JOC-INITIAL\)"):
        console.login.login(LoginRequest("", None, "t", service="IDP"))
    # Choosing a required service runs all required services, as any login does.
    assert login(console, "root", ROOT_PASSWORD).services == ("JOC-INITIAL",)


def test_a_public_refusal_ends_the_login_with_its_own_words(idp, console, root):
    idp.refuse_with = "login failed: the device code expired"
    # IDP first in the order, JOC-INITIAL after it: JOC-INITIAL is not asked any more.
    console.identity_services.reorder(root, ["IDP"])
    with pytest.raises(LoginFailed, match=r"^login failed: the device code expired$"):
        console.login.login(LoginRequest("alice", None, "t", extra={"done": True}))
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details == (("IDP", "rejected: the code expired"),)


def test_plain_rejections_stay_neutral(idp, console):
    with pytest.raises(LoginFailed) as failed:
        console.login.login(LoginRequest("root", "wrong", "t"))
    assert str(failed.value) == NEUTRAL_FAILURE


def test_login_methods(idp, console):
    assert console.login.login_methods("IDP") == ("device",)
    assert console.login.login_methods("JOC-INITIAL") == ("password",)
    assert console.login.services_taking("device") == ["IDP"]
    assert console.login.services_taking("password") == ["JOC-INITIAL"]
