"""Section 4: roles and the permission tree (placeholder; built on branch tui-b)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class RolesScreen(PlaceholderScreen):
    SECTION = "roles"
    TEXT = "Roles and the permission tree editor come here (use 'js7tui role ...' meanwhile)."
