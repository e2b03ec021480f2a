"""Changes with a remote side: the one road every deploy, revoke, import-deploy, order add and
order cancel takes (issue 15), beside :meth:`js7tui.operations.Operations.mutate`.

Phase 1 runs inside the operation's ``mutate`` transaction: session, permission, comment rule,
signing, then :meth:`RemoteChanges.record` writes the *intent* (what goes where, with the
version ids) and its audit entry. If that transaction cannot commit, nothing is sent.

Phase 2, :meth:`RemoteChanges.deliver`, sends to one target with no transaction open and no
lock held, so a silent Controller costs its own caller a timeout and nobody else anything.

Phase 3, in the same call, writes the target's outcome and an audit entry in one short
transaction: ACCEPTED, REFUSED (the engine's reason), UNKNOWN (the request went out, no answer
came back) or NOT_APPLIED (nothing reached the Controller). An interruption (Ctrl+C) while the
Controller answers is written as UNKNOWN before it propagates; a killed process leaves SENDING.

Reconciliation settles UNKNOWN and interrupted SENDING intents by asking the Controller what it
holds (each kind registers its probe): at the next use of that Controller, by ``js7tui
deployment reconcile`` and on the dashboard's refresh. A change is therefore never live on a
Controller without an intent whose audit entry was committed before it was sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from js7tui import audit
from js7tui.audit import Category, Outcome
from js7tui.client.errors import ControllerAnswerLost, ControllerError, ControllerRefused
from js7tui.clock import Clock, from_iso, to_iso
from js7tui.errors import Js7Error
from js7tui.permissions.names import CONTROLLER_VIEW

if TYPE_CHECKING:
    import sqlite3

    from js7tui.client.controller import ControllerClient
    from js7tui.client.registry import ControllerService
    from js7tui.identity.sessions import Session
    from js7tui.operations import Op, Operations
    from js7tui.store import Store

# A SENDING intent whose process still runs is left alone this long (its own timeout ends it
# first); after that it is reconciled whoever holds it.
STALE_AFTER = timedelta(minutes=15)
DEPLOYMENT_KINDS = ("DEPLOY", "REVOKE", "IMPORT_DEPLOY")
# Intents this process is delivering right now, whichever console object sent them (the TUI and
# a test may hold several): these are in flight, not interrupted, whatever their row says.
_IN_FLIGHT: set[int] = set()
_IN_FLIGHT_LOCK = threading.Lock()
RECONCILE_REQUEST = "./controller/reconcile"


class RemoteState(StrEnum):
    SENDING = "SENDING"
    ACCEPTED = "ACCEPTED"
    REFUSED = "REFUSED"
    UNKNOWN = "UNKNOWN"
    NOT_APPLIED = "NOT_APPLIED"


OPEN_STATES = (RemoteState.SENDING, RemoteState.UNKNOWN)


class RemoteChangeFailed(Js7Error):
    """A single-target change (an order add or cancel) that did not take effect for certain:
    refused or not applied (exit 9), or unknown until reconciled (exit 10)."""

    def __init__(self, what: str, outcome: RemoteOutcome) -> None:
        words = {RemoteState.REFUSED: "refused by the Controller",
                 RemoteState.NOT_APPLIED: "not applied",
                 RemoteState.UNKNOWN: "outcome unknown"}.get(outcome.state, outcome.state)
        hint = ("; 'js7tui deployment reconcile' asks the Controller what it did"
                if outcome.state is RemoteState.UNKNOWN else "")
        super().__init__(f"{what}: {words}: {outcome.message}{hint}")
        self.outcome = outcome
        self.exit_code = 10 if outcome.state is RemoteState.UNKNOWN else 9


@dataclass(frozen=True)
class RemoteOutcome:
    """What one target did with a change. ``details`` go to the kind's hook (e.g. each
    Agent's state after a deploy); they are not audited."""

    state: RemoteState
    message: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of_error(cls, exc: Js7Error) -> RemoteOutcome:
        """A Controller call that raised: refused (its problem code and reason), lost after
        the request went out (UNKNOWN), or never sent (NOT_APPLIED: unreachable, or the
        console could not even build the request, e.g. its client certificate is missing)."""
        if isinstance(exc, ControllerRefused):
            code = f"{exc.code}: " if exc.code else ""
            return cls(RemoteState.REFUSED, f"{code}{exc}")
        if isinstance(exc, ControllerAnswerLost):
            return cls(RemoteState.UNKNOWN, str(exc))
        return cls(RemoteState.NOT_APPLIED, f"{exc}; nothing was sent")


@dataclass(frozen=True)
class Intent:
    """A recorded change: what reconciliation needs to ask the targets about it."""

    id: int
    kind: str
    reference: str
    account: str
    request: str
    category: str
    probe: Mapping[str, Any]
    targets: tuple[str, ...]
    created: str
    pid: int = 0
    audit_id: int | None = None

    @property
    def commit_id(self) -> str:
        return self.reference if self.kind in DEPLOYMENT_KINDS else ""


