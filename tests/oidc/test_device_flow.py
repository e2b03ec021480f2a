"""The device flow (RFC 8628) through the login chain, against a real glewlwyd: the test plays
the person with a browser, approving the user code through glewlwyd's own login API."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest

from js7tui.audit import AuditMeta
from js7tui.errors import ValidationError
from js7tui.identity.chain import LoginFailed, LoginStatus
from js7tui.identity.providers.base import LoginRequest
from tests.conftest import ROOT_PASSWORD, login
from tests.oidc.conftest import add_oidc_service
from tests.oidc.glewlwyd import CLIENTS

ROLES = {"scheduler-admins": ["administrator"], "ops": ["business_user"]}


@pytest.fixture
def idp(console, root, glewlwyd):
    name = add_oidc_service(console, root, glewlwyd, group_roles=ROLES)
    console.roles.create(root, "administrator", service=name, meta=AuditMeta())
    console.roles.set_permission(root, "administrator", "sos:products", service=name,
                                 meta=AuditMeta())
    console.roles.create(root, "business_user", service=name, meta=AuditMeta())
    return name


def start(console, account="", service="IDP", source="test"):
    result = console.login.login(LoginRequest(account, None, source, service=service))
    assert result.status is LoginStatus.INTERACTION_NEEDED, result
    return result


def poll(console, interaction, account="", service="IDP", source="test", **extra):
    request = LoginRequest(account, None, source, service=service,
                           extra={"device_handle": interaction["device_handle"], **extra})
    return console.login.login(request)


def pending_of(console, root, prompt, service="IDP", source="test"):
    """The provider's own record of a device login (white box: the device code is there)."""
    record = console.identity_services.show(root, service)
    return console.registry.get(record.type).flows.find(prompt["device_handle"], record.id,
                                                        source)


def test_device_login_maps_groups_to_roles(idp, console, root, glewlwyd, clock):
    started = start(console)
    prompt = started.interaction
    assert prompt["service"] == "IDP" and prompt["type"] == "device_code"
    assert prompt["verification_uri"] == f"{glewlwyd.issuer()}/device"
    assert prompt["user_code"] in prompt["verification_uri_complete"]
    assert prompt["interval"] == 1 and prompt["expires_at"]
    assert prompt["user_code"] in started.message
    # The device code never leaves the provider.
    pending = pending_of(console, root, prompt)
    assert pending is not None and pending.device_code not in json.dumps(prompt)

    waiting = poll(console, prompt)
    assert waiting.status is LoginStatus.INTERACTION_NEEDED
    assert waiting.interaction["status"] == "waiting"
    assert max(clock.slept) > 0.5                       # the provider waited for the interval

    glewlwyd.approve("alice", prompt["user_code"])
    done = poll(console, prompt)
    assert done.status is LoginStatus.AUTHENTICATED
    session = done.session
    assert session.account == "alice" and session.services == ("IDP",)
    assert session.grants[0].roles == ("administrator", "business_user")
    assert session.can("sos:products:controller:view")
    assert session.valid_until is not None
    assert 3500 < (session.valid_until - clock.now()).total_seconds() <= 3600
    [attempt] = console.sessions.login_history(root, limit=1)
    assert attempt.success and attempt.account == "alice"
    assert attempt.details == (("IDP", "authenticated 'alice' (preferred_username) by device "
                                "flow; groups scheduler-admins, ops -> roles administrator, "
                                "business_user"),)
    # The handle is spent.
    with pytest.raises(LoginFailed, match="no longer pending"):
        poll(console, prompt)


def test_a_user_without_mapped_groups_is_refused(idp, console, root, glewlwyd):
    prompt = start(console).interaction
    glewlwyd.approve("bob", prompt["user_code"])
    with pytest.raises(LoginFailed, match="wrong account name or password"):
        poll(console, prompt)
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details == (("IDP", "rejected: 'bob' was authenticated, but none of the "
                                "groups (visitors) maps to a role (group_roles)"),)


def test_the_token_decides_the_account(idp, console, glewlwyd):
    prompt = start(console, account="carol").interaction
    glewlwyd.approve("alice", prompt["user_code"])
    with pytest.raises(LoginFailed, match="confirmed the account 'alice', not 'carol'"):
        poll(console, prompt, account="carol")
    # The typed account, when it is the token's, is fine.
    prompt = start(console, account="alice").interaction
    glewlwyd.approve("alice", prompt["user_code"])
    assert poll(console, prompt, account="alice").session.account == "alice"


def test_an_empty_account_needs_a_chosen_service(idp, console):
    with pytest.raises(ValidationError, match="account name is empty"):
        console.login.login(LoginRequest("", None, "test"))


