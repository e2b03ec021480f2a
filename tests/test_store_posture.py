"""Issue 16 item 5 (its last point), against a real ``js7tui controller serve``: ``status``
and ``doctor`` notice a store whose security level or schema (triggers included) differs from
what the Controller witnessed and runs at; a Controller that does not answer is said, never
taken as agreement."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.audit.posture import check_console, compare
from js7tui.audit.witness import Witness
from js7tui.cli import run
from js7tui.cli.context import CliContext
from tests.estate import CONSOLE_PASSWORD, Estate, wait_for

pytestmark = pytest.mark.slow
META = AuditMeta()
LOWERED = ("the store's security level is LOW but Controller 'controller-1' runs at HIGH: "
           "the store was lowered outside js7tui")


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[Estate]:
    """A console raised to HIGH (what the installation trigger allows) before its bundles,
    so the Controller runs at HIGH."""
    estate = Estate(tmp_path / "estate")
    with estate.console.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = 'HIGH' WHERE id = 1")
    try:
        estate.start_all()
        estate.register()
        yield estate
    finally:
        estate.stop_all()


def js7tui(estate: Estate, tmp_path: Path, *argv: str) -> tuple[int, str]:
    """The command line in this process, on the estate console's home."""
    home = estate.console.home
    assert home is not None
    out = io.StringIO()
    ctx = CliContext(env={"HOME": str(tmp_path), "JS7TUI_HOME": str(home.root),
                          "XDG_STATE_HOME": str(tmp_path / "state")},
                     stdin=io.StringIO(""), stdout=out, stderr=io.StringIO())
    return run(list(argv), ctx), out.getvalue()


def witnessed_levels(estate: Estate) -> list[str]:
    with estate.client() as ctl:
        return [w["securityLevel"] for w in ctl.call("GET", "/api/audit/witness")["witnesses"]]


def test_a_store_lowered_by_sql_is_named_by_status_and_doctor(estate: Estate,
                                                             tmp_path: Path) -> None:
    console, admin = estate.console, estate.admin
    console.inventory.create_folder(admin, "/p1", meta=META)
    console.witness.flush(10)
    wait_for(lambda: "HIGH" in witnessed_levels(estate), "a HIGH head witnessed")
    findings, controllers = check_console(console)
    assert controllers == 1 and findings == [], findings
    code, out = js7tui(estate, tmp_path, "status")
    assert code == 0 and "agree with its 1 Controller(s)" in out, out

    # An insider drops the trigger and lowers the level by SQL.
    conn = sqlite3.connect(console.store.path)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                                "tbl_name = 'installation'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE installation SET security_level = 'LOW' WHERE id = 1")
    conn.commit()
    conn.close()

    code, out = js7tui(estate, tmp_path, "status")
    assert "security level LOW" in out
    assert f"problem: {LOWERED}" in out, out
    assert "witnessed HIGH at audit entry" in out
    assert "the store's schema (its tables, indexes and triggers) differs" in out
    code, out = js7tui(estate, tmp_path, "doctor")
    assert code == 2 and f"problem: {LOWERED}" in out, out
    assert "triggers) differs from the one Controller 'controller-1' witnessed" in out

    # A change through js7tui now sends the lowered head: the Controller's own level and the
    # witnessed history still name it.
    console.inventory.create_folder(admin, "/p2", meta=META)
    console.witness.flush(10)
    wait_for(lambda: "LOW" in witnessed_levels(estate), "the lowered head witnessed")
    findings, _ = check_console(console)
    assert LOWERED in "\n".join(findings)
    assert any("go down from HIGH to LOW" in f and f.severity == "problem" for f in findings)

    # A Controller that does not answer is said, not taken as agreement.
    console.controllers.register(admin, "controller-9", "https://127.0.0.1:9", "console",
                                 CONSOLE_PASSWORD, meta=META)
    findings, controllers = check_console(console)
    assert controllers == 2
    silent = [f for f in findings if "controller-9" in f]
    assert len(silent) == 1 and "did not answer" in silent[0]
    assert "which is not agreement" in silent[0] and silent[0].severity == "warning"


def test_compare_names_each_difference() -> None:
    head = {"securityLevel": "MEDIUM", "schemaDigest": "a" * 64, "auditId": 7}
    same = Witness("c", 7, "h", 7, "MEDIUM", "a" * 64)
    assert compare("c", head, "MEDIUM", [same]) == []
    raised = compare("c", head, "LOW", [same])  # the store was raised after the bundle
    assert len(raised) == 1 and raised[0].severity == "warning" and "new one" in raised[0]
    ahead = compare("c", head, "MEDIUM", [Witness("c", 9, "h", 9, "MEDIUM", "b" * 64)])
    assert {f.severity for f in ahead} == {"problem"} and len(ahead) == 2
    assert any("entries were removed" in f for f in ahead)
    assert compare("c", head, None, [])[0].startswith("Controller 'c' did not report")