@dataclass(frozen=True)
class Reconciled:
    """One open target of an intent after reconciliation: what it was and what was found
    (``after`` is None when the Controller could not be asked, so it stays open)."""

    intent: Intent
    target: str
    before: RemoteState
    after: RemoteOutcome | None
    problem: str = ""


# probe(client, intent) -> ACCEPTED or NOT_APPLIED: does the target hold the change?
Probe = Callable[["ControllerClient", Intent], RemoteOutcome]
# on_settled(conn, intent, target, outcome): the kind's own bookkeeping, same transaction.
Settled = Callable[["sqlite3.Connection", Intent, str, RemoteOutcome], None]


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _intent(row: Any, targets: Sequence[str]) -> Intent:
    return Intent(row["id"], row["kind"], row["reference"], row["account"], row["request"],
                  row["category"], json.loads(row["probe"] or "{}"), tuple(targets),
                  row["created"], row["pid"], row["audit_id"])


class RemoteChanges:
    """The intent store, delivery and reconciliation for every kind of remote change."""

    def __init__(self, store: Store, ops: Operations, clock: Clock,
                 controllers: ControllerService) -> None:
        self.store = store
        self.ops = ops
        self.clock = clock
        self.controllers = controllers
        self._probes: dict[str, Probe] = {}
        self._hooks: dict[str, Settled] = {}

    def register(self, kinds: Iterable[str], probe: Probe,
                 on_settled: Settled | None = None) -> None:
        for kind in kinds:
            self._probes[kind] = probe
            if on_settled is not None:
                self._hooks[kind] = on_settled

    # -- phase 1 --------------------------------------------------------------------------
    def record(self, op: Op, kind: str, reference: str, targets: Sequence[str], *,
               probe: Mapping[str, Any], parameters: Mapping[str, Any], path: str = "",
               object_type: str = "") -> Intent:
        """The intent and its audit entry, in the operation's transaction (``op``)."""
        now = to_iso(self.clock.now())
        commit_id = reference if kind in DEPLOYMENT_KINDS else ""
        entry = op.record(path=path, object_type=object_type, commit_id=commit_id,
                          controller_id=",".join(targets),
                          parameters={**parameters, "phase": "intent",
                                      "targets": dict.fromkeys(targets, "SENDING")})
        cursor = op.conn.execute(
            "INSERT INTO remote_changes (kind, reference, account, request, category, probe, "
            "created, pid, audit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, reference, op.session.account, op.request, str(op.category),
             json.dumps(probe, sort_keys=True), now, os.getpid(), entry.id))
        change_id = int(cursor.lastrowid or 0)
        op.conn.executemany(
            "INSERT INTO remote_targets (change_id, target, state, updated) VALUES (?, ?, ?, ?)",
            [(change_id, t, RemoteState.SENDING.value, now) for t in targets])
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.add(change_id)
        return Intent(change_id, kind, reference, op.session.account, op.request,
                      str(op.category), dict(probe), tuple(targets), now, os.getpid(),
                      entry.id)

    # -- phases 2 and 3 -------------------------------------------------------------------
    def deliver(self, intent: Intent, target: str,
                send: Callable[[], RemoteOutcome]) -> RemoteOutcome:
        """Send to one target outside any transaction, then write its outcome."""
        if self.store.conn.in_transaction:
            raise RuntimeError("a remote change must never be sent inside a store transaction")
        try:
            outcome = send()
        except Js7Error as exc:
            outcome = RemoteOutcome.of_error(exc)
        except BaseException:
            # Ctrl+C (or a bug) while the Controller may be applying it: say so, then go on.
            try:
                self.settle(intent, target, RemoteOutcome(
                    RemoteState.UNKNOWN, "interrupted while waiting for the Controller's "
                    "answer; 'js7tui deployment reconcile' asks it what it holds"))
            finally:
                self.finished(intent)
            raise
        self.settle(intent, target, outcome)
        return outcome

    def finished(self, intent: Intent) -> None:
        """Delivery of ``intent`` is over in this process (whatever its outcomes)."""
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(intent.id)

    def settle(self, intent: Intent, target: str, outcome: RemoteOutcome, *,
               account: str | None = None, phase: str = "outcome",
               before: RemoteState | None = None) -> None:
        """Phase 3: the target's state, the kind's bookkeeping and an audit entry, in one
        short transaction. With ``before`` (reconciliation) only if the state is still that."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            # Reconciliation writes only over the state it found: a delivery that answered
            # meanwhile knows better.
            changed = conn.execute(
                "UPDATE remote_targets SET state = ?, message = ?, updated = ? WHERE "
                "change_id = ? AND target = ? AND (? IS NULL OR state = ?)",
                (outcome.state.value, outcome.message, to_iso(now), intent.id, target,
                 before and before.value, before and before.value)).rowcount
            if not changed:
                return
            hook = self._hooks.get(intent.kind)
            if hook is not None:
                hook(conn, intent, target, outcome)
            parameters: dict[str, Any] = {"phase": phase, "change": intent.id,
                                          "kind": intent.kind, "reference": intent.reference,
                                          "outcome": outcome.state.value}
            if outcome.message:
                parameters["reason"] = outcome.message[:2000]
            if before is not None:
                parameters["was"] = before.value
            if account is not None and account != intent.account:
                parameters["changeBy"] = intent.account
            # the outcome names what the intent named (its path), so the log reads alone
            named = conn.execute("SELECT path, object_type FROM audit_log WHERE id = ?",
                                 (intent.audit_id,)).fetchone() if intent.audit_id else None
            audit.append(conn, created=now, account=account or intent.account,
                         request=intent.request, category=Category(intent.category),
                         path=named["path"] if named else "",
                         object_type=named["object_type"] if named else "",
                         outcome=(Outcome.REFUSED if outcome.state is RemoteState.REFUSED
                                  else Outcome.OK),
                         controller_id=target, commit_id=intent.commit_id,
                         parameters=parameters)
        self.ops.changed()  # a new audit head, like every other audited change

    # -- reconciliation -------------------------------------------------------------------
    def open_intents(self, target: str | None = None) -> list[tuple[Intent, str, RemoteState]]:
        """(intent, target, state) for every target still SENDING or UNKNOWN, except the
        ones a live process (this one included) is still delivering."""
        rows = self.store.conn.execute(
            "SELECT c.*, t.target AS target, t.state AS state FROM remote_targets t JOIN "
            "remote_changes c ON c.id = t.change_id WHERE t.state IN ('SENDING', 'UNKNOWN') "
            "AND (? IS NULL OR t.target = ?) ORDER BY c.id, t.target",
            (target, target)).fetchall()
        stale_before = self.clock.now() - STALE_AFTER
        with _IN_FLIGHT_LOCK:
            in_flight = set(_IN_FLIGHT)
        out = []
        for row in rows:
            state = RemoteState(row["state"])
            if state is RemoteState.SENDING:
                mine = row["pid"] == os.getpid()
                busy = row["id"] in in_flight if mine else _alive(row["pid"])
                if busy and from_iso(row["created"]) > stale_before:
                    continue
            out.append((_intent(row, [row["target"]]), row["target"], state))
        return out

    def send_one(self, intent: Intent, target: str, send: Callable[[], RemoteOutcome],
                 what: str) -> RemoteOutcome:
        """Deliver a single-target change and raise :class:`RemoteChangeFailed` unless it
        was accepted (the outcome is recorded either way)."""
        try:
            outcome = self.deliver(intent, target, send)
        finally:
            self.finished(intent)
        if outcome.state is not RemoteState.ACCEPTED:
            raise RemoteChangeFailed(what, outcome)
        return outcome

    def has_open(self, target: str) -> bool:
        return bool(self.open_intents(target))

    def reconcile(self, session: Session, targets: Sequence[str] | None = None, *,
                  timeout: float | None = None) -> list[Reconciled]:
        """Ask each target with open intents what it holds, and write what was found. Needs
        ``controller:view`` on the target (refused targets are skipped with the reason)."""
        pending = self.open_intents() if targets is None else [
            entry for t in targets for entry in self.open_intents(t)]
        by_target: dict[str, list[tuple[Intent, RemoteState]]] = {}
        for intent, target, state in pending:
            by_target.setdefault(target, []).append((intent, state))
        results: list[Reconciled] = []
        for target, entries in by_target.items():
            if not session.can(CONTROLLER_VIEW, target):
                results.extend(Reconciled(i, target, s, None, f"you may not view Controller "
                                          f"'{target}' ({CONTROLLER_VIEW})")
                               for i, s in entries)
                continue
            results.extend(self._reconcile_target(session, target, entries, timeout))
        return results

    def _reconcile_target(self, session: Session, target: str,
                          entries: list[tuple[Intent, RemoteState]],
                          timeout: float | None) -> list[Reconciled]:
        results: list[Reconciled] = []
        try:
            client = self.controllers.client(target, timeout=timeout)
        except Exception as exc:  # unregistered since: nothing can be asked
            return [Reconciled(i, target, s, None, str(exc)) for i, s in entries]
        with client:
            for intent, state in entries:
                probe = self._probes.get(intent.kind)
                if probe is None:
                    results.append(Reconciled(intent, target, state, None,
                                              f"no probe for {intent.kind}"))
                    continue
                try:
                    found = probe(client, intent)
                except ControllerError as exc:
                    results.append(Reconciled(intent, target, state, None, str(exc)))
                    if not isinstance(exc, ControllerRefused):
                        # the Controller is away: the others would wait for it just the same
                        results.extend(Reconciled(i, target, s, None, str(exc))
                                       for i, s in entries[len(results):])
                        break
                    continue
                found = RemoteOutcome(found.state, "reconciled: " + found.message,
                                      found.details)
                self.settle(intent, target, found, account=session.account,
                            phase="reconciled", before=state)
                results.append(Reconciled(intent, target, state, found))
        return results


def reconcile_quietly(remote: RemoteChanges, session: Session, target: str,
                      timeout: float | None = None) -> None:
    """Reconcile ``target`` before using it again, without letting a failure stop the use
    (the open intents stay open and are reported by ``js7tui deployment reconcile``)."""
    if not remote.has_open(target):
        return
    with contextlib.suppress(ControllerError):
        remote.reconcile(session, [target], timeout=timeout)
