"""The four X.509 signature algorithms of JS7 signed items, by their wire names.

``SHA256withRSA`` is PKCS#1 v1.5 (what Java's ``Signature`` and ``openssl dgst -sign`` produce),
the ECDSA forms carry DER-encoded (r, s) values, ``Ed25519`` is pure Ed25519 over the message.
Each algorithm fits exactly one key type; a mismatch is a refusal, never a fallback.
"""

from __future__ import annotations

from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)

from js7tui.signing.errors import SignatureRefused


class Algorithm(StrEnum):
    SHA256_RSA = "SHA256withRSA"
    SHA256_ECDSA = "SHA256withECDSA"
    SHA512_ECDSA = "SHA512withECDSA"
    ED25519 = "Ed25519"

    @classmethod
    def parse(cls, name: object) -> Algorithm:
        """The algorithm named on the wire (case does not matter, as in Java's names)."""
        if isinstance(name, str):
            found = _BY_NAME.get(name.strip().lower())
            if found is not None:
                return found
        known = ", ".join(a.value for a in cls)
        raise SignatureRefused(
            "UnknownSignatureAlgorithm",
            f"unknown algorithm {name!r}: the signature must use one of {known}")

    @property
    def key_kind(self) -> str:
        return {"SHA256withRSA": "RSA", "Ed25519": "Ed25519"}.get(self.value, "EC")

    @classmethod
    def default_for(cls, key: PrivateKeyTypes) -> Algorithm:
        """What JOC would use for this key: SHA256withRSA, SHA512withECDSA, Ed25519."""
        if isinstance(key, rsa.RSAPrivateKey):
            return cls.SHA256_RSA
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return cls.SHA512_ECDSA
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return cls.ED25519
        raise SignatureRefused("UnsupportedKey",
                               f"a {type(key).__name__} cannot sign items; use RSA, EC or "
                               "Ed25519")


_BY_NAME = {algorithm.value.lower(): algorithm for algorithm in Algorithm}


def _kind(key: object) -> str:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return "EC"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "Ed25519"
    return type(key).__name__


def _check_fits(algorithm: Algorithm, key: object) -> None:
    if _kind(key) != algorithm.key_kind:
        raise SignatureRefused(
            "SignatureAlgorithmMismatch",
            f"the algorithm {algorithm.value} does not fit the signer's {_kind(key)} key")


def sign_raw(algorithm: Algorithm, key: PrivateKeyTypes, data: bytes) -> bytes:
    _check_fits(algorithm, key)
    if algorithm is Algorithm.SHA256_RSA:
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg,union-attr]
    if algorithm is Algorithm.SHA256_ECDSA:
        return key.sign(data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg,union-attr]
    if algorithm is Algorithm.SHA512_ECDSA:
        return key.sign(data, ec.ECDSA(hashes.SHA512()))  # type: ignore[call-arg,union-attr]
    return key.sign(data)  # type: ignore[call-arg,union-attr]


def verify_raw(algorithm: Algorithm, key: CertificatePublicKeyTypes, signature: bytes,
               data: bytes) -> bool:
    """True when ``signature`` is ``algorithm``'s signature of exactly ``data`` by ``key``."""
    _check_fits(algorithm, key)
    try:
        if algorithm is Algorithm.SHA256_RSA:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg,union-attr]
        elif algorithm is Algorithm.SHA256_ECDSA:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg,union-attr]
        elif algorithm is Algorithm.SHA512_ECDSA:
            key.verify(signature, data, ec.ECDSA(hashes.SHA512()))  # type: ignore[call-arg,union-attr]
        else:
            key.verify(signature, data)  # type: ignore[call-arg,union-attr]
    except InvalidSignature:
        return False
    return True
