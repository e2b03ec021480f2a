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


# -- one guard for every command ------------------------------------------------------------
def closed_pipe(sh: Script, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run with a standard output whose reader has gone (``| head`` once head has exited):
    every write fails with EPIPE, deterministically."""
    assert SCRIPT is not None
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([SCRIPT, *argv], input=stdin, stdout=write,
                              stderr=subprocess.PIPE, text=True, env=sh.env, timeout=60,
                              check=False)
    finally:
        os.close(write)
    return done


def test_a_closed_stdout_ends_quietly(sh: Script) -> None:
    for argv in (("whoami",), ("audit", "list"), ("inventory", "list"), ("controller", "list"),
                 ("cert", "list")):
        done = closed_pipe(sh, *argv)
        assert done.stderr == "", (argv, done.stderr)
        assert done.returncode == 141, (argv, done.returncode)  # 128 + SIGPIPE, like `yes`
    for argv in (("--help",), ("account", "list", "--help")):  # argparse: help, then exit 0
        done = closed_pipe(sh, *argv)
        assert done.stderr == "" and done.returncode == 0, (argv, done)


def test_cert_issue_into_a_closed_pipe_writes_the_key_before_reporting(sh: Script,
                                                                        tmp_path: Path) -> None:
    cert, key = tmp_path / "alice.pem", tmp_path / "alice-key.pem"
    done = closed_pipe(sh, "cert", "issue", "user", "alice", "--email", "a@example.com",
                       "--out-cert", str(cert), "--out-key", str(key))
    assert done.stderr == "" and done.returncode == 141
    assert b"BEGIN CERTIFICATE" in cert.read_bytes()
    assert b"PRIVATE KEY" in key.read_bytes()
    # A taken key file is refused before a certificate exists (none is left without its key).
    before = sh.ok("cert", "list")
    taken = sh("cert", "issue", "user", "bob", "--email", "b@example.com",
               "--out-cert", str(tmp_path / "bob.pem"), "--out-key", str(key))
    assert taken.returncode == 2 and f"{key} exists" in taken.stderr
    assert sh.ok("cert", "list") == before and not (tmp_path / "bob.pem").exists()


def one_sentence(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode not in (0, 1), done
    text = done.stderr.strip()
    if text.startswith("usage: "):  # argparse's refusals come after the usage
        text = text[text.index("\njs7tui: ") + 1:]
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("js7tui: "), done.stderr
    return lines[0]


def test_a_damaged_store_is_one_sentence_naming_it(tmp_path: Path) -> None:
    sh = make_script(tmp_path, login=False)
    store = sh.home / "js7tui.db"
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 3])
    line = one_sentence(sh("account", "list"))
    assert str(store) in line and ("malformed" in line or "not a database" in line), line
    store.write_bytes(b"this is not a database at all" * 200)
    line = one_sentence(sh("whoami"))
    assert str(store) in line and "not a database" in line and "backup" in line


def test_config_errors_are_one_sentence_naming_the_file(tmp_path: Path) -> None:
    sh = make_script(tmp_path, login=False)
    config = sh.home / "config.toml"
    text = config.read_text()
    config.write_bytes(text.encode() + b"\n# caf\xe9\n")
    line = one_sentence(sh("account", "list"))
    assert str(config) in line and "not UTF-8" in line
    for bad, needle in (("argon2_memory_kib = 8", "argon2_memory_kib = 1"),
                        ("argon2_parallelism = 1", "argon2_parallelism = 0"),
                        ("argon2_time_cost = 1", "argon2_time_cost = 0")):
        assert bad in text
        config.write_text(text.replace(bad, needle))
        line = one_sentence(sh("login", "--account", "root", "--password-stdin",
                               stdin="root\n"))
        key = needle.split()[0]
        assert str(config) in line and f"{key} must be" in line and " to " in line, line


def test_os_and_number_errors_are_one_sentence(sh: Script, tmp_path: Path) -> None:
    regular = tmp_path / "a-file"
    regular.write_text("x")
    line = one_sentence(sh("--home", str(regular), "init", "--security-level", "low"))
    assert str(regular) in line and "not a directory" in line
    line = one_sentence(sh("audit", "show", "99999999999999999999999"))
    assert "out of range" in line
    assert "out of range" in one_sentence(sh("audit", "list", "--limit",
                                             "99999999999999999999999"))


def test_a_server_whose_port_is_in_use_says_so(tmp_path: Path) -> None:
    import socket

    from js7tui.engine.auth import hash_sha512
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        for component in ("controller", "agent"):
            directory = tmp_path / component
            (directory / "trusted-x509-keys").mkdir(parents=True)
            (directory / "config.toml").write_text(
                f'[server]\nname = "{component}-1"\nlisten = "127.0.0.1:{port}"\n\n'
                f'[users.console]\npassword_hash = "{hash_sha512("pw-pw-pw-pw-pw")}"\n')
            done = Script(tmp_path)(component, "serve", "--config", str(directory),
                                   "--insecure-http")
            line = done.stderr.strip().splitlines()[-1]
            assert done.returncode == 2, done.stderr
            assert f"port {port} on 127.0.0.1 is in use" in line, done.stderr
    finally:
        taken.close()


# -- names ----------------------------------------------------------------------------------
def test_invisible_and_bidi_names_are_refused_and_names_are_nfc(sh: Script) -> None:
    for name in ("root\u200b", "ad\u202emin", "\u2066x\u2069", "a\u00a0b", "x\u3164",
                 "bell\x07"):
        for argv in (("account", "create", name, "--password-stdin"), ("role", "create", name)):
            done = sh(*argv, stdin="a-good-password-42\n")
            assert done.returncode == 2, (name, done)
            assert "invisible" in done.stderr or "control" in done.stderr or \
                "space" in done.stderr, done.stderr
            assert "U+" in done.stderr  # the character is named
            if not name.isprintable():
                assert name not in done.stderr  # shown escaped, not raw
    rows = [line for line in sh.ok("account", "list").splitlines() if line.startswith("root")]
    assert len(rows) == 1
    sh.ok("account", "create", "Zoe\u0308", "--password-stdin", stdin="a-good-password-42\n")
    assert "Zo\u00eb" in sh.ok("account", "list")  # stored composed (NFC)
    sh.ok("account", "show", "Zo\u00eb")


def test_escape_sequences_from_the_user_are_never_echoed_raw(sh: Script) -> None:
    for argv in (("inventory", "folder-create", "/ctl\x1b[2Jchar"),
                 ("role", "folder-add", "all", "/ctl\x1b[2Jchar"),
                 ("account", "show", "who\x1b[2J"),
                 ("controller", "health", "c\x1b]0;pwned\x07")):
        done = sh(*argv)
        assert done.returncode != 0, argv
        assert "\x1b" not in done.stderr and "\x07" not in done.stderr, (argv, done.stderr)
        assert "\\x1b" in done.stderr, (argv, done.stderr)


# -- home permissions -----------------------------------------------------------------------
def test_a_home_others_can_write_is_refused_and_one_they_can_read_warned_about(
        sh: Script) -> None:
    home, keys = sh.home, sh.home / "keys"
    secrets = keys / "secrets.key"  # made when the first secret is sealed: here by hand
    secrets.write_bytes(b"not used by this test")
    secrets.chmod(0o600)
    store = home / "js7tui.db"
    for path, bad, good in ((home, 0o777, 0o700), (keys, 0o757, 0o700), (secrets, 0o666, 0o600),
                            (store, 0o602, 0o600), (home / "config.toml", 0o620, 0o600)):
        os.chmod(path, bad)
        line = one_sentence(sh("whoami"))
        assert f"{path} is writable" in line and f"chmod {good:o} {path}" in line, line
        doctor = sh("doctor")
        assert f"{path} is writable" in doctor.stdout and doctor.returncode == 2, doctor
        os.chmod(path, good)
    os.chmod(store, 0o644)
    done = sh("whoami")
    assert done.returncode == 0 and "root" in done.stdout
    warned = done.stderr.strip().splitlines()
    assert len(warned) == 1 and f"warning: {store} is readable by others" in warned[0]
    doctor = sh("doctor")
    assert f"{store} is readable by others (mode 0644, expected 0600)" in doctor.stdout
    assert "writable" not in doctor.stdout


# -- the seeds' defaults and login rule ----------------------------------------------------------
def test_login_needs_controller_view_and_default_roles_have_it(sh: Script) -> None:
    roles = ("administrator", "application_manager", "it_operator", "incident_manager",
             "business_user", "api_user")
    for role in roles:
        sh.ok("account", "create", f"u-{role}", "--role", role, "--password-stdin",
              stdin="a-good-password-42\n")
    sh.ok("role", "create", "joc-only", "--empty")
    sh.ok("role", "grant", "joc-only", "sos:products:joc:auditlog:view")
    sh.ok("account", "create", "nobody", "--role", "joc-only", "--password-stdin",
          stdin="a-good-password-42\n")
    for role in roles:
        sh.ok("login", "--account", f"u-{role}", "--password-stdin",
              stdin="a-good-password-42\n")
    refused = sh("login", "--account", "nobody", "--password-stdin",
                 stdin="a-good-password-42\n")
    assert refused.returncode == 6
    assert "sos:products:controller:view" in refused.stderr, refused.stderr
    # One Controller's section is enough.
    sh.ok("login", "--account", "root", "--password-stdin", stdin="a-long-root-password\n")
    done = sh("role", "grant", "joc-only", "sos:products:controller:view", "--controller",
              "nosuchcontroller")
    assert done.returncode == 0
    assert "warning: no Controller 'nosuchcontroller' is registered" in done.stderr
    sh.ok("login", "--account", "nobody", "--password-stdin", stdin="a-good-password-42\n")


def test_idle_timeout_defaults_to_15_minutes(sh: Script) -> None:
    out = sh.ok("settings", "show")
    assert "idle_session_timeout" in out and "15m" in out
