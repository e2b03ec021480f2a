"""Section 5, certificates: Pilot tests with keys only against a store-only console with the
built-in CA; the files the screen writes are checked with the real tools (the bundle with
``bundle_import`` and ``keytool``, the CRL with ``openssl crl``)."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Select

from js7tui.audit import AuditFilter, AuditMeta
from js7tui.client import ControllerUnreachable
from js7tui.console import Console, initialize
from js7tui.home import Home
from js7tui.identity.sessions import Session
from js7tui.permissions.names import CERTIFICATES_VIEW
from js7tui.pki.bundle_import import import_bundle
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.profiles import Purpose
from js7tui.pki.records import CaRole, Status
from js7tui.security_level import SecurityLevel
from js7tui.tui.app import Js7App, make_app
from js7tui.tui.screens.certificate_forms import PasswordOnceModal
from js7tui.tui.widgets.lists import HouseTable
from tests.conftest import ROOT_PASSWORD, cheap_hasher, make_account
from tests.estate import Estate, material, running_estate
from tests.tui.conftest import login, settle, type_text


@pytest.fixture
def console(home: Home, clock) -> Iterator[Console]:
    """A LOW home with the built-in CA (EC P-256) and the console's certificate."""
    c = initialize(home, SecurityLevel.LOW, clock=clock, hasher=cheap_hasher(),
                   ca_key_type=KeyType.EC_P256)
    yield c
    c.close()


async def open_certificates(pilot) -> None:
    await login(pilot, "root", ROOT_PASSWORD)
    await pilot.press("5")
    await settle(pilot)


def table(app: Js7App) -> HouseTable:
    return app.screen.query_one("#certs-table", HouseTable)


async def choose(pilot, value: str) -> None:
    """Pick ``value`` in the focused Select with keys: open, move until it is there, enter."""
    select = pilot.app.focused
    assert isinstance(select, Select)
    await pilot.press("enter")
    options = [str(o[1]) if isinstance(o, tuple) else o for o in select._options]
    values = [o[1] for o in select._options if o[1] is not Select.BLANK]
    current = values.index(select.value) if select.value in values else -1
    target = values.index(value)
    key = "down" if target > current else "up"
    await pilot.press(*[key] * abs(target - current), "enter")
    await pilot.pause()
    assert select.value == value, options


async def revoke(pilot, reason: str, typed: str) -> None:
    """d, the reason, then the name typed into the confirmation."""
    await pilot.press("d")
    await choose(pilot, reason)
    await pilot.press("ctrl+s")
    await pilot.pause()
    await type_text(pilot, typed)
    await pilot.press("enter")
    await pilot.pause()


async def issue(pilot, purpose: str, name: str, *extra: str) -> None:
    await pilot.press("n")
    await choose(pilot, purpose)
    await pilot.press("ctrl+s")
    await pilot.pause()
    await pilot.press("ctrl+a", "ctrl+k")
    await type_text(pilot, name)
    for text in extra:
        await pilot.press("tab")
        await type_text(pilot, text)
    await pilot.press("ctrl+s")
    await settle(pilot)


