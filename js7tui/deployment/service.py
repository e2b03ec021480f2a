"""Deploy, revoke and import-deploy to Controllers, with the deployment history (issue 5 points
3-6, issue 15).

Every path ends in a signature the Controller and its Agents check: ``deploy`` serialises each
object once (:func:`item_bytes`), signs exactly those bytes with the key the security level
prescribes (LOW: the installation's, MEDIUM: the deploying account's; HIGH refuses) and sends
them; ``import_deploy`` verifies every signature of an archive signed outside against the
importing account's registered certificate and chain with ``js7tui.signing.verify_signed_item``
and sends the exact signed bytes; nothing is sent unless every object verified. ``revoke``
deletes items, which needs no signature. :mod:`js7tui.deployment.policy` answers first who may
do which at this level, before anything is read or signed.

Each goes the road of :mod:`js7tui.remote`: one short transaction records the commit (objects,
versions, the intent per Controller) and its DEPLOYMENT audit entry; then, with no transaction
open, each Controller is asked; then each Controller's outcome (ACCEPTED, REFUSED with its
reason, UNKNOWN, NOT_APPLIED) is written with an audit entry of its own. After a Controller
accepted, the deploy waits a little (``[controllers] agent_wait_seconds``) for its Agents and
records each Agent's state (attached, pending, refused with the Agent's reason): a commit is
*deployed* on a Controller only when every Agent that runs its items holds them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from js7tui import security_level
from js7tui.approval import rules as approval_rules
from js7tui.audit import AuditMeta, Category
from js7tui.client.errors import ControllerError, ControllerRefused
from js7tui.client.registry import ControllerService
from js7tui.clock import Clock, from_iso, to_iso
from js7tui.config import ArchiveConfig
from js7tui.deployment import frozen
from js7tui.deployment.archive import ArchiveRefused
from js7tui.deployment.export import new_version_id
from js7tui.deployment.imports import (
    IMPORT_REQUEST,
    VERIFY_REQUEST,
    EntryCheck,
    ImportCandidate,
    ImportReport,
    match_inventory,
    read_signed_archive,
)
from js7tui.deployment.items import VERSION_CREATED, content_of, item_bytes, next_created
from js7tui.deployment.keys import (
    SigningIdentity,
    SigningKeyService,
    check_certificate,
    check_not_revoked,
    key_holder,
    read_identity,
)
from js7tui.deployment.policy import Action, enforce
from js7tui.deployment.status import ExpiringItem, ObjectStatus, expiring_items, object_status
from js7tui.engine.shapes import ShapeError, parse_item
from js7tui.errors import Js7Error, NotFound, PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from js7tui.inventory import InventoryService, ObjectType
from js7tui.operations import Op, Operations
from js7tui.permissions.names import CONTROLLER_DEPLOY, INVENTORY_DEPLOY, INVENTORY_VIEW
from js7tui.pki.crl import held_crls
from js7tui.remote import Intent, RemoteChanges, RemoteOutcome, RemoteState, reconcile_quietly
from js7tui.signing import (
    Algorithm,
    SignatureRefused,
    SignedItem,
    TrustedKeys,
    sign_bytes,
    verify_signed_item,
)
from js7tui.store import Store

if TYPE_CHECKING:
    from js7tui.client.controller import ControllerClient

log = logging.getLogger("js7tui.deployment")
CAT = Category.DEPLOYMENT
DEPLOY_REQUEST = "./inventory/deployment/deploy"
REVOKE_REQUEST = "./inventory/deployment/revoke"
MAX_AUDITED = 1000
ACCEPTED = RemoteState.ACCEPTED.value
ATTACHED, PENDING, AGENT_REFUSED = "attached", "pending", "refused"
AGENT_POLL = 0.05  # the longest pause between two looks at the Agents (seconds)
# Called after each Controller answered: (controller id, how many answered, how many in all).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Prepared:
    """One object of a commit: what goes to the Controllers (a signed item, or None to
    delete) and what the history records."""

    object_type: ObjectType
    path: str
    name: str
    version_id: str
    item: SignedItem | None = None
    digest: str = ""
    created: str = ""   # the item's versionCreated (anti-rollback), '' if it has none


@dataclass(frozen=True)
class AgentState:
    """What a Controller said of one Agent for a commit's items."""

    agent: str
    state: str          # attached, pending or refused
    message: str = ""


