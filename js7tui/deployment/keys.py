"""Signing keys by security level (reference 4.1, issue 5 point 2).

- LOW: one key and certificate for the whole installation, held by the default profile account
  (``root``); every account allowed to deploy signs with it.
- MEDIUM: each deploying account has its own key and certificate, generated here through the
  console's CA (EKU codeSigning) or imported (key + certificate).
- HIGH: no private key ever enters the console. Generating or importing one is refused (and the
  store's trigger refuses it too); an account registers only its signing certificate, issued by
  the console's CA from a CSR or by the organisation's CA, and deploys only archives signed
  outside (import-deploy).

Whatever the level, the certificate must be a code-signing certificate that chains (through the
intermediates given with it) to a root, checked with ``js7tui.signing``'s chain rules; that
chain is what import-deploy verifies the account's signatures against. Key material is sealed
with the home's secret box and never audited or logged.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

from js7tui import security_level
from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock, to_iso
from js7tui.errors import NotFound, PermissionDenied, ValidationError
from js7tui.identity.defaults import INITIAL_ACCOUNT
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import INVENTORY_DEPLOY
from js7tui.pki import authority, issuing, signing_ca
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType, load_private_pem, private_pem, same_public_key
from js7tui.pki.pem import cert_pem, certs_pem, serial_hex
from js7tui.pki.profiles import Purpose
from js7tui.secrets import SecretBox
from js7tui.security_level import SecurityLevel
from js7tui.signing import CrlSet, SignatureRefused, TrustedKeys
from js7tui.store import Store

CAT = Category.DEPLOYMENT
# The default profile account that holds the installation key at LOW (JS7: root's profile).
INSTALLATION_ACCOUNT = INITIAL_ACCOUNT


class HighLevelRefused(PermissionDenied):
    """Security level HIGH forbids it: a security event, audited."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permission="", controller="")


@dataclass(frozen=True)
class SigningIdentity:
    """An account's registered signing certificate, its chain and (below HIGH) its key."""

    account: str
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]   # intermediates, then the root (may be empty)
    origin: str
    created: str
    key: PrivateKeyTypes | None = None

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        return tuple(c for c in self.chain if c.subject != c.issuer)

    def trusted(self, revocations: CrlSet | None = None) -> TrustedKeys:
        """The anchor this identity's signatures are checked against: the root of its chain,
        or the certificate itself when it is self-signed; with ``revocations`` the chain is
        also checked against those CRLs."""
        roots = [c for c in self.chain if c.subject == c.issuer]
        return TrustedKeys.of(roots or [self.cert], revocations)

    def signer_pem(self) -> str:
        """What a signed item carries: the certificate, then its intermediates."""
        return certs_pem([self.cert, *self.intermediates]).decode("ascii")


def key_holder(level: SecurityLevel, account: str) -> str:
    """Whose key signs a deployment by ``account``."""
    return INSTALLATION_ACCOUNT if level is SecurityLevel.LOW else account


def check_certificate(cert: x509.Certificate, chain: list[x509.Certificate],
                      now: datetime) -> None:
    """A code-signing certificate, valid now, chaining through ``chain`` to its root."""
    identity = SigningIdentity("", cert, tuple(chain), "", "")
    try:
        identity.trusted().check_chain(cert, list(identity.intermediates), now)
    except SignatureRefused as exc:
        raise ValidationError(f"this signing certificate cannot be used: {exc}") from None


def check_not_revoked(conn: sqlite3.Connection, cert: x509.Certificate) -> None:
    """Refuse a signing certificate that the console's CA has revoked (certificates from an
    organisation's CA are revoked there; the Controller's trust decides about those)."""
    for row in conn.execute("SELECT cert_pem, revoked_at, revocation_reason FROM "
                            "pki_certificates WHERE serial = ? AND status = 'REVOKED'",
                            (serial_hex(cert),)):
        if row[0] and x509.load_pem_x509_certificate(row[0].encode()) == cert:
            raise ValidationError(
                f"the signing certificate '{cert.subject.rfc4514_string()}' was revoked by "
                f"the console's CA at {row[1]} ({row[2] or 'unspecified'}); register or "
                "generate a new one")


