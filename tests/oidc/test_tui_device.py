"""The console's login screen through a real device flow: ctrl+o shows the panel, the test
approves the code at glewlwyd as the user would, and the console logs in by polling."""

from __future__ import annotations

import asyncio
from pathlib import Path

from js7tui.audit import AuditMeta
from js7tui.tui.app import make_app
from tests.oidc.conftest import add_oidc_service


async def wait_for(pilot, condition, what: str, seconds: float = 15) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


async def test_device_login_in_the_console(console, root, glewlwyd, tmp_path: Path) -> None:
    add_oidc_service(console, root, glewlwyd,
                     group_roles={"scheduler-admins": ["administrator"]})
    console.roles.create(root, "administrator", service="IDP", meta=AuditMeta())
    console.roles.set_permission(root, "administrator", "sos:products", service="IDP",
                                 meta=AuditMeta())
    app = make_app(console, env={"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)})
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()  # ctrl+o appears once the chain is loaded
        await pilot.pause()
        await pilot.press("ctrl+o")
        screen = app.screen
        await wait_for(pilot, lambda: screen.device is not None, "the device panel")
        assert screen.device["verification_uri"] == f"{glewlwyd.issuer()}/device"
        await asyncio.to_thread(glewlwyd.approve, "alice", screen.device["user_code"])
        await wait_for(pilot, lambda: app.current_mode != "login", "the login")
        assert app.ctx.session.account == "alice"
        assert app.ctx.session.services == ("IDP",)
