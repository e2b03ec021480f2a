"""House rules that keep the layers apart (Harlequin's habit: check sys.modules in a subprocess)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "js7tui"


def test_domain_and_cli_do_not_import_textual_or_servers() -> None:
    code = (
        "import sys, js7tui.console, js7tui.cli, js7tui.permissions.service,"
        " js7tui.identity.providers.oidc, js7tui.identity.oidc.device, js7tui.qr;"
        "bad = [m for m in ('textual', 'aiohttp') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"imported by the domain layer or CLI: {out}"


def test_cli_never_touches_sql() -> None:
    offenders = [
        str(path.relative_to(PACKAGE)) for path in (PACKAGE / "cli").rglob("*.py")
        if re.search(r"\.execute\(|SELECT |INSERT |UPDATE |DELETE FROM", path.read_text())
    ]
    assert offenders == []


def test_no_textual_import_outside_tui() -> None:
    offenders = [
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if "tui" not in path.relative_to(PACKAGE).parts[:1]
        and re.search(r"^\s*(from|import) textual", path.read_text(), re.M)
    ]
    assert offenders == []
