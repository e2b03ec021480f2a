"""Running it for real (issue 24): the systemd units (checked by ``systemd-analyze verify``
where it is installed), SIGHUP reloading the TLS files of a real server, the log lines in the
journal's and in the file's format, shell completion through bash, and ``js7tui help``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.client import ControllerRefused
from js7tui.demo import spawn_child, stop_child, wait_ready
from js7tui.engine.events import fields
from tests.conftest import ROOT_PASSWORD, login
from tests.estate import CONSOLE_PASSWORD, Estate, wait_for

VENV_BIN = Path(sys.executable).parent


def js7tui(*args: str, env: dict[str, str] | None = None,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "js7tui", *args], capture_output=True,
                          text=True, env=env, check=check, timeout=60)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    """A console with its CA, a Controller's and an Agent's configuration directory (not
    running: the tests start what they need)."""
    estate = Estate(tmp_path_factory.mktemp("ops"), agents=[])
    estate.write_controller_config(estate.configure_controller_certificate())
    estate.configure_agent("agent-1")
    yield estate
    for child in estate.servers.values():
        stop_child(child)
    estate.console.close()


# -- systemd units ----------------------------------------------------------------------------
def unit(estate: Estate, component: str, *options: str) -> str:
    name = "controller-1" if component == "controller" else "agent-1"
    return js7tui(component, "systemd-unit", "--config", str(estate.dir(name)),
                  *options).stdout


def settings(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_the_controller_unit_is_hardened(estate: Estate) -> None:
    directory = estate.dir("controller-1")
    found = settings(unit(estate, "controller"))
    assert found["User"] == ["js7-controller"] and found["Group"] == ["js7-controller"]
    assert "DynamicUser" not in found
    assert found["ExecStart"] == [f"{Path(sys.executable).absolute()} -m js7tui controller "
                                  f"serve --config {directory}"]
    assert found["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert found["ReadWritePaths"] == [str(directory / "state")]
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("PrivateTmp", "yes"), ("ProtectHome", "yes"),
                       ("Restart", "on-failure"), ("Type", "notify"),
                       ("CapabilityBoundingSet", "")):
        assert found[key] == [value], key


def test_the_agent_unit_lets_its_jobs_write_their_work_dir(estate: Estate) -> None:
    directory = estate.dir("agent-1")
    found = settings(unit(estate, "agent", "--user", "sched", "--group", "batch",
                          "--read-write", "/srv/exchange"))
    assert found["User"] == ["sched"] and found["Group"] == ["batch"]
    assert found["ReadWritePaths"] == [f"{directory / 'state'} {directory / 'work'} "
                                       "/srv/exchange"]
    assert "agent serve --config" in found["ExecStart"][0]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian: apt-get install systemd)")
def test_systemd_analyze_verifies_both_units(estate: Estate, tmp_path: Path) -> None:
    for component in ("controller", "agent"):
        path = tmp_path / f"js7tui-{component}.service"
        path.write_text(unit(estate, component))
        result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                                text=True, timeout=60)
        # The users exist only once installed; everything else must be clean.
        problems = [line for line in (result.stdout + result.stderr).splitlines()
                    if line.strip() and "js7-" not in line]
        assert result.returncode == 0 and not problems, result.stdout + result.stderr


# -- a real server: SIGHUP and the log lines -------------------------------------------------
def test_sighup_reloads_the_tls_files_and_a_broken_set_keeps_the_old(estate: Estate) -> None:
    child = estate.servers["controller-1"] = wait_ready(spawn_child(
        "controller", estate.dir("controller-1")))
    log = estate.dir("controller-1") / "logs" / "server.log"
    child.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=tls-reload status=ok trigger=SIGHUP" in log.read_text(),
             "the reload after SIGHUP")
    cert = estate.dir("controller-1") / "tls" / "https-cert.pem"
    good = cert.read_bytes()
    try:
        cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
        child.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "event=tls-reload status=failed trigger=SIGHUP" in log.read_text(),
                 "the refused reload")
        assert child.process.poll() is None
    finally:
        cert.write_bytes(good)
    with estate.client() as client:  # the previous (good) context still serves
        assert client.health()["id"] == "controller-1"
    child.process.send_signal(signal.SIGHUP)
    wait_for(lambda: log.read_text().count("event=tls-reload status=ok trigger=SIGHUP") >= 2,
             "the second reload")


def test_the_log_file_has_one_line_per_event_with_its_fields(estate: Estate) -> None:
    if "controller-1" not in estate.servers:
        estate.servers["controller-1"] = wait_ready(spawn_child(
            "controller", estate.dir("controller-1")))
    with pytest.raises(ControllerRefused, match="unknown user or invalid password"), \
            estate.client(password="wrong") as client:
        client.login()
    log = estate.dir("controller-1") / "logs" / "server.log"
    line = wait_for(lambda: next((x for x in log.read_text().splitlines()
                                  if "event=login status=refused" in x), None),
                    "the refused login in the log")
    assert "user=console peer=127.0.0.1 dn=" in line and "reason=\"wrong password\"" in line
    assert wait_for(lambda: "event=request method=POST path=/api/session status=401"
                    in log.read_text(), "the request line")
    assert line[:4].isdigit()  # the file's lines have a timestamp


def test_under_systemd_the_lines_go_to_the_journal_stream(estate: Estate,
                                                           tmp_path: Path) -> None:
    """With $JOURNAL_STREAM naming stderr (as systemd sets it): stderr only, journald's
    priority prefix, no timestamp, no log file."""
    directory = tmp_path / "controller-1"
    shutil.copytree(estate.dir("controller-1"), directory,
                    ignore=shutil.ignore_patterns("state", "logs", "output.log"))
    stream = tmp_path / "journal-stream"
    with open(stream, "wb") as sink:
        info = os.fstat(sink.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}",
               "INVOCATION_ID": "0" * 32}
        process = subprocess.Popen([sys.executable, "-m", "js7tui", "controller", "serve",
                                    "--config", str(directory)], stdin=subprocess.DEVNULL,
                                   stdout=sink, stderr=sink, env=env, start_new_session=True)
    try:
        text = wait_for(lambda: "event=start" in stream.read_text() and stream.read_text(),
                        "the start line")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    start = next(line for line in text.splitlines() if "event=start" in line)
    assert start.startswith("<6>INFO event=start status=listening url=https://127.0.0.1:")
    assert "<6>INFO event=stop" in stream.read_text()
    assert not (directory / "logs").exists()


def test_fields_quote_what_would_break_a_line() -> None:
    assert fields("login", status="ok", user="a b", dn='CN=x,O="y"', empty="", none=None) == (
        'event=login status=ok user="a b" dn="CN=x,O=\\"y\\""')
    assert fields("x", msg="two\nlines") == 'event=x msg="two\\nlines"'


# -- shell completion -------------------------------------------------------------------------
COMPLETE = r'''
source <(js7tui completion bash)
COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_python_argcomplete js7tui "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


@pytest.fixture(scope="module")
def completing(estate: Estate) -> Iterator[dict[str, str]]:
    """The environment bash completes in: this venv's js7tui on PATH, the estate's home with
    an account, a role, a Controller and a folder more than a fresh home has."""
    console, admin = estate.console, login(estate.console, "root", ROOT_PASSWORD)
    console.roles.create(admin, "operators", meta=AuditMeta())
    console.accounts.create(admin, "alice", password="a-good-password-42",
                            roles=["operators"], meta=AuditMeta())
    console.controllers.register(admin, "primary", "https://127.0.0.1:9", "console",
                                 CONSOLE_PASSWORD, meta=AuditMeta())
    console.inventory.create_folder(admin, "/prod/daily", meta=AuditMeta())
    yield {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "JS7TUI_HOME": str(estate.root / "home")}


def complete(line: str, env: dict[str, str]) -> list[str]:
    result = subprocess.run(["bash", "-c", COMPLETE, "complete", line], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return [word.strip() for word in result.stdout.splitlines() if word.strip()]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_options_and_names_from_the_store(
        completing: dict[str, str]) -> None:
    assert complete("js7tui acc", completing) == ["account"]
    assert "systemd-unit" in complete("js7tui controller ", completing)
    assert complete("js7tui controller systemd-unit --con", completing) == ["--config"]
    assert complete("js7tui account show al", completing) == ["alice"]
    assert complete("js7tui account roles alice --add op", completing) == ["operators"]
    assert complete("js7tui controller test pr", completing) == ["primary"]
    assert complete("js7tui role folder-add operators /prod/d", completing) == ["/prod/daily"]
    # A new name completes nothing from the store.
    assert complete("js7tui account create al", completing) == []


def test_the_zsh_script_registers_its_completion(completing: dict[str, str]) -> None:
    script = js7tui("completion", "zsh").stdout
    assert script.startswith("#compdef js7tui") and "_python_argcomplete" in script
    if shutil.which("zsh") is None:
        return
    result = subprocess.run(
        ["zsh", "-fc", 'autoload -U compinit; compinit -u -D; eval "$(js7tui completion zsh)";'
         ' print -r -- ${_comps[js7tui]}'], capture_output=True, text=True, env=completing,
        timeout=60)
    assert result.stdout.strip() == "_python_argcomplete", result.stderr


# -- the manual -------------------------------------------------------------------------------
def test_help_lists_topics_and_shows_a_group_with_every_option() -> None:
    topics = js7tui("help").stdout
    for topic in ("account", "role", "controller", "agent", "completion", "help"):
        assert f"\n  {topic} " in topics
    text = js7tui("help", "controller").stdout
    assert "js7tui controller systemd-unit\n" in text and "--read-write PATH" in text
    assert "usage: js7tui controller serve [-h] --config DIR" in text
    assert "js7tui controller serve" in js7tui("help", "controller", "serve").stdout
    everything = js7tui("help", "--all").stdout
    assert "js7tui account reset-password\n" in everything and "js7tui agent serve\n" in everything
    refused = js7tui("help", "nope", check=False)
    assert refused.returncode != 0 and "no help topic 'nope'" in refused.stderr


def test_help_piped_into_a_pager_that_quits_early_is_no_error() -> None:
    process = subprocess.Popen([sys.executable, "-m", "js7tui", "help", "--all"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()  # as head or a quitting less does
    assert process.wait(timeout=60) == 0
    assert b"Traceback" not in process.stderr.read()
