"""The dashboard's summary (js7tui.overview): parts by permission, expiring certificates, failed
logins and refused deployments of the last 24 hours from the audit log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from js7tui.clock import FrozenClock
from js7tui.home import Home
from js7tui.overview import Overview
from js7tui.permissions.names import CONTROLLERS_VIEW
from tests.conftest import ROOT_PASSWORD, login
from tests.dashboard_fixtures import dashboard_console
from tests.inventory_fixtures import folder_account


def test_summary_shows_what_needs_attention(tmp_path: Path) -> None:
    console, admin = dashboard_console(Home(tmp_path / "home"))
    summary = Overview(console).summary(admin)
    assert summary.security_level == "LOW"
    assert summary.controllers is not None
    assert [c.id for c in summary.controllers] == ["controller-down"]
    assert summary.expiring is not None
    assert [(e.record.name, e.days_left) for e in summary.expiring] == [("short-lived", 9)]
    assert summary.expiring[0].words == "9 days left"
    assert summary.failed_logins is not None and summary.failed_logins.count == 1
    assert summary.failed_logins.newest[0].account == "mallory"
    assert summary.refused_deployments is not None
    assert summary.refused_deployments.count == 1
    assert summary.refused_deployments.newest[0].account == "viewer"
    assert summary.latest and len(summary.latest) == 8
    # a day later the events are no longer "recent"; the certificate is closer to its end
    clock = console.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(hours=25)
    admin = login(console, "root", ROOT_PASSWORD)   # the idle timeout ended the old one
    later = Overview(console).summary(admin)
    assert later.failed_logins is not None and later.failed_logins.count == 0
    assert later.expiring is not None and later.expiring[0].days_left == 8
    clock.current += timedelta(days=20)
    admin = login(console, "root", ROOT_PASSWORD)
    assert Overview(console).expiring(admin, clock.now())[0].words.startswith("expired")


def test_parts_the_session_may_not_see_are_skipped_without_a_refusal(tmp_path: Path) -> None:
    console, admin = dashboard_console(Home(tmp_path / "home"))
    someone = folder_account(console, admin, "someone", [], (CONTROLLERS_VIEW,))
    count = console.store.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    summary = Overview(console).summary(someone)
    assert summary.controllers is not None and len(summary.controllers) == 1
    assert summary.expiring is None and summary.failed_logins is None
    assert summary.refused_deployments is None and summary.latest is None
    assert console.store.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == count
