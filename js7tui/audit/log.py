"""Appending to the audit log inside the caller's transaction, as a SHA-256 hash chain.

Each entry carries ``hash = SHA-256(prev_hash || canonical JSON of its content, id included)``
and the previous entry's hash; ``audit_head`` records the last id, its hash and the number of
entries, so cutting entries off the end is caught too. Secrets never reach an entry: parameter
keys that name a secret are replaced by ``***`` before hashing (see :func:`redact`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from js7tui.clock import to_iso
from js7tui.errors import ValidationError

GENESIS_HASH = "0" * 64
MAX_COMMENT = 255
MAX_TICKET_LINK = 1024
REDACTED = "***"
_SECRET_KEY = re.compile(r"pass(word|phrase)?|pwd|secret|token|private|credential|key$", re.I)


class Category(StrEnum):
    """Audit categories of reference section 7."""

    INVENTORY = "INVENTORY"
    CONTROLLER = "CONTROLLER"
    DAILYPLAN = "DAILYPLAN"
    OTHERS = "OTHERS"
    DEPLOYMENT = "DEPLOYMENT"
    DOCUMENTATIONS = "DOCUMENTATIONS"
    CERTIFICATES = "CERTIFICATES"
    IDENTITY = "IDENTITY"
    SETTINGS = "SETTINGS"
    MONITORING = "MONITORING"
    UNKNOWN = "UNKNOWN"


class Outcome(StrEnum):
    OK = "OK"
    REFUSED = "REFUSED"


@dataclass(frozen=True)
class AuditMeta:
    """What the person supplies with a change: why, for which ticket, how long it took."""

    comment: str = ""
    ticket_link: str = ""
    time_spent: int | None = None
    # Four eyes: the approver the person prefers if the change becomes an approval request
    # (kept with the request, not in the audit entry's own fields).
    approver: str = ""

    def validated(self) -> AuditMeta:
        if len(self.comment) > MAX_COMMENT:
            raise ValidationError(
                f"the audit comment has {len(self.comment)} characters; at most {MAX_COMMENT}"
            )
        if len(self.ticket_link) > MAX_TICKET_LINK:
            raise ValidationError(f"the ticket link is longer than {MAX_TICKET_LINK} characters")
        if self.time_spent is not None and self.time_spent < 0:
            raise ValidationError("time spent must be zero or more minutes")
        return self


@dataclass(frozen=True)
class AuditEntry:
    """One entry as stored. ``content()`` is exactly what the hash covers."""

    id: int
    created: str
    account: str
    request: str
    category: str
    outcome: str = Outcome.OK
    controller_id: str = ""
    object_type: str = ""
    path: str = ""
    folder: str = ""
    comment: str = ""
    ticket_link: str = ""
    time_spent: int | None = None
    parameters: str = "{}"
    commit_id: str = ""
    prev_hash: str = GENESIS_HASH
    hash: str = field(default="", compare=False)

    def content(self) -> dict[str, Any]:
        return {
            "id": self.id, "created": self.created, "account": self.account,
            "request": self.request, "category": self.category, "outcome": self.outcome,
            "controllerId": self.controller_id, "objectType": self.object_type,
            "path": self.path, "folder": self.folder, "comment": self.comment,
            "ticketLink": self.ticket_link, "timeSpent": self.time_spent,
            "parameters": self.parameters, "commitId": self.commit_id,
        }

    def compute_hash(self) -> str:
        canonical = json.dumps(self.content(), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        return hashlib.sha256((self.prev_hash + "\n" + canonical).encode("utf-8")).hexdigest()

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> AuditEntry:
        return cls(**{key: row[key] for key in row.keys()})  # noqa: SIM118 (Row has no iter)


def _is_secret_value(value: Any) -> bool:
    """Strings, bytes and non-empty lists of them; flags such as ``forcePasswordChange`` stay."""
    if isinstance(value, str | bytes):
        return bool(value)
    if isinstance(value, list | tuple):
        return bool(value) and all(isinstance(item, str | bytes) for item in value)
    return False


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking key's value replaced by ``***``."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if _SECRET_KEY.search(str(key)) and _is_secret_value(val)
                  else redact(val))
            for key, val in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def append(
    conn: sqlite3.Connection,
    *,
    created: datetime,
    account: str,
    request: str,
    category: Category | str,
    outcome: Outcome | str = Outcome.OK,
    controller_id: str = "",
    object_type: str = "",
    path: str = "",
    folder: str = "",
    meta: AuditMeta = AuditMeta(),
    parameters: dict[str, Any] | None = None,
    commit_id: str = "",
) -> AuditEntry:
    """Append one entry; the caller's transaction (BEGIN IMMEDIATE) makes the head race-free."""
    if not conn.in_transaction:
        raise RuntimeError("audit.append must run inside the operation's transaction")
    head = conn.execute("SELECT last_id, hash, entries FROM audit_head WHERE id = 1").fetchone()
    last_id, prev_hash, count = (head[0], head[1], head[2]) if head else (0, GENESIS_HASH, 0)
    entry = AuditEntry(
        id=last_id + 1, created=to_iso(created), account=account, request=request,
        category=str(Category(category)), outcome=str(Outcome(outcome)),
        controller_id=controller_id, object_type=object_type, path=path, folder=folder,
        comment=meta.comment, ticket_link=meta.ticket_link, time_spent=meta.time_spent,
        parameters=json.dumps(redact(parameters or {}), sort_keys=True, ensure_ascii=False,
                              default=str),
        commit_id=commit_id, prev_hash=prev_hash,
    )
    entry = replace(entry, hash=entry.compute_hash())
    conn.execute(
        "INSERT INTO audit_log (id, created, account, request, category, outcome, controller_id,"
        " object_type, path, folder, comment, ticket_link, time_spent, parameters, commit_id,"
        " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (entry.id, entry.created, entry.account, entry.request, entry.category, entry.outcome,
         entry.controller_id, entry.object_type, entry.path, entry.folder, entry.comment,
         entry.ticket_link, entry.time_spent, entry.parameters, entry.commit_id,
         entry.prev_hash, entry.hash),
    )
    conn.execute(
        "INSERT INTO audit_head (id, last_id, hash, entries) VALUES (1, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash, "
        "entries = excluded.entries",
        (entry.id, entry.hash, count + 1),
    )
    return entry
