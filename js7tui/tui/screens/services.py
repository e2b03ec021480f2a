"""Section: Identity services (being built)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class ServicesScreen(PlaceholderScreen):
    SECTION = "services"
    TEXT = "Identity services: being built."
