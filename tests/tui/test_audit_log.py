"""The audit log viewer: virtual paging, filter, detail, verify, export - keys only."""

from __future__ import annotations

import json
from pathlib import Path

from js7tui import audit
from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.tui.app import Js7App
from js7tui.tui.widgets.audit_view import AuditLogView
from tests.conftest import ROOT_PASSWORD
from tests.conftest import login as domain_login
from tests.tui.conftest import login, settle, type_text


def fill(console: Console, clock: FrozenClock, entries: int) -> None:
    with console.store.transaction() as conn:
        for number in range(entries):
            clock.advance(seconds=1)
            audit.append(conn, created=clock.now(), account=("alice", "bob")[number % 2],
                         request="./test", category=("IDENTITY", "SETTINGS")[number % 3 == 0],
                         path=f"/prod/job{number}", folder="/prod",
                         parameters={"number": number})


async def open_audit(app: Js7App, pilot) -> AuditLogView:
    await login(pilot, "root", ROOT_PASSWORD)
    await pilot.press("9")
    await settle(pilot)
    return app.screen.query_one(AuditLogView)


async def test_pages_load_as_the_cursor_moves(app: Js7App, console: Console,
                                              clock: FrozenClock) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    fill(console, clock, 450)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_audit(app, pilot)
        assert view.total == 452  # init, the password change and 450 more
        newest = view.current
        assert newest is not None and newest.parameters == '{"number": 449}'
        await pilot.press("G")
        await settle(pilot)
        assert view.current is not None and view.current.request == "init"
        await pilot.press("g", "j", "j")
        await settle(pilot)
        assert view.current.parameters == '{"number": 447}'


async def test_filter_detail_and_relative_dates(app: Js7App, console: Console,
                                                clock: FrozenClock) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    fill(console, clock, 300)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_audit(app, pilot)
        await pilot.press("slash")
        await type_text(pilot, "a:alice c:settings since:-2m")
        await pilot.press("enter")
        await settle(pilot)
        entries = console.audit.list(app.ctx.session, audit.AuditFilter(
            account="alice", categories=("SETTINGS",),
            date_from=clock.now().replace(microsecond=0) - __import__("datetime").timedelta(
                minutes=2)), limit=1000)
        assert view.total == len(entries) > 0
        assert view.current == entries[0]
        detail = str(app.screen.query_one("#audit-detail").render())
        assert f"entry {entries[0].id}" in detail and '"number"' in detail
        status = str(app.screen.query_one("#audit-status").render())
        assert "filter: a:alice c:settings since:-2m" in status
        # a bad word is refused with the reason, the filter stays as it was
        await pilot.press("slash", "ctrl+a", "ctrl+k")
        await type_text(pilot, "who:me")
        await pilot.press("enter")
        await settle(pilot)
        assert view.total == len(entries)
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert view.total == 302


async def test_verify_finds_the_tampered_entry(app: Js7App, console: Console,
                                               clock: FrozenClock) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    fill(console, clock, 350)  # entry 77 is beyond the first three pages
    console.store.conn.execute("UPDATE audit_log SET account = 'mallory' WHERE id = 77")
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_audit(app, pilot)
        await pilot.press("v")
        await settle(pilot)
        assert view.current is not None and view.current.id == 77
        assert view.marked_id == 77
        assert "BROKEN at entry 77" in str(app.screen.query_one("#audit-status").render())


async def test_export_the_filtered_view(app: Js7App, console: Console, clock: FrozenClock,
                                        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    fill(console, clock, 1100)
    target = tmp_path / "bob.jsonl"
    async with app.run_test(size=(120, 40)) as pilot:
        await open_audit(app, pilot)
        await pilot.press("slash")
        await type_text(pilot, "account:bob")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "bob.jsonl")
        await pilot.press("ctrl+s")
        await settle(pilot)
    lines = target.read_text().splitlines()
    assert len(lines) == 550
    assert all('"account": "bob"' in line for line in lines)
    assert target.stat().st_mode & 0o777 == 0o600
    # The export itself is in the audit log: who, which filter, how many, where.
    recorded = console.audit.list(domain_login(console, "root", ROOT_PASSWORD))[0]
    assert recorded.request == "./audit_log/export" and recorded.account == "root"
    assert json.loads(recorded.parameters) == {
        "filter": "account:bob", "format": "jsonl", "entries": 550, "file": str(target)}


async def test_new_entries_are_counted_and_r_shows_them(app: Js7App, console: Console,
                                                        clock: FrozenClock) -> None:
    """Entries written elsewhere (the CLI) after the snapshot: the status line counts them,
    the cursor stays; r shows them; the chain line names the range it verified."""
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    fill(console, clock, 20)
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_audit(app, pilot)
        screen = app.screen
        total = view.total
        await pilot.press("v")
        await settle(pilot)
        status = str(screen.query_one("#audit-status").render())
        assert "chain: intact, entries up to" in status and "checked" in status
        fill(console, clock, 3)
        screen.count_new()
        await settle(pilot)
        status = str(screen.query_one("#audit-status").render())
        assert "3 new (r shows them)" in status
        assert view.total == total
        await pilot.press("r")
        await settle(pilot)
        assert view.total == (total or 0) + 3
        assert "new (r" not in str(screen.query_one("#audit-status").render())


def test_a_category_filter_takes_what_the_list_shows() -> None:
    """The list cuts CERTIFICATES to 12 cells and DOCUMENTATIONS with an ellipsis; the filter
    takes the full name, a unique beginning, and the cut label."""
    from datetime import UTC, datetime

    from js7tui.audit import filter_text
    from js7tui.tui.widgets.audit_view import cut
    NOW = datetime(2026, 1, 1, tzinfo=UTC)
    assert filter_text.parse("cat:certificate", NOW).categories == ("CERTIFICATES",)
    assert filter_text.parse("cat:CERTIFICATES", NOW).categories == ("CERTIFICATES",)
    shown = cut("DOCUMENTATIONS", 12)
    assert shown == "DOCUMENTATI…"
    assert filter_text.parse(f"cat:{shown}", NOW).categories == ("DOCUMENTATIONS",)
    assert cut("CERTIFICATES", 12) == "CERTIFICATES"
