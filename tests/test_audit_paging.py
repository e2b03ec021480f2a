"""Keyset pages, counts and positions of the audit log, the pager a viewer drives, the one-line
filter and the export writers (no Textual here)."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import timedelta

import pytest

from js7tui import audit
from js7tui.audit import AuditFilter, AuditKey, filter_text, query
from js7tui.audit.export import ExportWriter, format_for, open_private
from js7tui.audit.pager import AuditPager, snapshot_ceiling
from js7tui.audit.service import CountCancelled
from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.errors import PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from tests.conftest import make_account

ACCOUNTS = ["alice", "bob", "carol"]


def fill(console: Console, clock: FrozenClock, entries: int, seed: int = 3) -> None:
    """``entries`` entries five seconds apart; every seventh a second earlier than the one before
    it (a clock set back), so time order and id order differ."""
    rnd = random.Random(seed)
    with console.store.transaction() as conn:
        for number in range(entries):
            clock.advance(seconds=-1 if number % 7 == 6 else 5)
            audit.append(conn, created=clock.now(), account=rnd.choice(ACCOUNTS),
                         request="./test", category=rnd.choice(["IDENTITY", "SETTINGS"]),
                         folder=rnd.choice(["", "/a", "/a/b", "/c"]),
                         meta=audit.AuditMeta(comment=rnd.choice(["", "Ticket 7", "x"])))


def everything(console: Console, flt: AuditFilter) -> list[audit.AuditEntry]:
    return query.page(console.store.conn, flt, limit=100_000)


def test_pages_follow_time_order_and_chain_without_gaps(console: Console, clock: FrozenClock):
    fill(console, clock, 120)
    whole = everything(console, AuditFilter())
    keys = [(e.created, e.id) for e in whole]
    assert keys == sorted(keys, reverse=True)
    collected, older = [], None
    while batch := query.page(console.store.conn, AuditFilter(), limit=17, older_than=older):
        collected += batch
        older = AuditKey.of(batch[-1])
    assert [e.id for e in collected] == [e.id for e in whole]
    # Upwards from the bottom gives the same rows back.
    bottom = AuditKey.of(whole[50])
    above = query.page(console.store.conn, AuditFilter(), limit=10, newer_than=bottom,
                       nearest_newer=True)
    assert [e.id for e in above] == [e.id for e in whole[40:50]]


def test_count_and_position_respect_filter_and_dates(console: Console, clock: FrozenClock):
    start = clock.now()
    fill(console, clock, 150)
    flt = AuditFilter(account="alice", categories=("IDENTITY",),
                      date_from=start + timedelta(minutes=4))
    whole = everything(console, flt)
    assert whole and all(e.account == "alice" and e.category == "IDENTITY" for e in whole)
    assert query.count(console.store.conn, flt) == len(whole)
    target = whole[len(whole) // 2]
    assert query.count(console.store.conn, flt, newer_than=AuditKey.of(target)) == len(whole) // 2


@pytest.mark.parametrize("flt", [AuditFilter(), AuditFilter(categories=("SETTINGS",)),
                                 AuditFilter(comment_contains="ticket")])
def test_pager_gives_every_row_whatever_the_order_of_requests(console: Console,
                                                              clock: FrozenClock, flt):
    fill(console, clock, 230)
    truth = everything(console, flt)
    conn = console.store.conn
    pager = AuditPager(flt, snapshot_ceiling(query.newest_key(conn)), page_size=10, max_pages=4)
    fill(console, clock, 5, seed=9)  # appended after the snapshot: not shown
    rnd = random.Random(1)
    positions = list(range(len(truth)))
    rnd.shuffle(positions)
    for position in positions:
        if pager.entry(position) is None:
            for index in pager.missing(position, position):
                request = pager.plan(index)
                pager.store(request, query.page(conn, flt, **request.arguments()))
        assert pager.entry(position) == truth[position], position
    pager.set_total(query.count(conn, flt, older_than=pager.ceiling))
    assert pager.total == len(truth)
    assert pager.missing(len(truth), len(truth) + 50) == []


def test_short_page_fixes_the_total(console: Console, clock: FrozenClock):
    fill(console, clock, 25)
    conn = console.store.conn
    pager = AuditPager(AuditFilter(), snapshot_ceiling(query.newest_key(conn)), page_size=10)
    for index in (0, 1, 2):
        request = pager.plan(index)
        pager.store(request, query.page(conn, AuditFilter(), **request.arguments()))
    assert pager.total == 26  # the init entry and 25 more


def test_service_pages_need_the_audit_permission_and_apply_folders(
        console: Console, clock: FrozenClock, root: Session):
    fill(console, clock, 40)
    console.roles.create(root, "plain")
    nobody = make_account(console, root, "viewer", ["plain"])
    with pytest.raises(PermissionDenied):
        console.audit.page(nobody, AuditFilter())
    console.roles.create(root, "folder_auditor")
    console.roles.set_permission(root, "folder_auditor", "sos:products:joc:auditlog:view")
    console.roles.add_folder(root, "folder_auditor", "/a", recursive=False)
    restricted = make_account(console, root, "auditor", ["folder_auditor"])
    seen = console.audit.page(restricted, AuditFilter(), limit=1000)
    assert seen and {e.folder for e in seen} <= {"", "/a"}
    assert console.audit.count(restricted, AuditFilter()) == len(seen)
    assert console.audit.newest_key(root) == AuditKey.of(
        console.audit.page(root, AuditFilter(), limit=1)[0])


def test_filter_text(clock: FrozenClock):
    now = clock.now()
    flt = filter_text.parse(
        "account:alice cat:identity,settings folder:/a,/b since:-1d until:2026-01-01 "
        "comment:'two words' refused type:WORKFLOW object:job controller:c1", now)
    assert flt == AuditFilter(account="alice", categories=("IDENTITY", "SETTINGS"),
                              folders=("/a", "/b"), date_from=now - timedelta(days=1),
                              date_to=flt.date_to, comment_contains="two words",
                              outcome="REFUSED", object_type="WORKFLOW", path_contains="job",
                              controller_id="c1")
    assert flt.date_to is not None and flt.date_to.year == 2026
    assert filter_text.parse("  ", now) == AuditFilter()
    for bad, words in [("nonsense", "not one of the filter words"),
                       ("cat:nope", "unknown category 'NOPE'"),
                       ("since:yesterday", "not a date"), ("comment:'open", "close the quote"),
                       ("account:", "needs a value")]:
        with pytest.raises(ValidationError, match=words):
            filter_text.parse(bad, now)


def test_export_writers_and_private_file(console: Console, clock: FrozenClock, tmp_path):
    fill(console, clock, 12)
    entries = everything(console, AuditFilter())
    for fmt in ("csv", "jsonl"):
        out = io.StringIO()
        writer = ExportWriter(out, fmt)
        writer.write(entries[:5])
        writer.write(entries[5:])
        assert writer.written == len(entries)
        text = out.getvalue()
        rows = (list(csv.DictReader(io.StringIO(text))) if fmt == "csv"
                else [json.loads(line) for line in text.splitlines()])
        assert [int(r["id"]) for r in rows] == [e.id for e in entries]
        assert rows[0]["hash"] == entries[0].hash
    assert format_for(tmp_path / "a.CSV") == "csv"
    assert format_for(tmp_path / "a.txt") == "jsonl"
    with pytest.raises(ValidationError, match="use csv or jsonl"):
        format_for(tmp_path / "a", "xml")
    target = tmp_path / "out.jsonl"
    with open_private(target) as fh:
        fh.write("x")
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ValidationError, match="already exists"):
        open_private(target)


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(console: Console,
                                                           clock: FrozenClock) -> None:
    """A comment or path starting with = + - @ is a formula in a spreadsheet: CSV writes it
    with a leading quote; JSON lines keep the exact value (for checking the chain)."""
    with console.store.transaction() as conn:
        audit.append(conn, created=clock.now(), account="@mallory", request="./x",
                     category="OTHERS", path='=HYPERLINK("http://evil.test","x")',
                     meta=audit.AuditMeta(comment="+1 -2 fine"))
    entry = everything(console, AuditFilter())[0]
    out = io.StringIO()
    ExportWriter(out, "csv").write([entry])
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["account"] == "'@mallory"
    assert row["path"] == "'=HYPERLINK(\"http://evil.test\",\"x\")"
    assert row["comment"] == "'+1 -2 fine"
    assert row["request"] == "./x" and row["hash"] == entry.hash
    out = io.StringIO()
    ExportWriter(out, "jsonl").write([entry])
    assert json.loads(out.getvalue())["path"] == '=HYPERLINK("http://evil.test","x")'


def test_pager_with_a_known_total_reads_the_far_end_from_the_bottom(console: Console,
                                                                   clock: FrozenClock):
    fill(console, clock, 95)
    truth = everything(console, AuditFilter())
    conn = console.store.conn
    pager = AuditPager(AuditFilter(), snapshot_ceiling(query.newest_key(conn)), page_size=10)
    pager.set_total(len(truth))
    request = pager.plan(len(truth) // 10)
    assert request.nearest_newer and request.offset == 0 and request.limit == len(truth) % 10
    pager.store(request, query.page(conn, AuditFilter(), **request.arguments()))
    middle = pager.plan(6)  # no neighbour: counted from the bottom too
    assert middle.offset == len(truth) - 70 and middle.limit == 10
    pager.store(middle, query.page(conn, AuditFilter(), **middle.arguments()))
    for position in range(60, len(truth)):
        for index in pager.missing(position, position):
            req = pager.plan(index)
            pager.store(req, query.page(conn, AuditFilter(), **req.arguments()))
        assert pager.entry(position) == truth[position]


def test_a_pending_count_can_be_cancelled(console: Console, root: Session):
    pending = console.audit.prepare_count(root, AuditFilter())
    assert pending.run() == console.audit.count(root, AuditFilter()) > 0
    pending.cancel()
    with pytest.raises(CountCancelled):
        pending.run()


def test_paging_filter_export_history_and_marks_need_no_textual():
    """The pure parts of the viewer and the editor stay testable without a terminal."""
    import subprocess
    import sys
    code = ("import sys, js7tui.audit.pager, js7tui.audit.filter_text, js7tui.audit.export,"
            " js7tui.tui.role_history, js7tui.tui.permission_marks;"
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"

