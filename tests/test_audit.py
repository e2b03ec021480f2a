"""The audit log: a SHA-256 hash chain that reveals edits, deletions, reordering and cut-offs;
redaction of secrets; the filters and keyset paging of reference section 7; folder-restricted
readers."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import pairwise

import pytest

from js7tui import audit
from js7tui.audit import AuditFilter, AuditMeta, Category, Outcome, redact, verify_chain
from js7tui.durations import parse_moment
from js7tui.errors import NotFound, PermissionDenied, ValidationError
from js7tui.permissions.names import AUDITLOG_VIEW
from tests.conftest import ROOT_PASSWORD, login, make_account

COLUMNS = ("created", "account", "request", "category", "outcome", "controller_id",
           "object_type", "path", "folder", "comment", "ticket_link", "time_spent",
           "parameters", "commit_id", "prev_hash", "hash")


def add(console, *, account="root", request="./test", category=Category.OTHERS, folder="",
        comment="", parameters=None) -> audit.AuditEntry:
    with console.store.transaction() as conn:
        return audit.append(conn, created=console.clock.now(), account=account,
                            request=request, category=category, folder=folder,
                            meta=AuditMeta(comment=comment), parameters=parameters)


@pytest.fixture
def chain(console) -> list[int]:
    """Init's entry plus five more: ids 1..6."""
    for i in range(5):
        console.clock.advance(minutes=1)
        add(console, request=f"./test/{i}", comment=f"entry {i}")
    return [row[0] for row in console.store.conn.execute("SELECT id FROM audit_log ORDER BY id")]


def sql(console, statement: str, args: tuple = ()) -> None:
    console.store.conn.execute(statement, args)


# -- the hash chain ---------------------------------------------------------------------------
def test_a_fresh_log_verifies(console):
    report = verify_chain(console.store.conn)
    assert report.ok and report.checked == 1 and report.broken_id is None
    assert "intact: 1 entries" in report.summary()


def test_a_longer_log_verifies_and_reports_its_head(console, chain):
    report = verify_chain(console.store.conn)
    assert report.ok and report.checked == 6 and report.head_id == 6
    head = console.store.conn.execute("SELECT hash FROM audit_head").fetchone()[0]
    assert report.head_hash == head


def test_verification_walks_in_batches(console, chain):
    assert verify_chain(console.store.conn, batch=2).ok


def test_each_entry_chains_to_the_one_before(console, chain):
    rows = console.store.conn.execute(
        "SELECT prev_hash, hash FROM audit_log ORDER BY id").fetchall()
    assert rows[0]["prev_hash"] == audit.GENESIS_HASH
    for previous, current in pairwise(rows):
        assert current["prev_hash"] == previous["hash"]


def test_an_entry_edited_in_sqlite_is_reported_as_changed(console, chain):
    sql(console, "UPDATE audit_log SET comment = 'nothing happened' WHERE id = 2")
    report = verify_chain(console.store.conn)
    assert not report.ok
    assert report.broken_id == 2
    assert "changed" in report.problem
    assert report.checked == 1
    assert "tampered" in report.summary()


@pytest.mark.parametrize("column, value", [
    ("account", "someone-else"), ("created", "2020-01-01T00:00:00.000000+00:00"),
    ("outcome", "REFUSED"), ("parameters", '{"x": 1}'), ("folder", "/elsewhere"),
])
def test_any_edited_column_is_caught(console, chain, column, value):
    sql(console, f"UPDATE audit_log SET {column} = ? WHERE id = 4", (value,))
    assert verify_chain(console.store.conn).broken_id == 4


def test_a_recomputed_hash_after_an_edit_breaks_the_next_link(console, chain):
    row = console.store.conn.execute("SELECT * FROM audit_log WHERE id = 3").fetchone()
    forged = audit.AuditEntry.from_row(row)
    forged = audit.AuditEntry(**{**forged.__dict__, "comment": "forged"})
    sql(console, "UPDATE audit_log SET comment = 'forged', hash = ? WHERE id = 3",
        (forged.compute_hash(),))
    report = verify_chain(console.store.conn)
    assert report.broken_id == 4
    assert "deleted, or entries were reordered" in report.problem


def test_an_entry_deleted_in_the_middle_is_reported_at_the_following_entry(console, chain):
    sql(console, "DELETE FROM audit_log WHERE id = 3")
    report = verify_chain(console.store.conn)
    assert not report.ok
    assert report.broken_id == 4
    assert "does not follow entry 2" in report.problem
    assert "deleted" in report.problem


def test_deleting_the_first_entry_is_caught(console, chain):
    sql(console, "DELETE FROM audit_log WHERE id = 1")
    report = verify_chain(console.store.conn)
    assert report.broken_id == 2
    assert "start of the log" in report.problem


def test_swapping_the_contents_of_two_entries_is_caught(console, chain):
    conn = console.store.conn
    second, third = (conn.execute("SELECT * FROM audit_log WHERE id = ?", (i,)).fetchone()
                     for i in (2, 3))
    assignments = ", ".join(f"{c} = ?" for c in COLUMNS)
    sql(console, f"UPDATE audit_log SET {assignments} WHERE id = 2",
        (*(third[c] for c in COLUMNS),))
    sql(console, f"UPDATE audit_log SET {assignments} WHERE id = 3",
        (*(second[c] for c in COLUMNS),))
    report = verify_chain(conn)
    assert not report.ok
    assert report.broken_id == 2
    assert "reordered" in report.problem


