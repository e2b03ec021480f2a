"""A js7tui process on a pseudo-terminal, for tests of what an administrator's terminal sees
(the console's first frame, what is printed after the screen is gone, signals)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from collections.abc import Mapping

from tests.estate import wait_for


class Terminal:
    """``python -m js7tui ARGS`` with stdin, stdout and stderr on a pty, in a session of its
    own; everything it writes is kept in ``seen`` (read all along, so the console never
    blocks on a full terminal)."""

    def __init__(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.process = subprocess.Popen(
            [sys.executable, "-m", "js7tui", *args], stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
            env={**os.environ, "TERM": "xterm-256color", **(env or {})})
        os.close(slave)
        self.seen = bytearray()
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

    def wait_text(self, text: bytes, what: str, timeout: float = 60) -> None:
        wait_for(lambda: text in self.seen, what, timeout, 0.05)

    @property
    def text(self) -> str:
        return self.seen.decode("utf-8", "replace")

    def close(self) -> None:
        """Kill the process if it is still running, and close the terminal."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)
