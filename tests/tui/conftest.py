"""TUI fixtures: the app over a throw-away home with a frozen clock, and helpers that wait on
workers (never sleep)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from js7tui.console import Console
from js7tui.tui.app import Js7App, make_app


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private state directory (remember me) per test."""
    return {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}


@pytest.fixture
def app(console: Console, env: dict[str, str]) -> Js7App:
    return make_app(console, env=env)


async def settle(pilot: Pilot) -> None:
    """Wait until every worker finished and the messages they posted were handled."""
    app = pilot.app
    for _ in range(50):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            await pilot.pause()
            if not any(w.is_running for w in app.workers):
                return
    raise AssertionError("workers did not settle")


async def type_text(pilot: Pilot, text: str) -> None:
    """Type into the focused input as a terminal paste (one event instead of a frame per
    key; Input handles bracketed paste like typing)."""
    focused = pilot.app.focused
    if isinstance(focused, Input) and len(text) > 1:
        focused.post_message(events.Paste(text))
        await pilot.pause()
        return
    await pilot.press(*[_key(ch) for ch in text])


def _key(ch: str) -> str:
    names = {" ": "space", "-": "minus", ":": "colon", "/": "slash", "!": "exclamation_mark",
             ".": "full_stop", "_": "underscore", "@": "at", "?": "question_mark"}
    return names.get(ch, ch)


async def login(pilot: Pilot, account: str, password: str, *, remember: bool = False) -> None:
    await type_text(pilot, account)
    await pilot.press("enter")
    await type_text(pilot, password)
    if remember:
        await pilot.press("tab", "space", "shift+tab")
    await pilot.press("enter")
    await settle(pilot)
