"""Trust anchors for signed items: the certificates in a ``trusted-x509-keys/`` directory.

As in JS7 (reference 4.5) every file not starting with ``.`` is read, and the directory is
re-read when it changes (no restart). A signer certificate is trusted when it chains, through
any intermediates sent with it, to one of these certificates; the chain is checked with
``cryptography.x509.verification`` under a code-signing policy (EKU codeSigning on the signer,
CA rules on the issuers). A chain that verified is remembered per signer certificate with the
time window in which every certificate of it is valid, so thousands of items signed by the same
key cost one chain check, and an expiry is still noticed at the exact moment.

With a :class:`~js7tui.signing.revocation.CrlSet` every verified chain is also looked up in the
CRLs on each check (not cached: a CRL replaced on disk applies to the next item and the next
job start).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from js7tui.dn import parse_dn
from js7tui.signing.errors import SignatureRefused
from js7tui.signing.revocation import CrlSet

log = logging.getLogger("js7tui.signing")
CACHE_SIZE = 1024
_DER = Encoding.DER
_SHA256 = hashes.SHA256()


def describe(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "(empty subject)"


def _code_signing(_policy: object, _cert: x509.Certificate,
                  eku: x509.ExtendedKeyUsage | None) -> None:
    if eku is None or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise ValueError("the signer certificate lacks the codeSigning extended key usage")


def _not_a_ca(_policy: object, _cert: x509.Certificate,
              constraints: x509.BasicConstraints | None) -> None:
    if constraints is not None and constraints.ca:
        raise ValueError("a CA certificate cannot sign items")


def _may_sign(_policy: object, _cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    if usage is not None and not usage.digital_signature:
        raise ValueError("the signer certificate's key usage excludes digitalSignature")


def _signer_policy() -> ExtensionPolicy:
    """Code signing: EKU codeSigning required; SAN/AKI not demanded (unlike web PKI)."""
    return (ExtensionPolicy.permit_all()
            .require_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _code_signing)
            .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, _not_a_ca)
            .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _may_sign))


def check_signer_extensions(cert: x509.Certificate) -> None:
    """The signer rules for a certificate that is itself a trust anchor (no chain to build)."""
    def ext(kind: type) -> object | None:
        try:
            return cert.extensions.get_extension_for_class(kind).value
        except x509.ExtensionNotFound:
            return None
    try:
        _code_signing(None, cert, ext(x509.ExtendedKeyUsage))  # type: ignore[arg-type]
        _not_a_ca(None, cert, ext(x509.BasicConstraints))  # type: ignore[arg-type]
        _may_sign(None, cert, ext(x509.KeyUsage))  # type: ignore[arg-type]
    except ValueError as exc:
        raise SignatureRefused("SignerNotForCodeSigning",
                               f"{exc}: '{describe(cert)}'") from None


@dataclass(frozen=True)
class _Window:
    """When a verified chain is valid: every certificate of it, anchor included."""

    not_before: datetime
    not_after: datetime
    first_to_expire: str
    last_to_start: str
    chain: tuple[x509.Certificate, ...] = ()

    @classmethod
    def of(cls, chain: Sequence[x509.Certificate]) -> _Window:
        ends = min(chain, key=lambda c: c.not_valid_after_utc)
        starts = max(chain, key=lambda c: c.not_valid_before_utc)
        return cls(starts.not_valid_before_utc, ends.not_valid_after_utc, describe(ends),
                   describe(starts), tuple(chain))

    def check(self, now: datetime) -> None:
        if now > self.not_after:
            raise SignatureRefused(
                "CertificateExpired",
                f"certificate expired: '{self.first_to_expire}' in the signer's chain was "
                f"valid until {self.not_after.isoformat()}")
        if now < self.not_before:
            raise SignatureRefused(
                "CertificateNotYetValid",
                f"certificate not yet valid: '{self.last_to_start}' in the signer's chain is "
                f"valid from {self.not_before.isoformat()}")


def load_certificates(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    if not data.strip():
        return []  # an empty file trusts no one (a bundle made before any signer existed)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ValueError(f"{path}: not a PEM or DER certificate ({exc})") from None


class TrustedKeys:
    """The trust anchors of one component, re-read when ``directory`` changes.

    ``refresh()`` is cheap (a few ``stat`` calls) and is called once per request; when a file
    cannot be read after a change the previous anchors stay in force and the error is logged,
    so a half-copied file never widens or empties the trust by accident.
    """

    #: At HIGH (issue 16): the SHA-256 fingerprints of the only signer certificates accepted
    #: (the personal signing certificates registered to accounts); None: any signer that
    #: chains to an anchor.
    registered: frozenset[str] | None = None

    def __init__(self, directory: Path, revocations: CrlSet | None = None, *,
                 registered: frozenset[str] | None = None) -> None:
        self.directory = directory
        self.revocations = revocations
        self.registered = registered
        self.generation = 0
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._anchors: list[x509.Certificate] = []
        self._anchor_der: set[bytes] = set()
        self._store: Store | None = None
        self._cache: OrderedDict[tuple[object, ...], _Window] = OrderedDict()
        if not directory.is_dir():
            raise ValueError(
                f"no trusted signature keys: the directory {directory} does not exist; put the "
                "root CA or signing certificates there (PEM)")
        self.refresh(strict=True)

    @classmethod
    def of(cls, certificates: Sequence[x509.Certificate],
           revocations: CrlSet | None = None) -> TrustedKeys:
        """Anchors held in memory (benchmarks, tests of the console side)."""
        keys = cls.__new__(cls)
        keys.registered = None
        keys.directory = Path("(memory)")
        keys.revocations = revocations
        keys.generation = 1
        keys._stamp = ()
        keys._cache = OrderedDict()
        keys._install(list(certificates))
        return keys

    @property
    def anchors(self) -> list[x509.Certificate]:
        return list(self._anchors)

    def _scan(self) -> tuple[tuple[str, int, int], ...]:
        entries = []
        for entry in os.scandir(self.directory):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            info = entry.stat()
            entries.append((entry.name, info.st_mtime_ns, info.st_size))
        return tuple(sorted(entries))

    def refresh(self, *, strict: bool = False) -> bool:
        """Re-read the directory (and the CRLs) if changed; True when the anchors were
        replaced."""
        if self.revocations is not None:
            self.revocations.refresh()
        if self.directory == Path("(memory)"):
            return False
        try:
            stamp = self._scan()
        except OSError as exc:
            if strict:
                raise ValueError(f"cannot read {self.directory}: {exc}") from None
            log.error("trusted keys: cannot read %s (%s); keeping the previous anchors",
                      self.directory, exc)
            return False
        if stamp == self._stamp:
            return False
        try:
            anchors = [cert for name, _, _ in stamp
                       for cert in load_certificates(self.directory / name)]
        except (OSError, ValueError) as exc:
            if strict:
                raise ValueError(str(exc)) from None
            log.error("trusted keys: %s; keeping the previous anchors", exc)
            return False
        self._stamp = stamp
        self._install(anchors)
        self.generation += 1
        log.info("trusted keys: %d certificate(s) from %s", len(anchors), self.directory)
        if not anchors:
            log.warning("trusted keys: %s holds no certificate; every signed item will be "
                        "refused", self.directory)
        return True

    def _install(self, anchors: list[x509.Certificate]) -> None:
        self._anchors = anchors
        self._anchor_der = {a.public_bytes(_DER) for a in anchors}
        self._store = Store(anchors) if anchors else None
        self._cache.clear()

    def by_subject(self, signer_id: str, now: datetime) -> x509.Certificate:
        """The trusted certificate whose subject is ``signer_id`` (the valid one wins)."""
        try:
            wanted = parse_dn(signer_id)
        except ValueError:
            raise SignatureRefused("MessageSignedByUnknown",
                                   f"signed with an unknown key: the signerId {signer_id!r} is "
                                   "not a distinguished name") from None
        matches = [a for a in self._anchors if a.subject == wanted]
        if not matches:
            raise SignatureRefused(
                "MessageSignedByUnknown",
                f"signed with an unknown key: no certificate with subject '{signer_id}' in "
                f"{self.directory}")
        valid = [a for a in matches if a.not_valid_before_utc <= now <= a.not_valid_after_utc]
        return (valid or matches)[0]

    def check_registered(self, signer: x509.Certificate) -> None:
        """At HIGH: refuse a signer that is not one of the registered personal signing
        certificates, even when it chains to the signing CA."""
        if self.registered is None:
            return
        if signer.fingerprint(_SHA256).hex() not in self.registered:
            raise SignatureRefused(
                "SignerNotRegistered",
                f"at security level HIGH only registered personal signing certificates may "
                f"sign: '{describe(signer)}' (serial {signer.serial_number:x}) is not one of "
                f"the {len(self.registered)} this server's bundle names")

    def check_chain(self, signer: x509.Certificate, intermediates: Sequence[x509.Certificate],
                    now: datetime, *, key: Hashable | None = None,
                    revocations: CrlSet | None = None) -> tuple[x509.Certificate, ...]:
        """Refuse unless ``signer`` is a code-signing certificate chaining to an anchor and
        valid, with every certificate of its chain, at ``now``, and none of them revoked on
        this trust's CRLs or on ``revocations``. ``key`` names the signer and intermediates
        cheaply (the PEM text they came from); by default their DER. Returns the chain."""
        if key is None:
            key = b"".join(c.public_bytes(_DER) for c in (signer, *intermediates))
        key = (self.generation, key)
        window = self._cache.get(key)
        if window is None:
            window = self._verify(signer, signer.public_bytes(_DER), intermediates, now)
            self._cache[key] = window
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        window.check(now)
        for crls in (self.revocations, revocations):
            if crls is not None:
                crls.check(window.chain, self._anchors)
        return window.chain

    def _verify(self, signer: x509.Certificate, der: bytes,
                intermediates: Sequence[x509.Certificate], now: datetime) -> _Window:
        if der in self._anchor_der:
            check_signer_extensions(signer)
            return _Window.of([signer])
        if self._store is None:
            raise SignatureRefused(
                "MessageSignedByUnknown",
                f"signed with an unknown key: {self.directory} holds no trusted certificate")
        check_signer_extensions(signer)
        _Window.of([signer]).check(now)
        # Build the chain at a moment the signer itself is valid, so that "expired" and
        # "unknown" are told apart; the window of the whole chain is checked against now after.
        moment = max(signer.not_valid_before_utc + timedelta(seconds=1),
                     min(now, signer.not_valid_after_utc - timedelta(seconds=1)))
        verifier = (PolicyBuilder().store(self._store).time(moment)
                    .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                        ee_policy=_signer_policy())
                    .build_client_verifier())
        try:
            verified = verifier.verify(signer, list(intermediates))
        except VerificationError as exc:
            issuer = signer.issuer.rfc4514_string()
            detail = "" if "candidates exhausted" in str(exc) else f" ({exc})"
            if "not valid at validation time" in str(exc):
                raise SignatureRefused(
                    "CertificateExpired",
                    f"certificate expired: a CA certificate in the chain of "
                    f"'{describe(signer)}' is not valid at {moment.isoformat()}") from None
            raise SignatureRefused(
                "MessageSignedByUnknown",
                f"signed with an unknown key: the signer certificate '{describe(signer)}' "
                f"(issued by '{issuer}') does not chain to a certificate in {self.directory}"
                f"{detail}") from None
        return _Window.of(verified.chain)

