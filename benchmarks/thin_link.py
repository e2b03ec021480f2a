"""Bytes on the wire: what the console writes to its terminal per key and at rest, beside minimal
Textual apps doing the same (the floors), all on pseudo-terminals in the same run.

Over SSH every byte the console writes crosses the link (without ``ssh -C``: plus 2-8% of
framing), so a console that keeps writing at rest costs an administrator on a thin link a
steady stream, and a key that repaints more than it changed costs latency.

What it prints (one line each): the bytes of the first screen; for each section the bytes per
second at rest (after it settled); the bytes per ``down`` in the audit log and the permission
tree; and the same figures for a bare DataTable, Tree, a mode-switching app and a login-like
form, which show what Textual itself needs.

Targets (issue 18): nothing written at rest unless something visible changes; per key within
2x of the bare widget; the first screen drawn once.

The last two lines estimate what ``ssh -C`` saves: the whole session's bytes and the same
stream through zlib at ssh's level 6 (an estimate; a real sshd adds its framing).

Run: ``python benchmarks/thin_link.py [--size 100x30] [--rest 5]``
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "thin-link-password-1"
DOWN = b"\x1b[B"


class Pty:
    """A process on a pty of a given size; every byte it writes is counted."""

    def __init__(self, argv: list[str], size: tuple[int, int], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.master = master
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                        start_new_session=True, cwd=ROOT,
                                        env={**os.environ, "TERM": "xterm-256color", **env})
        os.close(slave)
        self.seen = bytearray()
        self.last = time.monotonic()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.seen.extend(data)
            self.last = time.monotonic()

    def wait_text(self, text: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while text.encode() not in self.seen:
            if time.monotonic() > end:
                raise SystemExit(f"never saw {text!r}; last bytes: {bytes(self.seen[-400:])!r}")
            time.sleep(0.05)

    def settle(self, quiet: float = 0.6, timeout: float = 15) -> None:
        """Until nothing was written for ``quiet`` seconds counted from now (a key's answer
        may not have started yet), at most ``timeout``."""
        start = time.monotonic()
        end = start + timeout
        while time.monotonic() - max(self.last, start) < quiet and time.monotonic() < end:
            time.sleep(0.05)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def per_key(self, key: bytes, times: int = 10) -> float:
        self.settle()
        before = len(self.seen)
        for _ in range(times):
            self.send(key)
            time.sleep(0.05)
            self.settle(0.3)
        return (len(self.seen) - before) / times

    def compressed(self) -> int:
        """What ``ssh -C`` would carry for everything written so far: zlib (ssh's level 6)
        over the whole stream, flushed per read (ssh flushes per packet). An estimate."""
        import zlib
        z = zlib.compressobj(6)
        return len(z.compress(bytes(self.seen)) + z.flush(zlib.Z_SYNC_FLUSH))

    def at_rest(self, seconds: float) -> float:
        self.settle(1.0)
        before = len(self.seen)
        time.sleep(seconds)
        return (len(self.seen) - before) / seconds

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


READY = {"DataTable": "entry number 1", "Tree": "leaf0.1", "modes": "a section",
         "form": "remember me"}
FLOOR_APPS = {
    "DataTable": """
        from textual.app import App
        from textual.widgets import DataTable, Footer, Header
        class A(App):
            def compose(self):
                yield Header(); yield DataTable(); yield Footer()
            def on_mount(self):
                t = self.query_one(DataTable); t.add_columns("id", "when", "who", "what")
                for i in range(200):
                    t.add_row(str(i), "2026-12-04 18:00:00", "root", f"entry number {i}")
                t.focus()
        A().run()
    """,
    "Tree": """
        from textual.app import App
        from textual.widgets import Footer, Tree
        class A(App):
            def compose(self):
                t = Tree("sos")
                for i in range(20):
                    n = t.root.add(f"node{i}", expand=True)
                    for j in range(5):
                        n.add_leaf(f"leaf{i}.{j}")
                t.root.expand(); yield t; yield Footer()
            def on_mount(self):
                self.query_one(Tree).focus()
        A().run()
    """,
    "modes": """
        from textual.app import App
        from textual.screen import Screen
        from textual.widgets import Footer, Static
        class S(Screen):
            def compose(self):
                yield Static("a section"); yield Footer()
        class A(App):
            MODES = {"a": S, "b": S}
            BINDINGS = [("1", "switch_mode('a')", "A"), ("2", "switch_mode('b')", "B")]
            def on_mount(self):
                self.switch_mode("a")
        A().run()
    """,
    "form": """
        from textual.app import App
        from textual.containers import Center, Vertical
        from textual.widgets import Checkbox, Footer, Input, Label, Static
        class A(App):
            def compose(self):
                with Center(), Vertical():
                    yield Label("log in"); yield Input(placeholder="account")
                    yield Input(placeholder="password", password=True)
                    yield Checkbox("remember me"); yield Static("enter log in")
                yield Footer()
        A().run()
    """,
}


def make_home(base: Path, remembered: bool) -> tuple[Path, dict[str, str]]:
    sys.path.insert(0, str(ROOT))
    from js7tui import remember
    from js7tui.console import initialize
    from js7tui.home import Home
    from js7tui.identity.providers.base import LoginRequest
    from js7tui.security_level import SecurityLevel
    home = Home(base / "home")
    env = {"HOME": str(base), "XDG_STATE_HOME": str(base / "state"),
           "JS7TUI_HOME": str(home.root)}
    console = initialize(home, SecurityLevel.LOW)
    console.accounts.change_password(account="root", old="root", new=PASSWORD)
    root = console.login.login(LoginRequest("root", PASSWORD, "bench")).session
    assert root is not None
    for i in range(60):    # something to scroll in the audit log: audited setting changes
        console.settings.set(root, "minimum_password_length", str(12 + i % 5))
    if remembered:
        session = console.login.login(LoginRequest("root", PASSWORD, "bench")).session
        assert session is not None and session.token
        if hasattr(remember, "remember_console"):
            remember.remember_console(env, home.root, console.installation_id,
                                      account="root", token=session.token)
        else:   # a js7tui before issue 18 (the console shared the CLI's file): for a before
            remember.remember(env, console.installation_id, home=home.root, account="root",
                              token=session.token)
    console.close()
    return home.root, env


def floors(size: tuple[int, int], rest: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, source in FLOOR_APPS.items():
        term = Pty([sys.executable, "-c", textwrap.dedent(source)], size, {})
        try:
            term.wait_text(READY[name])
            term.settle(1.0)
            out[f"{name} first screen B"] = len(term.seen)
            out[f"{name} at rest B/s"] = term.at_rest(rest)
            if name in ("DataTable", "Tree"):
                out[f"{name} per down B"] = term.per_key(DOWN)
            if name == "modes":
                out["modes per switch B"] = (term.per_key(b"2", 1) + term.per_key(b"1", 1)) / 2
            if name == "form":
                term.send(b"abc")
                out["form at rest, field focused B/s"] = term.at_rest(rest)
        finally:
            term.close()
    return out


def console_figures(size: tuple[int, int], rest: float) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        _home, env = make_home(Path(tmp) / "form", remembered=False)
        term = Pty([sys.executable, "-m", "js7tui"], size, env)
        try:
            term.wait_text("log in")
            term.settle(1.0)
            out["login form first screen B"] = len(term.seen)
            out["login form at rest B/s"] = term.at_rest(rest)
        finally:
            term.close()
        _home, env = make_home(Path(tmp) / "kept", remembered=True)
        term = Pty([sys.executable, "-m", "js7tui"], size, env)
        try:
            term.wait_text("Dashboard")
            term.settle(1.5)
            for key, name in [(b"1", "dashboard"), (b"2", "controllers"), (b"3", "inventory"),
                              (b"4", "orders"), (b"7", "accounts"), (b"8", "roles"),
                              (b"9", "audit log")]:
                term.send(key)
                term.settle(1.0)
                out[f"{name} at rest B/s"] = term.at_rest(rest)
                if name == "audit log":
                    out["audit log per down B"] = term.per_key(DOWN)
            term.send(b"8")
            term.settle(1.0)
            term.send(b"\r")                               # the permission tree of a role
            term.settle(1.0)
            out["permission tree per down B"] = term.per_key(DOWN)
            out["permission tree at rest B/s"] = term.at_rest(rest)
            out["whole session B"] = len(term.seen)
            out["whole session, zlib as ssh -C B"] = term.compressed()
        finally:
            term.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="100x30")
    parser.add_argument("--rest", type=float, default=5.0, help="seconds measured at rest")
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.split("x"))
    import textual
    print(f"# thin link, {cols}x{rows}, Textual {textual.__version__}, at rest over "
          f"{args.rest:g} s; bytes the process wrote to its pty")
    print("## floors (bare Textual apps)")
    for name, value in floors((cols, rows), args.rest).items():
        print(f"{name:40} {value:10,.0f}")
    print("## js7tui")
    for name, value in console_figures((cols, rows), args.rest).items():
        print(f"{name:40} {value:10,.0f}")


if __name__ == "__main__":
    main()
