"""The permission catalogue: every node of the JS7 tree with its description (package data).

Names are checked against it before they reach a role, so a typo such as
``sos:products:controller:order:view`` is refused with a "did you mean" suggestion instead of
silently granting nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from js7tui.errors import ValidationError

ROOT = "sos:products"
JOC = "sos:products:joc"
CONTROLLER = "sos:products:controller"


@dataclass(frozen=True)
class PermissionNode:
    name: str
    description: str
    children: tuple[str, ...]

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def depth(self) -> int:
        return self.name.count(":") - ROOT.count(":")

    @property
    def label(self) -> str:
        return self.name.rsplit(":", 1)[-1]


class Catalogue:
    def __init__(self, descriptions: dict[str, str], aliases: dict[str, str]) -> None:
        self._aliases = aliases
        children: dict[str, list[str]] = {name: [] for name in descriptions}
        for name in descriptions:
            if name != ROOT:
                parent = name.rsplit(":", 1)[0]
                if parent not in children:
                    raise ValueError(f"catalogue: {name} has no parent {parent}")
                children[parent].append(name)
        self.nodes = {
            name: PermissionNode(name, text, tuple(children[name]))
            for name, text in descriptions.items()
        }

    def __contains__(self, name: str) -> bool:
        return name in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def leaves(self) -> list[str]:
        return [name for name, node in self.nodes.items() if node.is_leaf]

    def walk(self, start: str = ROOT) -> list[PermissionNode]:
        """Depth-first, in catalogue order: the shape of ``permissions tree``."""
        out: list[PermissionNode] = []
        stack = [start]
        while stack:
            node = self.nodes[stack.pop()]
            out.append(node)
            stack.extend(reversed(node.children))
        return out

    def canonical(self, name: str) -> str:
        """The catalogue name for ``name`` (aliases resolved), or a ValidationError."""
        name = name.strip()
        for alias, target in self._aliases.items():
            if name == alias or name.startswith(alias + ":"):
                name = target + name[len(alias):]
        if name in self.nodes:
            return name
        import difflib
        hint = difflib.get_close_matches(name, self.nodes, n=1, cutoff=0.6)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else (
            "; 'js7tui permissions tree' lists them all")
        raise ValidationError(f"unknown permission '{name}'{suggestion}")


@cache
def catalogue() -> Catalogue:
    """The catalogue, read from ``catalogue.toml`` beside this module on first use (the
    console's sections import the permission names before the login form paints; the TOML
    parser is not needed then)."""
    import tomllib
    raw = tomllib.loads(Path(__file__).with_name("catalogue.toml").read_text("utf-8"))
    return Catalogue(raw["permissions"], raw.get("aliases", {}))
