"""Section: Sessions (being built)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class SessionsScreen(PlaceholderScreen):
    SECTION = "sessions"
    TEXT = "Sessions: being built."
