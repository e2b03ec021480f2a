"""Group DNs compared as a directory compares them, and groups mapped to console roles.

The mapping (setting ``group_roles``) names a group by its DN or by its name (the value of its
first RDN). DNs are compared attribute by attribute, case-insensitively, after undoing RFC 4514
escapes, so ``cn=Ops\\2C Night,...`` from the server matches ``CN=ops\\, night, ...`` typed by an
administrator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2}|.)", re.S)

DnKey = tuple[tuple[str, str], ...]


def _unescape(value: str) -> str:
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(value):
        out += value[position:match.start()].encode("utf-8")
        escaped = match.group(1)
        out += bytes([int(escaped, 16)]) if len(escaped) == 2 else escaped.encode("utf-8")
        position = match.end()
    out += value[position:].encode("utf-8")
    return out.decode("utf-8", errors="replace")


def dn_key(dn: str) -> DnKey | None:
    """A comparable form of a DN, or None when ``dn`` is not one."""
    if "=" not in dn:
        return None
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except (LDAPInvalidDnError, ValueError, IndexError):
        return None
    return tuple((attr.strip().lower(), _unescape(value).strip().lower())
                 for attr, value, _sep in parts)


@dataclass(frozen=True)
class Group:
    dn: str

    @property
    def key(self) -> DnKey | None:
        return dn_key(self.dn)

    @property
    def name(self) -> str:
        key = self.key
        return key[0][1] if key else self.dn.strip().lower()


@dataclass(frozen=True)
class Mapped:
    roles: tuple[str, ...]
    matched: tuple[str, ...]      # the mapping keys that matched


def map_groups(groups: Iterable[Group], mapping: Mapping[str, list[str]]) -> Mapped:
    """Roles of the mapping entries whose group is among ``groups``, in mapping order."""
    groups = list(groups)
    keys = {g.key for g in groups if g.key}
    names = {g.name for g in groups}
    roles: dict[str, None] = {}
    matched = []
    for entry, entry_roles in mapping.items():
        key = dn_key(entry)
        hit = key in keys if key else entry.strip().lower() in names
        if hit:
            matched.append(entry)
            roles.update(dict.fromkeys(entry_roles))
    return Mapped(tuple(roles), tuple(matched))
