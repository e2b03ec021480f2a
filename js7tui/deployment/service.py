"""Deploy, revoke and import-deploy to Controllers, with the deployment history (issue 5 points
3-6).

Every path ends in a signature the Controller and its Agents check: ``deploy`` serialises each
object once (:func:`item_bytes`), signs exactly those bytes with the key the security level
prescribes (LOW: the installation's, MEDIUM: the deploying account's; HIGH refuses) and sends
them; ``import_deploy`` verifies every signature of an archive signed outside against the
importing account's registered certificate and chain with ``js7tui.signing.verify_signed_item``
and sends the exact signed bytes; nothing is sent unless every object verified. ``revoke``
deletes items, which needs no signature.

One operation is one transaction: permission checks (``inventory:deploy`` plus
``controller:deployment:deploy`` on each target Controller), the calls to the Controllers, the
history (commit id, account, objects with versions, each Controller's state with its reason)
and the DEPLOYMENT audit entry with the commit id. A Controller that refuses or cannot be
reached makes its target FAILED with the Controller's reason; the others keep their outcome.
The store's write lock is held while the Controllers answer, so two deployments never
interleave their history.
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from js7tui import security_level
from js7tui.audit import AuditMeta, Category
from js7tui.client.errors import ControllerError, ControllerRefused
from js7tui.client.registry import ControllerService
from js7tui.clock import Clock, to_iso
from js7tui.config import ArchiveConfig
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
from js7tui.deployment.items import item_bytes
from js7tui.deployment.keys import (
    HighLevelRefused,
    SigningIdentity,
    SigningKeyService,
    check_certificate,
    check_not_revoked,
    key_holder,
    read_identity,
)
from js7tui.deployment.status import ObjectStatus, object_status
from js7tui.errors import NotFound, PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from js7tui.inventory import InventoryService, ObjectType
from js7tui.operations import Op, Operations
from js7tui.permissions.names import CONTROLLER_DEPLOY, INVENTORY_DEPLOY
from js7tui.pki.crl import held_crls
from js7tui.security_level import SecurityLevel
from js7tui.signing import (
    Algorithm,
    SignatureRefused,
    SignedItem,
    TrustedKeys,
    sign_bytes,
    verify_signed_item,
)
from js7tui.store import Store

CAT = Category.DEPLOYMENT
DEPLOY_REQUEST = "./inventory/deployment/deploy"
REVOKE_REQUEST = "./inventory/deployment/revoke"
MAX_AUDITED = 1000
DEPLOYED, FAILED = "DEPLOYED", "FAILED"
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


@dataclass(frozen=True)
class Target:
    controller_id: str
    state: str
    message: str = ""


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
        return all(t.state == DEPLOYED for t in self.targets)


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


class DeploymentService:
    def __init__(self, store: Store, ops: Operations, clock: Clock, keys: SigningKeyService,
                 inventory: InventoryService, controllers: ControllerService,
                 limits: ArchiveConfig) -> None:
        self.store = store
        self.ops = ops
        self.clock = clock
        self.keys = keys
        self.inventory = inventory
        self.controllers = controllers
        self.limits = limits

    # -- deploy / revoke ------------------------------------------------------------------
    def deploy(self, session: Session, paths: Sequence[str], controllers: Sequence[str], *,
               recursive: bool = True, meta: AuditMeta = AuditMeta(),
               progress: Progress | None = None) -> Deployment:
        """Sign the selected objects (objects or folders) and deploy them (LOW, MEDIUM)."""
        controllers = self._targets(controllers)
        level = security_level.read(self.store.conn)
        if level is SecurityLevel.HIGH:
            reason = ("refused at security level HIGH: the console never signs; export the "
                      "objects for signing (js7tui inventory export --for-signing), sign them "
                      "outside and deploy with 'js7tui import-deploy'")
            self.ops.refuse(session.account, DEPLOY_REQUEST, CAT, reason)
            raise HighLevelRefused(reason)
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
        prepared = []
        for obj in objects:
            data = item_bytes(obj, commit)
            signature = sign_bytes(data, identity.key, certificate=identity.cert,
                                   chain=identity.intermediates)
            prepared.append(Prepared(obj.object_type, str(obj.path), obj.name, commit,
                                     SignedItem(data.decode("utf-8"), signature),
                                     hashlib.sha256(data).hexdigest()))
        return self._send(session, DEPLOY_REQUEST, "DEPLOY", commit, identity.subject,
                          prepared, controllers, meta, progress)

    def revoke(self, session: Session, paths: Sequence[str], controllers: Sequence[str], *,
               recursive: bool = True, meta: AuditMeta = AuditMeta(),
               progress: Progress | None = None) -> Deployment:
        """Remove the selected objects from the Controllers (a deployment without signature,
        allowed at every level)."""
        controllers = self._targets(controllers)
        objects = self.inventory.select(session, paths, recursive=recursive,
                                        request=REVOKE_REQUEST)
        if not objects:
            raise ValidationError(f"nothing to revoke: no workflow or job resource in "
                                  f"{', '.join(paths)} that you may see")
        commit = new_version_id()
        prepared = [Prepared(o.object_type, str(o.path), o.name, "") for o in objects]
        return self._send(session, REVOKE_REQUEST, "REVOKE", commit, "", prepared,
                          controllers, meta, progress)

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

    def _send(self, session: Session, request: str, operation: str, commit: str, signer: str,
              prepared: Sequence[Prepared], controllers: Sequence[str],
              meta: AuditMeta, progress: Progress | None = None) -> Deployment:
        add = [p.item for p in prepared if p.item is not None]
        delete = [(p.object_type.wire_type, p.name) for p in prepared if p.item is None]
        with self.ops.mutate(session, request=request, category=CAT,
                             permissions=[INVENTORY_DEPLOY], meta=meta) as op:
            self._check_targets(op, controllers)
            targets = []
            for controller_id in controllers:
                targets.append(self._deliver(controller_id, add, delete))
                if progress is not None:
                    progress(controller_id, len(targets), len(controllers))
            now = to_iso(self.clock.now())
            entry = op.record(
                path=prepared[0].path if len(prepared) == 1 else "",
                controller_id=",".join(controllers), commit_id=commit,
                object_type=prepared[0].object_type.value if len(prepared) == 1 else "",
                parameters={"operation": operation, "commitId": commit, "signer": signer,
                            "objects": len(prepared),
                            "paths": [f"{p.object_type.value}:{p.path}"
                                      for p in prepared[:MAX_AUDITED]],
                            "controllers": {t.controller_id: t.state for t in targets}})
            op.conn.execute(
                "INSERT INTO deployments (commit_id, operation, account, signer, audit_id, "
                "created) VALUES (?, ?, ?, ?, ?, ?)",
                (commit, operation, op.session.account, signer, entry.id, now))
            op.conn.executemany(
                "INSERT INTO deployment_objects (commit_id, object_type, path, version_id, "
                "digest) VALUES (?, ?, ?, ?, ?)",
                [(commit, p.object_type.value, p.path, p.version_id, p.digest)
                 for p in prepared])
            op.conn.executemany(
                "INSERT INTO deployment_targets (commit_id, controller_id, state, message) "
                "VALUES (?, ?, ?, ?)",
                [(commit, t.controller_id, t.state, t.message) for t in targets])
        return Deployment(commit, operation, session.account, signer, now,
                          tuple((p.object_type.value, p.path, p.version_id) for p in prepared),
                          tuple(targets), entry.id)

    def _deliver(self, controller_id: str, add: list[SignedItem],
                 delete: list[tuple[str, str]]) -> Target:
        try:
            with self.controllers.client(controller_id) as client:
                client.deploy(add=add, delete=delete)
        except ControllerRefused as exc:
            code = f"{exc.code}: " if exc.code else ""
            return Target(controller_id, FAILED, f"{code}{exc}")
        except ControllerError as exc:
            return Target(controller_id, FAILED, str(exc))
        return Target(controller_id, DEPLOYED)

    # -- import-deploy --------------------------------------------------------------------
    def import_deploy(self, session: Session, archive: Path, controller_id: str, *,
                      meta: AuditMeta = AuditMeta(),
                      progress: Progress | None = None) -> Deployment:
        """Verify every signature of an archive signed outside, then deploy the exact signed
        bytes to one Controller; a refusal (hostile archive, bad or foreign signature, replayed
        version) is a security event: audited, nothing deployed."""
        self.ops.authorize(session, [INVENTORY_DEPLOY, CONTROLLER_DEPLOY],
                           controller=controller_id, request=IMPORT_REQUEST, category=CAT)
        try:
            signer, checks = self._verify_archive(session, archive, controller_id)
            refused = next((c.refused for c, _ in checks if c.refused is not None), None)
            if refused is not None:
                raise refused
        except (ArchiveRefused, SignatureRefused) as exc:
            self.ops.refuse(session.account, IMPORT_REQUEST, CAT, str(exc),
                            controller_id=controller_id, path=archive.name)
            raise
        return self._send(session, IMPORT_REQUEST, "IMPORT_DEPLOY", new_version_id(), signer,
                          [p for _, p in checks if p is not None], [controller_id], meta,
                          progress)

    def verify_import(self, session: Session, archive: Path, controller_id: str
                      ) -> ImportReport:
        """Every check import-deploy makes (the same code path), stopping before the send: a
        verdict per entry. A refusal found is audited as import-deploy's would be (a tampered
        or foreign archive is a security event even when only checked); nothing is sent."""
        self.ops.authorize(session, [INVENTORY_DEPLOY, CONTROLLER_DEPLOY],
                           controller=controller_id, request=VERIFY_REQUEST, category=CAT)
        label = archive.name
        try:
            signer, checks = self._verify_archive(session, archive, controller_id)
        except (ArchiveRefused, SignatureRefused, NotFound, ValidationError) as exc:
            if isinstance(exc, ArchiveRefused | SignatureRefused):
                self.ops.refuse(session.account, VERIFY_REQUEST, CAT, str(exc),
                                controller_id=controller_id, path=label)
            return ImportReport(label, controller_id, "", (), str(exc))
        report = ImportReport(label, controller_id, signer, tuple(c for c, _ in checks))
        refused = report.first_refusal()
        if refused is not None:
            self.ops.refuse(session.account, VERIFY_REQUEST, CAT, str(refused),
                            controller_id=controller_id, path=label,
                            parameters={"refusedEntries": sum(not c.ok for c in report.entries)})
        return report

    def _verify_archive(self, session: Session, archive: Path, controller_id: str
                        ) -> tuple[str, list[tuple[EntryCheck, Prepared | None]]]:
        """The signer's subject and a verdict per object: whole-archive refusals raise, each
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
        return identity.subject, out

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
        version = document.get("versionId")
        if not isinstance(version, str) or not version:
            raise ArchiveRefused(label, entry, "the signed object has no versionId")
        if meta_version and version != meta_version:
            raise ArchiveRefused(label, entry, f"its versionId '{version}' differs from "
                                               f"meta_inf's '{meta_version}'")
        return Prepared(kind, str(path), path.name, version, verified.signed, verified.digest)

    def _check_not_deployed(self, label: str, entry: str, prepared: Prepared,
                            controller_id: str) -> None:
        row = self.store.conn.execute(
            "SELECT o.commit_id FROM deployment_objects o JOIN deployment_targets t "
            "ON t.commit_id = o.commit_id WHERE t.controller_id = ? AND t.state = ? "
            "AND o.object_type = ? AND o.path = ? AND o.version_id = ?",
            (controller_id, DEPLOYED, prepared.object_type.value, prepared.path,
             prepared.version_id)).fetchone()
        if row is not None:
            raise ArchiveRefused(
                label, entry, f"versionId '{prepared.version_id}' was deployed to Controller "
                f"'{controller_id}' already (commit {row[0]}); a signed version is deployed "
                "once: export again for a new version")

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

    def _load(self, row: sqlite3.Row, session: Session) -> Deployment | None:
        conn = self.store.conn
        commit = row["commit_id"]
        objects = tuple(
            (r[0], r[1], r[2]) for r in conn.execute(
                "SELECT object_type, path, version_id FROM deployment_objects WHERE "
                "commit_id = ? ORDER BY path", (commit,))
            if session.permissions.folder_permitted(r[1].rpartition("/")[0] or "/"))
        if not objects:
            return None
        targets = tuple(Target(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT controller_id, state, message FROM deployment_targets WHERE commit_id = ? "
            "ORDER BY controller_id", (commit,)))
        return Deployment(commit, row["operation"], row["account"], row["signer"],
                          row["created"], objects, targets, row["audit_id"])


def _first_cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificates(pem)[0]
