"""The connection diagnosis against a real Controller (tests/estate.py): each way a hop can fail
ends at the right step with a sentence that says what to check, and reading it is permission
checked and audited like every other read."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.demo import free_port
from js7tui.errors import PermissionDenied
from js7tui.permissions.names import AGENTS_VIEW, CONTROLLER_VIEW
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.profiles import Purpose
from tests.conftest import login
from tests.estate import CONSOLE_PASSWORD, Estate, running_estate
from tests.inventory_fixtures import folder_account

pytestmark = pytest.mark.slow
META = AuditMeta()



def foreign_ca(folder: Path) -> str:
    """A CA the Controller's certificate does not come from (openssl, as an admin would)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(folder / "k.pem"),
                    "-out", str(folder / "ca.pem"), "-days", "30", "-subj", "/CN=Foreign Root",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True)
    return (folder / "ca.pem").read_text()


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    root = tmp_path_factory.mktemp("diagnose")
    with running_estate(root) as estate:
        console, admin = estate.console, estate.admin
        url = estate.servers["controller-1"].url
        register = console.controllers.register
        register(admin, "controller-1", url, "console", CONSOLE_PASSWORD, meta=META)
        register(admin, "down", f"https://127.0.0.1:{free_port()}", "console",
                 CONSOLE_PASSWORD, meta=META)
        register(admin, "foreign", url, "console", CONSOLE_PASSWORD,
                 ca_pem=foreign_ca(root), meta=META)
        # issued after the Controller's bundle: its DN is not in allowed_clients
        console.certificates.issue(admin, IssueRequest(Purpose.CONSOLE, "console-2"),
                                   hold_key=True)
        register(admin, "unknown-dn", url, "console", CONSOLE_PASSWORD,
                 client_name="console-2", meta=META)
        register(admin, "wrong-password", url, "console", "not-the-password", meta=META)
        # a console certificate that expired (tests/estate.py issued it 10 days back)
        register(admin, "expired-client", url, "console", CONSOLE_PASSWORD,
                 client_name="console-old", meta=META)
        register(admin, "bad-dns", "https://controller.example.invalid:4443", "console",
                 CONSOLE_PASSWORD, meta=META)
        yield estate


def names(diagnosis: object) -> list[tuple[str, bool]]:
    return [(s.name, s.ok) for s in diagnosis.steps]  # type: ignore[attr-defined]


def test_every_step_ok(estate: Estate) -> None:
    diagnosis = estate.console.controllers.diagnose(estate.admin, "controller-1")
    assert diagnosis.ok, diagnosis.text()
    assert [n for n, _ in names(diagnosis)] == [
        "URL", "DNS", "TCP", "TLS handshake", "server certificate", "DN accepted",
        "mutual TLS", "login", "health"]
    assert diagnosis.summary == "login ok; the Controller answers"
    assert diagnosis.mutual_tls is True
    assert diagnosis.days_left is not None and diagnosis.days_left > 300
    assert diagnosis.health is not None and diagnosis.health["id"] == "controller-1"
    assert "console" in diagnosis.client_dn
    assert "login ok as 'console'" in diagnosis.text()


def test_controller_down_stops_at_tcp(estate: Estate) -> None:
    diagnosis = estate.console.controllers.diagnose(estate.admin, "down")
    assert names(diagnosis)[-1] == ("TCP", False)
    assert "connection refused" in diagnosis.failed.text  # type: ignore[union-attr]
    assert "Is the Controller running" in diagnosis.failed.hint  # type: ignore[union-attr]
    assert not diagnosis.reachable


def test_foreign_ca_stops_at_the_server_certificate(estate: Estate) -> None:
    diagnosis = estate.console.controllers.diagnose(estate.admin, "foreign")
    failed = diagnosis.failed
    assert failed is not None and failed.name == "server certificate", diagnosis.text()
    assert "does not chain to the Controller's registered CA ('CN=Foreign Root')" in failed.text
    assert diagnosis.reachable


def test_unknown_dn_is_named(estate: Estate) -> None:
    diagnosis = estate.console.controllers.diagnose(estate.admin, "unknown-dn")
    failed = diagnosis.failed
    assert failed is not None and failed.name == "DN accepted", diagnosis.text()
    assert "unknown distinguished name" in failed.text
    assert "console-2" in failed.text
    assert "allowed_clients" in failed.hint


def test_wrong_password_fails_the_login(estate: Estate) -> None:
    diagnosis = estate.console.controllers.diagnose(estate.admin, "wrong-password")
    failed = diagnosis.failed
    assert failed is not None and failed.name == "login", diagnosis.text()
    assert "refused the hop user 'console'" in failed.text
    assert "password" in failed.hint
    assert "not-the-password" not in diagnosis.text()


def test_the_controller_refuses_an_expired_console_certificate(estate: Estate) -> None:
    diagnosis = estate.console.controllers.diagnose(estate.admin, "expired-client")
    failed = diagnosis.failed
    assert failed is not None and failed.name == "TLS handshake", diagnosis.text()
    assert "the Controller does not trust the console's certificate" in failed.text
    assert "renew the console's certificate" in failed.hint


def test_bad_dns_name(estate: Estate) -> None:
    diagnosis = estate.console.controllers.diagnose(estate.admin, "bad-dns")
    assert names(diagnosis) == [("URL", True), ("DNS", False)]
    assert "'controller.example.invalid' does not resolve" in diagnosis.failed.text  # type: ignore[union-attr]


def test_status_and_agents(estate: Estate) -> None:
    console, admin = estate.console, estate.admin
    status = console.controllers.status(admin, "controller-1")
    assert status.reachable and status.items == 0
    assert status.agents is not None and [a["name"] for a in status.agents] == ["agent-1"]
    down = console.controllers.status(admin, "down")
    assert not down.reachable and down.reason.startswith("TCP:")
    agents = console.controllers.agents(admin, "controller-1")
    assert [a["name"] for a in agents] == ["agent-1"]


def test_permissions_are_checked_and_refusals_audited(estate: Estate) -> None:
    console, admin = estate.console, estate.admin
    viewer = folder_account(console, admin, "ctl-viewer", [], (CONTROLLER_VIEW,))
    # controller:view is enough for the diagnosis; the Agents need agents:view
    assert console.controllers.diagnose(viewer, "down").failed is not None
    status = console.controllers.status(viewer, "down")
    assert status.agents is None
    before = console.store.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    with pytest.raises(PermissionDenied):
        console.controllers.agents(viewer, "controller-1")
    row = console.store.conn.execute(
        "SELECT request, outcome, controller_id FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert tuple(row) == ("./controller/agents", "REFUSED", "controller-1")
    assert console.store.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == \
        before + 1
    nobody = folder_account(console, admin, "ctl-nobody", [], (AGENTS_VIEW,))
    # a new role gets controller:view (as in JS7), which a login needs; take it away from the
    # running session (role changes reach sessions at once)
    nobody = login(console, "ctl-nobody", "a-good-password-42")
    console.roles.remove_permission(admin, "ctl-nobody-role", CONTROLLER_VIEW, meta=META)
    with pytest.raises(PermissionDenied):
        console.controllers.diagnose(nobody, "controller-1")
