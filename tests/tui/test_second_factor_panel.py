"""The login form's second-factor step (widgets/second_factor.py) with the real CERTIFICATE
service: the password, then the key file signs the challenge; a wrong key is refused; esc
gives up. And the FIDO step with the software authenticator over the forwarded page."""

from __future__ import annotations

from js7tui.console import Console
from js7tui.identity.factors import fido_client
from js7tui.identity.sessions import Session
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.tui.app import Js7App
from tests.conftest import ROOT_PASSWORD
from tests.factor_support import key_pem, pem
from tests.soft_fido import SoftCtapDevice
from tests.tui.conftest import login, settle, type_text


def certificate_two_factor(console: Console, root: Session, tmp_path):
    console.certificates.create_ca(root, KeyType.EC_P256)
    console.identity_services.create(root, "CERT", "CERTIFICATE", second_factor=True)
    issued = console.certificates.issue(root, IssueRequest("user", "root"))
    console.second_factors.bind_certificate(root, "CERT", "root", pem(issued.cert))
    console.identity_services.update(root, "JOC-INITIAL", auth_scheme="TWO-FACTOR",
                                     second_factor_service="CERT")
    key = tmp_path / "root.key"
    key.write_bytes(key_pem(issued.key))
    other = tmp_path / "other.key"
    other.write_bytes(key_pem(console.certificates.issue(root, IssueRequest("user",
                                                                             "root")).key))
    return key, other


async def test_password_then_certificate_key_file(app: Js7App, console: Console,
                                                  root: Session, tmp_path) -> None:
    key, other = certificate_two_factor(console, root, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await login(pilot, "root", ROOT_PASSWORD)
        panel = app.screen.query_one("#login-second-factor")
        assert panel.display and app.ctx.session is None
        await pilot.press("enter")                       # certificate: the bound one
        await type_text(pilot, str(other))               # a key that is not the bound one
        await pilot.press("enter")
        await settle(pilot)
        assert app.ctx.session is None
        assert "not belong" in str(app.screen.query_one("#login-message").render())
        await pilot.press("enter")                       # password field: log in again
        await settle(pilot)
        assert app.screen.query_one("#login-second-factor").display
        await pilot.press("enter")
        await type_text(pilot, str(key))
        await pilot.press("enter")
        await settle(pilot)
        assert app.ctx.session is not None and app.ctx.session.account == "root"


async def test_escape_gives_up_the_second_factor(app: Js7App, console: Console,
                                                 root: Session, tmp_path) -> None:
    certificate_two_factor(console, root, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("escape")
        await settle(pilot)
        assert not app.screen.query_one("#login-second-factor").display
        assert "cancelled" in str(app.screen.query_one("#login-message").render())
        assert app.ctx.session is None


async def test_fido_key_at_the_keyboard(app: Js7App, console: Console, root: Session,
                                        monkeypatch) -> None:
    console.identity_services.create(root, "KEY", "FIDO", second_factor=True)
    device = SoftCtapDevice()
    prompt = console.second_factors.registration_challenge("KEY", "root")
    console.second_factors.register("KEY", "root", fido_client.registration(prompt, device),
                                    session=root)
    console.identity_services.update(root, "JOC-INITIAL", auth_scheme="TWO-FACTOR",
                                     second_factor_service="KEY")
    monkeypatch.setattr(fido_client, "local_device", lambda: device)   # "the USB key"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("enter")
        await settle(pilot)
        assert app.ctx.session is not None and app.ctx.session.account == "root"


async def test_identity_services_keys_for_two_factor_and_requests(app: Js7App, console: Console,
                                                                  root: Session) -> None:
    from js7tui.tui.widgets.lists import HouseTable
    console.identity_services.create(root, "PASSKEY", "FIDO")
    device = SoftCtapDevice()
    prompt = console.second_factors.registration_challenge("PASSKEY", "dave")
    console.second_factors.register("PASSKEY", "dave", fido_client.registration(prompt, device))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("6")
        await settle(pilot)
        services = app.screen.query_one(HouseTable)
        services.move_cursor(row=services.visible_keys.index("PASSKEY"))
        await pilot.press("F")
        await settle(pilot)
        rows = app.screen.query_one("#factors-table", HouseTable)
        assert rows.visible_keys == ["r:1"]
        await pilot.press("a")
        await settle(pilot)
        [request] = console.second_factors.registrations(root, "PASSKEY")
        assert request["state"] == "approved"
        assert [d["account_name"] for d in console.second_factors.devices(root, "PASSKEY")] == [
            "dave"]
        await pilot.press("escape")
        await settle(pilot)
        services = app.screen.query_one(HouseTable)
        services.move_cursor(row=services.visible_keys.index("JOC-INITIAL"))
        await pilot.press("f")
        await settle(pilot)
        assert type(app.screen).__name__ == "FormModal"        # the second-factor choice
        await pilot.press("escape")
