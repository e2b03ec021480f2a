"""Approval requests: list, show, approve, reject, withdraw, execute, clean up (issue 22).

States follow JS7 (reference 2.5): the requestor's REQUESTED / WITHDRAWN / EXECUTED and the
approver's PENDING / APPROVED / REJECTED; a request past its lifetime is EXPIRED (shown so, and
neither approved nor executed). Any account with ``approvals:approve`` other than the
requestor may decide; approving needs a comment, rejecting a reason. The requestor executes an
approved request: the frozen operation runs with the requestor's permissions of today, once;
if the world changed meanwhile, the execution is refused and says why. Every step is audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from js7tui import audit
from js7tui.approval import proof
from js7tui.approval.rules import executing, request_digest
from js7tui.audit import AuditMeta, Category, Outcome
from js7tui.clock import Clock, from_iso, to_iso
from js7tui.errors import Conflict, Js7Error, NotFound, PermissionDenied, ValidationError
from js7tui.identity import settings as identity_settings
from js7tui.permissions.names import APPROVALS_APPROVE

if TYPE_CHECKING:
    import sqlite3

    from js7tui.identity.sessions import Session
    from js7tui.operations import Operations
    from js7tui.secrets import SecretBox
    from js7tui.store import Store

APPROVE, REJECT = "./approval/approve", "./approval/reject"
WITHDRAW, EXECUTE, CLEANUP = "./approval/withdraw", "./approval/execute", "./approval/cleanup"


class ExecutionRefused(Conflict):
    """An approved request that cannot run as frozen (the world changed, the requestor lost a
    permission, it expired, it ran already): nothing was changed."""


@dataclass(frozen=True)
class ApprovalRequest:
    id: int
    kind: str
    operation: str
    category: str
    title: str
    reason: str
    requestor: str
    preferred_approver: str
    payload: Mapping[str, Any]
    view: Mapping[str, Any]
    digest: str
    requestor_state: str
    approver_state: str
    approver: str
    created: str
    expires: str
    executed: str | None
    decisions: tuple[Mapping[str, Any], ...] = ()

    def expired(self, now: datetime) -> bool:
        return from_iso(self.expires) <= now

    def state(self, now: datetime) -> str:
        """One word: PENDING, APPROVED (to execute), REJECTED, WITHDRAWN, EXECUTED, EXPIRED."""
        if self.requestor_state in ("WITHDRAWN", "EXECUTED"):
            return self.requestor_state
        if self.approver_state == "REJECTED":
            return "REJECTED"
        if self.expired(now):
            return "EXPIRED"
        return self.approver_state

    @property
    def lines(self) -> list[str]:
        """What the approver reads: the frozen change, a diff where there is one."""
        return [str(line) for line in self.view.get("lines", [])]

    def fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "operation": self.operation, "category": self.category,
                "title": self.title, "reason": self.reason, "requestor": self.requestor,
                "preferred_approver": self.preferred_approver,
                "payload": dict(self.payload), "view": dict(self.view),
                "created": self.created, "expires": self.expires}


# executor(requestor's session, request, meta) -> what happened, in words; raise a Js7Error
# (the world changed, a permission is missing) to refuse.
Executor = Callable[["Session", ApprovalRequest, AuditMeta], str]


def _request(row: sqlite3.Row, decisions: tuple[Mapping[str, Any], ...]) -> ApprovalRequest:
    return ApprovalRequest(row["id"], row["kind"], row["operation"], row["category"],
                           row["title"], row["reason"], row["requestor"],
                           row["preferred_approver"], json.loads(row["payload"]),
                           json.loads(row["view"]), row["digest"], row["requestor_state"],
                           row["approver_state"], row["approver"], row["created"],
                           row["expires"], row["executed"], decisions)


class ApprovalService:
    def __init__(self, store: Store, ops: Operations, clock: Clock, secrets: SecretBox,
                 executors: Mapping[str, Executor]) -> None:
        self.store = store
        self.ops = ops
        self.clock = clock
        self.secrets = secrets
        self.executors = executors

    # -- reads ----------------------------------------------------------------------------
    def _load(self, conn: sqlite3.Connection, request_id: int) -> ApprovalRequest:
        row = conn.execute("SELECT * FROM approval_requests WHERE id = ?",
                           (request_id,)).fetchone()
        if row is None:
            raise NotFound(f"no approval request {request_id}")
        decisions = tuple(dict(r) for r in conn.execute(
            "SELECT * FROM approval_decisions WHERE request_id = ? ORDER BY id",
            (request_id,)))
        return _request(row, decisions)

    def _visible(self, session: Session, request: ApprovalRequest) -> bool:
        return request.requestor == session.account or session.can(APPROVALS_APPROVE)

    def list(self, session: Session, *, mine: bool = False, for_me: bool = False,
             open_only: bool = False, limit: int = 200) -> list[ApprovalRequest]:
        """Newest first: mine (as requestor), for me (as approver: others' pending requests),
        or every request I may see."""
        fresh = self.ops.authorize(session, request="./approval/list",
                                   category=Category.IDENTITY)
        self.cleanup()
        now = self.clock.now()
        rows = self.store.conn.execute(
            "SELECT * FROM approval_requests ORDER BY id DESC LIMIT ?", (limit * 5,)).fetchall()
        out = []
        for row in rows:
            request = _request(row, ())
            if not self._visible(fresh, request):
                continue
            if mine and request.requestor != fresh.account:
                continue
            if for_me and (request.requestor == fresh.account
                           or request.state(now) != "PENDING"):
                continue
            if open_only and request.state(now) not in ("PENDING", "APPROVED"):
                continue
            out.append(request)
            if len(out) >= limit:
                break
        return out

    def show(self, session: Session, request_id: int) -> ApprovalRequest:
        fresh = self.ops.authorize(session, request="./approval/show",
                                   category=Category.IDENTITY)
        request = self._load(self.store.conn, request_id)
        if not self._visible(fresh, request):
            raise NotFound(f"no approval request {request_id} that you may see")
        return request

    def pending_count(self, session: Session) -> int:
        """The header's count: requests waiting for me (as approver), and mine approved and
        waiting to be executed. A store read (no audit, no permission needed beyond a session)."""
        now = to_iso(self.clock.now())
        conn = self.store.conn
        mine = conn.execute(
            "SELECT COUNT(*) FROM approval_requests WHERE requestor = ? AND requestor_state = "
            "'REQUESTED' AND approver_state = 'APPROVED' AND expires > ?",
            (session.account, now)).fetchone()[0]
        others = 0
        if session.can(APPROVALS_APPROVE):
            others = conn.execute(
                "SELECT COUNT(*) FROM approval_requests WHERE requestor <> ? AND "
                "requestor_state = 'REQUESTED' AND approver_state = 'PENDING' AND expires > ?",
                (session.account, now)).fetchone()[0]
        return int(mine) + int(others)

    # -- decisions ------------------------------------------------------------------------
    def _refuse(self, session: Session, request: str, category: str, reason: str,
                request_id: int) -> None:
        self.ops.refuse(session.account, request, Category(category), reason,
                        parameters={"approvalRequest": request_id})

    def _decide(self, session: Session, request_id: int, decision: str, comment: str,
                request_name: str) -> ApprovalRequest:
        comment = comment.strip()
        if not comment:
            what = "approving" if decision == "APPROVED" else "rejecting"
            raise ValidationError(f"{what} needs a comment (--comment): say what you checked"
                                  if decision == "APPROVED" else
                                  f"{what} needs a reason (--comment)")
        fresh = self.ops.authorize(session, request=request_name, category=Category.IDENTITY)
        request = self._load(self.store.conn, request_id)
        now = self.clock.now()
        if request.requestor == fresh.account:
            reason = (f"refused: nobody approves or rejects their own request (request "
                      f"{request_id} is yours; withdraw it instead)")
            self._refuse(session, request_name, request.category, reason, request_id)
            raise PermissionDenied(reason, permission=APPROVALS_APPROVE)
        state = request.state(now)
        if state != "PENDING":
            reason = f"refused: request {request_id} is {state}, not pending"
            self._refuse(session, request_name, request.category, reason, request_id)
            raise ExecutionRefused(reason) if state == "EXPIRED" else Conflict(reason)
        if request_digest(request.fields()) != request.digest:
            reason = (f"refused: request {request_id} was changed in the store after it was "
                      "made (its digest no longer matches); it cannot be decided")
            self._refuse(session, request_name, request.category, reason, request_id)
            raise proof.ApprovalUnproven(reason)
        with self.ops.mutate(session, request=request_name,
                             category=Category(request.category),
                             permissions=[APPROVALS_APPROVE],
                             meta=AuditMeta(comment=comment)) as op:
            changed = op.conn.execute(
                "UPDATE approval_requests SET approver_state = ?, approver = ?, updated = ? "
                "WHERE id = ? AND digest = ? AND approver_state = 'PENDING' AND "
                "requestor_state = 'REQUESTED'",
                (decision, op.session.account, to_iso(now), request_id,
                 request.digest)).rowcount
            if not changed:
                raise Conflict(f"request {request_id} was decided or withdrawn meanwhile")
            entry = op.record(parameters={
                "phase": decision.lower(), "approvalRequest": request_id,
                "kind": request.kind, "title": request.title, "digest": request.digest,
                "requestor": request.requestor})
            token = op.conn.execute("SELECT token_hash FROM sessions WHERE id = ?",
                                    (op.session.id,)).fetchone()
            text = proof.statement(
                request_id=request_id, digest=request.digest, decision=decision,
                approver=op.session.account, comment=comment, session_id=op.session.id,
                session_token_hash=token[0] if token else "", decided=to_iso(now),
                audit_id=entry.id)
            signature = (proof.sign(op.conn, self.secrets, op.session.account, text)
                         if decision == "APPROVED" else "")
            op.conn.execute(
                "INSERT INTO approval_decisions (request_id, decision, approver, comment, "
                "digest, session_id, session_token_hash, decided, audit_id, proof, signature) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (request_id, decision, op.session.account, comment, request.digest,
                 op.session.id, text["sessionTokenHash"], text["decided"], entry.id,
                 proof.mac(self.secrets, text), signature))
        return self._load(self.store.conn, request_id)

    def approve(self, session: Session, request_id: int, comment: str) -> ApprovalRequest:
        return self._decide(session, request_id, "APPROVED", comment, APPROVE)

    def reject(self, session: Session, request_id: int, reason: str) -> ApprovalRequest:
        return self._decide(session, request_id, "REJECTED", reason, REJECT)

    def withdraw(self, session: Session, request_id: int, *,
                 meta: AuditMeta = AuditMeta()) -> ApprovalRequest:
        request = self.show(session, request_id)
        if request.requestor != session.account:
            raise PermissionDenied(f"only the requestor ('{request.requestor}') withdraws "
                                   f"request {request_id}")
        with self.ops.mutate(session, request=WITHDRAW, category=Category(request.category),
                             meta=meta) as op:
            changed = op.conn.execute(
                "UPDATE approval_requests SET requestor_state = 'WITHDRAWN', updated = ? "
                "WHERE id = ? AND requestor_state = 'REQUESTED'",
                (to_iso(self.clock.now()), request_id)).rowcount
            if not changed:
                raise Conflict(f"request {request_id} is {request.requestor_state.lower()} "
                               "already; only a requested one is withdrawn")
            op.record(parameters={"phase": "withdrawn", "approvalRequest": request_id,
                                  "kind": request.kind, "title": request.title})
        return self._load(self.store.conn, request_id)

    # -- execution ------------------------------------------------------------------------
    def run_approved(self, session: Session, request_id: int) -> tuple[ApprovalRequest, str]:
        """Run the approved, frozen operation once, with the requestor's permissions of now."""
        fresh = self.ops.authorize(session, request=EXECUTE, category=Category.IDENTITY)
        conn = self.store.conn
        request = self._load(conn, request_id)
        if request.requestor != fresh.account:
            reason = (f"refused: request {request_id} is executed by its requestor "
                      f"('{request.requestor}'), with the requestor's permissions")
            self._refuse(session, EXECUTE, request.category, reason, request_id)
            raise PermissionDenied(reason)
        state = request.state(self.clock.now())
        if state != "APPROVED":
            words = {"EXECUTED": "it was executed already (a request runs once)",
                     "EXPIRED": f"it expired at {request.expires}",
                     "PENDING": "it is not approved yet",
                     "REJECTED": "it was rejected", "WITHDRAWN": "it was withdrawn"}
            reason = f"refused at execution: request {request_id}: {words.get(state, state)}"
            self._refuse(session, EXECUTE, request.category, reason, request_id)
            raise ExecutionRefused(reason)
        approvals = [d for d in request.decisions if d["decision"] == "APPROVED"]
        try:
            if not approvals:
                raise proof.ApprovalUnproven(f"the approval of request {request_id} does not "
                                             "prove itself: no approval is recorded")
            proof.verify(conn, self.secrets, approvals[-1], {
                "id": request.id, "digest": request.digest, "requestor": request.requestor,
                "approver": request.approver}, request_digest(request.fields()))
        except proof.ApprovalUnproven as exc:
            self._refuse(session, EXECUTE, request.category, f"refused at execution: {exc}",
                         request_id)
            raise
        executor = self.executors.get(request.kind)
        if executor is None:
            raise ExecutionRefused(f"no executor for approval requests of kind "
                                   f"'{request.kind}'")
        self._claim(session, request)
        meta = AuditMeta(comment=request.reason or f"approval request {request_id}")
        try:
            with executing(request_id):
                summary = executor(session, request, meta)
        except Js7Error as exc:
            self._unclaim(session, request, str(exc))
            raise ExecutionRefused(f"refused at execution: request {request_id}: {exc}") \
                from None
        self._executed(session, request, summary)
        return self._load(conn, request_id), summary

    def _claim(self, session: Session, request: ApprovalRequest) -> None:
        with self.store.transaction() as conn:
            changed = conn.execute(
                "UPDATE approval_requests SET requestor_state = 'EXECUTED', executed = ?, "
                "updated = ? WHERE id = ? AND digest = ? AND requestor_state = 'REQUESTED' "
                "AND approver_state = 'APPROVED'",
                (to_iso(self.clock.now()), to_iso(self.clock.now()), request.id,
                 request.digest)).rowcount
            if changed:
                audit.append(conn, created=self.clock.now(), account=session.account,
                             request=EXECUTE, category=Category(request.category),
                             parameters={"phase": "execution started",
                                         "approvalRequest": request.id,
                                         "digest": request.digest,
                                         "approver": request.approver})
        if not changed:
            reason = (f"refused at execution: request {request.id}: it was executed already "
                      "(a request runs once)")
            self._refuse(session, EXECUTE, request.category, reason, request.id)
            raise ExecutionRefused(reason)

    def _unclaim(self, session: Session, request: ApprovalRequest, why: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE approval_requests SET requestor_state = 'REQUESTED', "
                         "executed = NULL, updated = ? WHERE id = ?",
                         (to_iso(self.clock.now()), request.id))
            audit.append(conn, created=self.clock.now(), account=session.account,
                         request=EXECUTE, category=Category(request.category),
                         outcome=Outcome.REFUSED,
                         parameters={"phase": "refused at execution",
                                     "approvalRequest": request.id, "refused": why[:2000]})

    def _executed(self, session: Session, request: ApprovalRequest, summary: str) -> None:
        with self.store.transaction() as conn:
            audit.append(conn, created=self.clock.now(), account=session.account,
                         request=EXECUTE, category=Category(request.category),
                         parameters={"phase": "executed", "approvalRequest": request.id,
                                     "digest": request.digest, "approver": request.approver,
                                     "result": summary[:2000]})

    # -- housekeeping ---------------------------------------------------------------------
    def cleanup(self) -> int:
        """Delete requests older than ``approval_requests_age`` (their audit entries stay)."""
        conn = self.store.conn
        age = int(identity_settings.read(conn, "approval_requests_age"))
        before = to_iso(self.clock.now() - timedelta(seconds=age))
        if not conn.execute("SELECT 1 FROM approval_requests WHERE created < ? LIMIT 1",
                            (before,)).fetchone():
            return 0
        with self.store.transaction() as conn:
            removed = conn.execute("DELETE FROM approval_requests WHERE created < ?",
                                   (before,)).rowcount
            audit.append(conn, created=self.clock.now(), account="js7tui", request=CLEANUP,
                         category=Category.IDENTITY,
                         parameters={"removed": removed, "olderThan": before})
        return removed
