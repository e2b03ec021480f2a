"""``js7tui login --identity-service NAME`` against glewlwyd: the installed script in a real
subprocess prints the URL, the code and a QR code, polls until the test approves the code as the
user would, and cancels cleanly on ctrl+c (SIGINT)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.oidc.glewlwyd import CLIENTS
from tests.test_cli import Cli as BaseCli

SCRIPT = shutil.which("js7tui", path=os.path.dirname(sys.executable))
pytestmark = pytest.mark.skipif(SCRIPT is None, reason="the js7tui script is installed with "
                                                       "the package")


class Cli(BaseCli):
    """tests/test_cli.py's in-process runner, plus the installed script in a subprocess."""

    def ok(self, *argv: str, stdin: str = "") -> str:
        code, out, err = self(*argv, stdin=stdin)
        assert code == 0, err
        return out

    def _env(self) -> dict[str, str]:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env.pop("JS7TUI_SESSION", None)
        return env

    def spawn(self, *argv: str) -> subprocess.Popen[str]:
        return subprocess.Popen([SCRIPT, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, env=self._env())

    def script(self, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """The installed script (it logs to this home's log file, unlike in-process runs)."""
        return subprocess.run([SCRIPT, *argv], input=stdin, capture_output=True, text=True,
                              env=self._env(), timeout=60, check=False)


@pytest.fixture
def cli(tmp_path: Path, glewlwyd) -> Cli:
    cli = Cli(tmp_path)
    cli.ok("init", "--security-level", "medium")
    config = cli.home / "config.toml"
    config.write_text(config.read_text().replace("argon2_time_cost = 3", "argon2_time_cost = 1")
                      .replace("argon2_memory_kib = 65536", "argon2_memory_kib = 8")
                      .replace("argon2_parallelism = 4", "argon2_parallelism = 1"))
    cli.ok("login", "--account", "root", "--password-stdin", stdin="root\n")
    assert cli("passwd", "--account", "root", "--password-stdin", stdin="root\n",
               JS7TUI_NEW_PASSWORD="a-long-root-password")[0] == 0
    cli.ok("identity-service", "create", "IDP", "--type", "OIDC")
    cli.ok("identity-service", "set", "IDP",
           "--setting", f"issuer_url={glewlwyd.issuer()}", "--setting", "client_id=console",
           "--setting", f"ca_file={glewlwyd.ca_file}", "--setting", "scopes=scheduler",
           "--setting", 'group_roles={"scheduler-admins": ["administrator"]}',
           "--secret", "client_secret", stdin=CLIENTS["console"] + "\n")
    cli.ok("role", "create", "administrator", "-s", "IDP")
    cli.ok("role", "grant", "administrator", "sos:products", "-s", "IDP")
    return cli


def assert_no_secrets_logged(cli: Cli, *secrets: str) -> None:
    """Neither the home's log file nor the audit log holds a token, password or secret."""
    logs = "".join(path.read_text() for path in (cli.home / "logs").glob("*"))
    audit = cli.ok("--json", "audit", "list", "--limit", "200")
    history = cli.ok("--json", "login-history", "--limit", "200")
    assert "login of 'alice'" in logs and "alice" in history
    for text in (logs, audit, history):
        assert "eyJ" not in text                       # no JWT (ID or access token)
        for secret in (CLIENTS["console"], *secrets):
            assert secret not in text


def read_until(process: subprocess.Popen[str], marker: str) -> str:
    seen = ""
    while marker not in seen:
        line = process.stdout.readline()   # type: ignore[union-attr]
        assert line, f"the login ended before '{marker}': {seen}{process.stderr.read()}"
        seen += line
    return seen


def test_device_login_in_a_terminal(cli, glewlwyd):
    process = cli.spawn("login", "--identity-service", "IDP")
    try:
        shown = read_until(process, "ctrl+c cancels")
        code = re.search(r"enter the code\s+(\S+)", shown).group(1)
        assert f"{glewlwyd.issuer()}/device" in shown
        qr = [line for line in shown.splitlines() if set(line) <= set(" \u2580\u2584\u2588")
              and len(line) > 20]
        assert len(qr) >= 10 and len({len(line) for line in qr}) == 1
        glewlwyd.approve("alice", code)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "logged in as alice via IDP" in out
    whoami = cli.ok("whoami")
    assert "alice" in whoami and "IDP" in whoami
    history = json.loads(cli.ok("--json", "login-history", "--limit", "1").splitlines()[0])
    assert history["account"] == "alice"
    assert_no_secrets_logged(cli, code)


def test_ctrl_c_cancels_the_device_login(cli, glewlwyd):
    process = cli.spawn("login", "-s", "IDP", "--no-qr")
    try:
        shown = read_until(process, "ctrl+c cancels")
        assert "\u2588" not in shown
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "login cancelled" in err and "Traceback" not in err
    failed = cli.ok("login-history", "--failed", "--limit", "1")
    assert "login cancelled" in failed


def test_password_grant_from_the_command_line(cli):
    out = cli.ok("identity-service", "settings", "IDP")
    assert "client_secret" in out and "(set)" in out and CLIENTS["console"] not in out
    audit = cli.ok("--json", "audit", "list", "--limit", "20")
    assert CLIENTS["console"] not in audit and "client_secret" in audit
    cli.ok("identity-service", "set", "IDP", "--setting", "password_grant=true")
    done = cli.script("login", "-s", "IDP", "--account", "alice", "--password-stdin",
                      stdin="alice-password\n")
    assert done.returncode == 0 and "logged in as alice via IDP" in done.stdout, done.stderr
    refused = cli.script("login", "-s", "IDP", "--account", "alice", "--password-stdin",
                         stdin="wrong-password-77\n")
    assert refused.returncode == 6 and "wrong account name or password" in refused.stderr
    assert_no_secrets_logged(cli, "alice-password", "wrong-password-77")
