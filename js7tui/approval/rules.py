"""When a change becomes an approval request, and how it is diverted into one (issue 22 point 1;
reference 2.5).

A change needs approval when the acting account holds one of the roles named by
``approval_requestor_roles`` and its kind is listed in ``operations_requiring_approval``.
The requestor must be allowed to make the change (the kind's permission is checked first: what
the requestor could not do is refused, not requested). Running an approved request is the one
way past the gate: :func:`executing` marks the request being run, for this thread only.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from js7tui.audit import AuditMeta, Category
from js7tui.clock import to_iso
from js7tui.errors import Js7Error, ValidationError
from js7tui.identity import settings as identity_settings
from js7tui.permissions.names import (
    ACCOUNTS_MANAGE,
    APPROVALS_APPROVE,
    CERTIFICATES_MANAGE,
    INVENTORY_DEPLOY,
    SETTINGS_MANAGE,
)

if TYPE_CHECKING:
    import sqlite3

    from js7tui.identity.sessions import Session
    from js7tui.operations import Operations

REQUEST = "./approval/request"
CATEGORY: dict[str, Category] = {
    "deploy": Category.DEPLOYMENT, "revoke": Category.DEPLOYMENT,
    "import-deploy": Category.DEPLOYMENT, "accounts": Category.IDENTITY,
    "roles": Category.IDENTITY, "identity-services": Category.IDENTITY,
    "certificates": Category.CERTIFICATES, "settings": Category.SETTINGS,
}
# The permission the requestor needs for a kind (a deploy's are checked by its policy first).
PERMISSION: dict[str, str] = {
    "deploy": INVENTORY_DEPLOY, "revoke": INVENTORY_DEPLOY, "import-deploy": INVENTORY_DEPLOY,
    "accounts": ACCOUNTS_MANAGE, "roles": ACCOUNTS_MANAGE,
    "identity-services": ACCOUNTS_MANAGE, "certificates": CERTIFICATES_MANAGE,
    "settings": SETTINGS_MANAGE,
}
assert set(CATEGORY) == set(PERMISSION) == set(identity_settings.APPROVAL_KINDS)

_EXECUTING: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "js7tui_approval_executing", default=None)


class SentForApproval(Js7Error):
    """Not done: the change waits for a second person (exit 11). Carries the request's id."""

    exit_code = 11

    def __init__(self, request_id: int, title: str, approvers: Sequence[str]) -> None:
        who = (f"; approvers: {', '.join(approvers)}" if approvers
               else "; no account may approve it yet (needs "
               f"{APPROVALS_APPROVE})")
        super().__init__(f"sent for approval as request {request_id}: {title}{who} "
                         f"(js7tui approval show {request_id})")
        self.request_id = request_id
        self.title = title
        self.approvers = tuple(approvers)


@contextmanager
def executing(request_id: int) -> Iterator[None]:
    """Run the approved request ``request_id``: its change passes the gate (this context only)."""
    token = _EXECUTING.set(request_id)
    try:
        yield
    finally:
        _EXECUTING.reset(token)


def executing_request() -> int | None:
    return _EXECUTING.get()


def requestor_roles(conn: sqlite3.Connection) -> list[str]:
    return list(identity_settings.read(conn, "approval_requestor_roles"))


def is_requestor(conn: sqlite3.Connection, session: Session) -> bool:
    """Does the session hold a requestor role (from the store or from its provider)?"""
    from js7tui.identity import records
    roles = set(requestor_roles(conn))
    if not roles:
        return False
    for grant in session.grants:
        record = records.service(conn, grant.service)
        if roles & set(records.grant_roles(conn, record, session.account, grant)):
            return True
    return False