@dataclass(frozen=True)
class Target:
    """One Controller's outcome for a commit: the road's state (SENDING, ACCEPTED, REFUSED,
    UNKNOWN, NOT_APPLIED) and, once accepted, each Agent's."""

    controller_id: str
    state: str
    message: str = ""
    agents: tuple[AgentState, ...] = ()
    operation: str = "DEPLOY"

    @property
    def done(self) -> bool:
        """Deployed (or revoked) there for certain: accepted, and every Agent holds it."""
        return self.state == ACCEPTED and all(a.state == ATTACHED for a in self.agents)

    @property
    def settled(self) -> bool:
        """Nothing more will change by itself: done, refused or not applied."""
        return self.state in ("REFUSED", "NOT_APPLIED") or (
            self.state == ACCEPTED and not any(a.state == PENDING for a in self.agents))

    @property
    def summary(self) -> str:
        """The outcome in words, as the administrator reads it."""
        revoke = self.operation == "REVOKE"
        if self.state == ACCEPTED:
            refused = [a for a in self.agents if a.state == AGENT_REFUSED]
            pending = [a for a in self.agents if a.state == PENDING]
            if refused:
                return "; ".join(f"refused by Agent '{a.agent}': {a.message}" for a in refused)
            if pending:
                return ("accepted by the Controller; waiting for Agent(s) "
                        + ", ".join(f"'{a.agent}'" + (f" ({a.message})" if a.message else "")
                                    for a in pending))
            return "revoked" if revoke else "deployed"
        return {"SENDING": "being sent (or interrupted): 'js7tui deployment reconcile' asks "
                           "the Controller",
                "REFUSED": f"refused by the Controller: {self.message}",
                "UNKNOWN": f"unknown: {self.message}",
                "NOT_APPLIED": f"not applied: {self.message}"}.get(self.state, self.state)

    @property
    def word(self) -> str:
        """One word for tables: deployed/revoked, pending, refused, unknown, not-applied."""
        if self.state == ACCEPTED:
            if any(a.state == AGENT_REFUSED for a in self.agents):
                return "agent-refused"
            if any(a.state == PENDING for a in self.agents):
                return "pending"
            return "revoked" if self.operation == "REVOKE" else "deployed"
        return self.state.lower().replace("_", "-")


@dataclass(frozen=True)
class Deployment:
    commit_id: str
    operation: str
    account: str
    signer: str
    created: str
    objects: tuple[tuple[str, str, str], ...]   # (type, path, versionId)
    targets: tuple[Target, ...]
    audit_id: int | None = None

    @property
    def ok(self) -> bool:
        """Done on every Controller (and all their Agents)."""
        return all(t.done for t in self.targets)

    @property
    def refused(self) -> bool:
        """Refused or not applied somewhere (by a Controller or an Agent)."""
        return any(t.state in ("REFUSED", "NOT_APPLIED") or t.word == "agent-refused"
                   for t in self.targets)


@dataclass(frozen=True)
class Attention:
    """What of the deployments needs an administrator's eye (the dashboard's line): changes
    whose outcome is not known yet, accepted commits an Agent has not taken or refused, and
    deployed items whose signer expires soon."""

    open_changes: int
    waiting: int
    agent_refused: int
    expiring: int
    expiry_days: int

    @property
    def needs_reconcile(self) -> bool:
        return bool(self.open_changes or self.waiting or self.agent_refused)

    @property
    def words(self) -> str:
        """'' when nothing needs attention."""
        parts = []
        if self.open_changes:
            parts.append(f"{self.open_changes} change(s) with unknown outcome (js7tui "
                         "deployment reconcile asks the Controller)")
        if self.agent_refused:
            parts.append(f"{self.agent_refused} deployment(s) refused by an Agent")
        if self.waiting:
            parts.append(f"{self.waiting} deployment(s) waiting for an Agent")
        if self.expiring:
            parts.append(f"{self.expiring} deployed item(s) signed by a certificate expiring "
                         f"within {self.expiry_days} days")
        return "; ".join(parts)


def aggregate_agents(items: Iterable[Any], wanted: Mapping[tuple[str, str], str]
                     ) -> tuple[AgentState, ...]:
    """Each Agent's state for the items of one commit, from the Controller's item list:
    refused if it refused any (naming it), else pending if any is on its way, else attached.
    ``wanted`` maps (wire type, name) to the commit's version; other versions are not ours."""
    found: dict[str, AgentState] = {}
    rank = {ATTACHED: 0, PENDING: 1, AGENT_REFUSED: 2}
    for item in items:
        if wanted.get((item.item_type, item.path)) != item.version_id:
            continue
        for agent, raw in item.agents.items():
            state, message = _agent_wire(raw)
            if state == AGENT_REFUSED:
                message = f"{item.item_type} '{item.path}': {message}"
            current = found.get(agent)
            if current is None or rank[state] > rank[current.state]:
                found[agent] = AgentState(agent, state, message)
    return tuple(found[a] for a in sorted(found))


def _agent_wire(raw: Any) -> tuple[str, str]:
    """An Agent's state as the client reads it (:class:`AgentState` of the client, or its
    wire form ``{"state", "message"}``), or an older Controller's ``"refused: reason"``."""
    if isinstance(raw, Mapping):
        state, message = str(raw.get("state", PENDING)), str(raw.get("message") or "")
    elif hasattr(raw, "state"):
        state, message = str(raw.state), str(getattr(raw, "message", "") or "")
    else:
        state, _, message = str(raw).partition(": ")
    return (state if state in (ATTACHED, PENDING, AGENT_REFUSED) else PENDING), message


def _algorithms(identity: SigningIdentity) -> list[Algorithm]:
    """What ``openssl dgst -sha256 -sign`` (or ``pkeyutl -rawin`` for Ed25519) produces with
    this certificate's key; EC signatures made with SHA-512 are accepted too."""
    key = identity.cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return [Algorithm.SHA256_RSA]
    if isinstance(key, ec.EllipticCurvePublicKey):
        return [Algorithm.SHA256_ECDSA, Algorithm.SHA512_ECDSA]
    if isinstance(key, ed25519.Ed25519PublicKey):
        return [Algorithm.ED25519]
    raise ValidationError(f"the signing certificate '{identity.subject}' has a key type that "
                          "cannot sign items (use RSA, EC or Ed25519)")


def _later(created: str, than: str) -> bool:
    try:
        return from_iso(created) > from_iso(than)
    except (ValueError, TypeError):
        return False


