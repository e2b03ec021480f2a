"""The certificate authority as administrators use it: session, permission, audit.

Every method takes the acting session. Listing needs ``...:certificates:view``; every change
``...:certificates:manage`` and writes one CERTIFICATES audit entry in its transaction, with
serials, subjects and purposes, never key material. Refused requests for CA certificates and
forged requests are audited as security events.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from js7tui.approval.local import (
    approvable,
    certificate_fingerprint,
    describe_issue,
    describe_renew,
    describe_revoke,
)
from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock
from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import CERTIFICATES_MANAGE, CERTIFICATES_VIEW
from js7tui.pki import authority, crl, issuing, records, sealed, signing_ca
from js7tui.pki.bundle import COMPONENTS, AllowedClient, build_bundle
from js7tui.pki.issuing import Issued, IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.pem import load_certs
from js7tui.pki.profiles import Purpose, parse_san, san_strings
from js7tui.pki.records import Authority, CaRole, CertRecord, CrlRecord, Status
from js7tui.store import Store

CAT = Category.CERTIFICATES
CONSOLE_NAME = "console"
PASSWORD_BYTES = 18


@dataclass(frozen=True)
class CaStatus:
    posture: str
    authorities: dict[CaRole, Authority]
    crls: dict[CaRole, CrlRecord | None]
    crl_days: int
    leaf_key_type: str


@dataclass(frozen=True)
class BundleResult:
    data: bytes
    record: CertRecord
    password: str = field(repr=False)
    password_generated: bool = False


def _cert_params(record: CertRecord) -> dict[str, Any]:
    return {"serial": record.serial, "purpose": record.purpose, "name": record.name,
            "owner": record.owner, "subject": record.subject,
            "notAfter": record.not_after.isoformat() if record.not_after else None,
            "san": list(record.san)}


def bootstrap(conn: sqlite3.Connection, now: datetime, key_type: KeyType,
              installation: str, created_by: str) -> Issued:
    """A new built-in CA in the caller's transaction: root, intermediate, both CRLs, the leaf
    key type setting and the console's own client certificate (key kept)."""
    authority.create_builtin(conn, now, key_type, installation)
    records.put_setting(conn, issuing.KEY_TYPE_SETTING, key_type.value)
    signing_ca.create(conn, now, installation)
    crl.sign_root_crl(conn, now)
    crl.sign_intermediate_crl(conn, now)
    return issuing.issue(conn, now, IssueRequest(Purpose.CONSOLE, CONSOLE_NAME),
                         created_by=created_by)


def bootstrap_ca(store: Store, clock: Clock, key_type: KeyType, account: str) -> Issued:
    """``js7tui init``'s CA: one transaction with its own audit entry (no session exists yet)."""
    from js7tui import audit
    from js7tui.security_level import installation_id
    with store.transaction() as conn:
        console = bootstrap(conn, clock.now(), key_type, installation_id(conn), account)
        inter = records.authorities(conn)[CaRole.INTERMEDIATE]
        audit.append(conn, created=clock.now(), account=account, request="./pki/ca/create",
                     category=CAT, path=inter.subject,
                     parameters={"keyType": key_type.value,
                                 "console": _cert_params(console.record)})
    return console