def required(ops: Operations, session: Session, kind: str) -> bool:
    """Does this session's ``kind`` change need approval now? (False while running an
    approved request.) Refreshes the session first, so its roles are today's."""
    if _EXECUTING.get() is not None:
        return False
    conn = ops.store.conn
    if not requestor_roles(conn) or kind not in identity_settings.read(
            conn, "operations_requiring_approval"):
        return False
    fresh = ops.authorize(session, request=REQUEST, category=CATEGORY[kind])
    return is_requestor(conn, fresh)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def request_digest(fields: Mapping[str, Any]) -> str:
    """The request's identity: what will run, for whom, when made and until when."""
    keys = ("kind", "operation", "category", "title", "reason", "requestor",
            "preferred_approver", "payload", "view", "created", "expires")
    return hashlib.sha256(canonical({k: fields[k] for k in keys})).hexdigest()


def approvers(conn: sqlite3.Connection, requestor: str) -> list[str]:
    """Enabled accounts whose store roles grant approving (other than the requestor); an
    external service's roles are only known at login, so they are not listed here."""
    from js7tui.identity import records
    from js7tui.permissions import EffectivePermissions
    out = []
    for row in conn.execute("SELECT a.id, a.name, a.identity_service_id FROM accounts a "
                            "WHERE a.disabled = 0 ORDER BY a.name"):
        if row["name"] == requestor:
            continue
        role_names = [r[0] for r in conn.execute(
            "SELECT r.name FROM account_roles ar JOIN roles r ON r.id = ar.role_id "
            "WHERE ar.account_id = ?", (row["id"],))]
        record = next((s for s in records.services(conn)
                       if s.id == row["identity_service_id"]), None)
        if record is None or not role_names:
            continue
        perms, folders = records.role_entries(conn, record, role_names)
        if EffectivePermissions(perms, folders).is_permitted(APPROVALS_APPROVE):
            out.append(row["name"])
    return list(dict.fromkeys(out))


def divert(ops: Operations, session: Session, kind: str, *, operation: str, title: str,
           payload: Mapping[str, Any], view: Mapping[str, Any],
           meta: AuditMeta = AuditMeta(), path: str = "", controller_id: str = "",
           preferred_approver: str = "") -> NoReturn:
    """Record the frozen change as a request (with its audit entry, in one transaction) and
    raise :class:`SentForApproval`: the change itself is not made."""
    if kind not in CATEGORY:
        raise ValidationError(f"unknown approval kind '{kind}'")
    category = CATEGORY[kind]
    clock = ops.clock
    now = clock.now()
    preferred_approver = (preferred_approver or meta.approver).strip()
    with ops.mutate(session, request=REQUEST, category=category,
                    permissions=[PERMISSION[kind]], meta=meta) as op:
        if preferred_approver:
            may = approvers(op.conn, op.session.account)
            if preferred_approver not in may:
                raise ValidationError(
                    f"'{preferred_approver}' cannot approve this request (approvers: "
                    f"{', '.join(may) or 'none'}); name one of them with --approver")
        lifetime = int(identity_settings.read(op.conn, "approval_request_lifetime"))
        fields: dict[str, Any] = {
            "kind": kind, "operation": operation, "category": str(category), "title": title,
            "reason": meta.comment, "requestor": op.session.account,
            "preferred_approver": preferred_approver, "payload": dict(payload),
            "view": dict(view), "created": to_iso(now),
            "expires": to_iso(now + timedelta(seconds=lifetime)),
        }
        digest = request_digest(fields)
        cursor = op.conn.execute(
            "INSERT INTO approval_requests (kind, operation, category, title, reason, "
            "requestor, preferred_approver, payload, view, digest, created, expires, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, operation, str(category), title, meta.comment, op.session.account,
             preferred_approver, json.dumps(fields["payload"], sort_keys=True),
             json.dumps(fields["view"], sort_keys=True), digest, fields["created"],
             fields["expires"], fields["created"]))
        request_id = int(cursor.lastrowid or 0)
        entry = op.record(path=path, controller_id=controller_id, parameters={
            "phase": "requested", "approvalRequest": request_id, "kind": kind,
            "operation": operation, "title": title, "digest": digest,
            "expires": fields["expires"]})
        op.conn.execute("UPDATE approval_requests SET audit_id = ? WHERE id = ?",
                        (entry.id, request_id))
        names = approvers(op.conn, op.session.account)
    raise SentForApproval(request_id, title, names)
