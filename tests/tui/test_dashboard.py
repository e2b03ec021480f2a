"""Section 1 against a real Controller and Agent (tests/estate.py): the running Controller is
reachable with mutual TLS and its Agent, a dead one says why without holding up the rest, a
certificate issued for 10 days, a failed login and a refused deployment show; enter opens the
Controller's and the audit entry's sections; a narrow account sees "not permitted"."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.demo import free_port
from js7tui.permissions.names import CONTROLLERS_VIEW
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.profiles import Purpose
from js7tui.tui.app import Js7App, make_app
from js7tui.tui.screens.dashboard import DashboardScreen
from js7tui.tui.widgets.lists import HouseTable
from tests.conftest import ROOT_PASSWORD
from tests.dashboard_fixtures import fail_a_login, refuse_a_deployment
from tests.estate import CONSOLE_PASSWORD, Estate, running_estate
from tests.inventory_fixtures import folder_account
from tests.tui.conftest import login, settle, type_text

pytestmark = pytest.mark.slow
META = AuditMeta()



@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("tui-dashboard")) as estate:
        console, admin = estate.console, estate.admin
        estate.register(dead="controller-dead", dead_url=f"https://127.0.0.1:{free_port()}")
        console.certificates.issue(admin, IssueRequest(Purpose.AGENT, "agent-soon", days=10))
        fail_a_login(console, "mallory")
        refuse_a_deployment(console, admin, "controller-1", account="peeker")
        yield estate


@pytest.fixture
def app(estate: Estate, tmp_path: Path) -> Js7App:
    env = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    return make_app(estate.console, env=env)


def rows(app: Js7App, table_id: str) -> dict[str, str]:
    table = app.screen.query_one(f"#{table_id}", HouseTable)
    return {key: " | ".join(str(c) for c in table.get_row(key)) for key in table.visible_keys}


def text(app: Js7App, widget_id: str) -> str:
    return str(app.screen.query_one(f"#{widget_id}").render())


async def test_dashboard_shows_what_needs_attention(app: Js7App, estate: Estate) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        assert isinstance(app.screen, DashboardScreen)
        await settle(pilot)
        controllers = rows(app, "dash-controllers")
        assert controllers["controller-1"].startswith(
            "controller-1 | reachable | mutual TLS on, ")
        assert controllers["controller-1"].endswith("| 1 (1 connected) | 0")
        assert controllers["controller-dead"].startswith(
            "controller-dead | unreachable: TCP: nothing listens on 127.0.0")
        assert "1 registered" not in text(app, "controllers-title")
        assert "2 registered, 1 reachable" in text(app, "controllers-title")
        certs = rows(app, "dash-certs")
        soon = [row for row in certs.values() if row.startswith("agent-soon")]
        assert soon == ["agent-soon | agent | - | 9 days left"]
        events = rows(app, "dash-events")
        assert any("failed login | mallory" in row for row in events.values())
        assert any("refused deployment | peeker | permission denied" in row
                   for row in events.values())
        assert "1 failed login, 1 refused deployment" in text(app, "events-title")
        assert "security level [b]LOW" not in text(app, "dashboard-head")  # markup rendered
        assert "security level LOW" in text(app, "dashboard-head")
        # enter on a Controller opens it in section 2
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "controllers"
        assert app.screen.query_one("#controllers-table", HouseTable).current_key == \
            "controller-1"
        # back to the dashboard; enter on the failed login opens the audit log on it
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("tab", "tab")
        events_table = app.screen.query_one("#dash-events", HouseTable)
        assert app.focused is events_table
        entry_id = int(str(events_table.current_key).lstrip("#"))
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "audit"
        assert app.screen.view.current.id == entry_id  # type: ignore[attr-defined]


async def test_parts_not_permitted_say_so(app: Js7App, estate: Estate) -> None:
    folder_account(estate.console, estate.admin, "watcher", [], (CONTROLLERS_VIEW,))
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "watcher", "a-good-password-42")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert "not permitted" in text(app, "certs-title")
        assert "not permitted" in text(app, "events-title")
        assert "not permitted" in text(app, "latest-title")
        controllers = rows(app, "dash-controllers")
        assert controllers["controller-1"].endswith("| not permitted | 0")


async def test_a_hanging_controller_blocks_nothing(app: Js7App, estate: Estate) -> None:
    """A port that accepts TCP but never answers TLS: the probe waits for its timeout in its
    worker while the other panels fill and keys switch sections."""
    console, admin = estate.console, estate.admin
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)                   # the kernel completes TCP; nobody ever speaks
        port = silent.getsockname()[1]
        console.controllers.register(admin, "controller-hangs", f"https://127.0.0.1:{port}",
                                     "console", CONSOLE_PASSWORD, meta=META)
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                # log in without waiting for the workers (conftest.login settles)
                await type_text(pilot, "root")
                await pilot.press("enter")
                await type_text(pilot, ROOT_PASSWORD)
                await pilot.press("enter")
                for _ in range(200):
                    if "controller-1" in rows(app, "dash-controllers") and \
                            "reachable" in rows(app, "dash-controllers")["controller-1"]:
                        break
                    await pilot.pause(0.02)
                shown = rows(app, "dash-controllers")
                assert shown["controller-hangs"].startswith("controller-hangs | checking...")
                assert shown["controller-1"].startswith("controller-1 | reachable")
                assert any(r.startswith("agent-soon") for r in rows(app, "dash-certs").values())
                await pilot.press("2")
                await pilot.pause()
                assert app.current_mode == "controllers"
                await pilot.press("1")
                await settle(pilot)
                hangs = rows(app, "dash-controllers")["controller-hangs"]
                assert "unreachable: TLS handshake: 127.0.0.1 accepte..." in hangs
        finally:
            console.controllers.remove(admin, "controller-hangs", meta=META)
