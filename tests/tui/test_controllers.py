"""Section 2 with keys only against a real Controller and Agent (tests/estate.py): register from
the TUI, test the connection ("login ok"), list the Agents, see a dead Controller fail at TCP
without blocking, see the roles with a section for the Controller, remove with typed
confirmation. Assertions go to the store and the Controller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.demo import free_port
from js7tui.errors import NotFound
from js7tui.permissions.names import AGENTS_VIEW
from js7tui.tui.app import Js7App, make_app
from js7tui.tui.screens.controller_modals import AgentsModal, DiagnosisModal
from js7tui.tui.widgets.lists import HouseTable
from tests.conftest import ROOT_PASSWORD
from tests.estate import CONSOLE_PASSWORD, Estate, running_estate
from tests.tui.conftest import login, settle, type_text

pytestmark = pytest.mark.slow
META = AuditMeta()


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("tui-controllers")) as estate:
        role = "ops-controller-1"
        estate.console.roles.create(estate.admin, role, meta=META)
        estate.console.roles.set_permission(estate.admin, role, AGENTS_VIEW,
                                            controller="controller-1", meta=META)
        yield estate


@pytest.fixture
def app(estate: Estate, tmp_path: Path) -> Js7App:
    env = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    return make_app(estate.console, env=env)


def steps_text(app: Js7App) -> str:
    return str(app.screen.query_one("#diagnosis-steps").render())



async def register(pilot, controller_id: str, url: str, *, ca_file: str = "") -> None:
    await pilot.press("n")
    await type_text(pilot, controller_id)
    await pilot.press("tab")
    await type_text(pilot, url)
    await pilot.press("tab", "tab")                 # the hop user stays "console"
    await type_text(pilot, CONSOLE_PASSWORD)
    await pilot.press("tab", "tab")                 # the client certificate stays "console"
    if ca_file:
        await type_text(pilot, ca_file)
    await pilot.press("ctrl+s")
    await settle(pilot)


async def test_register_test_agents_and_remove(app: Js7App, estate: Estate,
                                               tmp_path: Path) -> None:
    console, admin = estate.console, estate.admin
    url = estate.servers["controller-1"].url
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("2")
        await settle(pilot)
        assert app.current_mode == "controllers"
        # a CA file that is not PEM keeps the form open with the reason
        bad = tmp_path / "not-a-ca.pem"
        bad.write_text("hello\n")
        await register(pilot, "controller-1", url, ca_file=str(bad))
        assert "holds no PEM certificate" in str(app.screen.query_one("#form-error").render())
        await pilot.press("escape")
        with pytest.raises(NotFound):
            console.controllers.show(admin, "controller-1")
        await register(pilot, "controller-1", url)
        assert console.controllers.show(admin, "controller-1").url == url
        table = app.screen.query_one("#controllers-table", HouseTable)
        assert table.current_key == "controller-1"
        # the roles panel names the role with a section for this Controller
        roles = app.screen.query_one("#controller-roles", HouseTable)
        assert roles.visible_keys == ["ops-controller-1"]
        # t: the connection test, step by step
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, DiagnosisModal)
        text = steps_text(app)
        assert "login ok as 'console'" in text and "Result: login ok" in text
        assert "DN accepted" in text and "server certificate" in text
        await pilot.press("escape")
        assert "login ok" in " ".join(str(c) for c in table.get_row("controller-1"))
        # enter: the Agents as the Controller reports them
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AgentsModal)
        agents = app.screen.query_one(HouseTable)
        assert agents.visible_keys == ["agent-1"]
        await pilot.press("escape")
        # tab to the roles panel; enter opens the role in the Roles section
        await pilot.press("tab")
        assert app.focused is roles
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "roles"
        assert app.screen.query_one("#roles-table", HouseTable).current_key == \
            "ops-controller-1"
        await pilot.press("2")
        await settle(pilot)
        # d: typed confirmation removes the registration
        await pilot.press("d")
        await type_text(pilot, "controller-1")
        await pilot.press("enter")
        await settle(pilot)
        with pytest.raises(NotFound):
            console.controllers.show(admin, "controller-1")


async def test_a_dead_controller_fails_at_tcp_without_blocking(app: Js7App,
                                                             estate: Estate) -> None:
    console, admin = estate.console, estate.admin
    console.controllers.register(admin, "dead", f"https://127.0.0.1:{free_port()}", "console",
                                 CONSOLE_PASSWORD, meta=META)
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        app.open_section("controllers", "dead")
        await settle(pilot)
        table = app.screen.query_one("#controllers-table", HouseTable)
        assert table.current_key == "dead"
        await pilot.press("t")
        await settle(pilot)
        text = steps_text(app)
        assert "FAILED" in text and "nothing listens on 127.0.0.1" in text
        assert "Result: stopped at TCP" in text
        await pilot.press("escape")
        # the Agents of a dead Controller: the reason, not a hang
        await pilot.press("a")
        await settle(pilot)
        assert "cannot reach the Controller" in str(
            app.screen.query_one("#agents-error").render())
    console.controllers.remove(admin, "dead", meta=META)
