"""Snapshots of the certificates section (5): the list loaded (120x40; 80x24 with ansi-dark),
the issue form, the revocation's typed confirmation, the store password shown once, and
read-only.

Deterministic by construction: a frozen clock, the installation id (it names the CA) and the
certificate serials fixed for the test, the generated store password fixed, and the bundle
written to a relative path in the test's directory. Update only this file's snapshots:
``pytest tests/tui/test_snapshots_cert.py --snapshot-update``, then
``python screenshots/update.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509

from js7tui.clock import FrozenClock
from js7tui.console import Console, initialize
from js7tui.home import Home
from js7tui.identity.sessions import Session
from js7tui.pki import service as pki_service
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.profiles import Purpose
from js7tui.security_level import SecurityLevel
from js7tui.tui.app import make_app
from tests.conftest import ROOT_PASSWORD, cheap_hasher, login
from tests.tui.test_snapshots import BIG, SMALL, as_root, keys, steps, text

FIXED_PASSWORD = "Noted-Once-4711-abcdefgh"


@pytest.fixture
def console(home: Home, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[Console]:
    """A home with the built-in CA whose names and serials are the same on every run."""
    serials = (int(hashlib.sha256(b"%d" % n).hexdigest()[:38], 16) for n in itertools.count())
    monkeypatch.setattr(x509, "random_serial_number", lambda: next(serials))
    monkeypatch.setattr("js7tui.console.uuid.uuid4",
                        lambda: uuid.UUID("5e1f0c7a-0000-4000-8000-000000000007"))
    # only the PKI service's view of ``secrets`` (session tokens stay random and unique)
    monkeypatch.setattr(pki_service, "secrets",
                        SimpleNamespace(token_urlsafe=lambda n: FIXED_PASSWORD))
    c = initialize(home, SecurityLevel.LOW, clock=clock, hasher=cheap_hasher(),
                   ca_key_type=KeyType.EC_P256)
    yield c
    c.close()


@pytest.fixture
def issued(console: Console, root: Session, clock: FrozenClock) -> Console:
    """One certificate in each state: valid, expiring, expired, revoked, superseded, and a
    renewal waiting for its import to be confirmed."""
    service = console.certificates
    session = root

    def issue(purpose: Purpose, name: str, **options: object) -> str:
        return service.issue(session, IssueRequest(purpose, name, **options),  # type: ignore[arg-type]
                             hold_key=True).record.serial or ""

    issue(Purpose.USER, "carol", days=1, keep_key=True)  # expired three days later
    clock.advance(days=3)
    session = login(console, "root", ROOT_PASSWORD)
    issue(Purpose.CONTROLLER, "controller-1", san=["DNS:ctl.example.test", "IP:10.0.0.5"])
    issue(Purpose.AGENT, "agent-1")
    service.revoke(session, issue(Purpose.AGENT, "agent-2"), "keyCompromise")
    issue(Purpose.SIGNING, "deployer", days=21, keep_key=True)
    old = issue(Purpose.USER, "alice", keep_key=True)
    new = service.renew(session, old).record.serial or ""
    service.confirm_import(session, new)
    service.renew(session, issue(Purpose.CONSOLE, "ops-console"))
    return console


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # relative paths on screen, never a temp path
    return tmp_path


def test_certificates(snap_compare, issued: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(issued, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("5")))


def test_certificates_80x24_ansi_dark(snap_compare, issued: Console,
                                      env: dict[str, str]) -> None:
    app = make_app(issued, env={**env, "JS7TUI_THEME": "ansi-dark"})
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(as_root, keys("5")))


def test_certificates_readonly(snap_compare, issued: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(issued, readonly=True, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("5")))


def test_issue_controller_form(snap_compare, issued: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(issued, env=env), terminal_size=BIG, run_before=steps(
        as_root, keys("5"), keys("n"), keys("ctrl+s"), text("primary"),
        keys("tab"), text("x y!"), keys("ctrl+s")))


def test_revoke_typed_confirmation(snap_compare, issued: Console,
                                   env: dict[str, str]) -> None:
    assert snap_compare(make_app(issued, env=env), terminal_size=BIG, run_before=steps(
        as_root, keys("5"), keys("j"), keys("d"), keys("ctrl+s"), text("controller"),
        keys("enter")))


def test_bundle_password_shown_once(snap_compare, issued: Console, env: dict[str, str],
                                    workdir: Path) -> None:
    assert snap_compare(make_app(issued, env=env), terminal_size=BIG, run_before=steps(
        as_root, keys("5"), keys("j", "j", "j", "j"), keys("b"), keys("ctrl+s")))
