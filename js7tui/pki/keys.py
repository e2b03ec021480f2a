"""Key types the CA offers, key generation and PEM handling (never hand-written ASN.1).

ECDSA P-256 is the default (fast, small, accepted everywhere); RSA 3072/4096 for estates whose
policies ask for RSA. The signature hash follows the key: SHA-384 for P-384, else SHA-256.
"""

from __future__ import annotations

from enum import StrEnum

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PrivateKeyTypes,
    PublicKeyTypes,
)

from js7tui.errors import ValidationError

PrivateKey = CertificateIssuerPrivateKeyTypes


class KeyType(StrEnum):
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"

    @classmethod
    def parse(cls, text: str) -> KeyType:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValidationError(f"unknown key type '{text}'; choose one of "
                                  + ", ".join(k.value for k in cls)) from None

    def generate(self) -> PrivateKey:
        if self is KeyType.EC_P256:
            return ec.generate_private_key(ec.SECP256R1())
        if self is KeyType.EC_P384:
            return ec.generate_private_key(ec.SECP384R1())
        size = 3072 if self is KeyType.RSA_3072 else 4096
        return rsa.generate_private_key(public_exponent=65537, key_size=size)


DEFAULT_KEY_TYPE = KeyType.EC_P256


def key_type_of(key: PublicKeyTypes | PrivateKeyTypes) -> str:
    """A readable name for any key, also for keys that came in from outside (CSR, import)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return {"secp256r1": "ec-p256", "secp384r1": "ec-p384"}.get(key.curve.name,
                                                                    f"ec-{key.curve.name}")
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    return type(key).__name__.lower()


def signature_hash(key: PrivateKey) -> hashes.HashAlgorithm:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def check_acceptable_public_key(key: PublicKeyTypes) -> None:
    """Refuse keys too weak to certify (a CSR or an imported certificate from outside)."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValidationError(f"the RSA key has {key.key_size} bits; at least 2048 needed")
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise ValidationError(f"the elliptic curve {key.curve.name} is not accepted; use "
                                  "P-256, P-384 or P-521")
        return
    raise ValidationError(f"{type(key).__name__} keys are not accepted; use ECDSA or RSA")


def private_pem(key: PrivateKeyTypes, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with ``password`` when one is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption)


def load_private_pem(data: bytes | str, password: bytes | None = None) -> PrivateKey:
    raw = data.encode("ascii") if isinstance(data, str) else data
    key = serialization.load_pem_private_key(raw, password)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValidationError(f"{type(key).__name__} keys are not supported; use ECDSA or RSA")
    return key


def same_public_key(a: PublicKeyTypes, b: PublicKeyTypes) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return a.public_bytes(*fmt) == b.public_bytes(*fmt)