class CertificateService:
    def __init__(self, store: Store, clock: Clock, ops: Operations,
                 installation: Callable[[], str], box: Any = None) -> None:
        self.box = box  # the home's SecretBox: opens held encipherment keys for Agent bundles
        self.store = store
        self.clock = clock
        self.ops = ops
        self._installation = installation

    def _view(self, session: Session, request: str) -> None:
        self.ops.authorize(session, [CERTIFICATES_VIEW], request=request, category=CAT)

    def _manage(self, session: Session, request: str, meta: AuditMeta):  # type: ignore[no-untyped-def]
        return self.ops.mutate(session, request=request, category=CAT,
                               permissions=[CERTIFICATES_MANAGE], meta=meta)

    # -- reading --------------------------------------------------------------------------
    def status(self, session: Session) -> CaStatus:
        self._view(session, "./pki/ca")
        conn = self.store.conn
        cas = records.authorities(conn)
        return CaStatus(authority.describe_posture(cas), cas,
                        {role: records.crl(conn, role) for role in CaRole}, crl.crl_days(conn),
                        issuing.default_key_type(conn).value)

    def list(self, session: Session, *, include_revoked: bool = False,
             purpose: str | None = None, name: str | None = None) -> list[CertRecord]:
        self._view(session, "./pki/certificates")
        found = records.certificates(self.store.conn, purpose=purpose, name=name)
        return [r for r in found if include_revoked or r.status is not Status.REVOKED]

    def show(self, session: Session, serial: str) -> CertRecord:
        self._view(session, "./pki/certificate")
        return records.find_certificate(self.store.conn, serial)

    def now(self) -> datetime:
        return self.clock.now()

    # -- the CA ---------------------------------------------------------------------------
    def create_ca(self, session: Session, key_type: KeyType,
                  meta: AuditMeta = AuditMeta()) -> Issued:
        with self._manage(session, "./pki/ca/create", meta) as op:
            console = bootstrap(op.conn, self.clock.now(), key_type, self._installation(),
                                session.account)
            inter = records.authorities(op.conn)[CaRole.INTERMEDIATE]
            op.record(path=inter.subject, parameters={"keyType": key_type.value,
                                                      "console": _cert_params(console.record)})
            return console

    def import_ca(self, session: Session, root_pem: bytes, intermediate_pem: bytes,
                  key_pem: bytes | None = None, key_password: bytes | None = None,
                  meta: AuditMeta = AuditMeta()) -> CaStatus:
        root = load_certs(root_pem, "the root CA file")[0]
        inter = load_certs(intermediate_pem, "the issuing CA file")[0]
        with self._manage(session, "./pki/ca/import", meta) as op:
            authority.import_authority(op.conn, self.clock.now(), root, inter, key_pem,
                                       key_password)
            if key_pem is not None:
                crl.sign_intermediate_crl(op.conn, self.clock.now())
            op.record(path=inter.subject.rfc4514_string(), parameters={
                "root": root.subject.rfc4514_string(),
                "issuingCa": inter.subject.rfc4514_string(), "withIssuingKey": bool(key_pem)})
        return self.status(session)

    def export_root_key(self, session: Session, write: Callable[[bytes], None],
                        password: bytes | None, meta: AuditMeta = AuditMeta()) -> None:
        """Hand the root key to ``write`` (which puts it in a 0600 file) and remove it from the
        store in the same transaction: if writing fails, the key stays where it was."""
        with self._manage(session, "./pki/ca/export_root_key", meta) as op:
            pem = authority.export_root_key(op.conn, self.clock.now(), password)
            write(pem)
            root = records.authorities(op.conn)[CaRole.ROOT]
            op.record(path=root.subject, parameters={"encrypted": password is not None,
                                                     "removedFromStore": True})

    # -- issuing --------------------------------------------------------------------------
    @approvable('certificates', 'certificates', describe=describe_issue)
    def issue(self, session: Session, request: IssueRequest, *, hold_key: bool = False,
              meta: AuditMeta = AuditMeta()) -> Issued:
        """Issue a certificate. ``purpose="signing"`` with ``owner`` gives a code-signing
        certificate; the key is stored only with ``keep_key`` (or ``hold_key`` until its bundle
        is exported, or for the console's own certificates)."""
        with self._manage(session, "./pki/certificate/issue", meta) as op:
            issued = issuing.issue(op.conn, self.clock.now(), request,
                                   created_by=session.account, hold_key=hold_key)
            op.record(path=issued.record.subject, parameters={
                **_cert_params(issued.record), "keyKept": issued.record.key_held})
            return issued

    def _refuse_request(self, session: Session, request: str, exc: Exception,
                        meta: AuditMeta) -> None:
        self.ops.refuse(session.account, request, CAT, str(exc), meta=meta)

    @approvable('certificates', 'certificates', describe=describe_issue)
    def issue_from_csr(self, session: Session, csr: bytes, request: IssueRequest,
                       meta: AuditMeta = AuditMeta()) -> Issued:
        try:
            with self._manage(session, "./pki/certificate/sign_csr", meta) as op:
                issued = issuing.issue_from_csr(op.conn, self.clock.now(), csr, request,
                                                created_by=session.account)
                op.record(path=issued.record.subject, parameters=_cert_params(issued.record))
                return issued
        except ValidationError as exc:
            self._refuse_request(session, "./pki/certificate/sign_csr", exc, meta)
            raise

    def create_csr(self, session: Session, request: IssueRequest,
                   meta: AuditMeta = AuditMeta()) -> tuple[CertRecord, bytes]:
        with self._manage(session, "./pki/certificate/csr", meta) as op:
            record, pem = issuing.create_csr(op.conn, self.clock.now(), request,
                                             created_by=session.account)
            op.record(path=record.subject, parameters={
                "purpose": record.purpose, "name": record.name, "san": list(record.san)})
            return record, pem

    def import_signed(self, session: Session, data: bytes,
                      meta: AuditMeta = AuditMeta()) -> CertRecord:
        with self._manage(session, "./pki/certificate/import", meta) as op:
            record = issuing.import_signed(op.conn, self.clock.now(), data)
            op.record(path=record.subject, parameters=_cert_params(record))
            return record

    # -- revocation and rotation ----------------------------------------------------------
    @approvable('certificates', 'certificates',
                describe=describe_revoke, fingerprint=certificate_fingerprint)
    def revoke(self, session: Session, serial: str, reason: str = "unspecified",
               meta: AuditMeta = AuditMeta()) -> CertRecord:
        reason = crl.parse_reason(reason)
        with self._manage(session, "./pki/certificate/revoke", meta) as op:
            record = self._revoke(op.conn, serial, reason)
            op.record(path=record.subject, parameters={**_cert_params(record),
                                                       "reason": reason})
            return record

    def _revoke(self, conn: sqlite3.Connection, serial: str, reason: str) -> CertRecord:
        record = records.find_certificate(conn, serial)
        if record.status is not Status.VALID:
            raise Conflict(f"the certificate of {record.label} is {record.status.value.lower()}"
                           "; only a valid certificate can be revoked")
        signing = signing_ca.read(conn)
        if signing is not None and record.issuer == signing.subject:
            if signing.key_pem is None:
                raise ValidationError("the signing CA's key is not in this store")
            records.mark_revoked(conn, record.id, self.clock.now(), reason)
            signing_ca.sign_crl(conn, self.clock.now(), crl.crl_days(conn))
            return records.certificate_by_id(conn, record.id)
        inter = records.authorities(conn).get(CaRole.INTERMEDIATE)
        if inter is None or not inter.key_online:
            raise ValidationError("the issuing CA's key is not in this store: revoke the "
                                  "certificate at your CA and import its CRL (js7tui cert crl "
                                  "import FILE)")
        records.mark_revoked(conn, record.id, self.clock.now(), reason)
        crl.sign_intermediate_crl(conn, self.clock.now())
        return records.certificate_by_id(conn, record.id)

    @approvable('certificates', 'certificates',
                describe=describe_renew, fingerprint=certificate_fingerprint)
    def renew(self, session: Session, serial: str, *, days: int | None = None,
              keep_key: bool | None = None, meta: AuditMeta = AuditMeta()) -> Issued:
        """A new certificate for the same subject and SANs; the old one stays valid until the
        new one's import is confirmed (:meth:`confirm_import`)."""
        with self._manage(session, "./pki/certificate/renew", meta) as op:
            old = records.find_certificate(op.conn, serial)
            if old.status is not Status.VALID:
                raise Conflict(f"the certificate of {old.label} is "
                               f"{old.status.value.lower()}; renew a valid one")
            purpose = Purpose(old.purpose)
            try:
                key_type = KeyType(old.key_type)
            except ValueError:
                key_type = None
            request = IssueRequest(purpose, old.name, owner=old.owner, san=old.san,
                                   key_type=key_type, days=days or issuing.LEAF_DAYS,
                                   keep_key=old.keep_key if keep_key is None else keep_key)
            issued = issuing.issue(op.conn, self.clock.now(), request,
                                   created_by=session.account,
                                   hold_key=purpose in (Purpose.CONTROLLER, Purpose.AGENT),
                                   replaces_id=old.id)
            op.record(path=issued.record.subject, parameters={
                **_cert_params(issued.record), "replaces": old.serial})
            return issued

    def confirm_import(self, session: Session, serial: str,
                       meta: AuditMeta = AuditMeta()) -> tuple[CertRecord, CertRecord | None]:
        """The renewed certificate is installed: revoke the one it replaces (superseded)."""
        with self._manage(session, "./pki/certificate/confirm_import", meta) as op:
            new = records.find_certificate(op.conn, serial)
            if new.status is not Status.VALID:
                raise Conflict(f"the certificate of {new.label} is {new.status.value.lower()}")
            if new.import_confirmed:
                raise Conflict(f"the import of {new.label} was already confirmed")
            records.mark_confirmed(op.conn, new.id, self.clock.now())
            old = None
            if new.replaces_id is not None:
                previous = records.certificate_by_id(op.conn, new.replaces_id)
                if previous.status is Status.VALID and previous.serial:
                    old = self._revoke(op.conn, previous.serial, "superseded")
            op.record(path=new.subject, parameters={
                "serial": new.serial, "revokedPredecessor": old.serial if old else None})
            return records.certificate_by_id(op.conn, new.id), old

    # -- CRL ------------------------------------------------------------------------------
    def sign_crl(self, session: Session, days: int | None = None,
                 meta: AuditMeta = AuditMeta()) -> CrlRecord:
        with self._manage(session, "./pki/crl/sign", meta) as op:
            if days is not None:
                crl.set_crl_days(op.conn, days)
            record = crl.sign_intermediate_crl(op.conn, self.clock.now())
            op.record(path="crl", parameters={"crlNumber": record.crl_number,
                                              "nextUpdate": record.next_update.isoformat()})
            return record

    def export_crl(self, session: Session, *, root: bool = False,
                   meta: AuditMeta = AuditMeta()) -> CrlRecord:
        """The current CRL for transfer (re-signed first when half its life is gone)."""
        with self._manage(session, "./pki/crl/export", meta) as op:
            if root:
                record = records.crl(op.conn, CaRole.ROOT)
                if record is None:
                    raise NotFound("there is no CRL of the root CA in this store")
            else:
                record = crl.fresh_intermediate_crl(op.conn, self.clock.now())
            op.record(path="crl", parameters={"ca": "root" if root else "issuing",
                                              "crlNumber": record.crl_number})
            return record

    def export_signing_crls(self, session: Session, meta: AuditMeta = AuditMeta()) -> str:
        """The CRLs of signer chains besides the TLS CRL (the signing CA's, the root's), PEM;
        for ``trusted-x509-crls/js7tui-signing-ca.crl.pem`` on every Controller and Agent."""
        with self._manage(session, "./pki/crl/export", meta) as op:
            pem = signing_ca.crls_pem(op.conn)
            op.record(path="crl", parameters={"ca": "signing"})
            return pem

    def import_crl(self, session: Session, data: bytes,
                   meta: AuditMeta = AuditMeta()) -> CrlRecord:
        with self._manage(session, "./pki/crl/import", meta) as op:
            record = crl.import_crl(op.conn, self.clock.now(), data)
            op.record(path="crl", parameters={"crlNumber": record.crl_number})
            return record

    # -- bundles --------------------------------------------------------------------------
    def bundle(self, session: Session, component: str, name: str, *,
               password: str | None = None, controller: str | None = None,
               san: Sequence[str] = (), days: int = issuing.LEAF_DAYS,
               key_type: KeyType | None = None, keep_key: bool = False,
               write: Callable[[bytes], None] | None = None,
               meta: AuditMeta = AuditMeta()) -> BundleResult:
        """The bundle for a component: its held certificate, or a new one if it has none.
        The leaf key leaves the store with the bundle unless ``keep_key`` (console: kept);
        ``write`` (e.g. to a 0600 file) runs inside the transaction, so a failed write leaves
        the key in the store."""
        check_bundle_request(component, password)
        with self._manage(session, "./pki/bundle/export", meta) as op:
            result, parameters = make_bundle(
                op.conn, self.clock.now(), session.account, component, name,
                password=password, controller=controller, san=san, days=days,
                key_type=key_type, keep_key=keep_key, write=write, box=self.box)
            op.record(path=result.record.subject, parameters=parameters)
            return result