async def test_issue_revoke_and_export_the_crl(app: Js7App, console: Console, root: Session,
                                               tmp_path: Path) -> None:
    service = console.certificates
    async with app.run_test(size=(120, 40)) as pilot:
        await open_certificates(pilot)
        assert table(app).row_count == 1  # the console's own certificate
        # a bad SAN host keeps the form open with the reason; fixed, it issues
        await issue(pilot, "agent", "agent-7", "bad host!")
        assert "SAN hosts: 'host!' is neither a DNS name nor an IP address" in str(
            app.screen.query_one("#form-error").render())
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "agent-7.example.test, 10.1.2.3")
        await pilot.press("ctrl+s")
        await settle(pilot)
        [agent] = service.list(root, name="agent-7")
        assert agent.purpose == "agent" and agent.key_held
        assert set(agent.san) == {"DNS:agent-7.example.test", "IP:10.1.2.3"}
        assert table(app).current_key == agent.serial
        # revoke: reason, then the typed name (a wrong name changes nothing)
        await revoke(pilot, "keyCompromise", "agent-8")
        assert "that is not 'agent-7'" in str(app.screen.query_one("#typed-error").render())
        assert service.show(root, agent.serial or "").status is Status.VALID
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "agent-7")
        await pilot.press("enter")
        await settle(pilot)
        revoked = service.show(root, agent.serial or "")
        assert revoked.status is Status.REVOKED
        assert revoked.revocation_reason == "keyCompromise"
        row = table(app).get_row(agent.serial)
        assert row[2] == "revoked (keyCompromise)"
        # the CRL, exported into a file, names it (openssl reads it)
        target = tmp_path / "tls" / "crl.pem"
        target.parent.mkdir()
        target.write_text("old\n")
        await pilot.press("c")
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, str(target))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "exists" in str(app.screen.query_one("#form-error").render())
        await pilot.press("tab", "tab", "space", "ctrl+s")  # tick 'overwrite'
        await settle(pilot)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = subprocess.run(["openssl", "crl", "-in", str(target), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    revoked_serials = {int(x, 16) for x in re.findall(r"Serial Number: ([0-9A-Fa-f]+)", text)}
    assert int(agent.serial or "0", 16) in revoked_serials
    assert "Key Compromise" in text


async def test_export_a_bundle_with_the_password_shown_once(
        app: Js7App, console: Console, root: Session, tmp_path: Path) -> None:
    archive = tmp_path / "out" / "controller-1.bundle.zip"
    async with app.run_test(size=(120, 40)) as pilot:
        await open_certificates(pilot)
        await pilot.press("b")
        await pilot.pause()
        # the form starts from the highlighted console certificate: choose the Controller
        await choose(pilot, "controller")
        await pilot.press("tab", "ctrl+a", "ctrl+k")
        await type_text(pilot, "controller-1")
        await pilot.press("tab", "tab", "tab")
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, str(archive))
        await pilot.press("ctrl+s")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, PasswordOnceModal)
        password = modal.password
        assert password and password in str(modal.query_one("#bundle-password").render())
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, PasswordOnceModal)
        [record] = console.certificates.list(root, purpose="controller")
        assert record.exported and not record.key_held  # the key left with the bundle
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    installed = import_bundle(archive, tmp_path / "controller-1", component="controller",
                              password=password.encode())
    assert installed.name == "controller-1" and installed.serial == record.serial
    keytool = shutil.which("keytool")
    assert keytool, "keytool (default-jre-headless) proves the keystore is a real PKCS#12"
    if keytool:
        keystores = list((tmp_path / "controller-1").rglob("*.p12"))
        assert keystores
        listing = subprocess.run([keytool, "-list", "-keystore", str(keystores[0]),
                                  "-storetype", "PKCS12", "-storepass", password],
                                 capture_output=True, text=True, check=True).stdout
        assert "PrivateKeyEntry" in listing


async def test_renew_confirm_sign_crl_and_open_from_the_dashboard(
        app: Js7App, console: Console, root: Session) -> None:
    service = console.certificates
    old = service.issue(root, IssueRequest(Purpose.CONSOLE, "ops-console")).record
    crl_before = service.status(root).crls[CaRole.INTERMEDIATE]
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        app.open_section("certificates", old.serial)  # how the dashboard opens one
        await settle(pilot)
        assert table(app).current_key == old.serial
        assert app.screen.query_one("#cert-detail").has_class("open")
        detail = str(app.screen.query_one("#cert-detail-text").render())
        assert "CN=ops-console,OU=console,O=js7tui" in detail and "clientAuth" in detail
        # renew: the new one waits for its import to be confirmed, the old stays valid
        await pilot.press("R")
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "90")
        await pilot.press("ctrl+s")
        await settle(pilot)
        new = [r for r in service.list(root, name="ops-console") if r.serial != old.serial]
        assert len(new) == 1 and new[0].replaces_id == old.id
        assert (new[0].not_after - new[0].not_before).days in (90, 91)
        assert table(app).current_key == new[0].serial
        assert table(app).get_row(new[0].serial)[2] == \
            "valid (renewal unconfirmed)"
        await pilot.press("i", "y")
        await settle(pilot)
        assert service.show(root, old.serial or "").revocation_reason == "superseded"
        assert table(app).get_row(old.serial)[2] == "superseded"
        # sign a CRL that lasts 7 days
        await pilot.press("s")
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "7")
        await pilot.press("ctrl+s")
        await settle(pilot)
    crl = service.status(root).crls[CaRole.INTERMEDIATE]
    assert crl.crl_number > crl_before.crl_number
    assert (crl.next_update - crl.last_update).days in (7, 6)
    requests = [e.request for e in console.audit.list(root, AuditFilter(), limit=20)]
    assert {"./pki/certificate/renew", "./pki/certificate/confirm_import",
            "./pki/crl/sign"} <= set(requests)


async def test_changes_are_hidden_without_manage_and_in_read_only(
        console: Console, root: Session, env: dict[str, str]) -> None:
    console.roles.create(root, "cert-viewer", meta=AuditMeta())
    console.roles.set_permission(root, "cert-viewer", CERTIFICATES_VIEW, meta=AuditMeta())
    make_account(console, root, "viewer", ["cert-viewer"], password="viewer-password-42")
    for account, password, readonly in (("viewer", "viewer-password-42", False),
                                        ("root", ROOT_PASSWORD, True)):
        app = make_app(console, readonly=readonly, env=env)
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, account, password)
            await pilot.press("5")
            await settle(pilot)
            screen = app.screen
            assert table(app).row_count == 1
            for action in ("issue", "bundle", "revoke", "renew", "confirm_import",
                           "export_crl", "sign_crl"):
                assert not screen.check_action(action, ()), (account, action)
            await pilot.press("n", "d", "b", "c")
            await settle(pilot)
            assert app.screen is screen  # no form opened
            shown = {b.binding.key for b in screen.active_bindings.values()
                     if b.enabled and b.binding.show}
            assert not shown & {"n", "b", "d", "c"}
    assert [r.name for r in console.certificates.list(root)] == ["console"]


