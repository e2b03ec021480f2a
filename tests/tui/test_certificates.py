"""Section 5, certificates: Pilot tests with keys only against a store-only console with the
built-in CA; the files the screen writes are checked with the real tools (the bundle with
``bundle_import`` and ``keytool``, the CRL with ``openssl crl``)."""

from __future__ import annotations

import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Select

from js7tui.console import Console, initialize
from js7tui.home import Home
from js7tui.identity.sessions import Session
from js7tui.pki.bundle_import import import_bundle
from js7tui.pki.keys import KeyType
from js7tui.pki.records import Status
from js7tui.security_level import SecurityLevel
from js7tui.tui.app import Js7App
from js7tui.tui.screens.certificate_forms import PasswordOnceModal
from js7tui.tui.widgets.lists import HouseTable
from tests.conftest import ROOT_PASSWORD, cheap_hasher
from tests.tui.conftest import login, settle, type_text

pytestmark = pytest.mark.usefixtures("root")


@pytest.fixture
def console(home: Home, clock) -> Iterator[Console]:  # noqa: ANN001
    """A LOW home with the built-in CA (EC P-256) and the console's certificate."""
    c = initialize(home, SecurityLevel.LOW, clock=clock, hasher=cheap_hasher(),
                   ca_key_type=KeyType.EC_P256)
    yield c
    c.close()


async def open_certificates(pilot) -> None:  # noqa: ANN001
    await login(pilot, "root", ROOT_PASSWORD)
    await pilot.press("5")
    await settle(pilot)


def table(app: Js7App) -> HouseTable:
    return app.screen.query_one("#certs-table", HouseTable)


async def choose(pilot, value: str) -> None:  # noqa: ANN001
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


async def issue(pilot, purpose: str, name: str, *extra: str) -> None:  # noqa: ANN001
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
        await pilot.press("d")
        await choose(pilot, "keyCompromise")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await type_text(pilot, "agent-8")
        await pilot.press("enter")
        await pilot.pause()
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
        assert row[-1] == "revoked (keyCompromise)"
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
    assert f"Serial Number: {(agent.serial or '').upper()}" in text.upper().replace(
        "SERIAL NUMBER: 0", "SERIAL NUMBER: ")
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
