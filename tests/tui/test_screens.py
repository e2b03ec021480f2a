"""Pilot tests of the sections, keys only, asserting on the store through the services."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from js7tui.audit import AuditFilter, AuditMeta
from js7tui.console import Console
from js7tui.errors import PermissionDenied
from js7tui.identity.providers.base import Authenticated, InteractionNeeded, Rejected
from js7tui.identity.service_settings import Kind, SettingSpec, SettingsSchema
from js7tui.identity.sessions import Session
from js7tui.tui.app import Js7App, make_app
from js7tui.tui.widgets.keys import HelpScreen
from js7tui.tui.widgets.lists import HouseTable
from tests.conftest import ROOT_PASSWORD, make_account
from tests.tui.conftest import login, settle, type_text

pytestmark = pytest.mark.usefixtures("root")


async def open_as_root(pilot, section: str) -> None:
    await login(pilot, "root", ROOT_PASSWORD)
    await pilot.press(section)
    await settle(pilot)


def table(app: Js7App) -> HouseTable:
    return app.screen.query_one(HouseTable)


async def test_reorder_toggle_and_delete_identity_services(app: Js7App, console: Console,
                                                           root: Session) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_as_root(pilot, "6")
        assert app.current_mode == "services"
        await pilot.press("n")
        await type_text(pilot, "SECOND")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [s.name for s in console.identity_services.list(root)] == [
            "JOC-INITIAL", "SECOND"]
        # the cursor is on SECOND: move it up with K, then down again with shift+down
        assert table(app).current_key == "SECOND"
        await pilot.press("K")
        await settle(pilot)
        assert [s.name for s in console.identity_services.list(root)] == [
            "SECOND", "JOC-INITIAL"]
        await pilot.press("shift+down")
        await settle(pilot)
        assert [s.name for s in console.identity_services.list(root)] == [
            "JOC-INITIAL", "SECOND"]
        # required while enabled would lock everybody out (nobody has an account there):
        # refused by the service, said in words, store unchanged
        await pilot.press("o")
        await settle(pilot)
        assert not console.identity_services.show(root, "SECOND").required
        assert any("no enabled account could manage accounts" in str(n.message)
                   for n in app._notifications)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        second = console.identity_services.show(root, "SECOND")
        assert second.required and second.disabled
        # delete: a wrong name changes nothing, the right one deletes
        await pilot.press("d")
        await type_text(pilot, "SECON")
        await pilot.press("enter")
        assert "not 'SECOND'" in str(app.screen.query_one("#typed-error").render())
        await type_text(pilot, "D")
        await pilot.press("enter")
        await settle(pilot)
        assert [s.name for s in console.identity_services.list(root)] == ["JOC-INITIAL"]


def register_test_type(console: Console, outcome) -> None:
    """A second provider type with settings: an LDAP stand-in whose answer the test picks."""
    schema = SettingsSchema((
        SettingSpec("server", Kind.TEXT, "Directory URL", required=True,
                    example="ldaps://127.0.0.1:6636"),
        SettingSpec("timeout", Kind.DURATION, "Connect timeout", default=5),
        SettingSpec("start_tls", Kind.BOOL, "Use StartTLS", default=False),
        SettingSpec("bind_password", Kind.SECRET, "Password of the bind account"),
    ))

    class Provider:
        def authenticate(self, service, request, context):
            return outcome(request)

    console.registry.register("LDAP", Provider, schema)


async def test_settings_form_built_from_the_type_schema(app: Js7App, console: Console,
                                                        root: Session) -> None:
    register_test_type(console, lambda request: Rejected("no"))
    console.identity_services.create(root, "DIRECTORY", "LDAP")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_as_root(pilot, "6")
        await pilot.press("j", "e")
        await settle(pilot)
        assert type(app.screen).__name__ == "FormModal"
        await type_text(pilot, "ldaps://dir.example:636")   # server
        await pilot.press("tab")
        await type_text(pilot, "10s")                        # timeout
        await pilot.press("tab", "space")                    # start_tls on
        await pilot.press("tab")
        await type_text(pilot, "s3cret")                     # bind_password
        await pilot.press("ctrl+s")
        await settle(pilot)
    views = {v.spec.key: v for v in console.identity_services.settings(root, "DIRECTORY")}
    assert views["server"].value == "ldaps://dir.example:636"
    assert views["timeout"].value == 10
    assert views["start_tls"].value is True
    assert views["bind_password"].shown == "(set)"
    entry = console.audit.list(root, AuditFilter(), limit=1)[0]
    assert "s3cret" not in str(entry.content())


async def test_create_account_with_role_then_disable_and_block(app: Js7App, console: Console,
                                                               root: Session) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_as_root(pilot, "7")
        assert app.current_mode == "accounts"
        await pilot.press("n")
        await type_text(pilot, "alice")
        await pilot.press("tab", "tab")            # e-mail, password (empty: initial)
        await pilot.press("tab")                   # roles checklist
        roles = [r.name for r in console.roles.list(root)]
        for _ in range(roles.index("it_operator")):
            await pilot.press("down")
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        alice = console.accounts.show(root, "alice")
        assert alice.roles == ("it_operator",)
        assert alice.force_password_change
        assert table(app).current_key == "alice"
        await pilot.press("x", "y")
        await settle(pilot)
        assert console.accounts.show(root, "alice").disabled
        await pilot.press("b")
        await type_text(pilot, "left the team")
        await pilot.press("enter")
        await settle(pilot)
        assert console.accounts.show(root, "alice").block_comment == "left the team"
        assert "blocked" in str(table(app).get_row("alice")[2])


async def test_forced_comments_are_asked_and_audited(app: Js7App, console: Console,
                                                     root: Session) -> None:
    console.accounts.create(root, "bob")
    console.settings.set(root, "force_comments_for_audit_log", "true",
                         meta=AuditMeta(comment="test"))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_as_root(pilot, "7")
        assert table(app).current_key == "bob"
        await pilot.press("f", "y")
        assert type(app.screen).__name__ == "CommentModal"
        await pilot.press("enter")               # empty: refused in the dialog
        assert type(app.screen).__name__ == "CommentModal"
        await type_text(pilot, "rotation")
        await pilot.press("enter")
        await settle(pilot)
    entry = console.audit.list(root, AuditFilter(), limit=1)[0]
    assert entry.request == "./iam/accounts/forcepasswordchange"
    assert entry.comment == "rotation"


async def test_readonly_hides_changes(console: Console, env: dict[str, str],
                                      root: Session) -> None:
    app = make_app(console, readonly=True, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_as_root(pilot, "7")
        bindings = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "new" not in bindings and "delete" not in bindings
        await pilot.press("n", "d", "x")
        await settle(pilot)
        assert app.screen is not None and type(app.screen).__name__ == "AccountsScreen"
    assert [a.name for a in console.accounts.list(root)] == ["root"]
    assert not console.accounts.show(root, "root").disabled


async def test_missing_permission_hides_keys_and_service_refuses(
        app: Js7App, console: Console, root: Session) -> None:
    viewer = make_account(console, root, "viewer", ["api_user"])
    console.roles.set_permission(root, "api_user",
                                 "sos:products:joc:administration:accounts:view")
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "viewer", "a-good-password-42")
        await pilot.press("7")
        await settle(pilot)
        assert app.current_mode == "accounts"
        enabled = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "new" not in enabled and "toggle_disabled" not in enabled
        await pilot.press("2")                       # controllers: not permitted, stays
        assert app.current_mode == "accounts"
    with pytest.raises(PermissionDenied):
        console.accounts.create(viewer, "mallory")


async def test_sessions_cancel_and_settings_edit(app: Js7App, console: Console,
                                                 root: Session) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_as_root(pilot, "0")
        keys = table(app).visible_keys
        assert str(root.id) in keys
        await pilot.press("slash")
        await type_text(pilot, "tui:")          # the console's own session...
        await pilot.press("enter")
        assert table(app).visible_keys == [str(app.ctx.session.id)]
        await pilot.press("exclamation_mark")   # ...inverted: the other one
        assert table(app).visible_keys == [str(root.id)]
        await pilot.press("d", "y")
        await settle(pilot)
        assert root.id not in [s.id for s in console.sessions.list(app.ctx.session)]
        await pilot.press("6", "s")
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "minimum")
        await pilot.press("enter", "e")
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "16")
        await pilot.press("enter")
        await settle(pilot)
    assert console.settings.show(app.ctx.session or root)["minimum_password_length"] == "16"


async def test_remember_me_skips_the_form_until_logout(console: Console, env: dict[str, str],
                                                       tmp_path: Path) -> None:
    app = make_app(console, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD, remember=True)
        assert app.current_mode == "dashboard"
    files = list((tmp_path / "state" / "js7tui" / "sessions").glob("console-*.json"))
    assert len(files) == 1 and oct(files[0].stat().st_mode & 0o777) == "0o600"
    token = app.ctx.session.token if app.ctx.session else None
    again = make_app(console, env=env)
    async with again.run_test(size=(120, 40)) as pilot:
        login_screen = again.login_screen
        assert not login_screen.query_one("#login-box").display     # never the form
        await settle(pilot)
        assert again.current_mode == "dashboard"
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert again.current_mode == "login"
        assert again.screen.query_one("#login-box").display
    assert not files[0].exists()
    assert token and not console.sessions.logout(token)   # already invalid


async def test_interaction_panel_and_resubmit(app: Js7App, console: Console,
                                              root: Session) -> None:
    def device_flow(request):
        if "interaction" not in request.extra:
            return InteractionNeeded({"verification_uri": "https://idp.example/device",
                                      "user_code": "WDJB-MJHT"},
                                     message="enter the code at the provider")
        return Authenticated(request.account, roles=("all",))

    register_test_type(console, device_flow)
    console.identity_services.create(root, "IDP", "LDAP", settings={"server": "x"})
    console.roles.create(root, "all", service="IDP")  # the provider's role: controller:view
    console.identity_services.reorder(root, ["IDP"])
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "carol", "")
        panel = app.screen.query_one("#login-interaction")
        assert panel.display
        assert "WDJB-MJHT" in str(app.screen.query_one("#login-interaction-text").render())
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.current_mode == "dashboard"
        assert app.ctx.session is not None and app.ctx.session.account == "carol"


async def test_palette_and_help(app: Js7App) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("colon")
        await type_text(pilot, "sessions")
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "sessions"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)


async def test_edit_saves_email_and_roles_in_one_entry_and_w_explains(
        app: Js7App, console: Console, root: Session) -> None:
    console.accounts.create(root, "bob")
    roles = [r.name for r in console.roles.list(root)]
    before = console.audit.list(root, AuditFilter(), limit=1)[0].id
    async with app.run_test(size=(120, 40)) as pilot:
        await open_as_root(pilot, "7")
        assert table(app).current_key == "bob"
        await pilot.press("e")
        await settle(pilot)
        await type_text(pilot, "bob@example.test")
        await pilot.press("tab", "space", "ctrl+s")      # the first role in the checklist
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert type(app.screen).__name__ == "EffectivePermissionsScreen"
        assert app.screen.account == "bob"
        assert "bob" in str(app.screen.query_one("#effective-title").render())
    bob = console.accounts.show(root, "bob")
    assert bob.email == "bob@example.test" and list(bob.roles) == roles[:1]
    stores = [e for e in console.audit.list(root, AuditFilter(), limit=50)
              if e.id > before and e.request == "./iam/account/store"]
    assert len(stores) == 1                                  # one entry, not two
    assert json.loads(stores[0].parameters) == {
        "identityServiceName": "JOC-INITIAL", "accountName": "bob",
        "email": "bob@example.test", "roles": roles[:1]}
