"""``js7tui cert``, ``controller|agent import-bundle``, ``doctor`` and init's CA options on the
command line (in-process, plus the installed script on a host without a console home)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.test_cli import Cli, cli, logged_in_root

__all__ = ["cli"]
STORE_PW = "cli-store-password\n"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cert_flow_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    logged_in_root(cli)
    code, out, err = cli("cert", "list")
    assert code == 0, err
    assert "CA: built-in CA" in out and "root key ONLINE" in out
    assert "console  console  CN=console,OU=console,O=js7tui" in out and "held" in out
    code, out, _ = cli("--json", "cert", "list")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["purpose"] == "console" and rows[0]["daysLeft"] >= 729
    code, out, _ = cli("doctor")
    assert code == 1 and "root CA's private key is still in the store" in out

    key_file = tmp_path / "root.key"
    code, out, err = cli("cert", "export-root-key", "--out", str(key_file),
                         "--password-stdin", stdin="offline-password\n")
    assert code == 0, err
    assert _mode(key_file) == 0o600 and "removed from the store" in out
    load_pem_private_key(key_file.read_bytes(), b"offline-password")
    code, out, err = cli("cert", "export-root-key", "--out", str(tmp_path / "again.key"),
                         "--unencrypted")
    assert code == 4 and "not in this store any more" in err
    code, out, _ = cli("doctor")
    assert code == 0 and "no warnings" in out

    bundle = tmp_path / "primary.zip"
    code, out, err = cli("cert", "bundle", "controller", "primary", "--out", str(bundle),
                         "--password-stdin", "--dns", "ctl.example.test", "--comment",
                         "new Controller", stdin=STORE_PW)
    assert code == 0, err
    assert _mode(bundle) == 0o600 and "store password" not in out
    assert "js7tui controller import-bundle primary.zip --config DIR" in out
    code, _, err = cli("cert", "bundle", "controller", "primary", "--out", str(bundle),
                       "--password-stdin", stdin=STORE_PW)
    assert code == 2 and "exists" in err

    target = tmp_path / "ctl-config"
    code, out, err = cli("controller", "import-bundle", str(bundle), "--config", str(target),
                         "--name", "primary", "--password-stdin", stdin=STORE_PW)
    assert code == 0, err
    assert "tls/https-key.pem" in out and _mode(target / "tls" / "https-key.pem") == 0o600
    code, _, err = cli("agent", "import-bundle", str(bundle), "--config",
                       str(tmp_path / "agent-config"), "--password-stdin", stdin=STORE_PW)
    assert code == 2 and "not for an agent" in err and "Traceback" not in err
    assert not (tmp_path / "agent-config").exists()
    code, _, err = cli("controller", "import-bundle", str(bundle), "--config", str(target),
                       "--password-stdin", stdin="wrong-password\n")
    assert code == 2 and "store password is wrong" in err

    serial = json.loads(cli("--json", "cert", "list", "--purpose", "controller")[1])["serial"]
    code, out, err = cli("cert", "revoke", serial[:10], "--reason", "key-compromise")
    assert code == 0 and "keyCompromise" in out, err
    crl_file = tmp_path / "crl.pem"
    code, out, err = cli("cert", "crl", "export", "--out", str(crl_file))
    assert code == 0 and "CRL #2" in out and _mode(crl_file) == 0o600, err
    code, out, _ = cli("cert", "list", "--all")
    assert "revoked" in out
    code, out, _ = cli("audit", "list", "--category", "CERTIFICATES")
    assert "./pki/bundle/export" in out and "new Controller" in out


def test_generated_password_is_shown_once(cli: Cli, tmp_path: Path) -> None:
    logged_in_root(cli)
    code, out, err = cli("cert", "bundle", "agent", "a1", "--out", str(tmp_path / "a.zip"))
    assert code == 2 and "must name its Controller (--controller NAME)" in err
    cli("cert", "bundle", "controller", "primary", "--out", str(tmp_path / "c.zip"))
    code, out, err = cli("cert", "bundle", "agent", "a1", "--controller", "primary", "--out",
                         str(tmp_path / "a.zip"))
    assert code == 0, err
    password = out.split("store password (shown once", 1)[1].split(": ", 1)[1].split()[0]
    code, _, err = cli("agent", "import-bundle", str(tmp_path / "a.zip"), "--config",
                       str(tmp_path / "agent"), JS7TUI_PASSWORD=password)
    assert code == 0, err
    assert password not in "".join(str(r) for r in cli("audit", "list", "--limit", "500"))


def test_signing_certificate_with_key_file(cli: Cli, tmp_path: Path) -> None:
    logged_in_root(cli)
    code, _, err = cli("cert", "issue", "signing", "alice")
    assert code == 2 and "--out-key" in err
    code, out, err = cli("cert", "issue", "signing", "alice", "--email", "alice@example.test",
                         "--out-cert", str(tmp_path / "alice.pem"), "--out-key",
                         str(tmp_path / "alice.key"), "--key-password-stdin",
                         stdin="key-file-password\n")
    assert code == 0, err
    assert _mode(tmp_path / "alice.key") == 0o600 and "encrypted" in out
    load_pem_private_key((tmp_path / "alice.key").read_bytes(), b"key-file-password")
    code, out, _ = cli("cert", "list", "--purpose", "signing")
    assert "alice" in out and "  -" in out        # key not kept


def test_init_options(tmp_path: Path) -> None:
    bare = Cli(tmp_path / "bare")
    assert bare("init", "--security-level", "high", "--no-ca")[0] == 0
    logged_in_root(bare)
    code, out, _ = bare("cert", "list")
    assert code == 0 and "CA: none yet" in out
    assert bare("doctor")[0] == 0
    p384 = Cli(tmp_path / "p384")
    code, out, err = p384("init", "--security-level", "low", "--ca-key-type", "ec-p384")
    assert code == 0 and "ec-p384" in out, err
    logged_in_root(p384)
    code, out, _ = p384("cert", "ca", "show")
    assert out.count("ec-p384") == 2
    with pytest.raises(SystemExit) as refused:
        p384("init", "--security-level", "low", "--no-ca", "--ca-key-type", "rsa-3072")
    assert refused.value.code == 2


@pytest.mark.skipif(shutil.which("js7tui", path=os.path.dirname(sys.executable)) is None,
                    reason="js7tui script not installed in this environment")
def test_import_bundle_on_a_host_without_console_home(cli: Cli, tmp_path: Path) -> None:
    logged_in_root(cli)
    bundle = tmp_path / "primary.zip"
    assert cli("cert", "bundle", "controller", "primary", "--out", str(bundle),
               "--password-stdin", stdin=STORE_PW)[0] == 0
    script = shutil.which("js7tui", path=os.path.dirname(sys.executable))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path / "target-home"),
           "JS7TUI_HOME": str(tmp_path / "no-home-here")}
    done = subprocess.run([str(script), "controller", "import-bundle", str(bundle), "--config",
                           str(tmp_path / "etc"), "--password-stdin"], input=STORE_PW,
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "no-home-here").exists()
    assert _mode(tmp_path / "etc" / "tls" / "https-key.pem") == 0o600
    wrong = subprocess.run([str(script), "agent", "import-bundle", str(bundle), "--config",
                            str(tmp_path / "etc2"), "--password-stdin"], input=STORE_PW,
                           capture_output=True, text=True, env=env, timeout=60)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
