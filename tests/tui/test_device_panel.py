"""The login screen's device-flow panel: its look (snapshots, 80x24 and 120x40) and cancel.

The provider here is a double with a fixed prompt, so the snapshot does not change from run
to run; the real device flow through this screen runs against glewlwyd in
tests/oidc/test_tui_device.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.identity.providers.base import InteractionNeeded, Rejected
from js7tui.identity.sessions import Session
from js7tui.tui.app import make_app
from js7tui.tui.widgets.device_flow import DeviceFlowPanel
from tests.tui.conftest import settle, type_text
from tests.tui.test_snapshots import BIG, SMALL

PROMPT = {
    "type": "device_code", "status": "started",
    "verification_uri": "https://idp.example.test/device",
    "verification_uri_complete": "https://idp.example.test/device?user_code=WDJB-MJHT",
    "user_code": "WDJB-MJHT", "interval": 5, "expires_at": "2026-01-01T12:10:00+00:00",
    "device_handle": "not-shown-anywhere",
}


@dataclass
class FixedDeviceProvider:
    polls: list[dict] = field(default_factory=list)

    def login_methods(self, service, context):
        return ("device",)

    def authenticate(self, service, request, context):
        if request.extra.get("cancel"):
            return Rejected("cancelled at the console", public="login cancelled")
        if request.extra:
            self.polls.append(dict(request.extra))
            return InteractionNeeded({**PROMPT, "status": "waiting"},
                                     message="waiting for the confirmation")
        return InteractionNeeded(PROMPT, message="open the link and confirm WDJB-MJHT")


@pytest.fixture
def idp(console: Console, root: Session) -> FixedDeviceProvider:
    provider = FixedDeviceProvider()
    console.registry.register("OIDC", lambda: provider)
    console.identity_services.create(root, "Company SSO", "OIDC", meta=AuditMeta())
    return provider


async def panel_shown(pilot: Pilot) -> None:
    """ctrl+o, then wait for the panel (not for the workers: the polling one runs on)."""
    await settle(pilot)       # the key appears once the identity chain is loaded (warm)
    await pilot.press("ctrl+o")
    screen = pilot.app.screen
    for _ in range(100):
        await pilot.pause(0.02)
        if getattr(screen, "device", None) is not None:
            break
    else:
        raise AssertionError("the device panel did not appear")
    await pilot.pause()


def test_device_panel_80x24(snap_compare, idp, console, env) -> None:
    assert snap_compare(make_app(console, env=env), terminal_size=SMALL,
                        run_before=panel_shown)


def test_device_panel_120x40_ansi_dark(snap_compare, idp, console, env) -> None:
    app = make_app(console, env={**env, "JS7TUI_THEME": "ansi-dark"})
    assert snap_compare(app, terminal_size=BIG, run_before=panel_shown)


async def test_the_panel_shows_the_prompt_and_esc_cancels(idp, console, env) -> None:
    app = make_app(console, env=env)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        screen = app.screen
        panel = screen.query_one(DeviceFlowPanel)
        assert panel.display and not screen.query_one("#login-box").display
        shown = " ".join(str(w.render()) for w in panel.query(Static))
        assert "WDJB-MJHT" in shown and "https://idp.example.test/device" in shown
        assert "12:10:00 UTC" in shown and "not-shown-anywhere" not in shown
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.query_one("#login-device-box").display
        assert screen.query_one("#login-box").display
        assert "login cancelled" in str(screen.query_one("#login-message").render())
        assert app.current_mode == "login"


async def test_no_provider_key_without_device_services(console, env) -> None:
    app = make_app(console, env=env)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert not app.screen.query_one("#login-device-box").display
        assert app.screen.check_action("provider_login", ()) is False


async def test_an_empty_password_starts_the_device_login(idp, console, env) -> None:
    app = make_app(console, env=env)
    async with app.run_test(size=SMALL) as pilot:
        await type_text(pilot, "alice")
        await pilot.press("enter", "enter")
        screen = app.screen
        for _ in range(100):
            await pilot.pause(0.02)
            if screen.device is not None:
                break
        assert screen.device["user_code"] == "WDJB-MJHT"
        await pilot.press("escape")
        await settle(pilot)
        assert screen.device is None
