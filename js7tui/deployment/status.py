"""An inventory object's deployment state, read from the deployment history.

Per Controller the newest commit that holds the object decides: a DEPLOY or IMPORT_DEPLOY that
the Controller accepted means the object is there in that version; a REVOKE it accepted means it
is not. The deployed bytes' digest (recorded with the commit) is compared with what the object
would serialise to now in that version, so "changed since deployed" is exact, not a guess from
timestamps. A newer attempt that was not accepted is reported with its state and reason: refused
or not applied (the object is as before there), unknown or still being sent (reconciliation will
tell).

The history knows objects by the path they had when deployed: after a rename or move the object
starts as a draft again (the Controller knows it by its old name until revoked).
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from js7tui.clock import from_iso
from js7tui.deployment.items import item_bytes
from js7tui.inventory import InventoryObject

DRAFT, CHANGED, DEPLOYED = "draft", "changed", "deployed"
ACCEPTED = "ACCEPTED"  # the road's state of a target that applied the commit


@dataclass(frozen=True)
class DeployedVersion:
    """The version of the object a Controller holds (from the newest accepted commit)."""

    controller_id: str
    version_id: str
    commit_id: str
    operation: str
    account: str
    created: str
    current: bool  # the deployed bytes are the object's content as it is now


@dataclass(frozen=True)
class FailedAttempt:
    """The newest commit for this object on a Controller was not accepted (``state``: REFUSED,
    NOT_APPLIED, UNKNOWN or SENDING), with the reason."""

    controller_id: str
    commit_id: str
    operation: str
    created: str
    message: str
    state: str = "REFUSED"

    @property
    def word(self) -> str:
        return {"REFUSED": "REFUSED", "NOT_APPLIED": "NOT APPLIED", "UNKNOWN": "UNKNOWN",
                "SENDING": "SENDING"}.get(self.state, self.state)


@dataclass(frozen=True)
class ObjectStatus:
    obj: InventoryObject
    versions: tuple[DeployedVersion, ...]
    failures: tuple[FailedAttempt, ...]

    @property
    def state(self) -> str:
        """draft (on no Controller), changed (some Controller holds an older content) or
        deployed (every Controller that holds it holds the current content)."""
        if not self.versions:
            return DRAFT
        return DEPLOYED if all(v.current for v in self.versions) else CHANGED


def object_status(conn: sqlite3.Connection, obj: InventoryObject) -> ObjectStatus:
    rows = conn.execute(
        "SELECT d.commit_id, d.operation, d.account, d.created, o.version_id, o.digest, "
        "o.version_created, "
        "t.controller_id, t.state, t.message FROM deployment_objects o "
        "JOIN deployments d ON d.commit_id = o.commit_id "
        "JOIN deployment_targets t ON t.commit_id = o.commit_id "
        "WHERE o.object_type = ? AND o.path = ? ORDER BY d.created DESC, d.rowid DESC",
        (obj.object_type.value, str(obj.path))).fetchall()
    versions: dict[str, DeployedVersion | None] = {}
    failures: dict[str, FailedAttempt] = {}
    seen: set[str] = set()
    for row in rows:
        controller = row["controller_id"]
        if controller not in seen:
            seen.add(controller)
            if row["state"] != ACCEPTED:
                failures[controller] = FailedAttempt(controller, row["commit_id"],
                                                     row["operation"], row["created"],
                                                     row["message"], row["state"])
        if controller in versions or row["state"] != ACCEPTED:
            continue
        if row["operation"] == "REVOKE":
            versions[controller] = None
            continue
        version = row["version_id"]
        digest = hashlib.sha256(item_bytes(obj, version, row["version_created"])).hexdigest()
        versions[controller] = DeployedVersion(controller, version, row["commit_id"],
                                               row["operation"], row["account"],
                                               row["created"], digest == row["digest"])
    return ObjectStatus(obj, tuple(v for _, v in sorted(versions.items()) if v is not None),
                        tuple(f for _, f in sorted(failures.items())))


@dataclass(frozen=True)
class ExpiringItem:
    """A deployed item whose signing certificate expires soon (or has): it keeps running
    where it is attached, but no engine takes that version anew once the certificate has
    expired (a new Agent, an Agent that lost its journal)."""

    controller_id: str
    object_type: str
    path: str
    version_id: str
    commit_id: str
    signer: str
    not_after: str
    seconds_left: float

    @property
    def left(self) -> str:
        """'expired 2 days ago', 'expires in 5 h', 'expires in 12 days'."""
        seconds = self.seconds_left
        if seconds <= 0:
            days = int(-seconds // 86400)
            return "expired today" if days == 0 else f"expired {days} day(s) ago"
        if seconds < 86400:
            return f"expires in {max(1, int(seconds // 3600))} h"
        return f"expires in {int(seconds // 86400)} day(s)"


def expiring_items(conn: sqlite3.Connection, now: datetime, within_days: int
                   ) -> list[ExpiringItem]:
    """Deployed items (the newest accepted commit per Controller and object, not a revoke)
    whose signer expires within ``within_days`` (or has), soonest first. A store read: the
    deployment service adds the session's folders, ``doctor`` reads it as it is."""
    rows = conn.execute(
        "SELECT d.commit_id, d.operation, d.signer, d.signer_not_after, o.object_type, "
        "o.path, o.version_id, t.controller_id FROM deployment_objects o "
        "JOIN deployments d ON d.commit_id = o.commit_id "
        "JOIN deployment_targets t ON t.commit_id = o.commit_id "
        "WHERE t.state = 'ACCEPTED' ORDER BY d.created DESC, d.rowid DESC")
    seen: set[tuple[str, str, str]] = set()
    out: list[ExpiringItem] = []
    for row in rows:
        key = (row["controller_id"], row["object_type"], row["path"])
        if key in seen:
            continue
        seen.add(key)
        if row["operation"] == "REVOKE" or not row["signer_not_after"]:
            continue
        left = (from_iso(row["signer_not_after"]) - now).total_seconds()
        if left <= within_days * 86400:
            out.append(ExpiringItem(row["controller_id"], row["object_type"], row["path"],
                                    row["version_id"], row["commit_id"], row["signer"],
                                    row["signer_not_after"], left))
    return sorted(out, key=lambda e: (e.seconds_left, e.controller_id, e.path))