class DeploymentService:
    def __init__(self, store: Store, ops: Operations, clock: Clock, keys: SigningKeyService,
                 inventory: InventoryService, controllers: ControllerService,
                 limits: ArchiveConfig, remote: RemoteChanges, *,
                 agent_wait: float = 5.0, expiry_days: int = 30) -> None:
        self.store = store
        self.ops = ops
        self.clock = clock
        self.keys = keys
        self.inventory = inventory
        self.controllers = controllers
        self.limits = limits
        self.remote = remote
        self.agent_wait = agent_wait
        self.expiry_days = expiry_days

    # -- deploy / revoke ------------------------------------------------------------------
    def deploy(self, session: Session, paths: Sequence[str], controllers: Sequence[str], *,
               recursive: bool = True, meta: AuditMeta = AuditMeta(),
               progress: Progress | None = None) -> Deployment:
        """Sign the selected objects (objects or folders) and deploy them (LOW, MEDIUM)."""
        controllers = self._targets(controllers)
        level = security_level.read(self.store.conn)
        enforce(self.ops, session, Action.DEPLOY, level, controllers, request=DEPLOY_REQUEST,
                category=CAT)
        self._reconcile_first(session, controllers)
        objects = self.inventory.select(session, paths, recursive=recursive,
                                        request=DEPLOY_REQUEST)
        if not objects:
            raise ValidationError(f"nothing to deploy: no workflow or job resource in "
                                  f"{', '.join(paths)} that you may see")
        holder = key_holder(level, session.account)
        identity = read_identity(self.store.conn, self.keys.secrets, holder, with_key=True)
        if identity is None:
            raise NotFound(self.keys.missing(holder))
        if identity.key is None:
            raise ValidationError(f"the signing identity of '{holder}' is a certificate only "
                                  "(its key is outside); sign outside and use import-deploy")
        check_certificate(identity.cert, list(identity.chain), self.clock.now())
        check_not_revoked(self.store.conn, identity.cert)
        commit = new_version_id()
        created = next_created(self.store.conn, self.clock.now())
        prepared = []
        for obj in objects:
            data = item_bytes(obj, commit, created)
            signature = sign_bytes(data, identity.key, certificate=identity.cert,
                                   chain=identity.intermediates)
            prepared.append(Prepared(obj.object_type, str(obj.path), obj.name, commit,
                                     SignedItem(data.decode("utf-8"), signature),
                                     hashlib.sha256(data).hexdigest(), created))
        return self._send_or_request(session, DEPLOY_REQUEST, "DEPLOY", commit, identity,
                                     prepared, controllers, meta, progress)

    def revoke(self, session: Session, paths: Sequence[str], controllers: Sequence[str], *,
               recursive: bool = True, meta: AuditMeta = AuditMeta(),
               progress: Progress | None = None) -> Deployment:
        """Remove the selected objects from the Controllers (a deployment without signature,
        allowed at every level)."""
        controllers = self._targets(controllers)
        enforce(self.ops, session, Action.REVOKE, security_level.read(self.store.conn),
                controllers, request=REVOKE_REQUEST, category=CAT)
        self._reconcile_first(session, controllers)
        objects = self.inventory.select(session, paths, recursive=recursive,
                                        request=REVOKE_REQUEST)
        if not objects:
            raise ValidationError(f"nothing to revoke: no workflow or job resource in "
                                  f"{', '.join(paths)} that you may see")
        commit = new_version_id()
        prepared = [Prepared(o.object_type, str(o.path), o.name, "") for o in objects]
        return self._send_or_request(session, REVOKE_REQUEST, "REVOKE", commit, None,
                                     prepared, controllers, meta, progress)

    @staticmethod
    def _targets(controllers: Sequence[str]) -> list[str]:
        unique = list(dict.fromkeys(c.strip() for c in controllers if c.strip()))
        if not unique:
            raise ValidationError("name at least one Controller (--controller ID)")
        return unique

    def _check_targets(self, op: Op, controllers: Sequence[str]) -> None:
        for controller_id in controllers:
            if not op.session.can(CONTROLLER_DEPLOY, controller_id):
                raise PermissionDenied(
                    f"permission denied: {CONTROLLER_DEPLOY} (deploy to a Controller) is not "
                    f"granted to you on Controller '{controller_id}'",
                    permission=CONTROLLER_DEPLOY, controller=controller_id)
        for controller_id in controllers:
            if not op.conn.execute("SELECT 1 FROM controllers WHERE id = ?",
                                   (controller_id,)).fetchone():
                raise NotFound(f"no Controller '{controller_id}' is registered (js7tui "
                               "controller list shows them)")

    def _reconcile_first(self, session: Session, controllers: Sequence[str]) -> None:
        """Settle what an earlier, interrupted change left open on these Controllers before
        sending a new one (a failure leaves them open, for ``deployment reconcile``)."""
        for controller_id in controllers:
            reconcile_quietly(self.remote, session, controller_id)

    def _send_or_request(self, session: Session, request: str, operation: str, commit: str,
                         identity: SigningIdentity | None, prepared: Sequence[Prepared],
                         controllers: Sequence[str], meta: AuditMeta,
                         progress: Progress | None = None) -> Deployment:
        """Send, or, for a requestor's change under four eyes (issue 22), record the signed
        items as an approval request instead (:mod:`js7tui.deployment.frozen`)."""
        signer = identity.subject if identity is not None else ""
        not_after = (to_iso(identity.cert.not_valid_after_utc) if identity is not None
                     else None)
        if approval_rules.required(self.ops, session, frozen.KIND[operation]):
            frozen.divert(self, session, request=request, operation=operation, commit=commit,
                          signer=signer, not_after=not_after, prepared=prepared,
                          controllers=controllers, meta=meta)
        return self._send(session, request, operation, commit, signer, not_after, prepared,
                          controllers, meta, progress)

    def execute_approved(self, session: Session, request: Any, meta: AuditMeta) -> str:
        """Run an approved deployment request (the requestor's session): the frozen items,
        through :meth:`_send`, once the world is as it was."""
        return frozen.execute(self, session, request, meta)

    def _send(self, session: Session, request: str, operation: str, commit: str,
              signer: str, not_after: str | None, prepared: Sequence[Prepared],
              controllers: Sequence[str], meta: AuditMeta,
              progress: Progress | None = None) -> Deployment:
        add = [p.item for p in prepared if p.item is not None]
        delete = [(p.object_type.wire_type, p.name) for p in prepared if p.item is None]
        probe = {"items": [[p.object_type.wire_type, p.name, p.version_id]
                           for p in prepared[:MAX_AUDITED]]}
        recorded: list[Intent] = []
        try:
            with self.ops.mutate(session, request=request, category=CAT,
                                 permissions=[INVENTORY_DEPLOY], meta=meta) as op:
                self._check_targets(op, controllers)
                recorded.append(self.remote.record(
                    op, operation, commit, controllers, probe=probe,
                    path=prepared[0].path if len(prepared) == 1 else "",
                    object_type=prepared[0].object_type.value if len(prepared) == 1 else "",
                    parameters={"operation": operation, "commitId": commit, "signer": signer,
                                "objects": len(prepared),
                                "paths": [f"{p.object_type.value}:{p.path}"
                                          for p in prepared[:MAX_AUDITED]]}))
                intent = recorded[0]
                op.conn.execute(
                    "INSERT INTO deployments (commit_id, operation, account, signer, audit_id, "
                    "created, change_id, signer_not_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (commit, operation, op.session.account, signer, intent.audit_id,
                     intent.created, intent.id, not_after))
                op.conn.executemany(
                    "INSERT INTO deployment_objects (commit_id, object_type, path, version_id, "
                    "digest, version_created) VALUES (?, ?, ?, ?, ?, ?)",
                    [(commit, p.object_type.value, p.path, p.version_id, p.digest, p.created)
                     for p in prepared])
        except BaseException:
            for rolled_back in recorded:  # never sent, not in flight
                self.remote.finished(rolled_back)
            raise
        intent = recorded[0]
        try:
            for done, controller_id in enumerate(controllers, start=1):
                self._deliver(intent, controller_id, add, delete)
                if progress is not None:
                    progress(controller_id, done, len(controllers))
        finally:
            self.remote.finished(intent)
        return self._commit(commit)

    def _deliver(self, intent: Intent, controller_id: str, add: list[SignedItem],
                 delete: list[tuple[str, str]]) -> None:
        """Phases 2 and 3 for one Controller, then (accepted additions) its Agents."""
        clients: list[ControllerClient] = []

        def send() -> RemoteOutcome:
            client = self.controllers.client(controller_id)
            clients.append(client)
            client.deploy(add=add, delete=delete)
            return RemoteOutcome(RemoteState.ACCEPTED)

        try:
            outcome = self.remote.deliver(intent, controller_id, send)
            if outcome.state is RemoteState.ACCEPTED and add and clients:
                agents = self._await_agents(clients[0], _wanted(intent))
                if agents is not None:
                    self._record_agents(intent.reference, controller_id, agents)
        finally:
            for client in clients:
                client.close()

    def _await_agents(self, client: ControllerClient, wanted: Mapping[tuple[str, str], str]
                      ) -> tuple[AgentState, ...] | None:
        """Each Agent's state for the commit, after waiting up to ``agent_wait`` seconds while
        the Controller still has items on their way to an Agent (its cheap per-Agent counts,
        polled from 20 ms growing to AGENT_POLL); then one read of the commit's items. None
        when the Controller could not be asked."""
        deadline = time.monotonic() + self.agent_wait
        pause = 0.02
        try:
            while any(a.get("pendingItems") for a in client.agents()):
                if time.monotonic() >= deadline:
                    break
                time.sleep(pause)
                pause = min(pause * 1.5, AGENT_POLL)
            return aggregate_agents(_commit_items(client, wanted), wanted)
        except ControllerError:
            return None

    def _record_agents(self, commit: str, controller_id: str,
                       agents: Sequence[AgentState]) -> None:
        with self.store.transaction() as conn:
            _write_agents(conn, commit, controller_id, agents, to_iso(self.clock.now()))

    def reconcile(self, session: Session, controller_id: str | None = None
                  ) -> tuple[list[Any], list[Deployment]]:
        """Settle open intents (every kind) by asking the Controllers, then ask again for the
        Agents' states of accepted commits that are not settled (pending, refused); returns
        what was reconciled and the deployments whose Agents' states were read again."""
        targets = None if controller_id is None else [controller_id]
        reconciled = self.remote.reconcile(session, targets)
        return reconciled, self.refresh_agents(session, controller_id)

    def refresh_agents(self, session: Session, controller_id: str | None = None, *,
                       limit: int = 50) -> list[Deployment]:
        """Ask the Controllers again for the Agents of accepted deployments that still have a
        pending or refused Agent (the Controller retries those by itself)."""
        rows = self.store.conn.execute(
            "SELECT DISTINCT a.commit_id, a.controller_id FROM deployment_agents a "
            "JOIN deployments d ON d.commit_id = a.commit_id WHERE a.state <> 'attached' "
            "AND (? IS NULL OR a.controller_id = ?) ORDER BY d.created DESC LIMIT ?",
            (controller_id, controller_id, limit)).fetchall()
        by_controller: dict[str, list[str]] = {}
        for row in rows:
            if session.can(CONTROLLER_DEPLOY, row["controller_id"]) or session.can(
                    "sos:products:controller:view", row["controller_id"]):
                by_controller.setdefault(row["controller_id"], []).append(row["commit_id"])
        changed: list[Deployment] = []
        for target, commits in by_controller.items():
            try:
                with self.controllers.client(target) as client:
                    items = client.items()
            except ControllerError:
                continue
            for commit in commits:
                wanted = {(ObjectType(t).wire_type, p.rsplit("/", 1)[-1]): v
                          for t, p, v in self._commit(commit).objects}
                agents = aggregate_agents(items, wanted)
                if agents:
                    self._record_agents(commit, target, agents)
                    changed.append(self._commit(commit))
        return changed

    # -- import-deploy --------------------------------------------------------------------
    def import_deploy(self, session: Session, archive: Path, controller_id: str, *,
                      meta: AuditMeta = AuditMeta(),
                      progress: Progress | None = None) -> Deployment:
        """Verify every signature of an archive signed outside, then deploy the exact signed
        bytes to one Controller; a refusal (hostile archive, bad or foreign signature, replayed
        version) is a security event: audited, nothing deployed."""
        enforce(self.ops, session, Action.IMPORT_DEPLOY, security_level.read(self.store.conn),
                [controller_id], request=IMPORT_REQUEST, category=CAT)
        self._reconcile_first(session, [controller_id])
        try:
            signer, checks = self._verify_archive(session, archive, controller_id)
            refused = next((c.refused for c, _ in checks if c.refused is not None), None)
            if refused is not None:
                raise refused
        except (ArchiveRefused, SignatureRefused) as exc:
            self.ops.refuse(session.account, IMPORT_REQUEST, CAT, str(exc),
                            controller_id=controller_id, path=archive.name)
            raise
        prepared = [p for _, p in checks if p is not None]
        result = self._send_or_request(session, IMPORT_REQUEST, "IMPORT_DEPLOY",
                                       new_version_id(), signer, prepared, [controller_id],
                                       meta, progress)
        if any(t.state == ACCEPTED for t in result.targets):
            self._adopt_signed_content(session, prepared, meta)
        return result

    def _adopt_signed_content(self, session: Session, prepared: Sequence[Prepared],
                              meta: AuditMeta) -> None:
        """import-deploy's signed content becomes the objects' inventory content (issue 16:
        the inventory shows what was deployed, e.g. a roll-out from a development instance),
        each an audited inventory change; one that the inventory refuses is logged, the
        deployment stands."""
        for item in prepared:
            if item.item is None:
                continue
            document = json.loads(item.item.string)
            content = {"TYPE": document.get("TYPE"), **content_of(document)}
            try:
                self.inventory.update(session, item.path, json.dumps(content),
                                      object_type=item.object_type, meta=meta)
            except Js7Error as exc:
                log.warning("import-deploy: %s %s deployed, but its signed content was not "
                            "taken into the inventory: %s", item.object_type.value, item.path,
                            exc)

    def verify_import(self, session: Session, archive: Path, controller_id: str
                      ) -> ImportReport:
        """Every check import-deploy makes (the same code path), stopping before the send: a
        verdict per entry. A refusal found is audited as import-deploy's would be (a tampered
        or foreign archive is a security event even when only checked); nothing is sent."""
        enforce(self.ops, session, Action.IMPORT_DEPLOY, security_level.read(self.store.conn),
                [controller_id], request=VERIFY_REQUEST, category=CAT)
        label = archive.name
        try:
            signer, checks = self._verify_archive(session, archive, controller_id)
        except (ArchiveRefused, SignatureRefused, NotFound, ValidationError) as exc:
            if isinstance(exc, ArchiveRefused | SignatureRefused):
                self.ops.refuse(session.account, VERIFY_REQUEST, CAT, str(exc),
                                controller_id=controller_id, path=label)
            return ImportReport(label, controller_id, "", (), str(exc))
        report = ImportReport(label, controller_id, signer.subject,
                              tuple(c for c, _ in checks))
        refused = report.first_refusal()
        if refused is not None:
            self.ops.refuse(session.account, VERIFY_REQUEST, CAT, str(refused),
                            controller_id=controller_id, path=label,
                            parameters={"refusedEntries": sum(not c.ok for c in report.entries)})
        return report

    def _verify_archive(self, session: Session, archive: Path, controller_id: str
                        ) -> tuple[SigningIdentity, list[tuple[EntryCheck, Prepared | None]]]:
        """The signer and a verdict per object: whole-archive refusals raise, each
        object's own refusal (signature, identity, version) is its verdict, so a report can
        list them all; import-deploy refuses on the first."""
        level = security_level.read(self.store.conn)
        holder = key_holder(level, session.account)
        identity = read_identity(self.store.conn, self.keys.secrets, holder)
        if identity is None:
            raise NotFound(self.keys.missing(holder))
        check_not_revoked(self.store.conn, identity.cert)
        signed = read_signed_archive(archive, self.limits)
        candidates = match_inventory(self.inventory, session, signed)
        trusted = identity.trusted(held_crls(self.store.conn))
        algorithms = _algorithms(identity)
        out: list[tuple[EntryCheck, Prepared | None]] = []
        for candidate in candidates:
            archived = candidate.archived
            try:
                prepared = self._verify_one(signed.label, candidate, identity, trusted,
                                            algorithms, signed.version_id)
                self._check_not_deployed(signed.label, archived.entry, prepared,
                                         controller_id)
            except ArchiveRefused as exc:
                out.append((EntryCheck(archived.entry, archived.object_type,
                                       str(archived.path), refused=exc), None))
                continue
            out.append((EntryCheck(archived.entry, archived.object_type, str(archived.path),
                                   prepared.version_id), prepared))
        return identity, out

    def _verify_one(self, label: str, candidate: ImportCandidate, identity: SigningIdentity,
                    trusted: TrustedKeys, algorithms: list[Algorithm],
                    meta_version: str | None) -> Prepared:
        archived = candidate.archived
        entry = archived.entry
        if archived.certificate_pem is not None:
            try:
                sent = _first_cert(archived.certificate_pem)
            except ValueError:
                raise ArchiveRefused(label, entry + ".pem", "not a PEM certificate") from None
            if sent != identity.cert:
                raise ArchiveRefused(
                    label, entry, f"signed with the certificate '{sent.subject.rfc4514_string()}'"
                    f", which is not your registered signing certificate "
                    f"('{identity.subject}')")
        try:
            string = archived.data.decode("utf-8")
        except UnicodeDecodeError:
            raise ArchiveRefused(label, entry, "the object is not UTF-8 text") from None
        assert archived.signature is not None  # classify() refuses unsigned objects
        encoded = base64.b64encode(archived.signature).decode("ascii")
        verified = None
        for index, algorithm in enumerate(algorithms):
            item = SignedItem(string, {"TYPE": "X509", "signatureString": encoded,
                                       "algorithm": algorithm.value,
                                       "signerCertificate": identity.signer_pem()})
            try:
                verified = verify_signed_item(item, trusted, now=self.clock.now())
                break
            except SignatureRefused as exc:
                if exc.code == "TamperedWithSignedMessage" and index + 1 < len(algorithms):
                    continue
                if exc.code == "TamperedWithSignedMessage" and len(algorithms) > 1:
                    # Not the last algorithm tried: the archive names none, so say all of them.
                    tried = " nor ".join(a.value for a in algorithms)
                    raise ArchiveRefused(
                        label, entry, f"the message does not match its signature (neither "
                        f"{tried} by '{identity.subject}') [{exc.code}]") from None
                raise ArchiveRefused(label, entry, f"{exc} [{exc.code}]") from None
        assert verified is not None
        document = verified.document
        kind, path = archived.object_type, archived.path
        if document.get("TYPE") != kind.wire_type or document.get("path") != path.name:
            raise ArchiveRefused(label, entry, f"the signed object is not the {kind.label} "
                                               f"'{path.name}' its entry name says")
        try:  # the engines' own check: what they would not run as written is named now
            parse_item(document)
        except ShapeError as exc:
            raise ArchiveRefused(label, entry, str(exc)) from None
        version = document.get("versionId")
        if kind is ObjectType.JOBRESOURCE and version is None:
            # JOC sets versionId on workflows only; the engines version a job resource
            # without one by its digest (js7tui.engine.items.Addition.version_id)
            return Prepared(kind, str(path), path.name, verified.digest[:16], verified.signed,
                            verified.digest)
        if not isinstance(version, str) or not version:
            raise ArchiveRefused(label, entry, "the signed object has no versionId")
        if meta_version and version != meta_version:
            raise ArchiveRefused(label, entry, f"its versionId '{version}' differs from "
                                               f"meta_inf's '{meta_version}'")
        created = document.get(VERSION_CREATED, "")
        if not isinstance(created, str):
            raise ArchiveRefused(label, entry, "its versionCreated is not a timestamp")
        return Prepared(kind, str(path), path.name, version, verified.signed, verified.digest,
                        created)

    def _check_not_deployed(self, label: str, entry: str, prepared: Prepared,
                            controller_id: str) -> None:
        row = self.store.conn.execute(
            "SELECT o.commit_id FROM deployment_objects o JOIN deployment_targets t "
            "ON t.commit_id = o.commit_id WHERE t.controller_id = ? AND t.state = ? "
            "AND o.object_type = ? AND o.path = ? AND o.version_id = ?",
            (controller_id, ACCEPTED, prepared.object_type.value, prepared.path,
             prepared.version_id)).fetchone()
        if row is not None:
            raise ArchiveRefused(
                label, entry, f"versionId '{prepared.version_id}' was deployed to Controller "
                f"'{controller_id}' already (commit {row[0]}); a signed version is deployed "
                "once: export again for a new version")
        newest = self.store.conn.execute(
            "SELECT max(o.version_created) FROM deployment_objects o JOIN deployment_targets t "
            "ON t.commit_id = o.commit_id WHERE t.controller_id = ? AND t.state = ? "
            "AND o.object_type = ? AND o.path = ? AND o.version_created <> ''",
            (controller_id, ACCEPTED, prepared.object_type.value, prepared.path)).fetchone()[0]
        if newest and (not prepared.created or not _later(prepared.created, newest)):
            raise ArchiveRefused(
                label, entry, f"its version (versionCreated {prepared.created or 'none'}) is "
                f"not newer than the one deployed to Controller '{controller_id}' "
                f"(versionCreated {newest}): an older version is never deployed again; export "
                "and sign it anew [VersionNotNewer]")

    def attention(self, session: Session) -> Attention:
        """The dashboard's line on deployments: a store read, no Controller asked."""
        expiring = self.expiring(session)
        conn = self.store.conn
        open_changes = len(self.remote.open_intents())
        agents = dict(conn.execute(
            "SELECT state, COUNT(DISTINCT commit_id || ' ' || controller_id) FROM "
            "deployment_agents WHERE state <> 'attached' GROUP BY state").fetchall())
        return Attention(open_changes, agents.get(PENDING, 0), agents.get(AGENT_REFUSED, 0),
                         len(expiring), self.expiry_days)

    # -- signing certificates that expire -------------------------------------------------
    def expiring(self, session: Session, within_days: int | None = None) -> list[ExpiringItem]:
        """Deployed items (the newest accepted commit per Controller and object, not a
        revoke) whose signer expires within ``within_days`` (default ``[controllers]
        expiry_warning_days``), soonest first; folder permissions apply."""
        fresh = self.ops.authorize(session, [INVENTORY_VIEW], category=CAT,
                                   request="./inventory/deployment/expiring")
        days = self.expiry_days if within_days is None else within_days
        return [e for e in expiring_items(self.store.conn, self.clock.now(), days)
                if fresh.permissions.folder_permitted(e.path.rpartition("/")[0] or "/")]

    def resign(self, session: Session, *, within_days: int | None = None,
               controller_id: str | None = None, meta: AuditMeta = AuditMeta(),
               progress: Progress | None = None) -> list[Deployment]:
        """LOW and MEDIUM: sign the expiring items again with the key in force and deploy
        them, one commit per Controller. Refused when the key in force expires as soon (renew
        it first); at HIGH the console never signs: :meth:`expiring` lists what to export."""
        items = [e for e in self.expiring(session, within_days)
                 if controller_id is None or e.controller_id == controller_id]
        if not items:
            return []
        level = security_level.read(self.store.conn)
        enforce(self.ops, session, Action.DEPLOY, level,
                sorted({e.controller_id for e in items}), request=DEPLOY_REQUEST, category=CAT)
        holder = key_holder(level, session.account)
        identity = read_identity(self.store.conn, self.keys.secrets, holder)
        if identity is None:
            raise NotFound(self.keys.missing(holder))
        soonest = max(e.not_after for e in items)
        if to_iso(identity.cert.not_valid_after_utc) <= soonest:
            raise ValidationError(
                f"the signing certificate in force ('{identity.subject}') expires "
                f"{identity.cert.not_valid_after_utc:%Y-%m-%d}, no later than the items' "
                "signer: renew it first (js7tui signing-key generate), then sign again")
        by_controller: dict[str, list[str]] = {}
        for e in items:
            by_controller.setdefault(e.controller_id, []).append(e.path)
        return [self.deploy(session, paths, [target], recursive=False, meta=meta,
                            progress=progress)
                for target, paths in sorted(by_controller.items())]

    # -- what the screens ask ---------------------------------------------------------------
    def targets(self, session: Session) -> list[str]:
        """The registered Controllers this session may deploy to (the choice offered before a
        deployment; viewing the Controllers' settings is not needed for it)."""
        fresh = self.ops.authorize(session, [INVENTORY_DEPLOY],
                                   request="./inventory/deployment/targets", category=CAT)
        ids = [r[0] for r in self.store.conn.execute("SELECT id FROM controllers ORDER BY id")]
        return [i for i in ids if fresh.can(CONTROLLER_DEPLOY, i)]

    def status(self, session: Session, path: str,
               object_type: ObjectType | None = None) -> ObjectStatus:
        """An object (read under the inventory's permissions) with its deployed version per
        Controller: draft, changed or deployed."""
        obj = self.inventory.get(session, path, object_type)
        return object_status(self.store.conn, obj)

    # -- history --------------------------------------------------------------------------
    def history(self, session: Session, *, controller_id: str | None = None,
                limit: int = 50) -> list[Deployment]:
        """Newest first; an account with folder entries sees only the objects (and the
        deployments holding any) in its folders."""
        fresh = self.ops.authorize(session, [INVENTORY_DEPLOY],
                                   request="./inventory/deployment/history", category=CAT)
        rows = self.store.conn.execute(
            "SELECT * FROM deployments d WHERE ? IS NULL OR EXISTS (SELECT 1 FROM "
            "deployment_targets t WHERE t.commit_id = d.commit_id AND t.controller_id = ?) "
            "ORDER BY created DESC, rowid DESC", (controller_id, controller_id))
        out: list[Deployment] = []
        for row in rows:
            found = self._load(row, fresh)
            if found is not None:
                out.append(found)
                if len(out) >= limit:
                    break
        return out

    def show(self, session: Session, commit_id: str) -> Deployment:
        fresh = self.ops.authorize(session, [INVENTORY_DEPLOY],
                                   request="./inventory/deployment/show", category=CAT)
        row = self.store.conn.execute("SELECT * FROM deployments WHERE commit_id = ?",
                                      (commit_id,)).fetchone()
        found = self._load(row, fresh) if row is not None else None
        if found is None:
            raise NotFound(f"no deployment with commit id '{commit_id}' that you may see")
        return found

    def _load(self, row: sqlite3.Row, session: Session | None) -> Deployment | None:
        conn = self.store.conn
        commit = row["commit_id"]
        objects = tuple(
            (r[0], r[1], r[2]) for r in conn.execute(
                "SELECT object_type, path, version_id FROM deployment_objects WHERE "
                "commit_id = ? ORDER BY path", (commit,))
            if session is None or session.permissions.folder_permitted(
                r[1].rpartition("/")[0] or "/"))
        if not objects:
            return None
        agents: dict[str, list[AgentState]] = {}
        for r in conn.execute("SELECT controller_id, agent, state, message FROM "
                              "deployment_agents WHERE commit_id = ? ORDER BY agent", (commit,)):
            agents.setdefault(r[0], []).append(AgentState(r[1], r[2], r[3]))
        targets = tuple(Target(r[0], r[1], r[2], tuple(agents.get(r[0], ())), row["operation"])
                        for r in conn.execute(
                            "SELECT controller_id, state, message FROM deployment_targets "
                            "WHERE commit_id = ? ORDER BY controller_id", (commit,)))
        return Deployment(commit, row["operation"], row["account"], row["signer"],
                          row["created"], objects, targets, row["audit_id"])


    def _commit(self, commit_id: str) -> Deployment:
        """A commit as recorded (no folder filter: the caller just made it or may see it)."""
        row = self.store.conn.execute("SELECT * FROM deployments WHERE commit_id = ?",
                                      (commit_id,)).fetchone()
        found = self._load(row, None)
        assert found is not None
        return found