def check_bundle_request(component: str, password: str | None) -> None:
    if component not in COMPONENTS:
        raise ValidationError(f"bundles are for {', '.join(COMPONENTS)}, not '{component}'")
    if password is not None and len(password) < 8:
        raise ValidationError("the store password must have at least 8 characters")


def _allowed_clients(conn: sqlite3.Connection, now: datetime, component: str,
                     controller: str | None) -> list[AllowedClient]:
    if component == "console":
        return []
    if component == "controller":
        purpose, name, user = "console", None, "console"
        missing = ("there is no valid console certificate to allow as the Controller's "
                   "client (js7tui cert issue console console)")
    else:
        if not controller:
            raise ValidationError("an Agent bundle must name its Controller (--controller "
                                  "NAME): its certificate is the Agent's only client")
        purpose, name, user = "controller", controller, "controller"
        missing = (f"there is no valid certificate of the Controller '{controller}': make "
                   f"its bundle first (js7tui cert bundle controller {controller})")
    subjects = []
    for record in records.certificates(conn, purpose=purpose, name=name,
                                       status=Status.VALID):
        if record.not_after and record.not_after > now and record.subject not in subjects:
            subjects.append(record.subject)
    if not subjects:
        raise NotFound(missing)
    return [AllowedClient(dn, user) for dn in subjects]