# -- with a real Controller and Agent ------------------------------------------------------------
@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("cert-estate")) as running:
        yield running


@pytest.mark.slow
async def test_a_certificate_revoked_in_the_tui_is_refused_by_the_controller(
        estate: Estate, tmp_path: Path) -> None:
    """Revoke the console certificate a client presents, export the CRL from the TUI over the
    Controller's tls/crl.pem: the running Controller refuses that certificate's handshake,
    and still accepts the console's other certificate."""
    second = estate.issue(Purpose.CONSOLE, "console")  # same DN as the console's own
    with estate.client(tls=material(second)) as client:
        client.login()  # accepted before
    serial = second.record.serial or ""
    target = estate.dir("controller-1") / "tls" / "crl.pem"
    app = make_app(estate.console, env={"HOME": str(tmp_path),
                                        "XDG_STATE_HOME": str(tmp_path / "state")})
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        app.open_section("certificates", serial)
        await settle(pilot)
        assert table(app).current_key == serial
        await revoke(pilot, "keyCompromise", "console")
        await settle(pilot)
        assert table(app).get_row(serial)[2] == "revoked (keyCompromise)"
        await pilot.press("c", "ctrl+a", "ctrl+k")
        await type_text(pilot, str(target))
        await pilot.press("tab", "tab", "space", "ctrl+s")  # overwrite the installed CRL
        await settle(pilot)
    assert estate.console.certificates.show(estate.admin, serial).status is Status.REVOKED
    with estate.client(tls=material(second), timeout=5) as client, \
            pytest.raises(ControllerUnreachable):
        client.login()
    with estate.client() as client:  # the console's first certificate still works
        client.health()
    assert "reloaded certificate, CA and CRL" in estate.log("controller-1")


async def test_user_key_file_forced_comment_and_a_refused_bundle(
        app: Js7App, console: Console, root: Session, tmp_path: Path) -> None:
    console.settings.set(root, "force_comments_for_audit_log", "true",
                         meta=AuditMeta(comment="test"))
    key_file = tmp_path / "alice.key.pem"
    async with app.run_test(size=(120, 40)) as pilot:
        await open_certificates(pilot)
        # a user certificate: e-mail, days, key type, then the key file (not kept)
        await issue(pilot, "user", "alice", "alice@example.test")
        await pilot.press("tab", "tab", "tab")
        await type_text(pilot, str(key_file))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "CommentModal"
        await type_text(pilot, "new laptop")
        await pilot.press("enter")
        await settle(pilot)
        [alice] = console.certificates.list(root, name="alice")
        assert alice.san == ("email:alice@example.test",) and not alice.key_held
        # an Agent bundle naming a Controller without a certificate: refused in words, the
        # progress dialog closes, no file, nothing issued
        archive = tmp_path / "agent-1.bundle.zip"
        await pilot.press("b")
        await choose(pilot, "agent")
        await pilot.press("tab", "ctrl+a", "ctrl+k")
        await type_text(pilot, "agent-1")
        await pilot.press("tab")
        await type_text(pilot, "nope")
        await pilot.press("tab", "tab", "ctrl+a", "ctrl+k")
        await type_text(pilot, str(archive))
        await pilot.press("ctrl+s")
        await pilot.pause()
        await type_text(pilot, "try")
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "CertificatesScreen"
        assert any("no valid certificate of the Controller 'nope'" in str(n.message)
                   for n in app._notifications)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes()
    assert not archive.exists()
    assert console.certificates.list(root, purpose="agent") == []
    # the refused bundle changed nothing, so the newest entry is still the issue's
    entry = console.audit.list(root, AuditFilter(), limit=1)[0]
    assert entry.request == "./pki/certificate/issue" and entry.comment == "new laptop"


async def test_move_the_root_key_offline(app: Js7App, console: Console, root: Session,
                                         tmp_path: Path) -> None:
    key_file = tmp_path / "root-ca.key.pem"
    async with app.run_test(size=(120, 40)) as pilot:
        await open_certificates(pilot)
        assert "root key ONLINE" in str(app.screen.query_one("#ca-panel").render())
        await pilot.press("x", "ctrl+a", "ctrl+k")
        await type_text(pilot, str(key_file))
        await pilot.press("tab")
        await type_text(pilot, "offline-pass-1")
        await pilot.press("tab")
        await type_text(pilot, "offline-pass-2")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "the two passwords differ" in str(app.screen.query_one("#form-error").render())
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "offline-pass-1")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        panel = str(app.screen.query_one("#ca-panel").render())
        assert "root key offline" in panel
        assert "keep it offline" not in str(app.screen.query_one("#ca-warnings").render())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key_file.read_bytes()
    assert not console.certificates.status(root).authorities[CaRole.ROOT].key_online