def test_a_password_login_does_not_start_a_device_flow(idp, console, root):
    # root's password login still works with IDP first in the order: IDP declines passwords.
    session = login(console, "root", ROOT_PASSWORD)
    assert session.services == ("JOC-INITIAL",)
    [attempt] = console.sessions.login_history(session, limit=1)
    assert attempt.details[0] == ("IDP", "rejected: 'IDP' logs in with the provider's device "
                                  "flow; password logins are off (password_grant)")
    assert console.login.login_methods("IDP") == ("device",)
    assert console.login.login_methods("JOC-INITIAL") == ("password",)


def test_expired_device_code_from_the_provider(console, root, glewlwyd):
    add_oidc_service(console, root, glewlwyd, name="SHORT", plugin="oidcshort",
                     group_roles=ROLES)
    prompt = start(console, service="SHORT").interaction
    # The console's own deadline is moved out of the way, so that what is tested is the
    # provider's answer (expired_token) once its two seconds (counted in whole seconds) pass.
    pending_of(console, root, prompt, service="SHORT").expires_at += timedelta(minutes=5)
    deadline = time.monotonic() + 10
    with pytest.raises(LoginFailed, match="device code expired"):
        while time.monotonic() < deadline:
            assert poll(console, prompt, service="SHORT").status is \
                LoginStatus.INTERACTION_NEEDED
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details == (("SHORT", "rejected: the device code expired before the login "
                                "was confirmed"),)


def test_expired_device_code_on_the_console_clock(idp, console, clock):
    prompt = start(console).interaction
    clock.advance(minutes=11)
    with pytest.raises(LoginFailed, match="device code expired"):
        poll(console, prompt)


def test_denied_login(idp, console, root, glewlwyd):
    prompt = start(console).interaction
    glewlwyd.deny()
    with pytest.raises(LoginFailed, match="denied at the identity provider"):
        poll(console, prompt)
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details == (("IDP", "rejected: the user denied the login at the identity "
                                "provider"),)
    entry = console.audit.list(root, limit=1)[0]
    assert entry.outcome == "REFUSED" and "denied" in json.dumps(entry.parameters)


def test_slow_down_lengthens_the_interval(idp, console, root, glewlwyd):
    prompt = start(console).interaction
    pending = pending_of(console, root, prompt)

    def poll_twice_at_once():
        # Another poll of the same code just before the console's, in the same second (glewlwyd
        # counts whole seconds): glewlwyd answers the console with slow_down.
        httpx.post(f"{glewlwyd.issuer()}/token", verify=glewlwyd.tls,
                   auth=("console", CLIENTS["console"]),
                   data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                         "device_code": pending.device_code})
        pending.next_poll = pending.next_poll.replace(year=2000)
        return poll(console, prompt)

    for _ in range(5):          # a second boundary may fall between the two polls
        slowed = poll_twice_at_once()
        if slowed.interaction["interval"] > 1:
            break
    assert slowed.status is LoginStatus.INTERACTION_NEEDED
    assert slowed.interaction["interval"] == 6 and "less often" in slowed.message


def test_cancel_forgets_the_device_code(idp, console, root):
    prompt = start(console).interaction
    with pytest.raises(LoginFailed, match="login cancelled"):
        poll(console, prompt, cancel=True)
    assert len(console.registry.get("OIDC").flows) == 0
    [attempt] = console.sessions.login_history(root, failed_only=True, limit=1)
    assert attempt.details == (("IDP", "rejected: the login was cancelled at the console"),)


def test_a_handle_works_only_for_its_source(idp, console):
    prompt = start(console).interaction
    with pytest.raises(LoginFailed, match="no longer pending"):
        poll(console, prompt, source="elsewhere")


def test_oidc_joc_takes_roles_from_the_store(console, root, glewlwyd):
    add_oidc_service(console, root, glewlwyd, name="IDP-JOC", type_name="OIDC-JOC")
    prompt = start(console, service="IDP-JOC").interaction
    glewlwyd.approve("carol", prompt["user_code"])
    with pytest.raises(LoginFailed, match="wrong account name or password"):
        poll(console, prompt, service="IDP-JOC")       # carol has no account in IDP-JOC
    console.roles.create(root, "viewers", service="IDP-JOC", meta=AuditMeta())
    console.accounts.create(root, "carol", service="IDP-JOC", roles=["viewers"],
                            meta=AuditMeta())
    prompt = start(console, service="IDP-JOC").interaction
    glewlwyd.approve("carol", prompt["user_code"])
    session = poll(console, prompt, service="IDP-JOC").session
    assert session.account == "carol" and session.grants[0].roles_from == "store"
    assert session.can("sos:products:controller:view")
