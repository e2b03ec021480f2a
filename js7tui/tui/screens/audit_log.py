"""Section 5: the audit log viewer (placeholder; built on branch tui-b)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class AuditLogScreen(PlaceholderScreen):
    SECTION = "audit"
    TEXT = "The audit log viewer comes here (use 'js7tui audit list' meanwhile)."
