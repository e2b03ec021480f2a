"""Section: Accounts (being built)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class AccountsScreen(PlaceholderScreen):
    SECTION = "accounts"
    TEXT = "Accounts: being built."