def test_deleting_the_last_entry_is_caught_by_the_head(console, chain):
    sql(console, "DELETE FROM audit_log WHERE id = 6")
    report = verify_chain(console.store.conn)
    assert not report.ok
    assert report.checked == 5
    assert report.broken_id == 6
    assert "removed from the end" in report.problem


def test_an_altered_head_is_caught(console, chain):
    sql(console, "UPDATE audit_head SET entries = entries + 1")
    assert not verify_chain(console.store.conn).ok


def test_appending_outside_a_transaction_is_refused(console):
    with pytest.raises(RuntimeError, match="inside the operation's transaction"):
        audit.append(console.store.conn, created=console.clock.now(), account="x",
                     request="./x", category=Category.OTHERS)


def test_verify_through_the_service_needs_auditlog_view(root, console, chain):
    assert console.audit.verify(root).ok
    console.roles.create(root, "login-only")  # sos:products:controller:view alone
    nobody = make_account(console, root, "nobody", ["login-only"])
    with pytest.raises(PermissionDenied, match=AUDITLOG_VIEW):
        console.audit.verify(nobody)


# -- redaction --------------------------------------------------------------------------------
def test_redact_hides_secret_keys_at_any_depth_and_keeps_the_rest():
    given = {
        "password": "p1", "oldPassword": "p2", "secret": "s", "clientSecret": "c",
        "token": "t", "accessToken": "a", "privateKey": "k", "pwd": "w",
        "account": "alice", "initialPassword": True, "forcePasswordChange": False,
        "settings": {"ldap": {"bindPassword": "b", "host": "ldap.test", "port": 636}},
        "list": [{"secret": "x", "name": "n"}],
        "emptyPassword": "",
    }
    redacted = redact(given)
    for key in ("password", "oldPassword", "secret", "clientSecret", "token", "accessToken",
                "privateKey", "pwd"):
        assert redacted[key] == "***", key
    assert redacted["account"] == "alice"
    assert redacted["initialPassword"] is True
    assert redacted["forcePasswordChange"] is False
    assert redacted["settings"]["ldap"] == {"bindPassword": "***", "host": "ldap.test",
                                            "port": 636}
    assert redacted["list"] == [{"secret": "***", "name": "n"}]
    assert redacted["emptyPassword"] == ""
    assert given["password"] == "p1"  # a copy, the input is untouched


def test_redact_hides_a_list_of_secrets():
    assert redact({"passwords": ["hunter2", "hunter3"]}) == {"passwords": "***"}


def test_append_redacts_parameters_before_hashing(console):
    entry = add(console, parameters={"accountName": "a", "password": "Hunter2-Secret"})
    stored = console.store.conn.execute("SELECT parameters FROM audit_log WHERE id = ?",
                                        (entry.id,)).fetchone()[0]
    assert json.loads(stored) == {"accountName": "a", "password": "***"}
    assert "Hunter2-Secret" not in stored
    assert verify_chain(console.store.conn).ok


# -- filters and paging -----------------------------------------------------------------------
@pytest.fixture
def varied(root, console, clock):
    """Entries over three days, by several accounts, categories and folders."""
    clock.advance(days=1)
    add(console, account="alice", category=Category.IDENTITY, comment="System maintenance")
    clock.advance(days=1)
    add(console, account="bob", category=Category.SETTINGS, folder="/a",
        comment="Business requirement")
    clock.advance(hours=12)
    add(console, account="alice", category=Category.INVENTORY, folder="/b",
        comment="temporary STOP of things")
    clock.advance(hours=6)
    add(console, account="bob", category=Category.INVENTORY, folder="/a/x")
    return login(console, "root", ROOT_PASSWORD)  # root's first session timed out meanwhile


def listed(console, session, **criteria):
    return console.audit.list(session, AuditFilter(**criteria))


def test_filter_by_account(varied, console):
    entries = listed(console, varied, account="alice")
    assert [e.account for e in entries] == ["alice", "alice"]


def test_filter_by_category(varied, console):
    entries = listed(console, varied, categories=("INVENTORY",))
    assert [e.folder for e in entries] == ["/a/x", "/b"]
    entries = listed(console, varied, categories=("IDENTITY", "SETTINGS"))
    assert {e.category for e in entries} == {"IDENTITY", "SETTINGS"}


def test_an_unknown_category_is_refused(varied, console):
    with pytest.raises(ValidationError, match="unknown audit category"):
        listed(console, varied, categories=("NOPE",))


