"""What the permission tree shows for each node: a mark and the words behind it (no Textual).

Marks, never colour alone: ``+`` granted here, ``-`` denied here, ``~`` inherited (from a
parent, or from the default section when a Controller's section is shown), blank for none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from js7tui.permissions import DEFAULT_SECTION, PermissionEntry
from js7tui.permissions.evaluator import ancestors


@dataclass(frozen=True)
class NodeMark:
    mark: str            # "+", "-", "~" or " "
    own: str | None      # the entry of this node in this section: "+", "-" or None
    effective: bool      # does this role grant it in this section (denials beat grants)
    note: str            # where an inherited or overruled state comes from


def _where(entry: PermissionEntry, section: str) -> str:
    suffix = " in the default section" if section and not entry.controller else ""
    return f"{'-' if entry.excluded else '+'}{entry.permission}{suffix}"


class RoleMarks:
    """The marks of one role's entries, for one section."""

    def __init__(self, entries: Iterable[PermissionEntry], section: str = DEFAULT_SECTION):
        self.section = section
        self.entries = {(e.controller, e.permission): e for e in entries}

    def own(self, name: str) -> str | None:
        entry = self.entries.get((self.section, name))
        return None if entry is None else ("-" if entry.excluded else "+")

    def _applying(self, name: str) -> list[PermissionEntry]:
        sections = {DEFAULT_SECTION, self.section}
        return [e for (section, perm), e in self.entries.items()
                if section in sections and perm in set(ancestors(name))]

    def mark(self, name: str) -> NodeMark:
        own = self.own(name)
        applying = self._applying(name)
        denials = [e for e in applying if e.excluded]
        grants = [e for e in applying if not e.excluded]
        effective = bool(grants) and not denials
        others = [e for e in applying
                  if not (e.controller == self.section and e.permission == name)]
        other_denials = [e for e in others if e.excluded]
        if own == "+" and other_denials:
            return NodeMark("+", own, False,
                            f"overruled by {_where(other_denials[0], self.section)}")
        if own is not None:
            return NodeMark(own, own, effective, "")
        if denials:
            return NodeMark("~", None, False, f"denied by {_where(denials[0], self.section)}")
        if grants:
            return NodeMark("~", None, True, f"granted by {_where(grants[0], self.section)}")
        return NodeMark(" ", None, False, "")
