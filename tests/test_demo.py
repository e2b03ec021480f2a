"""``js7tui demo`` as a user runs it: the installed entry point in a subprocess, a new home,
a Controller and an Agent as its children, the Controller registered in the console's store and
usable from it; Ctrl+C stops everything; a second run reuses what the first made."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from js7tui.console import open_console
from js7tui.demo import AGENT_NAME, CONTROLLER_ID, demo_layout
from js7tui.home import Home
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.profiles import Purpose
from js7tui.signing import sign_item
from tests.conftest import ROOT_PASSWORD, login
from tests.estate import process_alive, wait_for, workflow
from tests.terminal import Terminal

pytestmark = pytest.mark.slow


class Demo:
    """The demo command in a subprocess, its output read line by line."""

    def __init__(self, home: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "js7tui", "demo", "--home", str(home), "--no-tui"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, text: str, timeout: float = 60) -> None:
        def found() -> bool:
            while not self.lines.empty():
                self.seen.append(self.lines.get())
            return any(text in line for line in self.seen)
        wait_for(found, f"'{text}' from js7tui demo (so far: {self.seen})", timeout, 0.05)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)  # what Ctrl+C sends
        return self.process.wait(timeout=30)


def server_pids(home: Path) -> list[int]:
    layout = demo_layout(Home(home))
    return [json.loads((d / "state" / "server.json").read_text())["pid"]
            for d in (layout.controller, layout.agent)]


def test_demo_from_a_new_home_to_a_job_and_back(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    demo = Demo(home)
    try:
        demo.wait_line("running until interrupted")
        assert any("created a js7tui home" in line for line in demo.seen)
        pids = server_pids(home)
        console = open_console(Home(home))
        try:
            console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
            admin = login(console, "root", ROOT_PASSWORD)
            assert [c.id for c in console.controllers.list(admin)] == [CONTROLLER_ID]
            signer = console.certificates.issue(admin, IssueRequest(Purpose.SIGNING, "me"),
                                                hold_key=True)
            assert signer.key is not None
            text = json.dumps(workflow("hello", {"j": (AGENT_NAME, "echo hello from the demo")}))
            with console.controllers.connect(admin, CONTROLLER_ID) as client:
                wait_for(lambda: client.health()["agents"][0]["connected"], "the Agent link")
                client.deploy([sign_item(text, signer.key, certificate=signer.cert,
                                         chain=signer.chain[1:2])])
                client.add_order("hello-1", "hello")
                order = wait_for(lambda: (o := client.order_log("hello-1")).ended and o,
                                 "the order", 20, 0.05)
            assert order.state == "finished"
            assert order.steps[0].stdout == "hello from the demo\n"
            audit = [r["request"] for r in console.store.conn.execute(
                "SELECT request FROM audit_log WHERE account = 'js7tui'")]
            assert "./pki/bundle/export" in audit and "./controller/register" in audit
        finally:
            console.close()
    finally:
        code = demo.interrupt()
    assert code == 0
    assert any("stopped the Controller and the Agent" in line for line in demo.seen + [
        demo.lines.get() for _ in range(demo.lines.qsize())])
    assert not any(process_alive(pid) for pid in pids)

    again = Demo(home)  # the second run reuses the certificates and configurations
    try:
        again.wait_line("running until interrupted")
        assert not any("issued" in line for line in again.seen)
    finally:
        assert again.interrupt() == 0


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_closed_terminal_stops_the_demo_servers_too(tmp_path: Path, sig: int) -> None:
    """The console in front (on a pseudo-terminal): when the terminal goes away (SIGHUP: an
    SSH drop, tmux kill-session) or the demo is told to end (SIGTERM), the Controller and the
    Agent stop with it instead of living on in their own sessions."""
    home = tmp_path / "demo-home"
    terminal = Terminal("demo", "--home", str(home))
    try:
        terminal.wait_text(b"log in", "the console's login screen")
        pids = server_pids(home)
        assert all(process_alive(pid) for pid in pids)
        terminal.process.send_signal(sig)
        assert terminal.process.wait(timeout=30) == 128 + sig
        wait_for(lambda: not any(process_alive(pid) for pid in pids),
                 "the demo's servers to stop", 30, 0.05)
    finally:
        terminal.close()
