"""The command line: in-process for most commands, the installed script in a subprocess for
the real exit codes, stderr without traceback, and the 0600 session file."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from js7tui.cli import run
from js7tui.cli.context import CliContext


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.env = {
            "HOME": str(tmp_path),
            "JS7TUI_HOME": str(tmp_path / "home"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
        }
        self.home = tmp_path / "home"
        self.state = tmp_path / "state"

    def __call__(self, *argv: str, stdin: str = "", **env: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        ctx = CliContext(env={**self.env, **env}, stdin=io.StringIO(stdin), stdout=out,
                         stderr=err)
        code = run(list(argv), ctx)
        return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return make_cli(tmp_path)


def make_cli(tmp_path: Path) -> Cli:
    """A MEDIUM home in ``tmp_path`` with test-sized argon2 costs."""
    c = Cli(tmp_path)
    # Test-sized argon2 cost (still argon2id); the template's production values stay in docs.
    code, _, err = c("init", "--security-level", "medium")
    assert code == 0, err
    config = c.home / "config.toml"
    config.write_text(config.read_text().replace("argon2_time_cost = 3", "argon2_time_cost = 1")
                      .replace("argon2_memory_kib = 65536", "argon2_memory_kib = 8")
                      .replace("argon2_parallelism = 4", "argon2_parallelism = 1"))
    return c


def logged_in_root(cli: Cli) -> None:
    assert cli("login", "--account", "root", "--password-stdin", stdin="root\n")[0] == 0
    code, _, err = cli("passwd", "--account", "root", "--password-stdin", stdin="root\n",
                       JS7TUI_NEW_PASSWORD="a-long-root-password")
    assert code == 0, err


def test_init_twice_refuses_with_clear_message(cli: Cli) -> None:
    code, _out, err = cli("init", "--security-level", "low")
    assert code == 7
    assert "already exists" in err and "MEDIUM" in err
    assert "Traceback" not in err


def test_exists_ok_never_lowers_and_reports_existing_level(cli: Cli) -> None:
    code, out, _ = cli("init", "--security-level", "low", "--exists-ok")
    assert code == 0 and "MEDIUM" in out and "nothing changed" in out
    code, _, err = cli("init", "--security-level", "high", "--exists-ok")
    assert code == 2 and "lower than the HIGH" in err


def test_commands_need_a_session(cli: Cli) -> None:
    code, _, err = cli("account", "list")
    assert code == 6
    assert "js7tui login" in err


def test_root_must_change_password_before_anything(cli: Cli) -> None:
    assert cli("login", "--account", "root", "--password-stdin", stdin="root\n")[0] == 0
    code, _, err = cli("account", "list")
    assert code == 6 and "must change its password" in err
    code, _, err = cli("passwd", "--account", "root", "--password-stdin", stdin="root\n",
                       JS7TUI_NEW_PASSWORD="short")
    assert code == 2 and "at least 12" in err
    code, _, err = cli("passwd", "--account", "root", "--password-stdin", stdin="root\n",
                       JS7TUI_NEW_PASSWORD="a-long-root-password")
    assert code == 0, err
    code, out, _ = cli("account", "list")
    assert code == 0 and "root" in out and "active" in out


def test_password_from_environment_and_never_from_arguments(cli: Cli) -> None:
    code, _, err = cli("login", "--account", "root")  # no stdin flag, no env, not a tty
    assert code == 2 and "JS7TUI_PASSWORD" in err
    code, _, err = cli("login", "--account", "root", JS7TUI_PASSWORD="root")
    assert code == 0, err
    with pytest.raises(SystemExit):
        cli("login", "--account", "root", "--password", "root")


def test_session_file_is_private_and_logout_invalidates(cli: Cli) -> None:
    logged_in_root(cli)
    files = list((cli.state / "js7tui" / "sessions").glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
    token = json.loads(files[0].read_text())["token"]
    assert cli("logout")[0] == 0
    assert not files[0].exists()
    code, _, err = cli("whoami", JS7TUI_SESSION=token)  # the old token is worthless
    assert code == 6 and "no valid session" in err


def test_account_role_and_explain_flow(cli: Cli) -> None:
    logged_in_root(cli)
    assert cli("role", "create", "ops", "--comment", "team")[0] == 0
    assert cli("role", "grant", "ops", "sos:products:controller")[0] == 0
    assert cli("role", "deny", "ops", "sos:products:controller:orders:cancel",
               "--controller", "prod")[0] == 0
    code, _, err = cli("role", "grant", "ops", "sos:products:controller:order:view")
    assert code == 2 and "did you mean 'sos:products:controller:orders:view'" in err
    code, out, err = cli("account", "create", "alice", "--role", "ops", "--password-stdin",
                         stdin="alice-password-1\n")
    assert code == 0, err
    assert "alice" in out
    code, out, _ = cli("permissions", "explain", "sos:products:controller:orders:cancel",
                       "--account", "alice", "--controller", "prod")
    assert code == 0
    assert out.startswith("NOT ALLOWED")
    assert "denied by role 'ops'" in out
    code, out, _ = cli("permissions", "explain", "sos:products:controller:orders:cancel",
                       "--account", "alice", "--controller", "test")
    assert out.startswith("ALLOWED")


def test_json_lists_and_audit_filters(cli: Cli) -> None:
    logged_in_root(cli)
    cli("account", "create", "bob", "--comment", "new operator")
    code, out, _ = cli("--json", "account", "list")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["account"] for r in rows} == {"root", "bob"}
    code, out, _ = cli("--json", "audit", "list", "--comment-contains", "operator")
    assert code == 0
    entries = [json.loads(line) for line in out.splitlines()]
    assert len(entries) == 1 and entries[0]["request"] == "./iam/account/store"
    assert "bob" in entries[0]["path"]
    _code, out, _ = cli("audit", "list", "--refused")
    assert "REFUSED" not in out  # nothing refused yet in this flow


def test_denied_operation_is_audited(cli: Cli) -> None:
    logged_in_root(cli)
    cli("account", "create", "viewer", "--role", "api_user", "--password-stdin",
        stdin="viewer-password-1\n")
    cli("logout")
    assert cli("login", "-a", "viewer", JS7TUI_PASSWORD="viewer-password-1")[0] == 0
    code, _, err = cli("account", "create", "mallory")
    assert code == 5
    assert "sos:products:joc:administration:accounts:manage" in err
    cli("logout")
    assert cli("login", "-a", "root", JS7TUI_PASSWORD="a-long-root-password")[0] == 0
    code, out, _ = cli("--json", "audit", "list", "--refused", "--account", "viewer")
    refused = [json.loads(line) for line in out.splitlines()]
    assert refused and refused[0]["request"] == "./iam/account/store"


def test_audit_verify_catches_edit_and_exits_nonzero(cli: Cli) -> None:
    logged_in_root(cli)
    assert cli("audit", "verify")[0] == 0
    import sqlite3
    conn = sqlite3.connect(cli.home / "js7tui.db")
    conn.execute("UPDATE audit_log SET account = 'nobody' WHERE id = 1")
    conn.commit()
    conn.close()
    code, out, err = cli("audit", "verify")
    assert code == 8
    assert "entry 1 was changed" in err
    assert "first broken entry: 1" in out


def test_settings_cannot_touch_security_level_and_secret_from_stdin(cli: Cli) -> None:
    logged_in_root(cli)
    code, _, err = cli("settings", "set", "security_level", "low")
    assert code == 2 and "fixed at init" in err
    code, _, err = cli("settings", "set", "initial_password", "abc")
    assert code == 2 and "never taken from an argument" in err
    code, out, err = cli("settings", "set", "initial_password", "--stdin", stdin="new-initial\n")
    assert code == 2 and "at least 12 characters" in err  # the minimum applies to it too
    code, out, err = cli("settings", "set", "initial_password", "--stdin",
                         stdin="new-initial-password\n")
    assert code == 0, err
    code, _, err = cli("settings", "set", "minimum_password_length", "30")
    assert code == 2 and "set a longer initial_password first" in err
    code, out, _ = cli("settings", "show")
    assert "MEDIUM" in out and "new-initial" not in out


def test_permissions_tree_lists_the_catalogue(cli: Cli) -> None:
    code, out, _ = cli("permissions", "tree")
    assert code == 0
    assert "sos:products:controller:orders:manage_positions" in out
    assert len(out.splitlines()) >= 78


def test_locate_prints_paths(cli: Cli) -> None:
    _code, out, _ = cli("locate")
    assert str(cli.home) in out and "config.toml" in out


@pytest.mark.skipif(shutil.which("js7tui", path=os.path.dirname(sys.executable)) is None,
                    reason="the js7tui script is installed with the package")
def test_installed_script_end_to_end(tmp_path: Path) -> None:
    script = shutil.which("js7tui", path=os.path.dirname(sys.executable))
    env = {**os.environ, "JS7TUI_HOME": str(tmp_path / "h"),
           "XDG_STATE_HOME": str(tmp_path / "s")}
    env.pop("JS7TUI_SESSION", None)

    def sh(*argv: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([script, *argv], input=stdin, capture_output=True, text=True,
                              env={**env, **extra}, timeout=60, check=False)

    assert sh("init", "--security-level", "high").returncode == 0
    assert stat.S_IMODE((tmp_path / "h").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "h" / "js7tui.db").stat().st_mode) == 0o600
    bad = sh("login", "--account", "root", "--password-stdin", stdin="wrong\n")
    assert bad.returncode == 6
    assert "wrong account name or password" in bad.stderr and "Traceback" not in bad.stderr
    assert sh("login", "--account", "root", "--password-stdin", stdin="root\n").returncode == 0
    done = sh("passwd", "--password-stdin", stdin="root\n",
              JS7TUI_NEW_PASSWORD="installed-script-pw")
    assert done.returncode == 0, done.stderr
    listed = sh("identity-service", "list")
    assert listed.returncode == 0 and "JOC-INITIAL" in listed.stdout
    assert sh("audit", "verify").returncode == 0
