"""The console's registry of Controllers: permissions, audit, the sealed hop password, and the
CLI over it."""

from __future__ import annotations

import json

import pytest

from js7tui.audit import AuditMeta
from js7tui.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.conftest import make_account
from tests.pki_fixture import TestPki, pem
from tests.test_cli import cli, logged_in_root  # noqa: F401 (cli: the fixture)

HOP_PASSWORD = "hop-secret-7f3a"


def test_register_list_remove_audited_with_the_password_sealed(root, console) -> None:
    ca = pem(TestPki().root.cert).decode()
    record = console.controllers.register(root, "prod", "https://ctl.example.test:4443/",
                                          "console", HOP_PASSWORD, ca_pem=ca,
                                          meta=AuditMeta(comment="new Controller"))
    assert record.url == "https://ctl.example.test:4443" and record.ca_pem == ca
    assert [r.id for r in console.controllers.list(root)] == ["prod"]
    stored = console.store.conn.execute("SELECT hop_password FROM controllers").fetchone()[0]
    assert stored.startswith("sealed:") and HOP_PASSWORD not in stored
    assert console.secrets.open(stored) == HOP_PASSWORD
    entry = console.store.conn.execute(
        "SELECT * FROM audit_log WHERE request = './controller/register'").fetchone()
    assert entry["category"] == "CONTROLLER" and entry["controller_id"] == "prod"
    assert entry["comment"] == "new Controller"
    assert HOP_PASSWORD not in json.dumps([tuple(r) for r in console.store.conn.execute(
        "SELECT * FROM audit_log")])
    with pytest.raises(Conflict, match="registered already"):
        console.controllers.register(root, "prod", "https://other:1", "console", "x")
    console.controllers.remove(root, "prod")
    assert console.controllers.list(root) == []
    with pytest.raises(NotFound):
        console.controllers.remove(root, "prod")


@pytest.mark.parametrize(("args", "words"), [
    (("prod", "http://ctl:80", "console", "pw"), "not an https:// URL"),
    (("prod", "https://ctl:1/api", "console", "pw"), "base URL only"),
    (("bad id", "https://ctl:1", "console", "pw"), "not a Controller id"),
    (("prod", "https://ctl:1", "console", ""), "hop password is empty"),
])
def test_register_checks_its_input(root, console, args, words) -> None:
    with pytest.raises(ValidationError, match=words):
        console.controllers.register(root, *args)


def test_register_needs_controllers_manage_and_a_refusal_is_audited(root, console) -> None:
    viewer = make_account(console, root, "viewer", ["business_user"])
    before = console.store.conn.execute("SELECT COUNT(*) FROM controllers").fetchone()[0]
    with pytest.raises(PermissionDenied, match="administration:controllers:manage"):
        console.controllers.register(viewer, "prod", "https://ctl:1", "console", "pw")
    assert console.store.conn.execute("SELECT COUNT(*) FROM controllers").fetchone()[0] == before
    refused = console.store.conn.execute(
        "SELECT * FROM audit_log WHERE outcome = 'REFUSED' AND account = 'viewer'").fetchone()
    assert refused["request"] == "./controller/register"


def test_connect_needs_the_consoles_client_certificate(root, console) -> None:
    console.controllers.register(root, "prod", "https://ctl:1", "console", "pw")
    with pytest.raises(NotFound, match="no valid certificate named 'console'"):
        console.controllers.connect(root, "prod")


def test_cli_register_list_remove(cli) -> None:  # noqa: F811 (the imported fixture)
    logged_in_root(cli)
    code, out, err = cli("controller", "register", "prod", "--url", "https://127.0.0.1:4443",
                         "--user", "console", "--password-stdin", stdin=HOP_PASSWORD + "\n")
    assert code == 0, err
    assert "registered Controller 'prod'" in out
    code, out, _ = cli("--json", "controller", "list")
    assert json.loads(out)["id"] == "prod" and HOP_PASSWORD not in out
    code, _, err = cli("controller", "register", "dev", "--url", "https://h:1", "--user", "u")
    assert code == 2 and "no hop password given" in err
    assert cli("controller", "remove", "prod")[0] == 0
    code, _, err = cli("controller", "remove", "prod")
    assert code == 3 and "no Controller 'prod'" in err
