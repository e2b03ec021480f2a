"""The inventory's folder tree: folders load their children only when opened (the read runs in
the screen's worker); objects are leaves labelled with their type in words.

A node's ``data`` is an :class:`Entry`. What the session may not see never reaches the tree:
the inventory service leaves it out (folder permissions), and a folder shown only because a
permitted one lies below it says "navigation only".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from js7tui.inventory import FolderView, InventoryObject, ObjectType
from js7tui.tui.widgets.tree_keys import FolderKeys


@dataclass
class Entry:
    """A folder (``object_type`` None) or an object of the tree."""

    path: str
    object_type: ObjectType | None = None
    permitted: bool = True
    loaded: bool = False

    @property
    def is_folder(self) -> bool:
        return self.object_type is None

    @property
    def folder(self) -> str:
        """The folder itself, or the folder an object lies in."""
        if self.is_folder:
            return self.path
        return self.path.rsplit("/", 1)[0] or "/"

    @property
    def selector(self) -> str:
        """How the services' ``select`` names it: a folder ends in '/'."""
        return self.path.rstrip("/") + "/" if self.is_folder else self.path


@dataclass(frozen=True)
class Children:
    folders: tuple[FolderView, ...]
    objects: tuple[InventoryObject, ...]


def parent_of(folder: str) -> str:
    return folder.rsplit("/", 1)[0] or "/"


def ancestors(path: str) -> list[str]:
    """'/', '/a', '/a/b' for '/a/b/c' (the folders to open to show it)."""
    parts = [p for p in path.split("/") if p][:-1]
    return ["/", *("/" + "/".join(parts[: i + 1]) for i in range(len(parts)))]


class InventoryTree(FolderKeys, Tree[Entry]):
    """The tree; ``fill(node, children)`` adds a folder's children once they were read."""

    BINDINGS = [
        Binding("g", "scroll_home", "First", show=False, id="tree.first", tooltip="First line"),
        Binding("G", "scroll_end", "Last", show=False, id="tree.last", tooltip="Last line"),
        Binding("left", "collapse", "Close", show=False, id="tree.collapse",
                tooltip="Close the folder (or go to the parent)"),
        Binding("right", "expand", "Open", show=False, id="tree.expand",
                tooltip="Open the folder"),
    ]
    HELP = ("The inventory. **up/down** move, **right/left** open/close a folder, **enter** "
            "toggles, **g/G** first/last.")

    def __init__(self, **kwargs: object) -> None:
        super().__init__("/", data=Entry("/"), **kwargs)  # type: ignore[arg-type]
        self.show_root = True
        self.guide_depth = 3

    def fill(self, node: TreeNode[Entry], children: Children) -> None:
        node.remove_children()
        for view in children.folders:
            name = view.path.rsplit("/", 1)[-1] + "/"
            label = Text(name) if view.permitted else \
                Text.assemble(name + " ", ("(navigation only)", "dim"))
            node.add(label, data=Entry(view.path, None, view.permitted), allow_expand=True)
        for obj in sorted(children.objects, key=lambda o: (o.name, o.object_type.value)):
            node.add_leaf(Text.assemble(obj.name + " ", (f"({obj.object_type.label})", "dim")),
                          data=Entry(str(obj.path), obj.object_type))
        if node.data is not None:
            node.data.loaded = True

    def find(self, path: str, object_type: ObjectType | None = None) -> TreeNode[Entry] | None:
        """The node of a folder or object path among the loaded ones."""
        stack: list[TreeNode[Entry]] = [self.root]
        while stack:
            node = stack.pop()
            data = node.data
            if data is not None and data.path == path and (
                    object_type is None or data.object_type in (None, object_type)):
                return node
            stack.extend(node.children)
        return None

    def expanded_folders(self) -> list[str]:
        out: list[str] = []
        stack: list[TreeNode[Entry]] = [self.root]
        while stack:
            node = stack.pop()
            if node.data is not None and node.data.is_folder and node.is_expanded:
                out.append(node.data.path)
                stack.extend(node.children)
        return sorted(out, key=lambda p: (p.count("/"), p))

    def place_cursor(self, node: TreeNode[Entry]) -> None:
        """Move the cursor to a node just added (its line is numbered first)."""
        self._tree_lines  # noqa: B018 - builds the line numbers that move_cursor reads
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)


def folder_depth_order(folders: Sequence[str]) -> list[str]:
    return sorted(set(folders), key=lambda p: (0 if p == "/" else p.count("/"), p))
