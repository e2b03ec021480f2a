"""Per-role undo/redo of permission and folder changes, kept for the session (no Textual here).

Each change records the entry's state before and after (``None``: no entry; ``"+"``/``"-"``
for a permission; ``True``/``False`` recursive for a folder). Undo writes the *before* state
back through the same role service (so it is checked, commented and audited like any change),
redo writes the *after* state. A change done by someone else meanwhile is simply overwritten by
the restored state, as with any later edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from js7tui.audit import AuditMeta
from js7tui.identity.roles import RoleService
from js7tui.identity.sessions import Session

State = str | bool | None


@dataclass(frozen=True)
class RoleChange:
    kind: str          # "permission" or "folder"
    section: str       # Controller id; "" for the default section
    target: str        # permission name or folder path
    before: State
    after: State

    def describe(self, state: State | None = None) -> str:
        state = self.after if state is None else state
        where = f" for Controller '{self.section}'" if self.section else ""
        if self.kind == "folder":
            if state is None:
                return f"no folder {self.target}{where}"
            return f"folder {self.target} ({'recursive' if state else 'this folder only'}){where}"
        if state is None:
            return f"no entry for {self.target}{where}"
        return f"{state}{self.target}{where}"


@dataclass
class RoleHistory:
    done: list[RoleChange] = field(default_factory=list)
    undone: list[RoleChange] = field(default_factory=list)

    def record(self, change: RoleChange) -> None:
        if change.before != change.after:
            self.done.append(change)
            self.undone.clear()

    def next_undo(self) -> RoleChange | None:
        return self.done[-1] if self.done else None

    def next_redo(self) -> RoleChange | None:
        return self.undone[-1] if self.undone else None

    def undid(self, change: RoleChange) -> None:
        if self.done and self.done[-1] is change:
            self.undone.append(self.done.pop())

    def redid(self, change: RoleChange) -> None:
        if self.undone and self.undone[-1] is change:
            self.done.append(self.undone.pop())


def apply_state(roles: RoleService, session: Session, role: str, service: str | None,
                change: RoleChange, state: State, meta: AuditMeta) -> Any:
    """Write ``state`` for the change's entry through the role service (one audited change)."""
    if change.kind == "folder":
        if state is None:
            return roles.remove_folder(session, role, change.target, controller=change.section,
                                       service=service, meta=meta)
        return roles.add_folder(session, role, change.target, recursive=bool(state),
                                controller=change.section, service=service, meta=meta)
    if state is None:
        return roles.remove_permission(session, role, change.target, controller=change.section,
                                       service=service, meta=meta)
    return roles.set_permission(session, role, change.target, excluded=state == "-",
                                controller=change.section, service=service, meta=meta)
