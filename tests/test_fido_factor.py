"""FIDO identity service: fido2's Fido2Server and Fido2Client with a software CTAP2
authenticator behind fido2's device interface; alone, and second behind JOC and LDAP."""

from __future__ import annotations

import pytest

from js7tui.errors import ValidationError
from js7tui.identity.chain import LoginFailed, LoginStatus
from js7tui.identity.factors import fido_client
from js7tui.identity.providers.base import LoginRequest
from tests.conftest import make_account
from tests.factor_support import last_refusal
from tests.ldap_helpers import Ldap
from tests.soft_fido import SoftCtapDevice

PASSWORD = "a-good-password-42"


def register(console, session, service, account, device, name="key"):
    prompt = console.second_factors.registration_challenge(service, account)
    evidence = fido_client.registration(prompt, device)
    return console.second_factors.register(service, account, evidence, device_name=name,
                                           session=session)


@pytest.fixture
def keys(console, root):
    """JOC-INITIAL asks the FIDO service KEY second; root and alice have a key each."""
    make_account(console, root, "alice", ["administrator"], PASSWORD)
    make_account(console, root, "bob", ["api_user"], PASSWORD)
    console.identity_services.create(root, "KEY", "FIDO", second_factor=True)
    devices = {"root": SoftCtapDevice(), "alice": SoftCtapDevice(), "bob": SoftCtapDevice()}
    for who, device in devices.items():
        assert register(console, root, "KEY", who, device) == "added"
    console.identity_services.update(root, "JOC-INITIAL", auth_scheme="TWO-FACTOR",
                                     second_factor_service="KEY")
    return devices


def first(console, account="alice", password=PASSWORD):
    result = console.login.login(LoginRequest(account, password, "test"))
    assert result.status is LoginStatus.SECOND_FACTOR_REQUIRED, result
    assert result.interaction["type"] == "fido_assertion"
    return result


def touch(console, device, account="alice"):
    result = first(console, account)
    return console.login.continue_login(result.pending,
                                        fido_client.assertion(result.interaction, device))


def refused(console, result, evidence, words):
    with pytest.raises(LoginFailed, match=r"second factor was not accepted|key was not"):
        console.login.continue_login(result.pending, evidence)
    history, audit = last_refusal(console)
    assert words in history and words in audit, (history, audit)


def test_joc_then_fido_through_fido2s_client(console, keys):
    done = touch(console, keys["alice"])
    assert done.status is LoginStatus.AUTHENTICATED and done.session.account == "alice"
    assert keys["alice"].touches == 2          # registration and this login


def test_the_key_of_another_account_is_refused(console, keys):
    result = first(console)
    # bob's key is not among alice's allowed credentials: the authenticator finds none
    with pytest.raises(Exception, match=r"(?i)no.?credentials|device ineligible"):
        fido_client.assertion(result.interaction, keys["bob"])


def test_a_cloned_authenticator_is_refused(console, keys):
    twin = keys["alice"].clone()
    touch(console, keys["alice"])
    touch(console, keys["alice"])                       # counter 2
    result = first(console)
    refused(console, result, fido_client.assertion(result.interaction, twin),
            "cloned authenticator")                     # the copy says 1


def test_user_verification_required_refuses_a_key_without_it(console, root, keys):
    plain = SoftCtapDevice(uv=False)
    assert register(console, root, "KEY", "alice", plain, "no-pin key") == "added"
    console.identity_services.set_settings(root, "KEY",
                                           {"iamFidoUserVerification": "REQUIRED"})
    result = first(console)
    with pytest.raises(Exception, match="User verification not configured"):
        fido_client.assertion(result.interaction, plain)     # fido2's client will not try
    # a client that asks the key without UV anyway: the server refuses
    prompt = dict(result.interaction)
    prompt["options"] = {**prompt["options"], "userVerification": "discouraged"}
    refused(console, result, fido_client.assertion(prompt, plain), "User verification required")
    assert touch(console, keys["alice"]).session.account == "alice"   # uv-capable key: fine


def test_several_devices_and_removing_one(console, root, keys):
    spare = SoftCtapDevice()
    assert register(console, root, "KEY", "alice", spare, "spare") == "added"
    assert touch(console, spare).session.account == "alice"
    assert touch(console, keys["alice"]).session.account == "alice"
    spare_id = next(d["id"] for d in console.second_factors.devices(root, "KEY", "alice")
                    if d["name"] == "spare")
    console.second_factors.remove_device(root, "KEY", spare_id)
    result = first(console)
    # the removed credential is not offered any more; a client that sends it anyway is refused
    prompt = dict(result.interaction)
    prompt["options"] = {**prompt["options"], "allowCredentials": []}
    refused(console, result, fido_client.assertion(prompt, spare), "was removed")


def test_an_own_further_device_needs_no_administrator(console, root, keys):
    session = touch(console, keys["bob"], "bob").session
    assert register(console, session, "KEY", "bob", SoftCtapDevice(), "second") == "added"
    with pytest.raises(Exception, match=r"not permitted|permission"):
        register(console, session, "KEY", "alice", SoftCtapDevice(), "sneaky")


def test_recovery_resets_devices_but_not_the_last_administrators(console, root, keys):
    assert console.second_factors.reset_devices(root, "KEY", "alice") == 1
    result = first(console)
    assert result.interaction["devices"] == 0
    # root is now the only administrator who can pass KEY: its device stays
    with pytest.raises(Exception, match="manage accounts"):
        console.second_factors.reset_devices(root, "KEY", "root")


