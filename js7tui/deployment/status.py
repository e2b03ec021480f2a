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
