"""The README's signing-key commands through the command line, with the real openssl CLI
(a MEDIUM home, no Controller needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.inventory_fixtures import text, workflow
from tests.test_cli import logged_in_root, make_cli


def test_readme_signing_key_commands(tmp_path: Path) -> None:
    cli = make_cli(tmp_path)
    logged_in_root(cli)
    assert cli("inventory", "create", "workflow", "/ops/hello", "--file", "-",
               stdin=text(workflow()))[0] == 0
    code, _, err = cli("deploy", "/", "--controller", "controller-1")
    assert code != 0 and "no signing key" in err and "Traceback" not in err
    code, out, err = cli("signing-key", "generate", "--comment", "first key")
    assert code == 0, err
    assert "generated key and the signing certificate of 'root'" in out
    for args in (["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-out", "signing.key"],
                 ["req", "-new", "-key", "signing.key", "-subj", "/CN=alice",
                  "-out", "signing.csr"]):
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)
    # A certificate the CA issued for alice is alice's: root cannot register it as its own.
    code, _, err = cli("cert", "sign-csr", str(tmp_path / "signing.csr"), "--purpose",
                       "signing", "--name", "alice", "--out", str(tmp_path / "alice.pem"))
    assert code == 0, err
    code, _, err = cli("signing-key", "register", str(tmp_path / "alice.pem"))
    assert code != 0 and "names the account 'alice', not 'root'" in err
    code, _, err = cli("cert", "sign-csr", str(tmp_path / "signing.csr"), "--purpose",
                       "signing", "--name", "root", "--out", str(tmp_path / "signing.pem"))
    assert code == 0, err
    code, out, err = cli("signing-key", "register", str(tmp_path / "signing.pem"))
    assert code == 0, err
    code, out, _ = cli("signing-key", "show")
    assert code == 0 and "CN=root" in out and "REGISTERED" in out
    code, _, err = cli("deploy", "/", "--controller", "controller-1")
    assert code != 0 and "certificate only" in err
    code, _, err = cli("signing-key", "import", "--key", str(tmp_path / "signing.key"),
                       "--cert", str(tmp_path / "signing.pem"))
    assert code == 0, err
    code, _, err = cli("deploy", "/", "--controller", "controller-1")
    assert code != 0 and "no Controller 'controller-1' is registered" in err
    code, out, _ = cli("deployment", "list")
    assert code == 0 and "(none)" in out