def test_self_registration_waits_for_approval_and_deferred_is_refused(console, root):
    console.identity_services.create(root, "PASSKEY", "FIDO")
    console.roles.create(root, "reader", service="PASSKEY")
    device = SoftCtapDevice()
    prompt = console.second_factors.registration_challenge("PASSKEY", "dave")
    state = console.second_factors.register("PASSKEY", "dave",
                                            fido_client.registration(prompt, device),
                                            email="dave@example.test", source="ssh")
    assert state == "pending"

    def fido_login(account=""):
        result = console.login.login(LoginRequest(account, None, "test", service="PASSKEY"))
        assert result.status is LoginStatus.INTERACTION_NEEDED
        evidence = fido_client.assertion(result.interaction, device)
        return console.login.login(LoginRequest(account, None, "test", service="PASSKEY",
                                                extra={"fido": evidence}))

    with pytest.raises(LoginFailed, match="security key was not accepted"):
        fido_login()
    assert "registration is pending" in last_refusal(console)[0]
    [request] = console.second_factors.registrations(root, "PASSKEY")
    console.second_factors.defer(root, request["id"])
    with pytest.raises(LoginFailed):
        fido_login()
    history, audit = last_refusal(console)
    assert "registration is deferred" in history and "registration is deferred" in audit
    console.second_factors.approve(root, request["id"])
    console.accounts.set_roles(root, "dave", ["reader"], service="PASSKEY")
    done = fido_login()
    assert done.session.account == "dave" and done.session.services == ("PASSKEY",)
    assert fido_login("dave").session.account == "dave"
    assert console.accounts.show(root, "dave", service="PASSKEY").name == "dave"


def test_ldap_then_fido(ldap_server, console, root):
    ldap = Ldap(ldap_server, console, root)
    console.identity_services.create(root, "KEY", "FIDO", second_factor=True)
    ldap.service("DIR", "LDAP")
    device = SoftCtapDevice()
    assert register(console, root, "KEY", "alice", device) == "added"
    console.identity_services.update(root, "DIR", auth_scheme="TWO-FACTOR",
                                     second_factor_service="KEY")
    result = console.login.login(LoginRequest("alice", "alice-secret-1", "test"))
    assert result.status is LoginStatus.SECOND_FACTOR_REQUIRED
    done = console.login.continue_login(result.pending,
                                        fido_client.assertion(result.interaction, device))
    assert done.session.account == "alice" and done.session.services == ("DIR",)
    # replay of the same assertion on a new login: refused
    evidence = fido_client.assertion(result.interaction, device)
    again = console.login.login(LoginRequest("alice", "alice-secret-1", "test"))
    refused(console, again, evidence, "already used")


def test_a_registration_response_for_another_challenge_is_refused(console, root):
    console.identity_services.create(root, "PASSKEY", "FIDO")
    prompt = console.second_factors.registration_challenge("PASSKEY", "erin")
    evidence = fido_client.registration(prompt, SoftCtapDevice())
    console.second_factors.register("PASSKEY", "erin", evidence)
    with pytest.raises(ValidationError, match="already used"):
        console.second_factors.register("PASSKEY", "erin", evidence)


def _browser(page, answer, host=None):
    """What the laptop's browser does on the forwarded page: load it, post the answer."""
    import httpx
    base = f"http://127.0.0.1:{page.port}/{page.token}"
    headers = {"Host": host or f"localhost:{page.port}"}
    got = httpx.get(base, headers=headers)
    posted = httpx.post(base + "/answer", json=answer, headers=headers) if answer else None
    return got, posted


def test_over_ssh_the_forwarded_page_registers_and_logs_in(console, root, keys):
    from js7tui.identity.factors.fido_page import FidoPage
    from tests.soft_fido import SoftWebAuthn
    laptop = SoftWebAuthn()
    prompt = console.second_factors.registration_challenge("KEY", "alice")
    page = FidoPage(prompt, create=True)
    page.start()
    origin = f"http://localhost:{page.port}"
    got, posted = _browser(page, laptop.create(prompt["options"], origin))
    assert got.status_code == 200 and prompt["options"]["challenge"] in got.text
    assert posted.status_code == 200
    evidence = page.wait(5)
    assert console.second_factors.register("KEY", "alice", evidence, device_name="laptop",
                                           session=root) == "added"

    result = first(console)
    page = FidoPage(result.interaction)
    page.start()
    origin = f"http://localhost:{page.port}"
    answer = laptop.get(result.interaction["options"], origin)
    assert _browser(page, None, host=f"evil.test:{page.port}")[0].status_code == 421
    got, posted = _browser(page, answer)
    assert posted.status_code == 200
    assert _browser(page, answer)[0].status_code == 410          # single use
    done = console.login.continue_login(result.pending, page.wait(5))
    assert done.session.account == "alice"


def test_a_page_answer_from_another_origin_is_refused(console, root, keys):
    from js7tui.identity.factors.fido_page import FidoPage
    from tests.soft_fido import SoftWebAuthn
    laptop = SoftWebAuthn()
    prompt = console.second_factors.registration_challenge("KEY", "alice")
    evidence = {"challenge": prompt["challenge"],
                "response": laptop.create(prompt["options"], "http://localhost:9")}
    console.second_factors.register("KEY", "alice", evidence, session=root)
    result = first(console)
    page = FidoPage(result.interaction)
    page.start()
    _browser(page, laptop.get(result.interaction["options"], "https://evil.test"))
    refused(console, result, page.wait(5), "Invalid origin")