def test_filter_by_relative_date_range(varied, console, clock):
    since = parse_moment("-1d", clock.now())
    assert since == clock.now() - timedelta(days=1)
    entries = listed(console, varied, date_from=since)
    assert [(e.account, e.folder) for e in entries] == [
        ("bob", "/a/x"), ("alice", "/b"), ("bob", "/a")]
    recent = listed(console, varied, date_from=parse_moment("-12h", clock.now()))
    assert [e.folder for e in recent] == ["/a/x", "/b"]
    older = listed(console, varied, date_to=since)
    assert ("alice", "System maintenance") in [(e.account, e.comment) for e in older]
    assert not {"/a", "/b", "/a/x"} & {e.folder for e in older}


def test_filter_by_absolute_date_range(varied, console):
    entries = listed(console, varied, date_from=parse_moment("2026-01-03", varied.created),
                     date_to=parse_moment("2026-01-03T23:59", varied.created))
    assert [e.folder for e in entries] == ["/a"]


def test_filter_by_comment_fragment_ignores_case(varied, console):
    assert [e.folder for e in listed(console, varied, comment_contains="stop")] == ["/b"]
    assert [e.account for e in listed(console, varied, comment_contains="MAINTENANCE")] == [
        "alice"]


def test_filter_by_folder(varied, console):
    assert [e.account for e in listed(console, varied, folders=("/a",))] == ["bob"]
    assert [e.folder for e in listed(console, varied, folders=("/a", "/b"))] == ["/b", "/a"]


def test_filter_by_outcome(root, console):
    console.roles.create(root, "login-only")  # sos:products:controller:view alone
    nobody = make_account(console, root, "nobody", ["login-only"])
    with pytest.raises(PermissionDenied):
        console.accounts.list(nobody)
    entries = listed(console, root, outcome=Outcome.REFUSED)
    assert [e.account for e in entries] == ["nobody"]


def test_keyset_paging_newest_first(root, console):
    for i in range(9):
        add(console, request=f"./page/{i}")
    everything = [e.id for e in console.audit.list(root, limit=1000)]
    assert everything == sorted(everything, reverse=True)

    first = console.audit.list(root, limit=4)
    second = console.audit.list(root, limit=4, before_id=first[-1].id)
    assert [e.id for e in first] == everything[:4]
    assert [e.id for e in second] == everything[4:8]

    pages, before = [], None
    while batch := console.audit.list(root, limit=4, before_id=before):
        pages.extend(e.id for e in batch)
        before = batch[-1].id
    assert pages == everything


def test_paging_combines_with_filters(root, console):
    for i in range(6):
        add(console, account="alice" if i % 2 else "bob", request=f"./p/{i}")
    first = console.audit.list(root, AuditFilter(account="alice"), limit=2)
    rest = console.audit.list(root, AuditFilter(account="alice"), limit=2,
                              before_id=first[-1].id)
    assert [e.request for e in first + rest] == ["./p/5", "./p/3", "./p/1"]


# -- folder-restricted readers ----------------------------------------------------------------
@pytest.fixture
def reader(root, console):
    console.roles.create(root, "reader")  # sos:products:controller:view: needed to log in
    console.roles.set_permission(root, "reader", AUDITLOG_VIEW)
    console.roles.add_folder(root, "reader", "/a", recursive=True)
    for folder in ("/a", "/a/x", "/ab", "/b", ""):
        add(console, folder=folder, request=f"./folder{folder or '/none'}")
    return make_account(console, root, "rita", ["reader"])


def test_a_folder_restricted_reader_sees_only_its_folders_and_unfoldered_entries(
        reader, console):
    seen = {e.folder for e in console.audit.list(reader, limit=1000)}
    assert {"", "/a", "/a/x"} <= seen
    assert "/b" not in seen and "/ab" not in seen


def test_an_unrestricted_reader_sees_every_folder(reader, root, console):
    seen = {e.folder for e in console.audit.list(root, limit=1000)}
    assert {"", "/a", "/a/x", "/ab", "/b"} <= seen


def test_a_folder_restricted_reader_cannot_open_an_entry_of_another_folder(reader, console):
    other = console.store.conn.execute(
        "SELECT id FROM audit_log WHERE folder = '/b'").fetchone()[0]
    own = console.store.conn.execute(
        "SELECT id FROM audit_log WHERE folder = '/a/x'").fetchone()[0]
    with pytest.raises(NotFound):
        console.audit.detail(reader, other)
    assert console.audit.detail(reader, own).folder == "/a/x"


def test_the_folder_restriction_cannot_be_widened_by_a_filter(reader, console):
    entries = console.audit.list(reader, AuditFilter(folders=("/b", "/a")))
    assert [e.folder for e in entries] == ["/a", "/a"]  # add_folder's own entry and one more


# -- audit meta -------------------------------------------------------------------------------
def test_an_audit_comment_longer_than_255_characters_is_refused():
    AuditMeta(comment="x" * 255).validated()
    with pytest.raises(ValidationError, match="256 characters; at most 255"):
        AuditMeta(comment="x" * 256).validated()


def test_a_too_long_comment_refuses_the_change_and_writes_nothing(root, console):
    before = console.store.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    with pytest.raises(ValidationError):
        console.roles.create(root, "r", meta=AuditMeta(comment="x" * 256))
    assert console.store.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == before
    assert console.store.conn.execute(
        "SELECT COUNT(*) FROM roles WHERE name = 'r'").fetchone()[0] == 0
