"""Console sessions: hashed tokens, the idle timeout and its extension on use, logout, listing
and cancelling with permission, and role changes that reach running sessions at once."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest

from js7tui.clock import from_iso
from js7tui.errors import PermissionDenied, SessionRequired
from js7tui.permissions.names import ACCOUNTS_MANAGE, ACCOUNTS_VIEW, AUDITLOG_VIEW
from tests.conftest import ROOT_PASSWORD, login, make_account


def session_row(console, session_id: int):
    return console.store.conn.execute("SELECT * FROM sessions WHERE id = ?",
                                      (session_id,)).fetchone()


def last_audit(console):
    return console.store.conn.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()


# -- tokens -----------------------------------------------------------------------------------
def test_the_token_is_stored_only_as_its_sha256_hash(root, console):
    assert root.token
    row = session_row(console, root.id)
    assert row["token_hash"] == hashlib.sha256(root.token.encode()).hexdigest()
    dump = "\n".join(repr(tuple(r)) for r in console.store.conn.execute("SELECT * FROM sessions"))
    assert root.token not in dump


def test_each_login_gets_a_new_token(root, console):
    again = login(console, "root", ROOT_PASSWORD)
    assert again.token != root.token and again.id != root.id


def test_resume_by_token_gives_the_session(root, console):
    resumed = console.sessions.resume(root.token)
    assert (resumed.id, resumed.account, resumed.services) == (root.id, "root", ("JOC-INITIAL",))


def test_an_unknown_token_is_refused(console):
    with pytest.raises(SessionRequired, match="no valid session"):
        console.sessions.resume("not-a-token")


# -- idle timeout -----------------------------------------------------------------------------
def test_a_session_ends_after_15_minutes_without_activity(root, console, clock):
    clock.advance(minutes=16)
    with pytest.raises(SessionRequired, match="15m without activity"):
        console.sessions.resume(root.token)
    # The ended session is deleted for good: a later use finds no session at all.
    with pytest.raises(SessionRequired, match="no valid session"):
        console.accounts.list(root)
    assert console.store.conn.execute("SELECT COUNT(*) FROM sessions WHERE id = ?",
                                      (root.id,)).fetchone()[0] == 0


def test_a_session_used_just_before_the_timeout_is_touched_and_extended(root, console, clock):
    clock.advance(minutes=14)
    resumed = console.sessions.resume(root.token)
    assert resumed.last_used == clock.now()
    assert from_iso(session_row(console, root.id)["last_used"]) == clock.now()

    clock.advance(minutes=14)  # 28 minutes after login, 14 after the last use
    assert console.accounts.list(root)[0].name == "root"
    assert from_iso(session_row(console, root.id)["last_used"]) == clock.now()
    assert root.expires_at == clock.now() + timedelta(minutes=15)


def test_exactly_the_timeout_still_counts_as_active(root, console, clock):
    clock.advance(minutes=15)
    assert console.sessions.resume(root.token).account == "root"


def test_a_changed_idle_timeout_applies_to_new_sessions(root, console, clock):
    console.settings.set(root, "idle_session_timeout", "1h")
    fresh = login(console, "root", ROOT_PASSWORD)
    assert session_row(console, fresh.id)["idle_timeout"] == 3600
    assert session_row(console, root.id)["idle_timeout"] == 900

    clock.advance(minutes=45)
    assert console.sessions.resume(fresh.token).id == fresh.id
    with pytest.raises(SessionRequired):
        console.sessions.resume(root.token)


def test_a_lowered_idle_timeout_applies_to_existing_sessions(root, console, clock):
    console.settings.set(root, "idle_session_timeout", "1h")
    long = login(console, "root", ROOT_PASSWORD)
    clock.advance(minutes=20)
    assert console.sessions.resume(long.token).id == long.id  # 1h: still alive
    console.settings.set(console.sessions.resume(long.token), "idle_session_timeout", "5m")
    assert console.sessions.resume(long.token).expires_at == clock.now() + timedelta(minutes=5)
    clock.advance(minutes=6)
    with pytest.raises(SessionRequired, match="5m without activity"):
        console.sessions.resume(long.token)
    # Raising it again does not lengthen a session beyond its own timeout.
    again = login(console, "root", ROOT_PASSWORD)  # 5m session
    console.settings.set(again, "idle_session_timeout", "1h")
    clock.advance(minutes=6)
    with pytest.raises(SessionRequired):
        console.sessions.resume(again.token)


def test_an_idle_timeout_of_never_keeps_the_session(root, console, clock):
    console.settings.set(root, "idle_session_timeout", "-1")
    forever = login(console, "root", ROOT_PASSWORD)
    clock.advance(days=30)
    assert console.sessions.resume(forever.token).expires_at is None


# -- logout -----------------------------------------------------------------------------------
def test_logout_invalidates_the_token(root, console):
    assert console.sessions.logout(root.token) is True
    assert session_row(console, root.id) is None
    with pytest.raises(SessionRequired):
        console.sessions.resume(root.token)
    with pytest.raises(SessionRequired):
        console.accounts.list(root)
    assert console.sessions.logout(root.token) is False


def test_logout_ends_only_that_session(root, console):
    other = login(console, "root", ROOT_PASSWORD)
    console.sessions.logout(other.token)
    assert console.sessions.resume(root.token).id == root.id


# -- listing and cancelling -------------------------------------------------------------------
def test_an_administrator_lists_live_sessions(root, console, clock):
    alice = make_account(console, root, "alice", ["api_user"])
    listed = {info.id: info for info in console.sessions.list(root)}
    assert set(listed) == {root.id, alice.id}
    assert listed[alice.id].account == "alice"
    assert listed[alice.id].services == ("JOC-INITIAL",)
    assert listed[alice.id].expires_at == clock.now() + timedelta(minutes=15)


def test_expired_sessions_are_not_listed(root, console, clock):
    alice = make_account(console, root, "alice", ["api_user"])
    clock.advance(minutes=10)
    console.sessions.resume(root.token)
    clock.advance(minutes=10)  # alice idle 20 minutes (ended), root 10
    assert [info.id for info in console.sessions.list(root)] == [root.id]
    assert alice.id not in [info.id for info in console.sessions.list(root)]


def test_an_administrator_cancels_another_accounts_session(root, console):
    alice = make_account(console, root, "alice", ["api_user"])
    assert console.sessions.cancel(root, [alice.id]) == 1
    with pytest.raises(SessionRequired):
        console.audit.list(alice)
    entry = last_audit(console)
    assert (entry["request"], entry["outcome"]) == ("./iam/sessions/cancel", "OK")


def test_cancelling_by_account_ends_all_its_sessions(root, console):
    make_account(console, root, "alice", ["api_user"])
    login(console, "alice", "a-good-password-42")
    assert console.sessions.cancel(root, account="alice") == 2
    assert console.store.conn.execute(
        "SELECT COUNT(*) FROM sessions WHERE account_name = 'alice'").fetchone()[0] == 0


def test_a_business_user_may_not_cancel_sessions(root, console):
    bea = make_account(console, root, "bea", ["business_user"])
    sessions_before = console.store.conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]

    with pytest.raises(PermissionDenied) as denied:
        console.sessions.cancel(bea, [root.id])

    assert denied.value.permission == ACCOUNTS_MANAGE
    assert console.store.conn.execute(
        "SELECT COUNT(*) FROM sessions").fetchone()[0] == sessions_before
    entry = last_audit(console)
    assert (entry["account"], entry["outcome"], entry["request"]) == (
        "bea", "REFUSED", "./iam/sessions/cancel")
    assert ACCOUNTS_MANAGE in json.loads(entry["parameters"])["refused"]
    assert console.sessions.resume(root.token).id == root.id


def test_a_business_user_may_not_list_sessions(root, console):
    bea = make_account(console, root, "bea", ["business_user"])
    with pytest.raises(PermissionDenied) as denied:
        console.sessions.list(bea)
    assert denied.value.permission == ACCOUNTS_VIEW
    entry = last_audit(console)
    assert (entry["account"], entry["outcome"]) == ("bea", "REFUSED")


# -- role changes reach running sessions ------------------------------------------------------
def test_a_permission_removed_from_a_role_applies_to_a_running_session(root, console):
    alice = make_account(console, root, "alice", ["api_user"])
    assert console.audit.list(alice, limit=1)

    console.roles.remove_permission(root, "api_user", AUDITLOG_VIEW)

    with pytest.raises(PermissionDenied):
        console.audit.list(alice, limit=1)
    assert not console.sessions.resume(alice.token).can(AUDITLOG_VIEW)


def test_the_callers_session_object_reflects_a_removed_permission_after_a_denial(root, console):
    alice = make_account(console, root, "alice", ["api_user"])
    console.roles.remove_permission(root, "api_user", AUDITLOG_VIEW)
    with pytest.raises(PermissionDenied):
        console.audit.list(alice, limit=1)
    assert not alice.can(AUDITLOG_VIEW)


def test_a_role_taken_from_an_account_applies_to_a_running_session(root, console):
    alice = make_account(console, root, "alice", ["api_user"])
    console.accounts.set_roles(root, "alice", [])
    with pytest.raises(PermissionDenied):
        console.audit.list(alice, limit=1)


def test_a_permission_granted_to_a_role_applies_to_a_running_session(root, console):
    alice = make_account(console, root, "alice", ["api_user"])
    with pytest.raises(PermissionDenied):
        console.accounts.list(alice)
    console.roles.set_permission(root, "api_user", ACCOUNTS_VIEW)
    assert [a.name for a in console.accounts.list(alice)] == ["alice", "root"]


def test_disabling_an_account_ends_its_running_session(root, console):
    alice = make_account(console, root, "alice", ["api_user"])
    console.accounts.set_disabled(root, "alice", True)
    with pytest.raises(SessionRequired):
        console.audit.list(alice)


def test_deleting_an_account_ends_its_running_session(root, console):
    alice = make_account(console, root, "alice", ["api_user"])
    console.accounts.delete(root, ["alice"])
    with pytest.raises(SessionRequired):
        console.sessions.resume(alice.token)


def test_a_session_ended_by_disabling_stays_ended_after_enabling(root, console):
    alice = make_account(console, root, "alice", ["api_user"])
    console.accounts.set_disabled(root, "alice", True)
    with pytest.raises(SessionRequired):
        console.audit.list(alice)
    console.accounts.set_disabled(root, "alice", False)

    with pytest.raises(SessionRequired):
        console.sessions.resume(alice.token)


def test_a_deleted_accounts_token_does_not_work_for_a_new_account_of_that_name(root, console):
    alice = make_account(console, root, "alice", ["api_user"])
    console.accounts.delete(root, ["alice"])
    console.accounts.create(root, "alice", password="somebody-else-pw-1", roles=["api_user"])

    with pytest.raises(SessionRequired):
        console.sessions.resume(alice.token)


# -- throttling across processes ---------------------------------------------------------------
def _bad_login(home: str, index: int, barrier, results) -> None:  # type: ignore[no-untyped-def]
    """In a process of its own: open the home, wait for the others, try a wrong password."""
    import contextlib
    import time

    from js7tui.console import open_console
    from js7tui.errors import AuthenticationError
    from js7tui.home import Home
    from js7tui.identity.chain import LoginRequest

    console = open_console(Home(Path(home)))
    barrier.wait()
    started = time.monotonic()
    with contextlib.suppress(AuthenticationError):
        console.login.login(LoginRequest("root", "wrong-password", f"cli:x@10.9.8.{index}"))
    results.put(time.monotonic() - started)
    console.close()


@pytest.mark.slow
def test_parallel_bad_logins_wait_their_turn_whatever_the_source_says(tmp_path: Path) -> None:
    """Four processes try a wrong password for root at the same moment, each claiming another
    SSH client: the attempts run one after the other and each waits the delay the earlier ones
    earned (0 + 1 + 2 + 4 s), instead of all passing at once with none."""
    import multiprocessing
    import sqlite3

    from tests.test_cli import make_cli

    cli = make_cli(tmp_path)
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(4), spawn.Queue()
    children = [spawn.Process(target=_bad_login, args=(str(cli.home), i, barrier, results))
                for i in range(4)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    waits = sorted(results.get(timeout=5) for _ in children)
    assert waits[-1] >= 7.0, waits  # the last one waited for all others and their delays
    assert sum(waits) >= 0 + 1 + 3 + 7, waits
    conn = sqlite3.connect(cli.home / "js7tui.db")
    try:
        rows = conn.execute("SELECT source, failures FROM failed_logins").fetchall()
    finally:
        conn.close()
    assert rows == [("*", 4)]  # one counter: the account's
