"""The command line as a user (or an attacker) runs it: the installed ``js7tui`` script in a
subprocess, real files, every bad input answered with one sentence and never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = shutil.which("js7tui", path=os.path.dirname(sys.executable))
pytestmark = pytest.mark.skipif(SCRIPT is None,
                                reason="the js7tui script is installed with the package")


class Script:
    """The installed script against a MEDIUM home in ``tmp_path`` (test-sized argon2 costs)."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.env = {**os.environ, "JS7TUI_HOME": str(self.home), "HOME": str(tmp_path),
                    "XDG_STATE_HOME": str(tmp_path / "state")}
        for name in ("JS7TUI_SESSION", "JS7TUI_PASSWORD", "JS7TUI_NEW_PASSWORD"):
            self.env.pop(name, None)

    def __call__(self, *argv: str, stdin: str = "", **extra: str
                 ) -> subprocess.CompletedProcess[str]:
        assert SCRIPT is not None
        done = subprocess.run([SCRIPT, *argv], input=stdin, capture_output=True, text=True,
                              env={**self.env, **extra}, timeout=60, check=False)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def ok(self, *argv: str, stdin: str = "", **extra: str) -> str:
        done = self(*argv, stdin=stdin, **extra)
        assert done.returncode == 0, done.stderr
        return done.stdout


def make_script(tmp_path: Path, *, login: bool = True) -> Script:
    sh = Script(tmp_path)
    sh.ok("init", "--security-level", "medium")
    config = sh.home / "config.toml"
    config.write_text(config.read_text().replace("argon2_time_cost = 3", "argon2_time_cost = 1")
                      .replace("argon2_memory_kib = 65536", "argon2_memory_kib = 8")
                      .replace("argon2_parallelism = 4", "argon2_parallelism = 1"))
    if login:
        sh.ok("login", "--account", "root", "--password-stdin", stdin="root\n")
        sh.ok("passwd", "--password-stdin", stdin="root\n",
              JS7TUI_NEW_PASSWORD="a-long-root-password")
    return sh


@pytest.fixture
def sh(tmp_path: Path) -> Script:
    return make_script(tmp_path)


def test_account_block_unblock_and_blocked(sh: Script) -> None:
    sh.ok("account", "create", "alice", "--password-stdin", stdin="alice-password-42\n")
    out = sh.ok("account", "block", "alice", "--reason", "left the company")
    assert "blocked in every identity service" in out
    listed = sh.ok("account", "blocked")
    assert "alice" in listed and "left the company" in listed
    again = sh("account", "block", "alice", "--reason", "twice")
    assert again.returncode != 0 and "already blocked" in again.stderr
    refused = sh("login", "--account", "alice", "--password-stdin", stdin="alice-password-42\n")
    assert refused.returncode == 6
    assert "unblocked" in sh.ok("account", "unblock", "alice")
    assert "alice" not in sh.ok("account", "blocked")
    missing = sh("account", "unblock", "alice")
    assert missing.returncode != 0 and "not blocked" in missing.stderr


def test_audit_list_since_relative_as_the_readme_writes_it(sh: Script) -> None:
    for argv in (("--since", "-1d"), ("--since=-1d",), ("--since", "-30m", "--until", "-0s")):
        out = sh.ok("audit", "list", *argv)
        assert "./iam/account/changepassword" in out, out
    assert "changepassword" not in sh.ok("audit", "list", "--until", "-1d")
    bad = sh("audit", "list", "--since", "-1x")
    assert bad.returncode == 2 and "expected one argument" in bad.stderr  # not a time: an option
    bad = sh("audit", "list", "--since", "yesterday")
    assert bad.returncode != 0 and "is not a date" in bad.stderr
