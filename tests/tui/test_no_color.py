"""NO_COLOR means no colour codes at all: the bytes js7tui writes on a pseudo-terminal, from the
login form to a section with a table, carry no SGR colour parameter (Textual's own NO_COLOR
mode drew in 256-colour greys)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.terminal import Terminal

# One SGR sequence; its parameters are checked one by one (38/48 introduce a colour, 30-37,
# 40-47, 90-97, 100-107 are colours; 39/49 only reset to the terminal's own colours).
SGR = re.compile(rb"\x1b\[([0-9;:]*)m")
COLOUR = {*range(30, 38), *range(40, 48), *range(90, 98), *range(100, 108), 38, 48, 58}


def colour_codes(data: bytes) -> list[bytes]:
    found = []
    for match in SGR.finditer(data):
        params = [p for p in re.split(rb"[;:]", match.group(1)) if p]
        if any(int(p) in COLOUR for p in params):
            found.append(match.group(0))
    return found


def test_the_sgr_check_finds_colours() -> None:
    assert colour_codes(b"\x1b[38;5;248mx\x1b[0m") == [b"\x1b[38;5;248m"]
    assert colour_codes(b"\x1b[1;7mx\x1b[0m\x1b[39;49m") == []


def test_no_color_writes_no_colour_code(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-m", "js7tui", "--home", str(home), "init",
                    "--security-level", "low", "--no-ca"], check=True, capture_output=True)
    terminal = Terminal("--home", str(home), env={
        "NO_COLOR": "1", "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
        "COLORTERM": "truecolor"})
    try:
        terminal.wait_text(b"remember me", "the login form")
        terminal.wait_text(b"security level LOW", "the home opened")
        for chunk in (b"root", b"\r", b"root", b"\r"):
            os.write(terminal.master, chunk)
            time.sleep(0.3)
        try:
            terminal.wait_text(b"must be changed", "the forced password change", 30)
        except AssertionError:
            print(re.sub(rb"\x1b\[[0-9;]*[mH]", b"", bytes(terminal.seen[-3000:])))
            raise
        time.sleep(0.5)
    finally:
        terminal.close()
    data = bytes(terminal.seen)
    assert b"log in" in data
    assert colour_codes(data) == []
