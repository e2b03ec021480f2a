"""``js7tui login`` asks for the second factor after the first; ``js7tui second-factor``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.factor_support import ssh_agent
from tests.test_cli import Cli, logged_in_root, make_cli

__all__ = ["ssh_agent"]
ROOT_PW = "a-long-root-password"


def setup_two_factor(tmp_path: Path) -> tuple[Cli, Path, Path]:
    cli = make_cli(tmp_path)
    logged_in_root(cli)
    for argv in (("identity-service", "create", "CERT", "--type", "CERTIFICATE",
                  "--second-factor-only"),
                 ("cert", "issue", "user", "root", "--out-cert", str(tmp_path / "root.crt"),
                  "--out-key", str(tmp_path / "root.key"))):
        code, _, err = cli(*argv)
        assert code == 0, err
    code, _, err = cli("second-factor", "bind", "CERT", "root", str(tmp_path / "root.crt"))
    assert code == 0, err
    code, _out, err = cli("identity-service", "set", "JOC-INITIAL", "--two-factor", "CERT")
    assert code == 0, err
    return cli, tmp_path / "root.crt", tmp_path / "root.key"


def test_login_with_password_and_certificate_key_file(tmp_path):
    cli, _crt, key = setup_two_factor(tmp_path)
    assert cli("logout")[0] == 0
    code, out, err = cli("login", "--account", "root", "--password-stdin", "--key", str(key),
                         stdin=ROOT_PW + "\n")
    assert code == 0, err
    assert "confirm the login with the second factor 'CERT'" in out and "logged in as root" in out
    code, out, _ = cli("second-factor", "bindings", "CERT")
    assert code == 0 and "root" in out


def test_login_over_ssh_with_the_forwarded_agent(tmp_path, ssh_agent):
    cli, _crt, key = setup_two_factor(tmp_path)
    subprocess.run(["ssh-add", str(key)], env={"SSH_AUTH_SOCK": ssh_agent.path}, check=True,
                   capture_output=True)
    assert cli("logout")[0] == 0
    # no file on this host: the bound certificate, the laptop's agent signs
    code, out, err = cli("login", "--account", "root", "--password-stdin",
                         stdin=ROOT_PW + "\n", SSH_AUTH_SOCK=ssh_agent.path)
    assert code == 0, err
    assert "logged in as root" in out


def test_a_wrong_key_is_refused_and_reported(tmp_path):
    cli, _crt, _key = setup_two_factor(tmp_path)
    code, _, err = cli("cert", "issue", "user", "root", "--out-cert", str(tmp_path / "b.crt"),
                       "--out-key", str(tmp_path / "b.key"))
    assert code == 0, err
    assert cli("logout")[0] == 0
    code, _out, err = cli("login", "--account", "root", "--password-stdin", "--certificate",
                         str(tmp_path / "b.crt"), "--key", str(tmp_path / "b.key"),
                         stdin=ROOT_PW + "\n")
    assert code != 0 and "not accepted" in err