def _bundle_certificate(conn: sqlite3.Connection, now: datetime, component: str, name: str,
                        request: IssueRequest, account: str) -> tuple[CertRecord, Any]:
    current = [r for r in records.certificates(conn, purpose=component, name=name,
                                               status=Status.VALID)
               if r.not_after and r.not_after > now]
    held = [r for r in current if r.key_pem]
    if held:
        record = held[-1]
        wanted = san_strings(parse_san(request.san)) if request.san else None
        if wanted is not None and set(wanted) != set(record.san):
            raise Conflict(
                f"the certificate of {record.label} already exists with SAN "
                f"{', '.join(record.san)}; --dns/--ip/--email/--uri apply to a new "
                f"certificate only: revoke this one first, or bundle it without them")
        return record, sealed.open_key(conn, record.key_pem, f"the key of {record.label}")
    if current:
        latest = current[-1]
        raise Conflict(
            f"the certificate of {latest.label} was already exported and its key is no "
            f"longer held; renew it (js7tui cert renew {latest.serial}) or revoke it first")
    issued = issuing.issue(conn, now, request, created_by=account, hold_key=True)
    return issued.record, issued.key


def signer_anchors(conn: sqlite3.Connection, now: datetime) -> list[Any]:
    """What an engine trusts signed items through (issue 16): the signing CA (made now in a
    home older than it, if the root key is here) and every signer certificate registered to
    an account that the signing CA did not issue. Never the root, never the TLS issuing CA."""
    from js7tui.security_level import installation_id
    anchors = []
    signing = signing_ca.ensure(conn, now, installation_id(conn))
    if signing is not None:
        anchors.append(signing.cert)
    for cert in signing_ca.registered_signers(conn):
        if (signing is None or cert.issuer != signing.cert.subject) and cert not in anchors:
            anchors.append(cert)
    return anchors


