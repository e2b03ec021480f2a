"""Roles and the permission tree editor, driven with keys only; assertions on the store."""

from __future__ import annotations

import pytest

from js7tui.console import Console
from js7tui.permissions import ROOT, catalogue
from js7tui.tui.app import Js7App
from js7tui.tui.screens.permission_editor import PermissionEditorScreen
from js7tui.tui.widgets.lists import HouseTable
from tests.conftest import ROOT_PASSWORD
from tests.tui.conftest import login, settle, type_text

TARGET = "sos:products:joc:auditlog:view"


def entries(console: Console, root, role: str) -> set[tuple[str, str, bool]]:
    view = console.roles.show(root, role)
    return {(p.controller, p.permission, p.excluded) for p in view.permissions}


def without(found: set[tuple[str, str, bool]], name: str) -> set[tuple[str, str, bool]]:
    return {e for e in found if e[1] != name}


async def open_role(app: Js7App, pilot, role: str) -> PermissionEditorScreen:
    await login(pilot, "root", ROOT_PASSWORD)
    await pilot.press("8")
    await settle(pilot)
    await pilot.press("slash")
    await type_text(pilot, role)
    await pilot.press("enter", "enter")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, PermissionEditorScreen)
    return screen


async def go_to(pilot, name: str, root: str = ROOT) -> None:
    names = [node.name for node in catalogue().walk(root)]
    await pilot.press("g", *["j"] * names.index(name))


async def test_deny_undo_redo_and_explain(app: Js7App, console: Console, root) -> None:
    if any(e[1] == TARGET for e in entries(console, root, "it_operator")):
        console.roles.remove_permission(root, "it_operator", TARGET)
    before = entries(console, root, "it_operator")
    first_id = console.audit.list(root, limit=1)[0].id
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_role(app, pilot, "it_operator")
        await go_to(pilot, TARGET)
        assert screen.tree.current == TARGET
        await pilot.press("minus")
        await settle(pilot)
        assert entries(console, root, "it_operator") == before | {("", TARGET, True)}
        await pilot.press("e")
        detail = str(screen.query_one("#perm-detail").render())
        assert "NOT ALLOWED" in detail and f"-{TARGET}" in detail
        await pilot.press("u")
        await settle(pilot)
        assert entries(console, root, "it_operator") == before
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert entries(console, root, "it_operator") == before | {("", TARGET, True)}
        await pilot.press("space")  # grant replaces the denial
        await settle(pilot)
        assert entries(console, root, "it_operator") == before | {("", TARGET, False)}
        await pilot.press("x")
        await settle(pilot)
        assert entries(console, root, "it_operator") == before
        # Undo walks back: the grant, then the denial, then nothing.
        for expected in ({("", TARGET, False)}, {("", TARGET, True)}, set()):
            await pilot.press("u")
            await settle(pilot)
            assert entries(console, root, "it_operator") == before | expected
    changes = [e for e in console.audit.list(root, limit=50)
               if e.id > first_id and e.request.startswith("./iam/permissions")]
    assert len(changes) == 8  # every change, undo and redo is an audited change


async def test_find_jumps_to_a_permission(app: Js7App, console: Console, root) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_role(app, pilot, "it_operator")
        await pilot.press("slash")
        await type_text(pilot, "auditlog")
        assert screen.tree.current == "sos:products:joc:auditlog"
        await pilot.press("enter")
        assert screen.tree.current == "sos:products:joc:auditlog:view"
        await pilot.press("escape", "minus")
        await settle(pilot)
        assert ("", "sos:products:joc:auditlog:view", True) in entries(console, root,
                                                                        "it_operator")


