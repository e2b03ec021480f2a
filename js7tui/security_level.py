"""The security level (reference 4.1): fixed at init, never lowered.

It lives in the store's ``installation`` row; a trigger there refuses any UPDATE that lowers it
and any DELETE, so neither a command, a setting, a migration nor a hand-made SQL statement can
weaken it. It is not a configuration key.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum

from js7tui.errors import StoreError, ValidationError


class SecurityLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @classmethod
    def parse(cls, text: str) -> SecurityLevel:
        try:
            return cls(text.strip().upper())
        except ValueError:
            raise ValidationError(
                f"'{text}' is not a security level; choose low, medium or high") from None

    @property
    def rank(self) -> int:
        return list(SecurityLevel).index(self)


def read(conn: sqlite3.Connection) -> SecurityLevel:
    row = conn.execute("SELECT security_level FROM installation WHERE id = 1").fetchone()
    if row is None:
        raise StoreError("the store has no installation record; it was not created by "
                         "'js7tui init'")
    return SecurityLevel(row[0])


def installation_id(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT installation_id FROM installation WHERE id = 1").fetchone()
    if row is None:
        raise StoreError("the store has no installation record")
    return str(row[0])
