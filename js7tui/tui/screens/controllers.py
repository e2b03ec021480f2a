"""Section: Controllers and Agents (issue 7; being built)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class ControllersScreen(PlaceholderScreen):
    SECTION = "controllers"
    TEXT = "Controllers and Agents: being built; the CLI has every action meanwhile."
