"""Section: Orders and job logs (issue 7; being built)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class OrdersScreen(PlaceholderScreen):
    SECTION = "orders"
    TEXT = "Orders and job logs: this section is being built; the CLI has every action meanwhile."
