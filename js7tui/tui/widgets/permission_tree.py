"""The permission catalogue as a tree, each node with a mark, its description and, for an
inherited or overruled state, where it comes from.

The tree is built once from the catalogue (about eighty nodes, all expanded); a change only
relabels the nodes. Space, ``-`` and the other editing keys belong to the screen, so this tree
drops Tree's own space binding (``inherit_bindings=False``) and keeps the moving keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from js7tui.permissions import catalogue
from js7tui.tui.permission_marks import NodeMark
from js7tui.tui.widgets.tree_keys import FolderKeys

MarkOf = Callable[[str], NodeMark]


class PermissionTree(FolderKeys, Tree[str], inherit_bindings=False):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="tree.down",
                tooltip="Next permission"),
        Binding("up,k", "cursor_up", "Up", show=False, id="tree.up",
                tooltip="Previous permission"),
        Binding("enter", "select_cursor", "Select", show=False, id="tree.select",
                tooltip="Select the permission"),
        Binding("left,h", "collapse", "Collapse", show=False, id="tree.collapse",
                tooltip="Collapse this node, or go to its parent"),
        Binding("right,l", "expand", "Expand", show=False, id="tree.expand",
                tooltip="Expand this node"),
        Binding("g,home", "scroll_home", "First", show=False, id="tree.first",
                tooltip="The first permission"),
        Binding("G,end", "scroll_end", "Last", show=False, id="tree.last",
                tooltip="The last permission"),
        Binding("pagedown", "page_down", "Page down", show=False, id="tree.page_down",
                tooltip="One screen down"),
        Binding("pageup", "page_up", "Page up", show=False, id="tree.page_up",
                tooltip="One screen up"),
    ]
    HELP = ("The permission tree. Marks: **+** granted, **-** denied, **~** inherited, blank: "
            "none. **j/k** move, **h/l** collapse/expand.")

    def __init__(self, root: str, mark_of: MarkOf, *, id: str | None = None) -> None:
        self.root_name = root
        self.mark_of = mark_of
        self.by_name: dict[str, TreeNode[str]] = {}
        super().__init__(self._label(root), data=root, id=id)
        self.guide_depth = 2
        self.show_root = True
        self._add_catalogue(self.root, root)
        self.root.expand_all()

    def _add_catalogue(self, node: TreeNode[str], name: str) -> None:
        self.by_name[name] = node
        for child in catalogue().nodes[name].children:
            if catalogue().nodes[child].is_leaf:
                self.by_name[child] = node.add_leaf(self._label(child), data=child)
            else:
                self._add_catalogue(node.add(self._label(child), data=child), child)

    def _label(self, name: str) -> Text:
        node = catalogue().nodes[name]
        mark = self.mark_of(name)
        label = node.name if name == self.root_name else node.label
        text = Text(f"[{mark.mark}] ")
        text.append(label, style="bold" if mark.own else "")
        text.append(f"  {node.description}", style="dim")
        if mark.note:
            text.append(f"  ({mark.note})", style="italic")
        return text

    def show_root_name(self, root: str, mark_of: MarkOf) -> None:
        """Show another subtree (a Controller section shows only Controller permissions)."""
        self.root_name = root
        self.mark_of = mark_of
        self.by_name = {}
        self.reset(self._label(root), root)
        self._add_catalogue(self.root, root)
        self.root.expand_all()
        self.cursor_line = 0

    def relabel(self, mark_of: MarkOf | None = None) -> None:
        if mark_of is not None:
            self.mark_of = mark_of
        for name, node in self.by_name.items():
            node.set_label(self._label(name))

    @property
    def current(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def select_name(self, name: str) -> None:
        node = self.by_name.get(name)
        if node is not None:
            self.move_cursor(node)

    def find(self, text: str, after: str | None = None) -> str | None:
        """The next permission (in tree order, after ``after``, wrapping) whose name or
        description contains ``text`` (any case)."""
        needle = text.strip().lower()
        if not needle:
            return None
        names = list(self.by_name)
        start = names.index(after) + 1 if after in names else 0
        for name in names[start:] + names[:start]:
            node = catalogue().nodes[name]
            if needle in name.lower() or needle in node.description.lower():
                return name
        return None
