"""House rules that keep the layers apart (Harlequin's habit: check sys.modules in a subprocess)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "js7tui"


def test_domain_and_cli_do_not_import_textual_or_servers() -> None:
    code = (
        "import sys, js7tui.console, js7tui.cli, js7tui.permissions.service;"
        "bad = [m for m in ('textual', 'aiohttp') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"imported by the domain layer or CLI: {out}"


def test_cli_and_tui_never_touch_sql() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for folder in ("cli", "tui") for path in (PACKAGE / folder).rglob("*.py")
        if re.search(r"\.execute\(|SELECT |INSERT |UPDATE |DELETE FROM|\.conn\b",
                     path.read_text())
    ]
    assert offenders == []


def test_cli_imports_textual_only_when_the_console_opens() -> None:
    """``js7tui --help`` and every command but ``tui`` run without loading Textual."""
    code = (
        "import sys, io, js7tui.cli;"
        "from js7tui.cli import build_parser; build_parser().format_help();"
        "import js7tui.tui, js7tui.remember;"
        "print(','.join(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_no_textual_import_outside_tui() -> None:
    offenders = [
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if "tui" not in path.relative_to(PACKAGE).parts[:1]
        and re.search(r"^\s*(from|import) textual", path.read_text(), re.M)
    ]
    assert offenders == []
