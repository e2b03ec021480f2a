"""Section: Inventory and deployments (issue 7; being built)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class InventoryScreen(PlaceholderScreen):
    SECTION = "inventory"
    TEXT = "Inventory and deployments: being built; the CLI has every action meanwhile."