def _names_in(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """The subject's common names and the certificate's e-mail addresses (subject, SAN)."""
    cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    emails = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        emails += san.get_values_for_type(x509.RFC822Name)
    except x509.ExtensionNotFound:
        pass
    return cns, emails


def check_belongs_to(conn: sqlite3.Connection, cert: x509.Certificate, account: str) -> None:
    """A signing certificate belongs to one account: refuse one whose subject CN or e-mail
    names another account (its name, ``NAME-signing`` as the console issues them, its e-mail
    address or an address whose local part is its name), or that this console's CA issued
    for another owner."""
    accounts = {(r[0] or ""): (r[1] or "") for r in conn.execute(
        "SELECT name, email FROM accounts")}
    cns, emails = _names_in(cert)

    def names(other: str, email: str) -> bool:
        low = other.lower()
        if any(cn.lower() in (low, f"{low}-signing") for cn in cns):
            return True
        return any((email and e.lower() == email.lower()) or e.lower().split("@")[0] == low
                   for e in emails)

    others = sorted(name for name, email in accounts.items()
                    if name != account and names(name, email))
    for row in conn.execute("SELECT owner FROM pki_certificates WHERE serial = ? AND "
                            "purpose = 'signing'", (serial_hex(cert),)):
        if row[0] and row[0] != account:
            others.append(row[0])
    if others:
        raise ValidationError(
            f"the signing certificate '{cert.subject.rfc4514_string()}' names the account "
            f"'{sorted(set(others))[0]}', not '{account}': a signing certificate belongs to "
            "the account it names; register a certificate of your own")


def _load_pem_certs(data: bytes, what: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise ValidationError(f"{what} holds no PEM certificate")
    return certs


def read_identity(conn: sqlite3.Connection, secrets: SecretBox, account: str,
                  *, with_key: bool = False) -> SigningIdentity | None:
    row = conn.execute("SELECT * FROM signing_keys WHERE account = ?", (account,)).fetchone()
    if row is None:
        return None
    chain = tuple(_load_pem_certs(row["chain_pem"].encode(), "chain")) if row["chain_pem"] \
        else ()
    key = None
    if with_key and row["key_sealed"]:
        key = load_private_pem(secrets.open(row["key_sealed"]))
    return SigningIdentity(account, x509.load_pem_x509_certificate(row["cert_pem"].encode()),
                           chain, row["origin"], row["created"], key)


class SigningKeyService:
    """Generate, import, register, show and remove signing identities, each audited."""

    def __init__(self, store: Store, ops: Operations, clock: Clock, secrets: SecretBox) -> None:
        self.store = store
        self.ops = ops
        self.clock = clock
        self.secrets = secrets

    @property
    def level(self) -> SecurityLevel:
        return security_level.read(self.store.conn)

    def _target(self, session: Session, account: str | None) -> str:
        """The account whose key this is: at LOW always the installation's."""
        if self.level is SecurityLevel.LOW:
            return INSTALLATION_ACCOUNT
        return account or session.account

    def _refuse_high(self, session: Session, request: str, what: str) -> None:
        reason = (f"refused at security level HIGH: {what}; no private key ever enters the "
                  "console. Register only your signing certificate (js7tui signing-key "
                  "register CERT.pem) and deploy archives signed outside (js7tui "
                  "import-deploy)")
        self.ops.refuse(session.account, request, CAT, reason)
        raise HighLevelRefused(reason)

    def _store(self, conn: sqlite3.Connection, account: str, cert: x509.Certificate,
               chain: list[x509.Certificate], key: PrivateKeyTypes | None, origin: str,
               by: str) -> None:
        conn.execute("DELETE FROM signing_keys WHERE account = ?", (account,))
        conn.execute(
            "INSERT INTO signing_keys (account, cert_pem, chain_pem, key_sealed, origin, "
            "subject, serial, not_after, created, created_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (account, cert_pem(cert), certs_pem(chain).decode("ascii") if chain else "",
             self.secrets.seal(private_pem(key).decode("ascii")) if key is not None else None,
             origin, cert.subject.rfc4514_string(), serial_hex(cert),
             cert.not_valid_after_utc.isoformat(), to_iso(self.clock.now()), by))

    @staticmethod
    def _params(account: str, cert: x509.Certificate, origin: str) -> dict[str, object]:
        return {"account": account, "origin": origin, "subject": cert.subject.rfc4514_string(),
                "serial": serial_hex(cert), "notAfter": cert.not_valid_after_utc.isoformat()}

    def generate(self, session: Session, *, account: str | None = None,
                 key_type: KeyType | None = None, meta: AuditMeta = AuditMeta()
                 ) -> SigningIdentity:
        """A new key and code-signing certificate from the console's CA (LOW, MEDIUM)."""
        request = "./deployment/signing-key/generate"
        if self.level is SecurityLevel.HIGH:
            self._refuse_high(session, request, "the console would generate a private key")
        with self.ops.mutate(session, request=request, category=CAT,
                             permissions=[INVENTORY_DEPLOY], meta=meta) as op:
            target = self._target(op.session, account)
            self._own(op.session, target)
            issued = issuing.issue(op.conn, self.clock.now(), IssueRequest(
                Purpose.SIGNING, f"{target}-signing", owner=target, key_type=key_type),
                created_by=op.session.account)
            chain = list(issued.chain[1:])  # the signing CA, then the root
            self._store(op.conn, target, issued.cert, chain, issued.key, "GENERATED",
                        op.session.account)
            op.record(path=target, parameters=self._params(target, issued.cert, "GENERATED"))
        return SigningIdentity(target, issued.cert, tuple(chain), "GENERATED", "", None)

    def import_key(self, session: Session, key_pem: bytes, cert_chain_pem: bytes, *,
                   account: str | None = None, key_password: bytes | None = None,
                   meta: AuditMeta = AuditMeta()) -> SigningIdentity:
        """Key + certificate (+ chain) made elsewhere (LOW, MEDIUM); refused at HIGH."""
        request = "./deployment/signing-key/import"
        if self.level is SecurityLevel.HIGH:
            self._refuse_high(session, request, "importing a private key")
        try:
            key = load_private_pem(key_pem, key_password)
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"the key file is not a readable PEM private key ({exc})"
                                  ) from None
        cert, chain = self._certificate_and_chain(cert_chain_pem)
        if not same_public_key(key.public_key(), cert.public_key()):
            raise ValidationError("the private key does not belong to the certificate (their "
                                  "public keys differ)")
        return self._put(session, request, account, cert, chain, key, "IMPORTED", meta)

    def register(self, session: Session, cert_chain_pem: bytes, *, account: str | None = None,
                 meta: AuditMeta = AuditMeta()) -> SigningIdentity:
        """A signing certificate only (its key stays outside): the HIGH way, allowed at every
        level. The PEM holds the certificate first, then its intermediates and root; a
        certificate from the console's CA needs no chain."""
        cert, chain = self._certificate_and_chain(cert_chain_pem)
        return self._put(session, "./deployment/signing-key/register", account, cert, chain,
                         None, "REGISTERED", meta)

    def _certificate_and_chain(self, data: bytes) -> tuple[x509.Certificate,
                                                           list[x509.Certificate]]:
        certs = _load_pem_certs(data, "the certificate file")
        cert, chain = certs[0], certs[1:]
        if not chain and cert.subject != cert.issuer:
            try:
                ca = authority.chain(self.store.conn)
            except NotFound:
                ca = None
            signing = signing_ca.read(self.store.conn)
            if ca is not None and signing is not None and cert.issuer == signing.cert.subject:
                chain = [signing.cert, ca.root]
            elif ca is not None and cert.issuer == ca.intermediate.subject:
                chain = [ca.intermediate, ca.root]
        check_certificate(cert, chain, self.clock.now())
        check_not_revoked(self.store.conn, cert)
        return cert, chain

    def _put(self, session: Session, request: str, account: str | None,
             cert: x509.Certificate, chain: list[x509.Certificate],
             key: PrivateKeyTypes | None, origin: str, meta: AuditMeta) -> SigningIdentity:
        with self.ops.mutate(session, request=request, category=CAT,
                             permissions=[INVENTORY_DEPLOY], meta=meta) as op:
            target = self._target(op.session, account)
            self._own(op.session, target)
            check_belongs_to(op.conn, cert, target)
            self._store(op.conn, target, cert, chain, key, origin, op.session.account)
            op.record(path=target, parameters=self._params(target, cert, origin))
        return SigningIdentity(target, cert, tuple(chain), origin, "", None)

    def _own(self, session: Session, target: str) -> None:
        """An account manages its own signing identity; another account's (the installation's
        at LOW, unless one is its holder) needs the right to manage accounts as well."""
        if target != session.account and not session.can(
                "sos:products:joc:administration:accounts:manage", ""):
            raise PermissionDenied(
                f"permission denied: only an account manager may set the signing key of "
                f"'{target}'", permission="sos:products:joc:administration:accounts:manage",
                controller="")

    def show(self, session: Session, account: str | None = None) -> SigningIdentity:
        self.ops.authorize(session, [INVENTORY_DEPLOY], request="./deployment/signing-key",
                           category=CAT)
        target = self._target(session, account)
        found = read_identity(self.store.conn, self.secrets, target)
        if found is None:
            raise NotFound(self.missing(target))
        return found

    def missing(self, target: str) -> str:
        level = self.level
        if level is SecurityLevel.LOW:
            return ("this installation has no signing key yet (security level LOW: one key, "
                    "held by the default profile account); create it with 'js7tui "
                    "signing-key generate'")
        if level is SecurityLevel.MEDIUM:
            return (f"the account '{target}' has no signing key (security level MEDIUM: each "
                    "deploying account signs with its own); create one with 'js7tui "
                    "signing-key generate' or import key and certificate")
        return (f"the account '{target}' has no registered signing certificate (security "
                "level HIGH); register it with 'js7tui signing-key register CERT.pem'")
