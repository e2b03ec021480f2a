"""Section: Settings (being built)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class SettingsScreen(PlaceholderScreen):
    SECTION = "settings"
    TEXT = "Settings: being built."
