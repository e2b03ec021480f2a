"""Snapshots of the roles, permission-tree, effective-permissions and audit-log screens in the
states that matter (loaded, a denial with its explanation, a Controller section with a folder,
read-only, filtered, empty, a broken chain, the export form); the main ones also at 80x24 and
with ansi-dark. Update with ``pytest tests/tui --snapshot-update``; ``python
screenshots/update.py`` copies the README's pictures.
"""

from __future__ import annotations

import pytest

from js7tui import audit
from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.identity.sessions import Session
from js7tui.tui.app import make_app
from tests.tui.test_snapshots import BIG, SMALL, as_root, keys, steps, text

TARGET_INDEX = 32  # sos:products:joc:auditlog:view in the tree order


@pytest.fixture
def roles_home(console: Console, root: Session) -> Console:
    console.accounts.create(root, "alice", roles=["it_operator", "business_user"])
    console.roles.set_permission(root, "it_operator", "sos:products:controller:orders:cancel",
                                 excluded=True, controller="c1")
    console.roles.add_folder(root, "it_operator", "/prod", controller="c1")
    return console


@pytest.fixture
def audit_home(console: Console, root: Session, clock: FrozenClock) -> Console:
    with console.store.transaction() as conn:
        for number in range(400):
            clock.advance(seconds=7)
            audit.append(conn, created=clock.now(), account=("alice", "bob", "carol")[number % 3],
                         request="./inventory/store", category=("INVENTORY", "SETTINGS")[
                             number % 4 == 0], outcome="REFUSED" if number % 50 == 0 else "OK",
                         object_type="WORKFLOW", path=f"/prod/job{number}", folder="/prod",
                         controller_id="c1", parameters={"version": number},
                         meta=audit.AuditMeta(comment="nightly fix" if number % 9 == 0 else ""))
    return console


def test_roles_list_80x24_ansi_dark(snap_compare, roles_home: Console, env) -> None:
    app = make_app(roles_home, env={**env, "JS7TUI_THEME": "ansi-dark"})
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(as_root, keys("8")))


def test_permission_tree_denied_and_explained(snap_compare, roles_home: Console, env) -> None:
    assert snap_compare(make_app(roles_home, env=env), terminal_size=BIG, run_before=steps(
        as_root, keys("8"), keys("j", "j", "j", "enter"), keys(*["j"] * TARGET_INDEX),
        keys("minus"), keys("e")))


def test_permission_tree_controller_section_80x24(snap_compare, roles_home: Console,
                                                  env) -> None:
    assert snap_compare(make_app(roles_home, env=env), terminal_size=SMALL, run_before=steps(
        as_root, keys("8"), keys("j", "j", "j", "enter"), keys("c"), text("c1"),
        keys("enter")))


def test_permission_tree_readonly(snap_compare, roles_home: Console, env) -> None:
    app = make_app(roles_home, readonly=True, env=env)
    assert snap_compare(app, terminal_size=BIG, run_before=steps(
        as_root, keys("8"), keys("j", "j", "j", "enter")))


def test_effective_permissions_explained(snap_compare, roles_home: Console, env) -> None:
    assert snap_compare(make_app(roles_home, env=env), terminal_size=BIG, run_before=steps(
        as_root, keys("8"), keys("w"), text("alice"), keys("tab"), text("c1"), keys("tab"),
        text("/prod"), keys("enter"), keys("g", *["j"] * 22, "e")))


def test_audit_log(snap_compare, audit_home: Console, env) -> None:
    assert snap_compare(make_app(audit_home, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("9"), keys("j", "j")))


def test_audit_log_filtered_80x24(snap_compare, audit_home: Console, env) -> None:
    assert snap_compare(make_app(audit_home, env=env), terminal_size=SMALL, run_before=steps(
        as_root, keys("9"), keys("slash"), text("a:bob refused"), keys("enter")))


def test_audit_log_80x24_ansi_dark(snap_compare, audit_home: Console, env) -> None:
    app = make_app(audit_home, env={**env, "JS7TUI_THEME": "ansi-dark"})
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(as_root, keys("9")))


def test_audit_log_nothing_matches(snap_compare, audit_home: Console, env) -> None:
    assert snap_compare(make_app(audit_home, env=env), terminal_size=BIG, run_before=steps(
        as_root, keys("9"), keys("slash"), text("a:nobody"), keys("enter")))


def test_audit_log_broken_chain(snap_compare, audit_home: Console, env) -> None:
    audit_home.store.conn.execute("UPDATE audit_log SET comment = 'edited' WHERE id = 120")
    assert snap_compare(make_app(audit_home, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("9"), keys("v")))


def test_audit_export_form(snap_compare, audit_home: Console, env) -> None:
    assert snap_compare(make_app(audit_home, env=env), terminal_size=BIG,
                        run_before=steps(as_root, keys("9"), keys("x")))