def _commit_items(client: ControllerClient, wanted: Mapping[tuple[str, str], str]
                  ) -> list[Any]:
    """The Controller's items of one commit with their Agents: by the commit's version id
    when all share it (a deploy), else the current items (an import-deploy's own ids)."""
    versions = set(wanted.values())
    if len(versions) == 1:
        return list(client.item_states(version_id=versions.pop()))
    return list(client.items())


def _wanted(intent: Intent) -> dict[tuple[str, str], str]:
    return {(t, n): v for t, n, v in intent.probe.get("items") or []}


def _write_agents(conn: sqlite3.Connection, commit: str, controller_id: str,
                  agents: Iterable[AgentState], now: str) -> None:
    conn.execute("DELETE FROM deployment_agents WHERE commit_id = ? AND controller_id = ?",
                 (commit, controller_id))
    conn.executemany(
        "INSERT INTO deployment_agents (commit_id, controller_id, agent, state, message, "
        "updated) VALUES (?, ?, ?, ?, ?, ?)",
        [(commit, controller_id, a.agent, a.state, a.message[:2000], now) for a in agents])


def _settled_now(clock: Clock, conn: sqlite3.Connection, intent: Intent, target: str,
             outcome: RemoteOutcome) -> None:
    """Reconciliation found the commit (with its Agents' states): record them."""
    agents = outcome.details.get("agents")
    if agents is not None:
        _write_agents(conn, intent.reference, target, agents, to_iso(clock.now()))

