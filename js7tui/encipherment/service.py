"""Encipherment as administrators use it (issue 21): certificates by alias, assignments to
Agents, encrypting a value for an Agent, and rotation.

Reading needs ``...:certificates:view``; changing certificates and assignments
``...:certificates:manage``; encrypting ``sos:products:joc:encipherment:encrypt``. Every change
and every encryption writes one CERTIFICATES audit entry in its transaction, with the alias,
the fingerprint and the variable, never the value (refusals too).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography import x509

from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock
from js7tui.encipherment import bundle as enc_bundle
from js7tui.encipherment import certificates as enc
from js7tui.encipherment import envelope
from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import CERTIFICATES_MANAGE, CERTIFICATES_VIEW, ENCIPHERMENT_ENCRYPT
from js7tui.pki import authority
from js7tui.pki.builder import LEAF_DAYS, build_leaf
from js7tui.pki.keys import KeyType, load_private_pem, private_pem, same_public_key
from js7tui.pki.profiles import Purpose, subject_for
from js7tui.secrets import SecretBox
from js7tui.store import Store

CAT = Category.CERTIFICATES
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_AGENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
DEFAULT_KEY_TYPE = KeyType.EC_P256   # ECDH on P-256: a job start decrypts in microseconds


def check_alias(alias: str) -> str:
    if not _ALIAS.match(alias or ""):
        raise ValidationError(f"'{alias}' is not a valid alias: 1 to 64 letters, digits, '.', "
                              "'_' or '-', starting with a letter or digit")
    return alias


def check_agent(agent: str) -> str:
    if not _AGENT.match(agent or ""):
        raise ValidationError(f"'{agent}' is not a valid Agent name")
    return agent


@dataclass(frozen=True)
class CertView:
    cert: enc.EncCert
    agents: list[str]                 # assigned to the alias
    holding: list[str]                # Agents that had its key in a bundle and still hold it
    waiting: list[str]                # assigned, key not yet in any bundle for them

    @property
    def readers(self) -> list[str]:
        return sorted(set(self.holding) | set(self.waiting))


@dataclass(frozen=True)
class Encrypted:
    value: str = field(repr=False)
    alias: str
    fingerprint: str
    binding: str
    readers: list[str]
    warning: str = ""


@dataclass(frozen=True)
class Usage:
    view: CertView
    holders: list[enc.Holder]


@dataclass(frozen=True)
class Renewed:
    new: enc.EncCert
    old: enc.EncCert
    reencrypt: list[enc.Holder]


class EnciphermentService:
    def __init__(self, store: Store, clock: Clock, ops: Operations, box: SecretBox) -> None:
        self.store = store
        self.clock = clock
        self.ops = ops
        self.box = box

    def _manage(self, session: Session, request: str, meta: AuditMeta,
                parameters: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
        return self.ops.mutate(session, request=request, category=CAT,
                               permissions=[CERTIFICATES_MANAGE], meta=meta,
                               parameters=parameters)

    # -- reading ----------------------------------------------------------------------------
    def _view(self, conn: sqlite3.Connection, cert: enc.EncCert) -> CertView:
        agents = enc.agents_of(conn, cert.alias)
        had = enc.deliveries(conn, cert.id)
        holding = [a for a, removed in had.items() if removed is None]
        waiting = ([a for a in agents if a not in had]
                   if cert.state != "RETIRED" and cert.key_held else [])
        return CertView(cert, agents, holding, waiting)

    def list(self, session: Session, *, include_retired: bool = False) -> list[CertView]:
        self.ops.authorize(session, [CERTIFICATES_VIEW], request="./encipherment/certificate",
                           category=CAT)
        conn = self.store.conn
        return [self._view(conn, c) for c in enc.all_certificates(conn)
                if include_retired or c.state != "RETIRED"]

    def _resolve(self, conn: sqlite3.Connection, recipient: str) -> enc.EncCert:
        """An alias, or an Agent assigned exactly one alias: its current certificate."""
        found = enc.current(conn, recipient)
        if found is None:
            aliases = enc.aliases_of(conn, recipient)
            if len(aliases) > 1:
                raise ValidationError(f"Agent '{recipient}' is assigned {', '.join(aliases)}; "
                                      "name the alias with --for")
            found = enc.current(conn, aliases[0]) if aliases else None
        if found is None:
            raise NotFound(f"'{recipient}' is neither an encipherment alias nor an Agent with "
                           "an encipherment certificate (js7tui encipherment list)")
        if found.not_after <= self.clock.now():
            raise ValidationError(f"the encipherment certificate of '{found.alias}' expired on "
                                  f"{found.not_after:%Y-%m-%d}; renew it")
        return found

    def choices(self, session: Session) -> list[CertView]:
        """The aliases one may encrypt for now, with who can read (the encrypt dialogs)."""
        self.ops.authorize(session, [ENCIPHERMENT_ENCRYPT], request="./encipherment/encrypt",
                           category=CAT)
        conn = self.store.conn
        now = self.clock.now()
        return [self._view(conn, c) for c in enc.all_certificates(conn)
                if c.state == "CURRENT" and c.not_after > now]

    def recipients(self, session: Session, recipient: str) -> CertView:
        """Who can read a value encrypted for ``recipient`` (shown before encrypting)."""
        self.ops.authorize(session, [ENCIPHERMENT_ENCRYPT], request="./encipherment/encrypt",
                           category=CAT)
        conn = self.store.conn
        return self._view(conn, self._resolve(conn, recipient))

    def usage(self, session: Session, alias: str) -> list[Usage]:
        """Per certificate of the alias: which inventory objects hold values for it, which
        Agents can read them."""
        self.ops.authorize(session, [CERTIFICATES_VIEW], request="./encipherment/usage",
                           category=CAT)
        conn = self.store.conn
        certs = enc.of_alias(conn, check_alias(alias))
        if not certs:
            raise NotFound(f"no encipherment certificate with the alias '{alias}'")
        found = enc.holders(conn)
        return [Usage(self._view(conn, c), [h for h in found if h.fingerprint == c.fingerprint])
                for c in certs]

    def unauthenticated(self, session: Session) -> list[enc.Holder]:
        """Values in JS7's enc: format (or damaged) found in the inventory."""
        self.ops.authorize(session, [CERTIFICATES_VIEW], request="./encipherment/usage",
                           category=CAT)
        return [h for h in enc.holders(self.store.conn) if h.kind != "js7tui"]

    # -- certificates ---------------------------------------------------------------------
    def _issue(self, conn: sqlite3.Connection, alias: str, key_type: KeyType, days: int,
               account: str, replaces: int | None = None) -> enc.EncCert:
        now = self.clock.now()
        key = key_type.generate()
        san = [x509.UniformResourceIdentifier(f"urn:js7tui:encipherment:{alias}")]
        cert = build_leaf(Purpose.ENCIPHERMENT, subject_for(Purpose.ENCIPHERMENT, alias),
                          key.public_key(), san, authority.issuer(conn, now), now, days)
        return enc.insert(conn, alias=alias, cert=cert,
                          key_sealed=self.box.seal(private_pem(key).decode("ascii")),
                          origin="ISSUED", created_by=account, now=now, replaces_id=replaces)

    def issue(self, session: Session, alias: str, *, agents: Sequence[str] = (),
              key_type: KeyType | None = None, days: int = LEAF_DAYS,
              meta: AuditMeta = AuditMeta()) -> CertView:
        """A new encipherment certificate from the built-in CA; its key is held (sealed)
        until the bundles of its Agents carry it."""
        check_alias(alias)
        with self._manage(session, "./encipherment/certificate/store", meta) as op:
            if enc.of_alias(op.conn, alias):
                raise Conflict(f"the alias '{alias}' exists; renew it (js7tui encipherment "
                               "renew) or choose another")
            cert = self._issue(op.conn, alias, key_type or DEFAULT_KEY_TYPE, days,
                               session.account)
            for agent in agents:
                enc.assign(op.conn, alias, check_agent(agent), self.clock.now())
            op.record(path=cert.subject, parameters={**cert.describe(),
                                                     "agents": list(agents)})
            return self._view(op.conn, cert)

    def import_certificate(self, session: Session, alias: str, cert_pem: bytes, *,
                           key_pem: bytes | None = None, key_password: bytes | None = None,
                           agents: Sequence[str] = (),
                           meta: AuditMeta = AuditMeta()) -> CertView:
        """An organisation's encipherment certificate. With its key, bundles carry the key to
        the Agents; without, the key is put on the Agents by hand
        (``CONFIG/encipherment/<fingerprint>.key.pem``)."""
        check_alias(alias)
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError:
            raise ValidationError("the certificate file is not a PEM certificate") from None
        enc.check_encipherment_cert(cert, self.clock.now())
        sealed = None
        if key_pem is not None:
            try:
                key = load_private_pem(key_pem, key_password)
            except (ValueError, TypeError):
                raise ValidationError("the key does not open (wrong password, or not a PEM "
                                      "private key)") from None
            if not same_public_key(key.public_key(), cert.public_key()):
                raise ValidationError("the key does not belong to the certificate")
            sealed = self.box.seal(private_pem(key).decode("ascii"))
        with self._manage(session, "./encipherment/certificate/import", meta) as op:
            previous = enc.current(op.conn, alias)
            if previous is not None:
                enc.supersede(op.conn, previous.id)
            record = enc.insert(op.conn, alias=alias, cert=cert, key_sealed=sealed,
                                origin="IMPORTED", created_by=session.account,
                                now=self.clock.now(),
                                replaces_id=previous.id if previous else None)
            for agent in agents:
                enc.assign(op.conn, alias, check_agent(agent), self.clock.now())
            op.record(path=record.subject, parameters={
                **record.describe(), "withKey": sealed is not None, "agents": list(agents),
                "replaces": previous.fingerprint if previous else None})
            return self._view(op.conn, record)

    def assign(self, session: Session, alias: str, agent: str,
               meta: AuditMeta = AuditMeta()) -> CertView:
        with self._manage(session, "./encipherment/assignment/add", meta) as op:
            cert = enc.current(op.conn, alias)
            if cert is None:
                raise NotFound(f"no encipherment certificate with the alias '{alias}'")
            if not enc.assign(op.conn, alias, check_agent(agent), self.clock.now()):
                raise Conflict(f"Agent '{agent}' is already assigned '{alias}'")
            op.record(path=cert.subject, parameters={"alias": alias, "agent": agent,
                                                     "keyHeld": cert.key_held})
            return self._view(op.conn, cert)

    def unassign(self, session: Session, alias: str, agent: str,
                 meta: AuditMeta = AuditMeta()) -> None:
        with self._manage(session, "./encipherment/assignment/remove", meta) as op:
            if not enc.unassign(op.conn, alias, agent):
                raise NotFound(f"Agent '{agent}' is not assigned '{alias}'")
            op.record(path=alias, parameters={"alias": alias, "agent": agent})

    def renew(self, session: Session, alias: str, *, key_type: KeyType | None = None,
              days: int = LEAF_DAYS, meta: AuditMeta = AuditMeta()) -> Renewed:
        """A new certificate for the alias (built-in CA); the old one is superseded: its
        key stays on the Agents until :meth:`retire`, which needs nothing to hold values for
        it. Returns what must be encrypted again."""
        with self._manage(session, "./encipherment/certificate/renew", meta) as op:
            old = enc.current(op.conn, alias)
            if old is None:
                raise NotFound(f"no encipherment certificate with the alias '{alias}'")
            enc.supersede(op.conn, old.id)
            kind = key_type or (KeyType(old.key_type) if old.key_type in KeyType._value2member_map_
                                else DEFAULT_KEY_TYPE)
            new = self._issue(op.conn, alias, kind, days, session.account, replaces=old.id)
            reencrypt = [h for h in enc.holders(op.conn) if h.fingerprint == old.fingerprint]
            op.record(path=new.subject, parameters={
                **new.describe(), "replaces": old.fingerprint,
                "toEncryptAgain": [f"{h.object_type} {h.name} {h.where}" for h in reencrypt]})
            return Renewed(enc.by_id(op.conn, new.id), enc.by_id(op.conn, old.id), reencrypt)

    def retire(self, session: Session, fingerprint: str, *, force: bool = False,
               meta: AuditMeta = AuditMeta()) -> CertView:
        """A superseded certificate nothing needs: its key goes from the Agents with their
        next bundle (``retire.txt``). Refused while an inventory object holds a value for
        it (unless ``force``)."""
        with self._manage(session, "./encipherment/certificate/delete", meta) as op:
            cert = self._by_fingerprint(op.conn, fingerprint)
            if cert.state == "CURRENT":
                raise Conflict(f"'{cert.alias}' {cert.fingerprint[:16]}… is the alias's "
                               "current certificate; renew the alias first")
            if cert.state == "RETIRED":
                raise Conflict("this certificate is retired already")
            needed = [h for h in enc.holders(op.conn) if h.fingerprint == cert.fingerprint]
            if needed and not force:
                raise Conflict("values for this certificate are still in the inventory: "
                               + "; ".join(f"{h.object_type} {h.name} {h.where}"
                                           for h in needed) + " — encrypt them again first")
            enc.retire(op.conn, cert.id, self.clock.now())
            op.record(path=cert.subject, parameters={**cert.describe(), "forced": force,
                                                     "stillHeldBy": len(needed)})
            return self._view(op.conn, enc.by_id(op.conn, cert.id))

    def _by_fingerprint(self, conn: sqlite3.Connection, text: str) -> enc.EncCert:
        wanted = text.strip().lower().replace(":", "")
        matches = [c for c in enc.all_certificates(conn) if c.fingerprint.startswith(wanted)]
        if len(wanted) < 8 or len(matches) != 1:
            raise NotFound(f"no single encipherment certificate with the fingerprint "
                           f"'{text}' (give at least 8 hex digits)")
        return matches[0]

    # -- bundles for Agents that have their TLS bundle already -----------------------------
    def bundle(self, session: Session, agent: str, *, password: str,
               write: Callable[[bytes], None], meta: AuditMeta = AuditMeta()) -> list[str]:
        """An encipherment archive for ``agent`` (``js7tui agent import-encipherment``);
        ``write`` runs in the transaction, so the keys stay if writing fails. Returns the
        fingerprints carried."""
        if len(password) < 8:
            raise ValidationError("the store password must have at least 8 characters")
        with self._manage(session, "./encipherment/bundle/export", meta) as op:
            carried = enc_bundle.collect(op.conn, self.box, check_agent(agent),
                                         password.encode())
            if not carried.files:
                raise NotFound(f"nothing to carry to Agent '{agent}': no assigned certificate "
                               "whose key is still held, nothing to retire"
                               + (f" (the keys of {', '.join(carried.missing)} left already)"
                                  if carried.missing else ""))
            write(enc_bundle.archive(carried, self.clock.now()))
            dropped = enc_bundle.record(op.conn, carried, self.clock.now())
            carried_fps = [enc.by_id(op.conn, i).fingerprint for i in carried.delivered]
            op.record(path=agent, parameters={"agent": agent, "carried": carried_fps,
                                              "keysLeftStore": dropped,
                                              "retired": len(carried.retired)})
            return carried_fps

    # -- encrypting -------------------------------------------------------------------------
    def encrypt(self, session: Session, recipient: str, value: str, variable: str, *,
                js7_format: bool = False, meta: AuditMeta = AuditMeta()) -> Encrypted:
        """``value`` encrypted for the current certificate of ``recipient`` (alias or Agent),
        bound to ``variable`` (:func:`envelope.binding`). Audited without the value."""
        parameters: dict[str, object] = {"for": recipient, "variable": variable,
                                         "format": "js7" if js7_format else "js7tui-enc:v1"}
        with self.ops.mutate(session, request="./encipherment/encrypt", category=CAT,
                             permissions=[ENCIPHERMENT_ENCRYPT], meta=meta,
                             parameters=parameters) as op:
            bound = envelope.parse_binding(variable)
            cert = self._resolve(op.conn, recipient)
            view = self._view(op.conn, cert)
            if js7_format:
                text, warning = envelope.encrypt_js7(value, cert.cert), envelope.JS7_WARNING
            else:
                text, warning = envelope.encrypt(value, cert.cert, bound), ""
            if cert.not_after - self.clock.now() < timedelta(days=30):
                warning = (warning + "; " if warning else "") + (
                    f"the certificate expires on {cert.not_after:%Y-%m-%d}")
            op.record(path=cert.subject, parameters={
                **parameters, "alias": cert.alias, "fingerprint": cert.fingerprint,
                "readers": view.readers})
            return Encrypted(text, cert.alias, cert.fingerprint, bound, view.readers, warning)
