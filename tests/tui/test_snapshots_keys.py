"""Snapshots of the screens issue 18 changed, at 80x24 and 100x30: the help panel (the
screen's own keys first), the footers that fold into ?, the permission tree, the login form
and the "resuming" line of a remembered session."""

from __future__ import annotations

import pytest

from js7tui.console import Console
from js7tui.identity.sessions import Session
from js7tui.tui.app import make_app
from tests.tui.test_snapshots import as_root, keys, seeded, steps  # noqa: F401 (fixture)

SIZES = [(80, 24), (100, 30)]
IDS = ["80x24", "100x30"]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_inventory_help(snap_compare, seeded: Console, env, size) -> None:  # noqa: F811
    assert snap_compare(make_app(seeded, env=env), terminal_size=size,
                        run_before=steps(as_root, keys("3"), keys("question_mark")))


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_accounts_footer(snap_compare, seeded: Console, env, size) -> None:  # noqa: F811
    assert snap_compare(make_app(seeded, env=env), terminal_size=size,
                        run_before=steps(as_root, keys("7")))


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_permission_tree(snap_compare, seeded: Console, env, size) -> None:  # noqa: F811
    assert snap_compare(make_app(seeded, env=env), terminal_size=size,
                        run_before=steps(as_root, keys("8"), keys("j", "enter"),
                                         keys("j", "j")))


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_login(snap_compare, console: Console, env, size) -> None:
    assert snap_compare(make_app(console, env=env), terminal_size=size, run_before=steps())


def test_resuming_a_remembered_session_80x24(snap_compare, console: Console, root: Session,
                                             env, tmp_path) -> None:
    """The first frame of a start that resumes: no form (the home opens in a worker that is
    held back here, so the frame is the one an administrator sees first)."""
    import threading

    from js7tui import remember
    assert console.home is not None and root.token
    remember.remember_console(env, console.home.root, console.installation_id,
                              account="root", token=root.token)
    gate = threading.Event()

    def opener() -> Console:
        gate.wait(30)
        return console

    app = make_app(env=env, opener=opener, home=console.home.root)

    async def first_frame(pilot) -> None:
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=first_frame)
    finally:
        gate.set()