def _probe_deploy(client: ControllerClient, intent: Intent) -> RemoteOutcome:
    """An UpdateItems is all or nothing: the Controller holds the commit's first item in
    its version exactly when it applied the commit."""
    items = intent.probe.get("items") or []
    if not items:
        return RemoteOutcome(RemoteState.NOT_APPLIED, "the intent names no item")
    item_type, name, version = items[0]
    try:
        client.signed_item(item_type, name, version)
    except ControllerRefused as exc:
        if exc.status != 404:
            raise
        return RemoteOutcome(RemoteState.NOT_APPLIED, f"the Controller does not hold "
                             f"{item_type} '{name}' version {version}")
    agents = aggregate_agents(client.items(), _wanted(intent))
    return RemoteOutcome(RemoteState.ACCEPTED, f"the Controller holds {item_type} '{name}' "
                         f"version {version}", {"agents": agents})

def _probe_revoke(client: ControllerClient, intent: Intent) -> RemoteOutcome:
    items = intent.probe.get("items") or []
    present = {(i.item_type, i.path): i.version_id for i in client.items()}
    still = [f"{t} '{n}'" for t, n, _ in items if (t, n) in present]
    if still:
        return RemoteOutcome(RemoteState.NOT_APPLIED,
                             f"the Controller still holds {', '.join(still[:5])}")
    return RemoteOutcome(RemoteState.ACCEPTED, "the Controller no longer holds the items")



def register_probes(remote: RemoteChanges) -> None:
    """How reconciliation asks a Controller about deployments, and records the Agents'
    states it finds."""
    def settled(conn: sqlite3.Connection, intent: Intent, target: str,
                outcome: RemoteOutcome) -> None:
        _settled_now(remote.clock, conn, intent, target, outcome)
    remote.register(("DEPLOY", "IMPORT_DEPLOY"), _probe_deploy, settled)
    remote.register(("REVOKE",), _probe_revoke, settled)


def _first_cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificates(pem)[0]
