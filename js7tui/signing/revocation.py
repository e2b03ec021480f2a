"""Revocation of signers: the CRLs a component holds, applied to every signer chain.

The same check runs in the console's import, at the Controller's acceptance and at the Agent's
acceptance and before each job start: every certificate of the verified chain (the signer, its
intermediates and the trust anchor) is looked up in the CRLs issued by its issuer. A CRL counts
only when its signature verifies with the issuer's certificate (one of the chain, or of the
issuer certificates given, e.g. the TLS ``ca.pem``); a CRL nobody can verify revokes nothing.
A revocation applies whatever its date: a signer revoked after an item was accepted stops that
item's jobs too (the signing time inside an item is not authenticated, so it cannot tell "signed
before the compromise" apart).

Files are re-read when they change (``refresh()``: a few ``stat`` calls); a file that does not
load after a change leaves the previous CRLs in force and is logged, as with the TLS CRL.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from js7tui.signing.errors import SignatureRefused

log = logging.getLogger("js7tui.signing")
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.S)
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
REVOKED_CODE = "SignerRevoked"


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: datetime
    reason: str


class _Crl:
    """One CRL with its entries indexed by serial, and which issuer keys verified it."""

    def __init__(self, crl: x509.CertificateRevocationList) -> None:
        self.crl = crl
        self.issuer_der = crl.issuer.public_bytes()
        self.entries: dict[int, Revocation] = {}
        for entry in crl:
            reason = "unspecified"
            try:
                flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
                reason = flag.value  # RFC 5280's names: keyCompromise, superseded, ...
            except x509.ExtensionNotFound:
                pass
            self.entries[entry.serial_number] = Revocation(
                entry.serial_number, entry.revocation_date_utc, reason)
        self._verified: dict[bytes, bool] = {}

    def signed_by(self, issuer: x509.Certificate) -> bool:
        der = issuer.public_bytes(Encoding.DER)
        ok = self._verified.get(der)
        if ok is None:
            try:
                ok = self.crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            except (TypeError, ValueError):
                ok = False
            self._verified[der] = ok
        return ok


def load_crls(data: bytes, where: str) -> list[x509.CertificateRevocationList]:
    """Every CRL of a PEM file (several may be concatenated) or the one of a DER file."""
    try:
        if b"-----BEGIN" in data:
            return [x509.load_pem_x509_crl(block) for block in _PEM_CRL.findall(data)]
        return [x509.load_der_x509_crl(data)] if data else []
    except ValueError as exc:
        raise ValueError(f"{where}: not a PEM or DER certificate revocation list ({exc})"
                         ) from None


def _certs(data: bytes) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(block) for block in _PEM_CERT.findall(data)]


def describe_revocation(cert: x509.Certificate, revocation: Revocation, *,
                        signer: bool) -> str:
    what = ("the signing certificate" if signer
            else "the CA certificate in the signer's chain")
    return (f"{what} {cert.subject.rfc4514_string()} (serial "
            f"{format(cert.serial_number, 'x')}) was revoked on "
            f"{revocation.revoked_at.isoformat()} ({revocation.reason})")


class CrlSet:
    """The CRLs of one component: files and directories (every file not starting with ``.``),
    and the CA certificate files whose keys may have signed them."""

    def __init__(self, files: Sequence[Path] = (), directories: Sequence[Path] = (),
                 issuer_files: Sequence[Path] = ()) -> None:
        self.files = tuple(files)
        self.directories = tuple(directories)
        self.issuer_files = tuple(issuer_files)
        self.generation = 0
        self._stamp: tuple[object, ...] | None = None
        self._by_issuer: dict[bytes, list[_Crl]] = {}
        self._issuers: list[x509.Certificate] = []
        self.refresh(strict=True)

    @classmethod
    def of(cls, crls: Iterable[x509.CertificateRevocationList],
           issuers: Iterable[x509.Certificate] = ()) -> CrlSet:
        """CRLs held in memory (the console: its store's CRLs)."""
        found = cls.__new__(cls)
        found.files = found.directories = found.issuer_files = ()
        found.generation = 1
        found._stamp = ()
        found._install(list(crls), list(issuers))
        return found

    @property
    def count(self) -> int:
        return sum(len(v) for v in self._by_issuer.values())

    def _paths(self) -> list[Path]:
        paths = [p for p in (*self.files, *self.issuer_files)]
        for directory in self.directories:
            if directory.is_dir():
                paths += sorted(Path(e.path) for e in os.scandir(directory)
                                if not e.name.startswith(".") and e.is_file())
        return paths

    def _scan(self) -> tuple[object, ...]:
        stamp: list[object] = []
        for path in self._paths():
            try:
                info = os.stat(path)
                stamp.append((str(path), info.st_ino, info.st_mtime_ns, info.st_size))
            except OSError:
                stamp.append((str(path), None))
        return tuple(stamp)

    def refresh(self, *, strict: bool = False) -> bool:
        """Re-read the files if any changed; True when the CRLs were replaced."""
        if self._stamp == () and not (self.files or self.directories or self.issuer_files):
            return False
        stamp = self._scan()
        if stamp == self._stamp:
            return False
        crls: list[x509.CertificateRevocationList] = []
        issuers: list[x509.Certificate] = []
        try:
            for path in self.issuer_files:
                if path.exists():
                    issuers += _certs(path.read_bytes())
            for path in self._paths():
                if path in self.issuer_files or not path.exists():
                    continue
                crls += load_crls(path.read_bytes(), str(path))
        except (OSError, ValueError) as exc:
            if strict:
                raise ValueError(f"revocation lists: {exc}") from None
            log.error("revocation lists changed but cannot be read (%s); the previous CRLs "
                      "stay in force", exc)
            return False
        self._stamp = stamp
        self._install(crls, issuers)
        self.generation += 1
        if self.generation > 1:
            log.info("revocation lists reloaded: %d CRL(s) for signer checks", len(crls))
        return True

    def _install(self, crls: list[x509.CertificateRevocationList],
                 issuers: list[x509.Certificate]) -> None:
        by_issuer: dict[bytes, list[_Crl]] = {}
        for crl in crls:
            held = _Crl(crl)
            by_issuer.setdefault(held.issuer_der, []).append(held)
        self._by_issuer = by_issuer
        self._issuers = issuers
        self._clean = {}

    def revocation(self, cert: x509.Certificate,
                   issuers: Sequence[x509.Certificate]) -> Revocation | None:
        """``cert``'s revocation on a CRL signed by one of ``issuers`` (or the held issuer
        certificates) whose subject is ``cert``'s issuer; None when none lists it."""
        held = self._by_issuer.get(cert.issuer.public_bytes())
        if not held:
            return None
        listing = [(crl, entry) for crl in held
                   if (entry := crl.entries.get(cert.serial_number)) is not None]
        if not listing:  # the common case: no CRL names this serial, no issuer to look for
            return None
        candidates = [c for c in (*issuers, *self._issuers) if c.subject == cert.issuer]
        for crl, entry in listing:
            if any(crl.signed_by(c) for c in candidates):
                return entry
        return None

    def check(self, chain: Sequence[x509.Certificate],
              anchors: Sequence[x509.Certificate] = ()) -> None:
        """Refuse (``SignerRevoked``) when any certificate of ``chain`` (signer first) is
        revoked. A chain found clean is remembered until the CRLs change (every item of a
        deployment comes with the same signer)."""
        if not self._by_issuer:
            return
        clean_key = (self.generation, tuple(id(c) for c in chain),
                     tuple(c.serial_number for c in chain))
        if clean_key in self._clean:
            return
        issuers = [*chain, *anchors]
        for index, cert in enumerate(chain):
            found = self.revocation(cert, issuers)
            if found is not None:
                raise SignatureRefused(REVOKED_CODE,
                                       describe_revocation(cert, found, signer=index == 0))
        if len(self._clean) > 4096:
            self._clean.clear()
        self._clean[clean_key] = tuple(chain)  # kept alive, so no id is reused meanwhile