def make_bundle(conn: sqlite3.Connection, now: datetime, account: str, component: str,
                name: str, *, password: str | None = None, controller: str | None = None,
                san: Sequence[str] = (), days: int = issuing.LEAF_DAYS,
                key_type: KeyType | None = None, keep_key: bool = False,
                write: Callable[[bytes], None] | None = None, box: Any = None
                ) -> tuple[BundleResult, dict[str, Any]]:
    """A component's bundle inside the caller's audited transaction (the session-taking
    :meth:`CertificateService.bundle`, or a setup acting for the system such as ``js7tui
    demo`` on the home it creates); returns the bundle and the audit entry's parameters."""
    check_bundle_request(component, password)
    generated = password is None
    secret = password if password is not None else secrets.token_urlsafe(PASSWORD_BYTES)
    purpose = Purpose(component)
    request = IssueRequest(purpose, name, san=san, days=days, key_type=key_type,
                           keep_key=keep_key)
    ca = authority.chain(conn)
    authority.check_valid_at(ca.root, "root CA", now)
    authority.check_valid_at(ca.intermediate, "issuing CA", now)
    allowed = _allowed_clients(conn, now, component, controller)
    record, key = _bundle_certificate(conn, now, component, name, request, account)
    current_crl = crl.fresh_intermediate_crl(conn, now)
    signers = signer_anchors(conn, now)
    from js7tui import security_level
    level = security_level.read(conn)
    personal = signing_ca.personal_signers(conn)
    carried = None
    if component == "agent":  # its encipherment keys (issue 21), if any are assigned
        from js7tui.encipherment import bundle as enc_bundle
        from js7tui.secrets import SecretBox
        carried = enc_bundle.collect(conn, box or SecretBox(None), name, secret.encode())
    data = build_bundle(component=component, name=name, leaf=record.cert, key=key, ca=ca,
                        crl_pem=current_crl.crl_pem.encode("ascii"), allowed_clients=allowed,
                        password=secret.encode("utf-8"), now=now, signers=signers,
                        signing_crls_pem=signing_ca.crls_pem(conn).encode("ascii"),
                        security_level=level.value, registered=personal,
                        extra=carried.files if carried else None)
    if write is not None:
        write(data)
    encipherment = {}
    if carried is not None and carried.files:
        from js7tui.encipherment import bundle as enc_bundle
        dropped = enc_bundle.record(conn, carried, now)
        encipherment = {"encipherment": {"carried": len(carried.delivered),
                                         "retired": len(carried.retired),
                                         "keysLeftStore": dropped}}
    keep = keep_key or record.keep_key or purpose.profile.key_held
    records.mark_exported(conn, record.id, now, drop_key=not keep)
    parameters = {**_cert_params(record), "component": component,
                  "allowedClients": [c.dn for c in allowed],
                  "crlNumber": current_crl.crl_number, "keyKept": keep,
                  "trustedSigners": [c.subject.rfc4514_string() for c in signers],
                  "securityLevel": level.value,
                  "registeredSigners": [c.subject.rfc4514_string() for c in personal],
                  "passwordGenerated": generated, **encipherment}
    return (BundleResult(data, records.certificate_by_id(conn, record.id), secret, generated),
            parameters)

