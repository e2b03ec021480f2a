"""Administration through the services: accounts, roles, identity services. Each change is
checked against the caller's permissions, guarded against locking every administrator out,
and audited exactly once in its own transaction."""

from __future__ import annotations

import json

import pytest

from js7tui.audit import AuditMeta
from js7tui.errors import (
    Conflict,
    NotFound,
    PasswordChangeRequired,
    PermissionDenied,
    SessionRequired,
    ValidationError,
)
from js7tui.identity.chain import LoginFailed
from js7tui.identity.providers.base import LoginRequest
from js7tui.identity.settings import DEFAULT_INITIAL_PASSWORD
from js7tui.operations import LockoutRefused
from js7tui.permissions.names import (
    ACCOUNTS_MANAGE,
    ACCOUNTS_VIEW,
    AUDITLOG_VIEW,
    SETTINGS_MANAGE,
)
from tests.conftest import ROOT_PASSWORD, login, make_account

PASSWORD = "a-good-password-42"
CONTROLLER_VIEW = "sos:products:controller:view"
IDENTITY_TABLES = ("identity_services", "accounts", "roles", "account_roles", "role_permissions",
                   "role_folders", "blocklist", "settings", "sessions", "failed_logins")


def snapshot(console) -> dict[str, list[tuple]]:
    conn = console.store.conn
    return {table: [tuple(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid")]
            for table in IDENTITY_TABLES}


def audit_count(console, where: str = "1") -> int:
    return console.store.conn.execute(f"SELECT COUNT(*) FROM audit_log WHERE {where}").fetchone()[0]


def last_audit(console):
    return console.store.conn.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()


def account_row(console, name: str, service: str = "JOC-INITIAL"):
    return console.store.conn.execute(
        "SELECT a.* FROM accounts a JOIN identity_services s ON s.id = a.identity_service_id "
        "WHERE a.name = ? AND s.name = ?", (name, service)).fetchone()


def cannot_login(console, name: str, password: str) -> str:
    with pytest.raises(LoginFailed) as failed:
        console.login.login(LoginRequest(name, password, "test"))
    return str(failed.value)


def role_names(console, root) -> list[str]:
    return [role.name for role in console.roles.list(root)]


@pytest.fixture
def alice(root, console):
    """An api_user account 'alice' with a chosen password, logged in."""
    return make_account(console, root, "alice", ["api_user"])


# == accounts ==================================================================================
def test_create_with_a_password_needs_no_change(root, console):
    view = console.accounts.create(root, "alice", password=PASSWORD, roles=["api_user"],
                                   email="alice@example.test")
    assert (view.service, view.name, view.roles, view.email) == (
        "JOC-INITIAL", "alice", ("api_user",), "alice@example.test")
    assert not view.force_password_change and view.has_password and view.state == "active"
    assert not login(console, "alice", PASSWORD).must_change_password


def test_create_without_a_password_gives_the_initial_one_and_forces_a_change(root, console):
    view = console.accounts.create(root, "alice", roles=["api_user"])
    assert view.force_password_change and view.state == "must change password"
    session = login(console, "alice", DEFAULT_INITIAL_PASSWORD)
    assert session.must_change_password
    with pytest.raises(PasswordChangeRequired):
        console.audit.list(session)


def test_create_with_the_initial_password_still_forces_a_change(root, console):
    view = console.accounts.create(root, "alice", password=DEFAULT_INITIAL_PASSWORD)
    assert view.force_password_change


def test_create_refuses_a_password_against_the_policy(root, console):
    with pytest.raises(ValidationError, match="at least 12"):
        console.accounts.create(root, "alice", password="short")
    assert account_row(console, "alice") is None


@pytest.mark.parametrize("bad", ["", " alice", "alice ", "al\x07ice", "a" * 256])
def test_create_refuses_bad_account_names(root, console, bad):
    with pytest.raises(ValidationError, match="account name"):
        console.accounts.create(root, bad, password=PASSWORD)


def test_create_refuses_a_duplicate_name(root, console, alice):
    before = snapshot(console)
    with pytest.raises(Conflict, match="already exists"):
        console.accounts.create(root, "alice", password=PASSWORD)
    assert snapshot(console) == before


def test_an_unknown_role_is_refused_listing_the_roles(root, console):
    with pytest.raises(NotFound) as refused:
        console.accounts.create(root, "alice", password=PASSWORD, roles=["api_user", "nope"])
    message = str(refused.value)
    assert "no role 'nope'" in message
    for role in ("all", "administrator", "api_user", "business_user"):
        assert role in message
    assert account_row(console, "alice") is None


def test_copy_takes_the_roles_and_gives_the_initial_password(root, console):
    console.accounts.create(root, "alice", password=PASSWORD,
                            roles=["business_user", "api_user"])
    copy = console.accounts.copy(root, "alice", "alice2")
    assert copy.roles == console.accounts.show(root, "alice").roles
    assert set(copy.roles) == {"business_user", "api_user"}
    assert copy.force_password_change
    assert login(console, "alice2", DEFAULT_INITIAL_PASSWORD).must_change_password
    assert cannot_login(console, "alice2", PASSWORD)


def test_rename_ends_the_old_sessions_and_keeps_the_roles(root, console, alice):
    view = console.accounts.rename(root, "alice", "alicia")
    assert (view.name, view.roles) == ("alicia", ("api_user",))
    with pytest.raises(SessionRequired):
        console.sessions.resume(alice.token)
    assert cannot_login(console, "alice", PASSWORD)
    assert login(console, "alicia", PASSWORD).account == "alicia"


def test_rename_to_an_existing_name_is_refused(root, console, alice):
    before = snapshot(console)
    with pytest.raises(Conflict):
        console.accounts.rename(root, "alice", "root")
    assert snapshot(console) == before


def test_delete_removes_the_account_and_its_role_assignments(root, console, alice):
    console.accounts.delete(root, ["alice"])
    assert account_row(console, "alice") is None
    assert [a.name for a in console.accounts.list(root)] == ["root"]
    assert console.store.conn.execute("SELECT COUNT(*) FROM account_roles").fetchone()[0] == 1
    with pytest.raises(NotFound):
        console.accounts.delete(root, ["alice"])


def test_reset_gives_the_initial_password_and_forces_a_change(root, console, alice):
    view = console.accounts.reset_password(root, "alice")
    assert view.force_password_change
    assert cannot_login(console, "alice", PASSWORD)
    assert login(console, "alice", DEFAULT_INITIAL_PASSWORD).must_change_password


def test_force_change_applies_to_the_running_session(root, console, alice):
    assert console.accounts.force_password_change(root, "alice").force_password_change
    with pytest.raises(PasswordChangeRequired):
        console.audit.list(alice)
    console.accounts.change_password(account="alice", old=PASSWORD, new="a-newer-password-43")
    assert console.audit.list(alice, limit=1)


def test_disable_and_enable(root, console, alice):
    view = console.accounts.set_disabled(root, "alice", True)
    assert view.disabled and view.state == "disabled"
    assert "disabled" in cannot_login(console, "alice", PASSWORD)
    assert not console.accounts.set_disabled(root, "alice", False).disabled
    assert login(console, "alice", PASSWORD).account == "alice"


def test_block_and_unblock_with_a_comment(root, console, alice, clock):
    console.accounts.block(root, "alice", "left the company")
    view = console.accounts.show(root, "alice")
    assert view.blocked and view.block_comment == "left the company"
    assert view.state == "blocked"
    [(name, comment, since, by)] = console.accounts.blocked(root)
    assert (name, comment, by) == ("alice", "left the company", "root")
    assert since.startswith(clock.now().date().isoformat())
    entry = json.loads(last_audit(console)["parameters"])
    assert entry == {"accountName": "alice", "blockComment": "left the company"}

    with pytest.raises(Conflict, match="already blocked"):
        console.accounts.block(root, "alice", "again")
    console.accounts.unblock(root, "alice")
    assert not console.accounts.show(root, "alice").blocked
    assert console.accounts.blocked(root) == []
    with pytest.raises(NotFound, match="not blocked"):
        console.accounts.unblock(root, "alice")


def test_set_add_and_remove_roles(root, console, alice):
    view = console.accounts.set_roles(root, "alice", ["business_user", "api_user"])
    assert view.roles == ("business_user", "api_user")  # role order, not call order
    view = console.accounts.add_roles(root, "alice", ["it_operator"])
    assert set(view.roles) == {"business_user", "api_user", "it_operator"}
    view = console.accounts.remove_roles(root, "alice", ["api_user"])
    assert set(view.roles) == {"business_user", "it_operator"}
    with pytest.raises(NotFound, match="does not have the role"):
        console.accounts.remove_roles(root, "alice", ["api_user"])
    assert console.accounts.set_roles(root, "alice", []).roles == ()


def test_set_email(root, console, alice):
    assert console.accounts.set_email(root, "alice", "a@example.test").email == "a@example.test"
    assert account_row(console, "alice")["email"] == "a@example.test"


# == the last administrator ====================================================================
LOCKOUTS = {
    "delete root": lambda c, s: c.accounts.delete(s, ["root"]),
    "disable root": lambda c, s: c.accounts.set_disabled(s, "root", True),
    "block root": lambda c, s: c.accounts.block(s, "root", "oops"),
    "remove role all from root": lambda c, s: c.accounts.remove_roles(s, "root", ["all"]),
    "give root only api_user": lambda c, s: c.accounts.set_roles(s, "root", ["api_user"]),
    "deny accounts:manage in all": lambda c, s: c.roles.set_permission(
        s, "all", ACCOUNTS_MANAGE, excluded=True),
    "deny joc in all": lambda c, s: c.roles.set_permission(
        s, "all", "sos:products:joc", excluded=True),
    "remove sos:products from all": lambda c, s: c.roles.remove_permission(
        s, "all", "sos:products"),
    "delete role all": lambda c, s: c.roles.delete(s, ["all"]),
    "disable JOC-INITIAL": lambda c, s: c.identity_services.update(
        s, "JOC-INITIAL", disabled=True),
    "delete JOC-INITIAL": lambda c, s: c.identity_services.delete(s, "JOC-INITIAL"),
}


@pytest.mark.parametrize("change", LOCKOUTS.values(), ids=LOCKOUTS.keys())
def test_the_last_administrator_cannot_be_removed(root, console, alice, change):
    before = snapshot(console)
    refused_before = audit_count(console, "outcome = 'REFUSED'")

    with pytest.raises(LockoutRefused, match="no enabled account could manage accounts") as e:
        change(console, root)

    assert isinstance(e.value, Conflict)
    assert snapshot(console) == before
    assert audit_count(console, "outcome = 'REFUSED'") == refused_before + 1
    entry = last_audit(console)
    assert (entry["account"], entry["outcome"], entry["category"]) == (
        "root", "REFUSED", "IDENTITY")
    assert "JOC-INITIAL/root" in json.loads(entry["parameters"])["refused"]
    assert [a.name for a in console.accounts.list(root)] == ["alice", "root"]


def test_with_a_second_administrator_root_can_be_deleted(root, console):
    admin = make_account(console, root, "admin2", ["administrator"])
    console.accounts.delete(root, ["root"])

    assert account_row(console, "root") is None
    assert [a.name for a in console.accounts.list(admin)] == ["admin2"]
    with pytest.raises(SessionRequired):
        console.accounts.list(root)


def test_the_guard_counts_only_enabled_unblocked_accounts(root, console):
    make_account(console, root, "admin2", ["administrator"])
    console.accounts.set_disabled(root, "admin2", True)
    with pytest.raises(LockoutRefused):
        console.accounts.delete(root, ["root"])
    console.accounts.set_disabled(root, "admin2", False)
    console.accounts.block(root, "admin2", "on leave")
    with pytest.raises(LockoutRefused):
        console.accounts.delete(root, ["root"])
    assert account_row(console, "root") is not None


def test_making_a_service_without_administrators_required_is_refused(root, console):
    console.identity_services.create(root, "JOC-2", "JOC")
    with pytest.raises(LockoutRefused):
        console.identity_services.update(root, "JOC-2", required=True)
    assert login(console, "root", ROOT_PASSWORD).services == ("JOC-INITIAL",)


# == roles =====================================================================================
def test_a_new_role_gets_controller_view(root, console):
    view = console.roles.create(root, "operators")
    assert [(p.permission, p.excluded, p.controller) for p in view.permissions] == [
        (CONTROLLER_VIEW, False, "")]
    assert view.ordering == 7
    assert role_names(console, root)[-1] == "operators"


def test_an_empty_role_gets_no_permission(root, console):
    assert console.roles.create(root, "nothing", empty=True).permissions == ()


def test_a_duplicate_role_is_refused(root, console):
    with pytest.raises(Conflict):
        console.roles.create(root, "api_user")


def test_rename_role_keeps_its_accounts_and_permissions(root, console, alice):
    before = console.roles.show(root, "api_user")
    after = console.roles.rename(root, "api_user", "monitoring")
    assert after.accounts == ("alice",)
    assert {p.permission for p in after.permissions} == {p.permission for p in before.permissions}
    assert console.accounts.show(root, "alice").roles == ("monitoring",)
    assert console.audit.list(alice, limit=1)
    with pytest.raises(NotFound):
        console.roles.show(root, "api_user")


def test_delete_role_takes_it_from_its_accounts(root, console, alice):
    console.roles.delete(root, ["api_user"])
    assert "api_user" not in role_names(console, root)
    assert console.accounts.show(root, "alice").roles == ()
    with pytest.raises(PermissionDenied):
        console.audit.list(alice)


def test_reorder_puts_the_named_roles_first(root, console):
    before = role_names(console, root)
    after = [r.name for r in console.roles.reorder(root, ["api_user", "business_user"])]
    assert after == ["api_user", "business_user",
                     *[name for name in before if name not in ("api_user", "business_user")]]
    assert [r.ordering for r in console.roles.list(root)] == list(range(len(before)))


def test_grant_deny_and_remove_a_permission(root, console):
    console.roles.create(root, "r", empty=True)
    view = console.roles.set_permission(root, "r", AUDITLOG_VIEW)
    assert [(p.permission, p.excluded) for p in view.permissions] == [(AUDITLOG_VIEW, False)]
    view = console.roles.set_permission(root, "r", AUDITLOG_VIEW, excluded=True)
    assert [(p.permission, p.excluded) for p in view.permissions] == [(AUDITLOG_VIEW, True)]
    assert console.roles.remove_permission(root, "r", AUDITLOG_VIEW).permissions == ()
    with pytest.raises(NotFound, match="no entry"):
        console.roles.remove_permission(root, "r", AUDITLOG_VIEW)


def test_an_unknown_permission_is_refused_with_a_suggestion(root, console):
    console.roles.create(root, "r", empty=True)
    with pytest.raises(ValidationError, match="did you mean 'sos:products:controller:orders:view'"):
        console.roles.set_permission(root, "r", "sos:products:controller:order:view")
    assert console.roles.show(root, "r").permissions == ()


def test_the_misspelled_alias_is_stored_under_the_correct_name(root, console):
    console.roles.create(root, "r", empty=True)
    view = console.roles.set_permission(root, "r", "sos:products:joc:adminstration:accounts:view")
    assert [p.permission for p in view.permissions] == [ACCOUNTS_VIEW]


def test_controller_sections_hold_controller_permissions(root, console):
    console.roles.create(root, "r", empty=True)
    view = console.roles.set_permission(root, "r", "sos:products:controller:orders:cancel",
                                        controller="c1")
    assert [(p.permission, p.controller) for p in view.permissions] == [
        ("sos:products:controller:orders:cancel", "c1")]
    assert view.controllers == ("c1",)
    # carl may not log in (no sos:products:controller:view): explained, not logged in
    console.accounts.create(root, "carl", password="a-good-password-42", roles=["r"])
    explain = console.permissions.explain
    assert explain(root, "sos:products:controller:orders:cancel", account="carl",
                   controller="c1").granted
    assert not explain(root, "sos:products:controller:orders:cancel", account="carl",
                       controller="c2").granted
    assert not explain(root, "sos:products:controller:orders:cancel", account="carl").granted


def test_a_joc_permission_in_a_controller_section_is_refused(root, console):
    console.roles.create(root, "r", empty=True)
    with pytest.raises(ValidationError, match="Controller section holds only Controller"):
        console.roles.set_permission(root, "r", AUDITLOG_VIEW, controller="c1")
    with pytest.raises(ValidationError, match="not a Controller id"):
        console.roles.set_permission(root, "r", CONTROLLER_VIEW, controller="bad id")
    assert console.roles.show(root, "r").permissions == ()


@pytest.mark.parametrize("given, stored", [
    ("/a/b/", "/a/b"), ("/a//b", "/a/b"), (" /a ", "/a"), ("/", "/")])
def test_folders_are_normalised(root, console, given, stored):
    console.roles.create(root, "r", empty=True)
    view = console.roles.add_folder(root, "r", given)
    assert [(f.folder, f.recursive) for f in view.folders] == [(stored, True)]


@pytest.mark.parametrize("bad", ["a/b", "", "/a/../b", "/a/./b", "/a/\x01"])
def test_bad_folders_are_refused(root, console, bad):
    console.roles.create(root, "r", empty=True)
    with pytest.raises(ValidationError):
        console.roles.add_folder(root, "r", bad)
    assert console.roles.show(root, "r").folders == ()


def test_add_and_remove_folders(root, console):
    console.roles.create(root, "r", empty=True)
    console.roles.add_folder(root, "r", "/a", recursive=False)
    view = console.roles.add_folder(root, "r", "/b/c/", controller="c1")
    assert {(f.folder, f.recursive, f.controller) for f in view.folders} == {
        ("/a", False, ""), ("/b/c", True, "c1")}
    view = console.roles.remove_folder(root, "r", "/b/c/", controller="c1")
    assert [f.folder for f in view.folders] == ["/a"]
    with pytest.raises(NotFound):
        console.roles.remove_folder(root, "r", "/b/c", controller="c1")


# == identity services =========================================================================
def test_create_an_identity_service(root, console):
    record = console.identity_services.create(root, "JOC-2", "joc", required=True)
    assert (record.name, record.type, record.ordering, record.required, record.disabled) == (
        "JOC-2", "JOC", 1, True, False)
    assert [s.name for s in console.identity_services.list(root)] == ["JOC-INITIAL", "JOC-2"]
    with pytest.raises(Conflict):
        console.identity_services.create(root, "joc-2", "JOC")


def test_an_unknown_service_type_is_refused(root, console):
    with pytest.raises(ValidationError, match="unknown identity service type 'NOPE'") as e:
        console.identity_services.create(root, "X", "NOPE")
    assert "LDAP" in str(e.value) and "JOC" in str(e.value)


def test_a_type_without_a_provider_is_refused_naming_the_available_types(root, console):
    before = snapshot(console)
    with pytest.raises(ValidationError, match="not available") as e:
        console.identity_services.create(root, "DIRECTORY", "KEYCLOAK")
    assert "available: CERTIFICATE" in str(e.value) and ", JOC," in str(e.value)
    assert snapshot(console) == before


def test_rename_a_service_keeps_its_accounts_and_sessions_working(root, console, alice):
    record = console.identity_services.rename(root, "JOC-INITIAL", "JOC-MAIN")
    assert record.name == "JOC-MAIN"
    resumed = console.sessions.resume(alice.token)
    assert resumed.services == ("JOC-MAIN",)
    assert console.audit.list(alice, limit=1)
    assert console.accounts.show(root, "alice", service="JOC-MAIN").roles == ("api_user",)
    assert login(console, "alice", PASSWORD).services == ("JOC-MAIN",)


def test_after_renaming_its_own_service_the_same_session_object_still_works(root, console):
    console.identity_services.rename(root, "JOC-INITIAL", "JOC-MAIN")
    assert [a.name for a in console.accounts.list(root)] == ["root"]


def test_delete_a_service_removes_its_accounts_and_ends_their_sessions(root, console):
    console.identity_services.create(root, "JOC-2", "JOC")
    console.roles.create(root, "r2", service="JOC-2")
    console.accounts.create(root, "bob", service="JOC-2", password=PASSWORD, roles=["r2"])
    bob = login(console, "bob", PASSWORD)

    console.identity_services.delete(root, "JOC-2")
    assert [s.name for s in console.identity_services.list(root)] == ["JOC-INITIAL"]
    assert console.store.conn.execute(
        "SELECT COUNT(*) FROM accounts WHERE name = 'bob'").fetchone()[0] == 0
    with pytest.raises(SessionRequired, match="no valid session"):
        console.sessions.resume(bob.token)


def test_reorder_and_move_services(root, console):
    console.identity_services.create(root, "JOC-2", "JOC")
    console.identity_services.create(root, "JOC-3", "JOC")
    names = [s.name for s in console.identity_services.reorder(root, ["JOC-3"])]
    assert names == ["JOC-3", "JOC-INITIAL", "JOC-2"]
    names = [s.name for s in console.identity_services.move(root, "JOC-2", -1)]
    assert names == ["JOC-3", "JOC-2", "JOC-INITIAL"]
    names = [s.name for s in console.identity_services.move(root, "JOC-3", 10)]
    assert names == ["JOC-2", "JOC-INITIAL", "JOC-3"]
    assert [s.ordering for s in console.identity_services.list(root)] == [0, 1, 2]


def test_update_required_disabled_and_scheme(root, console):
    console.identity_services.create(root, "JOC-2", "JOC")
    console.roles.create(root, "admins", service="JOC-2", empty=True)
    console.roles.set_permission(root, "admins", "sos:products", service="JOC-2")
    console.accounts.create(root, "root", service="JOC-2", password=ROOT_PASSWORD,
                            roles=["admins"])
    assert console.identity_services.update(root, "JOC-2", required=True).required
    assert console.identity_services.update(root, "JOC-2", disabled=True).disabled
    assert not console.identity_services.update(root, "JOC-2", disabled=False).disabled
    with pytest.raises(ValidationError, match="scheme must be one of"):
        console.identity_services.update(root, "JOC-2", auth_scheme="THREE-FACTOR")
    with pytest.raises(ValidationError, match="name its second-factor service"):
        console.identity_services.update(root, "JOC-2", auth_scheme="TWO-FACTOR")
    with pytest.raises(ValidationError, match="nothing to change"):
        console.identity_services.update(root, "JOC-2")
    assert console.identity_services.show(root, "JOC-2").auth_scheme == "SINGLE-FACTOR"


# == the caller's permissions ==================================================================
MANAGE_CALLS = {
    "accounts.create": (lambda c, s: c.accounts.create(s, "x", password=PASSWORD),
                        ACCOUNTS_MANAGE),
    "accounts.copy": (lambda c, s: c.accounts.copy(s, "alice", "x"), ACCOUNTS_MANAGE),
    "accounts.set_email": (lambda c, s: c.accounts.set_email(s, "alice", "x@y"),
                           ACCOUNTS_MANAGE),
    "accounts.set_roles (own, to all)": (lambda c, s: c.accounts.set_roles(s, "eve", ["all"]),
                                         ACCOUNTS_MANAGE),
    "accounts.add_roles": (lambda c, s: c.accounts.add_roles(s, "eve", ["all"]), ACCOUNTS_VIEW),
    "accounts.remove_roles": (lambda c, s: c.accounts.remove_roles(s, "alice", ["api_user"]),
                              ACCOUNTS_VIEW),
    "accounts.reset_password": (lambda c, s: c.accounts.reset_password(s, "alice"),
                                ACCOUNTS_MANAGE),
    "accounts.force_password_change": (
        lambda c, s: c.accounts.force_password_change(s, "alice"), ACCOUNTS_MANAGE),
    "accounts.set_disabled": (lambda c, s: c.accounts.set_disabled(s, "alice", True),
                              ACCOUNTS_MANAGE),
    "accounts.rename": (lambda c, s: c.accounts.rename(s, "alice", "x"), ACCOUNTS_MANAGE),
    "accounts.delete": (lambda c, s: c.accounts.delete(s, ["alice"]), ACCOUNTS_MANAGE),
    "accounts.block": (lambda c, s: c.accounts.block(s, "root", "x"), ACCOUNTS_MANAGE),
    "accounts.unblock": (lambda c, s: c.accounts.unblock(s, "alice"), ACCOUNTS_MANAGE),
    "roles.create": (lambda c, s: c.roles.create(s, "x"), ACCOUNTS_MANAGE),
    "roles.rename": (lambda c, s: c.roles.rename(s, "api_user", "x"), ACCOUNTS_MANAGE),
    "roles.delete": (lambda c, s: c.roles.delete(s, ["business_user"]), ACCOUNTS_MANAGE),
    "roles.reorder": (lambda c, s: c.roles.reorder(s, ["api_user"]), ACCOUNTS_MANAGE),
    "roles.set_permission (grant all)": (
        lambda c, s: c.roles.set_permission(s, "api_user", "sos:products"), ACCOUNTS_MANAGE),
    "roles.remove_permission": (
        lambda c, s: c.roles.remove_permission(s, "api_user", AUDITLOG_VIEW), ACCOUNTS_MANAGE),
    "roles.add_folder": (lambda c, s: c.roles.add_folder(s, "api_user", "/a"), ACCOUNTS_MANAGE),
    "roles.remove_folder": (lambda c, s: c.roles.remove_folder(s, "api_user", "/a"),
                            ACCOUNTS_MANAGE),
    "identity_services.create": (lambda c, s: c.identity_services.create(s, "X", "JOC"),
                                 ACCOUNTS_MANAGE),
    "identity_services.update": (
        lambda c, s: c.identity_services.update(s, "JOC-INITIAL", required=True),
        ACCOUNTS_MANAGE),
    "identity_services.rename": (
        lambda c, s: c.identity_services.rename(s, "JOC-INITIAL", "X"), ACCOUNTS_MANAGE),
    "identity_services.delete": (
        lambda c, s: c.identity_services.delete(s, "JOC-INITIAL"), ACCOUNTS_MANAGE),
    "identity_services.reorder": (
        lambda c, s: c.identity_services.reorder(s, ["JOC-INITIAL"]), ACCOUNTS_MANAGE),
    "identity_services.move": (lambda c, s: c.identity_services.move(s, "JOC-INITIAL", 1),
                               ACCOUNTS_MANAGE),
    "settings.set": (lambda c, s: c.settings.set(s, "minimum_password_length", "1"),
                     SETTINGS_MANAGE),
    "sessions.cancel": (lambda c, s: c.sessions.cancel(s, account="root"), ACCOUNTS_MANAGE),
}


@pytest.mark.parametrize("call, permission", MANAGE_CALLS.values(), ids=MANAGE_CALLS.keys())
def test_an_api_user_may_not_manage_anything(root, console, alice, call, permission):
    eve = make_account(console, root, "eve", ["api_user"])
    before = snapshot(console)
    refused_before = audit_count(console, "outcome = 'REFUSED'")

    with pytest.raises(PermissionDenied) as denied:
        call(console, eve)

    assert denied.value.permission == permission
    assert permission in str(denied.value)
    assert snapshot(console) == before
    assert audit_count(console, "outcome = 'REFUSED'") == refused_before + 1
    entry = last_audit(console)
    assert (entry["account"], entry["outcome"]) == ("eve", "REFUSED")
    assert permission in json.loads(entry["parameters"])["refused"]


def test_a_denial_in_one_role_beats_a_grant_in_another(root, console):
    console.roles.create(root, "A", empty=True)
    console.roles.set_permission(root, "A", "sos:products:joc")
    console.roles.set_permission(root, "A", CONTROLLER_VIEW)  # needed to log in at all
    console.roles.create(root, "B", empty=True)
    console.roles.set_permission(root, "B", "sos:products:joc:administration:accounts",
                                 excluded=True)
    dave = make_account(console, root, "dave", ["A", "B"])

    with pytest.raises(PermissionDenied):
        console.accounts.list(dave)
    assert console.audit.list(dave, limit=1)  # the rest of joc stays granted

    why = console.permissions.explain(root, ACCOUNTS_VIEW, account="dave")
    assert not why.granted and not why.allowed
    assert [e.role for e in why.deciding] == ["B"]
    assert [e.role for e in why.overruled] == ["A"]
    assert "role 'B'" in why.reason and "denial beats every grant" in why.reason
    own = console.permissions.explain(dave, ACCOUNTS_VIEW)
    assert own.deciding == why.deciding


def test_a_folder_entry_hides_every_other_folder(root, console):
    console.roles.create(root, "F")
    console.roles.add_folder(root, "F", "/a", recursive=True)
    make_account(console, root, "frank", ["F"])

    def explain(folder):
        return console.permissions.explain(root, CONTROLLER_VIEW, account="frank",
                                           folder=folder)

    other = explain("/b")
    assert other.granted and not other.allowed
    assert not other.folder_decision.permitted and not other.folder_decision.navigable
    inside = explain("/a/x")
    assert inside.allowed and inside.folder_decision.permitted
    top = explain("/")
    assert not top.folder_decision.permitted and top.folder_decision.navigable
    assert not top.allowed
    assert not explain("/ab").folder_decision.permitted


def test_without_folder_entries_every_folder_is_permitted(root, console):
    make_account(console, root, "gina", ["api_user"])
    assert console.permissions.explain(root, CONTROLLER_VIEW, account="gina",
                                       folder="/anything").allowed


# == audit comments and one entry per change ==================================================
def test_with_forced_comments_a_change_without_comment_is_refused_and_changes_nothing(
        root, console):
    console.settings.set(root, "force_comments_for_audit_log", "true")
    before = snapshot(console)
    entries_before = audit_count(console)

    with pytest.raises(ValidationError, match="comment is required"):
        console.accounts.create(root, "alice", password=PASSWORD)

    assert snapshot(console) == before
    assert audit_count(console) == entries_before


def test_with_forced_comments_a_commented_change_carries_comment_ticket_and_time(root, console):
    console.settings.set(root, "force_comments_for_audit_log", "true")
    meta = AuditMeta(comment="Business requirement", ticket_link="https://tickets.test/T-7",
                     time_spent=5)
    console.accounts.create(root, "alice", password=PASSWORD, meta=meta)

    entry = last_audit(console)
    assert (entry["comment"], entry["ticket_link"], entry["time_spent"]) == (
        "Business requirement", "https://tickets.test/T-7", 5)
    assert entry["request"] == "./iam/account/store"
    assert account_row(console, "alice") is not None


@pytest.mark.parametrize("meta, complaint", [
    (AuditMeta(comment="x" * 256), "at most 255"),
    (AuditMeta(ticket_link="x" * 1025), "ticket link"),
    (AuditMeta(time_spent=-1), "time spent"),
])
def test_bad_audit_meta_is_refused_before_any_change(root, console, meta, complaint):
    before = snapshot(console)
    with pytest.raises(ValidationError, match=complaint):
        console.accounts.create(root, "alice", password=PASSWORD, meta=meta)
    assert snapshot(console) == before


SECRET = "Very-Secret-Pass-123"

CHANGES = {
    "account create": lambda c, s: c.accounts.create(s, "bob", password=SECRET),
    "account create initial": lambda c, s: c.accounts.create(s, "bob", roles=["api_user"]),
    "account copy": lambda c, s: c.accounts.copy(s, "alice", "bob"),
    "account email": lambda c, s: c.accounts.set_email(s, "alice", "a@b.test"),
    "account roles": lambda c, s: c.accounts.set_roles(s, "alice", ["business_user"]),
    "account add roles": lambda c, s: c.accounts.add_roles(s, "alice", ["business_user"]),
    "account reset": lambda c, s: c.accounts.reset_password(s, "alice"),
    "account force change": lambda c, s: c.accounts.force_password_change(s, "alice"),
    "account disable": lambda c, s: c.accounts.set_disabled(s, "alice", True),
    "account rename": lambda c, s: c.accounts.rename(s, "alice", "alicia"),
    "account delete": lambda c, s: c.accounts.delete(s, ["alice"]),
    "account block": lambda c, s: c.accounts.block(s, "alice", "why"),
    "own password": lambda c, s: c.accounts.change_password(account="alice", old=PASSWORD,
                                                            new=SECRET),
    "role create": lambda c, s: c.roles.create(s, "r"),
    "role rename": lambda c, s: c.roles.rename(s, "api_user", "monitor"),
    "role delete": lambda c, s: c.roles.delete(s, ["api_user"]),
    "role reorder": lambda c, s: c.roles.reorder(s, ["api_user"]),
    "role grant": lambda c, s: c.roles.set_permission(s, "api_user", ACCOUNTS_VIEW),
    "role deny": lambda c, s: c.roles.set_permission(s, "api_user", ACCOUNTS_VIEW,
                                                     excluded=True),
    "role remove permission": lambda c, s: c.roles.remove_permission(s, "api_user",
                                                                     AUDITLOG_VIEW),
    "role add folder": lambda c, s: c.roles.add_folder(s, "api_user", "/a"),
    "service create": lambda c, s: c.identity_services.create(s, "JOC-2", "JOC"),
    "service update": lambda c, s: c.identity_services.update(s, "JOC-INITIAL", required=True),
    "service rename": lambda c, s: c.identity_services.rename(s, "JOC-INITIAL", "JOC-MAIN"),
    "service move": lambda c, s: c.identity_services.move(s, "JOC-INITIAL", 0),
    "setting": lambda c, s: c.settings.set(s, "minimum_password_length", "14"),
    "initial password setting": lambda c, s: c.settings.set(s, "initial_password", SECRET),
    "session cancel": lambda c, s: c.sessions.cancel(s, account="alice"),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_every_change_writes_exactly_one_audit_entry_without_passwords(root, console, alice,
                                                                       change):
    before = audit_count(console)
    change(console, root)

    assert audit_count(console) == before + 1
    entry = last_audit(console)
    assert entry["outcome"] == "OK"
    assert entry["category"] in ("IDENTITY", "SETTINGS")
    assert entry["account"] in ("root", "alice")
    text = repr(tuple(entry))
    for secret in (SECRET, PASSWORD, ROOT_PASSWORD):
        assert secret not in text
    parameters = json.loads(entry["parameters"])
    assert parameters.get("password", "") in ("", "***")


def test_the_audit_entry_is_written_in_the_same_transaction_as_the_change(root, console):
    """A change that fails after its entry was recorded leaves neither behind."""
    before_entries = audit_count(console)
    before = snapshot(console)
    with pytest.raises(NotFound):
        console.accounts.delete(root, ["root", "nobody"])  # root's entry first, then NotFound
    assert audit_count(console) == before_entries
    assert snapshot(console) == before


def test_a_settings_change_audits_the_old_and_the_new_value(console) -> None:
    import json

    from js7tui.audit.query import AuditFilter
    from tests.conftest import ROOT_PASSWORD
    from tests.conftest import login as login_directly
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    root = login_directly(console, "root", ROOT_PASSWORD)
    console.settings.set(root, "minimum_password_length", "14")
    console.settings.set(root, "minimum_password_length", "16")
    newest = console.audit.page(root, AuditFilter(categories=("SETTINGS",)), limit=1)[0]
    parameters = json.loads(newest.parameters) if isinstance(newest.parameters, str) \
        else newest.parameters
    assert parameters["old"] == 14 and parameters["value"] == 16
