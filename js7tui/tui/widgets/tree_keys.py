"""The file-manager keys of the console's trees (permissions, inventory): left closes the node
or, when it is closed, goes to its parent; right opens it."""

from __future__ import annotations

from typing import Any


class FolderKeys:
    """Mixed into a ``textual.widgets.Tree`` subclass (before ``Tree`` in the bases)."""

    cursor_node: Any   # Tree's
    move_cursor: Any   # Tree's

    def action_collapse(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    def action_expand(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand:
            node.expand()
