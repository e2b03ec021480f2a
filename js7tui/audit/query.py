"""Reading the audit log page by page (newest first), with the filters of reference section 7."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from js7tui.audit.log import AuditEntry, Category
from js7tui.clock import to_iso
from js7tui.errors import ValidationError


@dataclass(frozen=True)
class AuditFilter:
    account: str | None = None
    categories: tuple[str, ...] = ()
    controller_id: str | None = None
    object_type: str | None = None
    path_contains: str | None = None
    folders: tuple[str, ...] = ()
    comment_contains: str | None = None
    ticket_link: str | None = None
    outcome: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    # Folder permissions of the reader: None = unrestricted; else (folder, recursive) pairs.
    permitted_folders: tuple[tuple[str, bool], ...] | None = field(default=None)

    def where(self) -> tuple[str, list[object]]:
        clauses: list[str] = []
        args: list[object] = []
        if self.account:
            clauses.append("account = ?")
            args.append(self.account)
        if self.categories:
            for category in self.categories:
                if category not in Category.__members__:
                    raise ValidationError(
                        f"unknown audit category '{category}'; one of "
                        + ", ".join(Category.__members__)
                    )
            clauses.append(f"category IN ({','.join('?' * len(self.categories))})")
            args.extend(self.categories)
        if self.controller_id is not None:
            clauses.append("controller_id = ?")
            args.append(self.controller_id)
        if self.object_type:
            clauses.append("object_type = ?")
            args.append(self.object_type)
        if self.path_contains:
            clauses.append("instr(path, ?) > 0")
            args.append(self.path_contains)
        if self.folders:
            clauses.append(f"folder IN ({','.join('?' * len(self.folders))})")
            args.extend(self.folders)
        if self.comment_contains:
            clauses.append("instr(lower(comment), lower(?)) > 0")
            args.append(self.comment_contains)
        if self.ticket_link:
            clauses.append("ticket_link = ?")
            args.append(self.ticket_link)
        if self.outcome:
            clauses.append("outcome = ?")
            args.append(self.outcome)
        if self.date_from:
            clauses.append("created >= ?")
            args.append(to_iso(self.date_from))
        if self.date_to:
            clauses.append("created <= ?")
            args.append(to_iso(self.date_to))
        if self.permitted_folders is not None:
            # Entries without a folder (identity, settings) are not folder-bound.
            allowed = ["folder = ''"]
            for folder, recursive in self.permitted_folders:
                allowed.append("folder = ?")
                args.append(folder)
                if recursive:
                    if folder == "/":
                        allowed.append("folder LIKE '/%'")
                    else:
                        allowed.append("substr(folder, 1, ?) = ?")
                        args.extend([len(folder) + 1, folder + "/"])
            clauses.append("(" + " OR ".join(allowed) + ")")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def page(
    conn: sqlite3.Connection, filter: AuditFilter, *, limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """Up to ``limit`` entries older than ``before_id`` (newest first): keyset paging."""
    where, args = filter.where()
    if before_id is not None:
        where += (" AND " if where else " WHERE ") + "id < ?"
        args.append(before_id)
    rows = conn.execute(
        f"SELECT * FROM audit_log{where} ORDER BY id DESC LIMIT ?", [*args, limit]
    ).fetchall()
    return [AuditEntry.from_row(row) for row in rows]


def entry(conn: sqlite3.Connection, entry_id: int) -> AuditEntry | None:
    row = conn.execute("SELECT * FROM audit_log WHERE id = ?", (entry_id,)).fetchone()
    return AuditEntry.from_row(row) if row else None
