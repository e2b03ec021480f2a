"""Permission decisions, exactly as JS7 makes them (reference section 2), and their reasons.

The rule, for one check of ``permission`` on ``controller`` ('' = default/JOC scope):

1. Denied if the permission or any ancestor (prefix on ':' boundaries) is denied in the default
   section, or in that Controller's section. A denial beats every grant of every role and every
   identity service; a default denial beats a Controller-specific grant.
2. Otherwise granted if the permission or any ancestor is granted in the default section or in
   that Controller's section.
3. Otherwise not granted.

:class:`EffectivePermissions` is compiled once per session from the role entries of every
identity service that authenticated it, and memoises each (permission, Controller) decision, so
a repeated check is one dictionary lookup. :meth:`EffectivePermissions.explain` answers *why*.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from js7tui.permissions.folders import parent_folders

DEFAULT_SECTION = ""


@dataclass(frozen=True)
class PermissionEntry:
    """One row of a role: a grant or denial, in the default or a Controller's section."""

    permission: str
    excluded: bool = False
    controller: str = DEFAULT_SECTION
    role: str = ""
    service: str = ""

    def describe(self) -> str:
        mark = "-" if self.excluded else "+"
        section = f"Controller '{self.controller}'" if self.controller else "the default section"
        where = f"role '{self.role}'" + (f" of '{self.service}'" if self.service else "")
        return f"{where}: {mark}{self.permission} in {section}"


@dataclass(frozen=True)
class FolderEntry:
    folder: str
    recursive: bool = True
    controller: str = DEFAULT_SECTION
    role: str = ""
    service: str = ""

    def covers(self, folder: str) -> bool:
        if folder == self.folder:
            return True
        if not self.recursive:
            return False
        return self.folder == "/" or folder.startswith(self.folder + "/")

    def describe(self) -> str:
        scope = f" for Controller '{self.controller}'" if self.controller else ""
        kind = "recursive" if self.recursive else "this folder only"
        where = f"role '{self.role}'" + (f" of '{self.service}'" if self.service else "")
        return f"{where}: folder {self.folder} ({kind}){scope}"


@lru_cache(maxsize=4096)
def ancestors(permission: str) -> tuple[str, ...]:
    """``a:b:c`` -> ``('a', 'a:b', 'a:b:c')``: every prefix on ':' boundaries, itself last."""
    parts = permission.split(":")
    return tuple(":".join(parts[: i + 1]) for i in range(len(parts)))


_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FolderDecision:
    permitted: bool
    navigable: bool
    reason: str
    entries: tuple[FolderEntry, ...] = ()


@dataclass(frozen=True)
class Explanation:
    permission: str
    controller: str
    folder: str | None
    granted: bool
    reason: str
    deciding: tuple[PermissionEntry, ...]
    overruled: tuple[PermissionEntry, ...] = ()
    folder_decision: FolderDecision | None = None

    @property
    def allowed(self) -> bool:
        return self.granted and (self.folder_decision is None or self.folder_decision.permitted)


