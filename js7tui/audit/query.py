"""Reading the audit log page by page (newest first), with the filters of reference section 7."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from datetime import datetime

from js7tui.audit.log import AuditEntry, Category
from js7tui.clock import to_iso
from js7tui.errors import ValidationError


@dataclass(frozen=True)
class AuditFilter:
    account: str | None = None
    request: str | None = None       # the exact request, e.g. ./authentication/login
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
        if self.request:
            clauses.append("request = ?")
            args.append(self.request)
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


@dataclass(frozen=True, order=True)
class AuditKey:
    """Where an entry sits in the log's order: by time, then by id (ties, a clock set back).

    Newest first is descending ``(created, id)``; the ``(x, created)`` indexes of the store walk
    that order without sorting, so a page is found in about a millisecond on a million entries
    whatever the filter, and keyset paging never uses OFFSET on the common path.
    """

    created: str
    id: int

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditKey:
        return cls(entry.created, entry.id)


NEWEST_FIRST = " ORDER BY created DESC, id DESC"
OLDEST_FIRST = " ORDER BY created ASC, id ASC"


def _window(filter: AuditFilter, older_than: AuditKey | None,
            newer_than: AuditKey | None) -> tuple[str, list[object]]:
    """The filter's WHERE narrowed to the entries strictly between two keys.

    A key bound is also written as a plain bound on ``created``, merged with the filter's date
    (the tighter one wins): SQLite then walks the index only over the window instead of from the
    filter's date to the key.
    """
    date_to = to_iso(filter.date_to) if filter.date_to else None
    date_from = to_iso(filter.date_from) if filter.date_from else None
    if older_than is not None and (date_to is None or older_than.created < date_to):
        date_to = older_than.created
    if newer_than is not None and (date_from is None or newer_than.created > date_from):
        date_from = newer_than.created
    where, args = replace(filter, date_from=None, date_to=None).where()
    clauses = [where[len(" WHERE "):]] if where else []
    if date_from is not None:
        clauses.append("created >= ?")
        args.append(date_from)
    if date_to is not None:
        clauses.append("created <= ?")
        args.append(date_to)
    if older_than is not None:
        clauses.append("(created, id) < (?, ?)")
        args.extend([older_than.created, older_than.id])
    if newer_than is not None:
        clauses.append("(created, id) > (?, ?)")
        args.extend([newer_than.created, newer_than.id])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def page(
    conn: sqlite3.Connection, filter: AuditFilter, *, limit: int = 100,
    before_id: int | None = None, older_than: AuditKey | None = None,
    newer_than: AuditKey | None = None, offset: int = 0, nearest_newer: bool = False,
) -> list[AuditEntry]:
    """Up to ``limit`` entries, newest first: keyset paging.

    ``older_than``/``newer_than`` bound the window (exclusive); ``before_id`` is the older form
    of ``older_than`` (the entry with that id). By default the newest entries of the window
    are returned; with ``nearest_newer`` the oldest ones (the page just above ``newer_than``,
    for scrolling up), still newest first. ``offset`` skips entries (a jump to a position with
    no page near it; SQLite walks the skipped index entries, about 60 ms per million).
    """
    extra = ""
    if before_id is not None and older_than is None:
        older_than = key_of(conn, before_id)
        if older_than is None:  # no such entry: everything with a smaller id
            extra = "id < ?"
    where, args = _window(filter, older_than, newer_than)
    if extra:
        where += (" AND " if where else " WHERE ") + extra
        args.append(before_id)
    return _select(conn, where, args, limit, offset, nearest_newer)


def _select(conn: sqlite3.Connection, where: str, args: list[object], limit: int, offset: int,
            nearest_newer: bool) -> list[AuditEntry]:
    order = OLDEST_FIRST if nearest_newer else NEWEST_FIRST
    rows = conn.execute(
        f"SELECT * FROM audit_log{where}{order} LIMIT ? OFFSET ?", [*args, limit, offset]
    ).fetchall()
    entries = [AuditEntry.from_row(row) for row in rows]
    return entries[::-1] if nearest_newer else entries


def count(conn: sqlite3.Connection, filter: AuditFilter, *, older_than: AuditKey | None = None,
          newer_than: AuditKey | None = None) -> int:
    """How many entries match in the window: the viewer's total, and (with ``newer_than`` set
    to an entry's key) how many rows sit above that entry. Index-only for indexed filters; a
    text filter (comment, path) scans the table."""
    where, args = _window(filter, older_than, newer_than)
    return int(conn.execute(f"SELECT COUNT(*) FROM audit_log{where}", args).fetchone()[0])


def key_of(conn: sqlite3.Connection, entry_id: int) -> AuditKey | None:
    row = conn.execute("SELECT created, id FROM audit_log WHERE id = ?", (entry_id,)).fetchone()
    return AuditKey(row[0], row[1]) if row else None


def newest_key(conn: sqlite3.Connection) -> AuditKey | None:
    """The key of the newest entry: a viewer's snapshot ceiling, so positions stay put while
    new entries are appended."""
    row = conn.execute(f"SELECT created, id FROM audit_log{NEWEST_FIRST} LIMIT 1").fetchone()
    return AuditKey(row[0], row[1]) if row else None


def entry(conn: sqlite3.Connection, entry_id: int) -> AuditEntry | None:
    row = conn.execute("SELECT * FROM audit_log WHERE id = ?", (entry_id,)).fetchone()
    return AuditEntry.from_row(row) if row else None