async def test_controller_section_and_folders(app: Js7App, console: Console, root) -> None:
    cancel = "sos:products:controller:orders:cancel"
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_role(app, pilot, "it_operator")
        await pilot.press("c")
        await type_text(pilot, "c1")
        await pilot.press("enter")
        await settle(pilot)
        await go_to(pilot, cancel, "sos:products:controller")
        assert screen.tree.current == cancel
        await pilot.press("minus")
        await settle(pilot)
        assert ("c1", cancel, True) in entries(console, root, "it_operator")
        await pilot.press("a", "ctrl+a", "ctrl+k")
        await type_text(pilot, "/prod")
        await pilot.press("ctrl+s")
        await settle(pilot)
        folders = console.roles.show(root, "it_operator").folders
        assert [(f.folder, f.recursive, f.controller) for f in folders] == [("/prod", True, "c1")]
        await pilot.press("tab")  # the folder list
        assert isinstance(app.focused, HouseTable)
        await pilot.press("d", "y")
        await settle(pilot)
        assert console.roles.show(root, "it_operator").folders == ()
        await pilot.press("shift+tab", "u")
        await settle(pilot)
        assert len(console.roles.show(root, "it_operator").folders) == 1


async def test_roles_list_create_move_delete(app: Js7App, console: Console, root) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("8")
        await settle(pilot)
        await pilot.press("n")
        await type_text(pilot, "auditors")
        await pilot.press("ctrl+s")
        await settle(pilot)
        names = [r.name for r in console.roles.list(root)]
        assert names[-1] == "auditors"
        await pilot.press("G", "K")
        await settle(pilot)
        names = [r.name for r in console.roles.list(root)]
        assert names[-2:] == ["auditors", names[-1]] and names[-1] != "auditors"
        await pilot.press("d", "y")
        await settle(pilot)
        assert "auditors" not in [r.name for r in console.roles.list(root)]


async def test_readonly_and_view_only_sessions_cannot_edit(console: Console, root,
                                                           env: dict[str, str]) -> None:
    from js7tui.errors import PermissionDenied
    from js7tui.tui.app import make_app
    from tests.conftest import make_account

    console.roles.create(root, "viewers")
    console.roles.set_permission(root, "viewers", "sos:products:joc:administration:accounts:view")
    viewer = make_account(console, root, "viewer", ["viewers"], password="viewer-password-1")
    before = entries(console, root, "it_operator")
    for app, account, password in [
        (make_app(console, readonly=True, env=env), "root", ROOT_PASSWORD),
        (make_app(console, env=env), "viewer", "viewer-password-1"),
    ]:
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, account, password)
            await pilot.press("8")
            await settle(pilot)
            roles_keys = {b.binding.action for b in app.screen.active_bindings.values()
                          if b.enabled}
            assert not roles_keys & {"create", "rename", "delete", "move_up", "move_down"}
            await pilot.press("slash")
            await type_text(pilot, "it_op")
            await pilot.press("enter", "enter")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, PermissionEditorScreen)
            shown = {b.binding.action for b in screen.active_bindings.values() if b.enabled}
            assert "explain" in shown and not shown & {"grant", "deny", "remove", "undo",
                                                        "add_folder"}
            await go_to(pilot, TARGET)
            await pilot.press("minus", "space", "x", "a")
            await settle(pilot)
            assert app.screen is screen  # no form opened
    assert entries(console, root, "it_operator") == before
    # The service layer refuses on its own, whatever a client shows.
    with pytest.raises(PermissionDenied):
        console.roles.set_permission(viewer, "it_operator", TARGET, excluded=True)
    assert entries(console, root, "it_operator") == before


async def test_forced_comment_goes_into_the_audit_entry(app: Js7App, console: Console,
                                                        root) -> None:
    console.settings.set(root, "force_comments_for_audit_log", True)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_role(app, pilot, "it_operator")
        await go_to(pilot, TARGET)
        await pilot.press("minus")
        await settle(pilot)
        await pilot.press("enter")  # an empty comment is refused, the dialog stays
        await settle(pilot)
        assert type(app.screen).__name__ == "CommentModal"
        await type_text(pilot, "INC-42")
        await pilot.press("enter")
        await settle(pilot)
    assert ("", TARGET, True) in entries(console, root, "it_operator")
    last = console.audit.list(root, limit=1)[0]
    assert last.request == "./iam/permissions/store" and last.comment == "INC-42"