@dataclass
class EffectivePermissions:
    """The merged permissions of one session (all roles of all services that took part)."""

    entries: tuple[PermissionEntry, ...] = ()
    folders: tuple[FolderEntry, ...] = ()
    _granted: dict[str, frozenset[str]] = field(init=False, repr=False)
    _denied: dict[str, frozenset[str]] = field(init=False, repr=False)
    _memo: dict[str, dict[str, bool]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.entries = tuple(self.entries)
        self.folders = tuple(self.folders)
        granted: dict[str, set[str]] = {}
        denied: dict[str, set[str]] = {}
        for entry in self.entries:
            target = denied if entry.excluded else granted
            target.setdefault(entry.controller, set()).add(entry.permission)
        self._granted = {key: frozenset(value) for key, value in granted.items()}
        self._denied = {key: frozenset(value) for key, value in denied.items()}
        self._memo = {}

    @classmethod
    def compile(
        cls, entries: Iterable[PermissionEntry], folders: Iterable[FolderEntry] = ()
    ) -> EffectivePermissions:
        return cls(tuple(entries), tuple(folders))

    # -- the hot path ---------------------------------------------------------------------
    def is_permitted(self, permission: str, controller: str = DEFAULT_SECTION) -> bool:
        memo = self._memo.get(controller)
        if memo is None:
            memo = self._memo[controller] = {}
        decision = memo.get(permission)
        if decision is None:
            decision = memo[permission] = self._decide(permission, controller)
        return decision

    def _decide(self, permission: str, controller: str) -> bool:
        chain = ancestors(permission)
        denied_default = self._denied.get(DEFAULT_SECTION, _EMPTY)
        denied_here = self._denied.get(controller, _EMPTY) if controller else _EMPTY
        for prefix in chain:
            if prefix in denied_default or prefix in denied_here:
                return False
        granted_default = self._granted.get(DEFAULT_SECTION, _EMPTY)
        granted_here = self._granted.get(controller, _EMPTY) if controller else _EMPTY
        return any(prefix in granted_default or prefix in granted_here for prefix in chain)

    # -- folders --------------------------------------------------------------------------
    @property
    def folder_restricted(self) -> bool:
        """Any folder entry, in any role, restricts the whole account to its folders."""
        return bool(self.folders)

    def folder_entries(self, controller: str = DEFAULT_SECTION) -> tuple[FolderEntry, ...]:
        """Default entries plus those of ``controller``, a Controller's entry replacing a default
        one for the same folder (as JS7's SOSAuthFolderPermissions does); for the default
        scope, all entries (the inventory shows what any Controller section permits)."""
        if controller == DEFAULT_SECTION:
            return self.folders
        own = tuple(f for f in self.folders if f.controller == controller)
        overridden = {f.folder for f in own}
        return tuple(f for f in self.folders
                     if f.controller == DEFAULT_SECTION and f.folder not in overridden) + own

    def folder_decision(self, folder: str, controller: str = DEFAULT_SECTION) -> FolderDecision:
        if not self.folder_restricted:
            return FolderDecision(True, True,
                                  "no role has folder entries: every folder is permitted")
        entries = self.folder_entries(controller)
        covering = tuple(e for e in entries if e.covers(folder))
        if covering:
            return FolderDecision(
                True, True, f"folder {folder} is permitted by " + covering[0].describe(), covering
            )
        below = tuple(e for e in entries if folder in parent_folders(e.folder))
        if below:
            return FolderDecision(
                False, True,
                f"folder {folder} is only shown for navigation (a parent of "
                f"{below[0].folder}); its objects are not permitted", below,
            )
        return FolderDecision(
            False, False,
            f"folder {folder} is not permitted: the account is restricted to "
            + ", ".join(sorted({e.folder for e in entries}) or ["no folder of this scope"]),
        )

    def folder_permitted(self, folder: str, controller: str = DEFAULT_SECTION) -> bool:
        return self.folder_decision(folder, controller).permitted

    def folder_navigable(self, folder: str, controller: str = DEFAULT_SECTION) -> bool:
        return self.folder_decision(folder, controller).navigable

    # -- why ------------------------------------------------------------------------------
    def explain(
        self, permission: str, controller: str = DEFAULT_SECTION, folder: str | None = None
    ) -> Explanation:
        chain = set(ancestors(permission))
        sections = {DEFAULT_SECTION, controller}
        relevant = [e for e in self.entries if e.permission in chain and e.controller in sections]
        denials = tuple(e for e in relevant if e.excluded)
        grants = tuple(e for e in relevant if not e.excluded)
        where = f" on Controller '{controller}'" if controller else ""
        if denials:
            reason = f"{permission}{where} is denied by " + denials[0].describe()
            if grants:
                reason += " (a denial beats every grant, including " + grants[0].describe() + ")"
            granted, deciding, overruled = False, denials, grants
        elif grants:
            reason = f"{permission}{where} is granted by " + grants[0].describe()
            granted, deciding, overruled = True, grants, ()
        else:
            reason = f"{permission}{where} is not granted: no role grants it or any parent"
            granted, deciding, overruled = False, (), ()
        assert granted == self.is_permitted(permission, controller)
        decision = self.folder_decision(folder, controller) if folder is not None else None
        return Explanation(
            permission, controller, folder, granted, reason, deciding, overruled, decision
        )

    def controllers(self) -> list[str]:
        """Controllers for which some role has a specific section."""
        return sorted({e.controller for e in self.entries if e.controller} |
                      {f.controller for f in self.folders if f.controller})
