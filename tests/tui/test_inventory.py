"""Pilot tests of section 3 (inventory, deployments), keys only, asserting on the store.

The store-only tests run on the fast ``console`` fixture; the estate tests (``slow``) deploy to a
real Controller and Agent from the TUI, run an order, revoke, and import-deploy an archive
signed with the openssl CLI at HIGH (and refuse a tampered one)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from textual.widgets import Static

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.identity.sessions import Session
from js7tui.inventory import ObjectType
from js7tui.tui.app import Js7App, make_app
from js7tui.tui.screens.inventory import InventoryScreen
from js7tui.tui.widgets.deploy_modals import SchemaErrorModal, TextModal
from tests.conftest import ROOT_PASSWORD
from tests.inventory_fixtures import jobresource, text, workflow
from tests.tui.conftest import login, settle, type_text

META = AuditMeta()


def seed(console: Console, root: Session) -> None:
    inventory = console.inventory
    inventory.create_folder(root, "/app/batch", meta=META)
    inventory.create_folder(root, "/ops", meta=META)
    inventory.create(root, ObjectType.WORKFLOW, "/app/hello", text(workflow()), meta=META)
    inventory.create(root, ObjectType.JOBRESOURCE, "/app/mail", text(jobresource()),
                     meta=META)
    inventory.create(root, ObjectType.WORKFLOW, "/app/batch/nightly",
                     text(workflow("night")), meta=META)


def screen(app: Js7App) -> InventoryScreen:
    found = app.screen
    assert isinstance(found, InventoryScreen), found
    return found


def detail(app: Js7App) -> str:
    return str(app.screen.query_one("#inv-meta", Static).render())


async def open_inventory(pilot, item: str | None = None) -> None:  # type: ignore[no-untyped-def]
    await login(pilot, "root", ROOT_PASSWORD)
    await pilot.press("3")
    await settle(pilot)
    if item is not None:
        screen(pilot.app).select_item(item)
        await settle(pilot)


def editor(tmp_path: Path, name: str, sed: str) -> str:
    """An $EDITOR that rewrites the file with sed (what an administrator's edit would do)."""
    return f"sed -i {shlex.quote(sed)}"


@pytest.fixture
def seeded(console: Console, root: Session) -> Console:
    seed(console, root)
    return console


async def test_tree_loads_folders_lazily_and_shows_the_object(
        seeded: Console, env: dict[str, str]) -> None:
    app = make_app(seeded, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_inventory(pilot)
        tree = screen(app).tree
        assert [c.data.path for c in tree.root.children] == ["/app", "/ops"]
        app_node = tree.root.children[0]
        assert app_node.children == [] or not app_node.data.loaded  # not read until opened
        await pilot.press("down", "right")
        await settle(pilot)
        assert [c.data.path for c in app_node.children] == [
            "/app/batch", "/app/hello", "/app/mail"]
        await pilot.press("down", "down")
        await settle(pilot)
        assert "workflow /app/hello   state: draft" in detail(app)
        assert "deployed on no Controller" in detail(app)
        status = screen(app).status
        assert status is not None and '"agentPath": "agent-1"' in status.obj.text()


async def test_select_item_opens_the_way_to_a_deep_object(seeded: Console,
                                                          env: dict[str, str]) -> None:
    app = make_app(seeded, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        app.open_section("inventory", "/app/batch/nightly")
        await settle(pilot)
        assert screen(app).current.path == "/app/batch/nightly"
        assert "workflow /app/batch/nightly" in detail(app)


async def test_edit_in_editor_saves_and_a_schema_error_names_the_field(
        seeded: Console, root: Session, env: dict[str, str], tmp_path: Path) -> None:
    env["EDITOR"] = editor(tmp_path, "ok", "s/echo hello/echo edited/")
    app = make_app(seeded, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_inventory(pilot, "/app/hello")
        await pilot.press("e")
        await settle(pilot)
        obj = seeded.inventory.get(root, "/app/hello")
        assert obj.revision == 2, [n.message for n in app._notifications]
        assert "echo edited" in obj.content["jobs"]["hello"]["executable"]["script"]
        assert "revision 2" in detail(app)

        env["EDITOR"] = editor(tmp_path, "bad", 's/"agent-1"/"no agent"/')
        await pilot.press("e")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, SchemaErrorModal)
        errors = str(modal.query_one("#schema-errors", Static).render())
        assert "/jobs/hello/agentPath" in errors and "is not a valid Agent name" in errors
        assert seeded.inventory.get(root, "/app/hello").revision == 2  # nothing saved
        # edit again: this editor repairs the field, starting from what was written
        env["EDITOR"] = editor(tmp_path, "fix", 's/"no agent"/"agent-2"/')
        await pilot.press("e")
        await settle(pilot)
        obj = seeded.inventory.get(root, "/app/hello")
        assert obj.revision == 3 and obj.content["jobs"]["hello"]["agentPath"] == "agent-2"
        assert "echo edited" in obj.content["jobs"]["hello"]["executable"]["script"]


async def test_new_folder_new_object_rename_and_delete(
        seeded: Console, root: Session, env: dict[str, str], tmp_path: Path) -> None:
    env["EDITOR"] = "true"   # keeps the template as it is
    app = make_app(seeded, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_inventory(pilot, "/ops")
        await pilot.press("N")
        await type_text(pilot, "/ops/daily")
        await pilot.press("enter")
        await settle(pilot)
        assert [f.path for f in seeded.inventory.folders(root, "/ops")] == ["/ops",
                                                                           "/ops/daily"]
        assert screen(app).current.path == "/ops/daily"
        await pilot.press("n")
        await pilot.press("tab")
        await type_text(pilot, "report")
        await pilot.press("ctrl+s")
        await settle(pilot)
        made = seeded.inventory.get(root, "/ops/daily/report")
        assert made.object_type is ObjectType.WORKFLOW and made.revision == 1
        assert screen(app).current.path == "/ops/daily/report"
        await pilot.press("R")
        await pilot.press("ctrl+a")  # not needed by Input; the value is replaced by paste
        app.focused.value = ""  # type: ignore[union-attr]
        await type_text(pilot, "/ops/summary")
        await pilot.press("enter")
        await settle(pilot)
        moved = seeded.inventory.get(root, "/ops/summary")
        assert moved.id == made.id
        assert screen(app).current.path == "/ops/summary"
        await pilot.press("d", "y")
        await settle(pilot)
        assert [o.name for o in seeded.inventory.list(root, "/ops")] == []


async def test_readonly_and_high_level_keys(seeded: Console, env: dict[str, str]) -> None:
    app = make_app(seeded, env=env, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_inventory(pilot, "/app/hello")
        inv = screen(app)
        for action in ("edit", "deploy", "revoke", "delete", "new", "export"):
            assert not inv.check_action(action, ()), action
        assert inv.check_action("history", ()) and inv.check_action("keys", ())
    with seeded.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = 'HIGH' WHERE id = 1")
    app = make_app(seeded, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_inventory(pilot, "/app/hello")
        inv = screen(app)
        assert not inv.check_action("deploy", ())
        assert inv.check_action("export", ()) and inv.check_action("import_deploy", ())


async def test_export_for_signing_writes_the_archive(
        seeded: Console, env: dict[str, str], tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with seeded.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = 'HIGH' WHERE id = 1")
    monkeypatch.chdir(tmp_path)
    app = make_app(seeded, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_inventory(pilot, "/app")
        await pilot.press("x")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TextModal)
        body = str(app.screen.query_one("#text-body", Static).render())
        assert "3 object(s) written to app.zip" in body
    import zipfile
    with zipfile.ZipFile(tmp_path / "app.zip") as archive:
        assert "app/hello.workflow.json" in archive.namelist()
        data = json.loads(archive.read("app/hello.workflow.json"))
        assert data["path"] == "hello"


async def test_folder_permissions_shape_the_tree(seeded: Console, root: Session,
                                                 env: dict[str, str]) -> None:
    from js7tui.permissions.names import INVENTORY_VIEW
    from tests.inventory_fixtures import folder_account
    folder_account(seeded, root, "batcher", ["/app/batch"], (INVENTORY_VIEW,))
    app = make_app(seeded, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "batcher", "a-good-password-42")
        await pilot.press("3")
        await settle(pilot)
        tree = screen(app).tree
        assert [(c.data.path, c.data.permitted) for c in tree.root.children] == [
            ("/app", False)]
        await pilot.press("down")
        await settle(pilot)
        assert "navigation only" in detail(app)
        await pilot.press("right")
        await settle(pilot)
        assert [c.data.path for c in tree.root.children[0].children] == ["/app/batch"]
        inv = screen(app)
        assert not inv.check_action("edit", ()) and not inv.check_action("deploy", ())
        assert not inv.check_action("history", ())


async def test_history_and_keys_screens_open_and_close(seeded: Console,
                                                       env: dict[str, str]) -> None:
    from js7tui.tui.screens.deployments import DeploymentsScreen
    from js7tui.tui.screens.signing_profile import SigningProfileScreen
    app = make_app(seeded, env=env)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_inventory(pilot, "/app/hello")
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, DeploymentsScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, SigningProfileScreen)
        assert "security level LOW" in str(app.screen.query_one("#signing-level",
                                                                Static).render())
        assert "no signing key yet" in str(app.screen.query_one("#signing-state",
                                                                Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InventoryScreen)


async def test_the_archive_path_completes_from_the_file_system(tmp_path: Path) -> None:
    from js7tui.tui.widgets.deploy_modals import PathSuggester
    (tmp_path / "signed-7.zip").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden.zip").write_bytes(b"")
    suggest = PathSuggester().get_suggestion
    assert await suggest(f"{tmp_path}/si") == f"{tmp_path}/signed-7.zip"
    assert await suggest(f"{tmp_path}/su") == f"{tmp_path}/sub/"
    assert await suggest(f"{tmp_path}/.h") is None
    assert await suggest(f"{tmp_path}/nothing") is None


async def test_encrypt_a_job_resource_variable_in_place(
        seeded: Console, root: Session, env: dict[str, str]) -> None:
    """Issue 21: E on a job resource encrypts one of its variables for an alias; the form says
    which Agents can read it; the store holds the encrypted value only."""
    from textual.widgets import Input

    from js7tui.encipherment import envelope
    from js7tui.pki.keys import KeyType
    from js7tui.tui.widgets.modals import FormModal
    seeded.certificates.create_ca(root, KeyType.EC_P256, meta=META)
    seeded.encipherment.issue(root, "enc-a1", agents=["agent-1", "agent-2"], meta=META)
    secret = "tui-secret-Value-42"
    app = make_app(seeded, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_inventory(pilot, "/app/mail")
        await pilot.press("E")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, FormModal)
        assert "enc-a1: agent-1, agent-2" in modal.note
        field = next(w for w in modal.query(Input) if w.password)
        field.focus()
        await type_text(pilot, secret)
        await pilot.press("ctrl+s")
        await settle(pilot)
    obj = seeded.inventory.get(root, "/app/mail")
    value = obj.content["variables"]["host"].strip("'")
    assert envelope.kind_of(value) == "js7tui" and obj.revision == 2
    rows = seeded.store.conn.execute("SELECT content FROM inventory_objects").fetchall()
    assert not any(secret in r[0] for r in rows)
    audit = seeded.store.conn.execute("SELECT request, parameters FROM audit_log").fetchall()
    assert "./encipherment/encrypt" in [r[0] for r in audit]
    assert not any(secret in (r[1] or "") for r in audit)
