"""Signed items (reference 4.3): sign exact bytes, verify exact bytes, parse only afterwards.

A signed item on the wire is ``{"string": <the item's JSON text>, "signature": {"TYPE": "X509",
"signatureString": <base64>, "algorithm": ..., "signerCertificate": <PEM> | "signerId": <DN>}}``.
The signature covers the UTF-8 bytes of ``string`` exactly as received; nothing here ever
re-serialises them, and the received object is what gets forwarded (Controller to Agent) and
stored. ``verify_signed_item`` is the one verification used by the console's archive import, the
Controller and the Agent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding

from js7tui.signing.algorithms import Algorithm, sign_raw, verify_raw
from js7tui.signing.errors import SignatureRefused
from js7tui.signing.revocation import CrlSet
from js7tui.signing.trust import TrustedKeys, describe

SIGNATURE_TYPE = "X509"


@dataclass(frozen=True)
class SignedItem:
    """The signed string and its signature object, exactly as they came."""

    string: str
    signature: Mapping[str, Any]

    @classmethod
    def from_wire(cls, value: object) -> SignedItem:
        if not isinstance(value, Mapping):
            raise SignatureRefused("InvalidSignedString",
                                   "a signed item must be an object with 'string' and "
                                   "'signature'")
        string, signature = value.get("string"), value.get("signature")
        if not isinstance(string, str):
            raise SignatureRefused("InvalidSignedString",
                                   "the signed item has no 'string' (the item's JSON text)")
        if not isinstance(signature, Mapping):
            raise SignatureRefused("InvalidSignedString",
                                   "the signed item has no 'signature' object")
        return cls(string, dict(signature))

    def to_wire(self) -> dict[str, Any]:
        return {"string": self.string, "signature": dict(self.signature)}

    @property
    def data(self) -> bytes:
        return self.string.encode("utf-8")


@dataclass(frozen=True)
class VerifiedItem:
    """A signed item whose signature and signer were checked; ``document`` is its parsed JSON."""

    signed: SignedItem
    document: dict[str, Any]
    algorithm: Algorithm
    signer: str
    digest: str


@lru_cache(maxsize=256)
def _certificates(pem: str) -> tuple[x509.Certificate, tuple[x509.Certificate, ...], str]:
    """Signer, intermediates and the signer's subject, parsed once per distinct PEM text."""
    try:
        certs = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        certs = []
    if not certs:
        raise SignatureRefused("InvalidSignerCertificate",
                               "the signerCertificate is not a PEM certificate")
    return certs[0], tuple(certs[1:]), describe(certs[0])


def _decode(signature_string: object) -> bytes:
    if not isinstance(signature_string, str) or not signature_string.strip():
        raise SignatureRefused("InvalidSignature", "the signature has no signatureString")
    try:  # MIME Base64: line breaks allowed, nothing else
        return base64.b64decode("".join(signature_string.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefused("InvalidSignature",
                               "the signatureString is not valid Base64") from None


def verify_signed_item(item: SignedItem, trusted: TrustedKeys, *, now: datetime,
                       crls: CrlSet | None = None) -> VerifiedItem:
    """Check ``item`` against ``trusted`` at ``now``, or raise :class:`SignatureRefused`.

    Order: signature type and algorithm, the signer (certificate sent, or a trusted certificate
    named by ``signerId``), the signature over the exact bytes, then the signer's chain, code
    signing use, validity and revocation (the CRLs ``trusted`` holds, and ``crls`` when given:
    ``SignerRevoked``). Only then is the string parsed as JSON.
    """
    signature = item.signature
    kind = signature.get("TYPE")
    if kind != SIGNATURE_TYPE:
        raise SignatureRefused(
            "UnknownSignatureType",
            f"unknown signature type {kind!r}: only {SIGNATURE_TYPE} signatures are accepted")
    algorithm = Algorithm.parse(signature.get("algorithm"))
    raw = _decode(signature.get("signatureString"))
    pem, signer_id = signature.get("signerCertificate"), signature.get("signerId")
    if bool(pem) == bool(signer_id):
        raise SignatureRefused("InvalidSignature",
                               "the signature must carry exactly one of signerCertificate and "
                               "signerId")
    intermediates: Sequence[x509.Certificate] = ()
    if pem:
        if not isinstance(pem, str):
            raise SignatureRefused("InvalidSignerCertificate",
                                   "the signerCertificate must be PEM text")
        signer, intermediates, subject = _certificates(pem)
        chain_key: object = pem
    else:
        if not isinstance(signer_id, str):
            raise SignatureRefused("InvalidSignature", "the signerId must be a DN string")
        signer = trusted.by_subject(signer_id, now)
        subject, chain_key = describe(signer), None
    data = item.data
    if not verify_raw(algorithm, signer.public_key(), raw, data):
        raise SignatureRefused(
            "TamperedWithSignedMessage",
            f"the message does not match its signature ({algorithm.value} by '{subject}')")
    trusted.check_chain(signer, intermediates, now, key=chain_key, revocations=crls)
    trusted.check_registered(signer)
    try:
        document = json.loads(item.string)
    except ValueError as exc:
        raise SignatureRefused("InvalidItem",
                               f"the signed string is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise SignatureRefused("InvalidItem", "the signed string is not a JSON object")
    return VerifiedItem(item, document, algorithm, subject, hashlib.sha256(data).hexdigest())


def sign_bytes(data: bytes, key: PrivateKeyTypes, *, certificate: x509.Certificate | None = None,
               chain: Sequence[x509.Certificate] = (), signer_id: str | None = None,
               algorithm: Algorithm | None = None) -> dict[str, Any]:
    """The wire signature object for ``data``: with the signer certificate (and any
    intermediates) when given, else with ``signer_id`` (a self-signed, trusted certificate's
    subject DN)."""
    algorithm = algorithm or Algorithm.default_for(key)
    signature: dict[str, Any] = {
        "TYPE": SIGNATURE_TYPE,
        "signatureString": base64.b64encode(sign_raw(algorithm, key, data)).decode("ascii"),
        "algorithm": algorithm.value,
    }
    if certificate is not None:
        signature["signerCertificate"] = b"".join(
            c.public_bytes(Encoding.PEM) for c in (certificate, *chain)).decode("ascii")
    elif signer_id:
        signature["signerId"] = signer_id
    else:
        raise ValueError("sign_bytes needs the signer certificate or a signerId")
    return signature


def sign_item(text: str, key: PrivateKeyTypes, **kwargs: Any) -> SignedItem:
    """Sign the UTF-8 bytes of ``text`` (an item's JSON, serialised once by the caller)."""
    return SignedItem(text, sign_bytes(text.encode("utf-8"), key, **kwargs))
