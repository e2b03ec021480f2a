"""Building CA and leaf certificates with the right extensions (cryptography's builders only).

Root: CA, path length 1, keyCertSign|cRLSign, SKI. Intermediate: CA, path length 0, AKI/SKI.
Leaves: CA=false (critical), key usage and EKU from the purpose, SAN, AKI/SKI, and a validity
that never outlives the issuing CA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from js7tui.pki.keys import PrivateKey, signature_hash
from js7tui.pki.profiles import ORGANIZATION, Purpose

ROOT_DAYS = 3650
INTERMEDIATE_DAYS = 1825
LEAF_DAYS = 730
BACKDATE = timedelta(minutes=5)   # tolerate clocks a little behind ours


@dataclass(frozen=True)
class Issuer:
    """A CA that can sign: its certificate and its key."""

    cert: x509.Certificate
    key: PrivateKey


def ca_name(label: str, installation: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        x509.NameAttribute(NameOID.COMMON_NAME, f"js7tui {label} {installation[:8]}"),
    ])


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                         decipher_only=False)


def build_root(key: PrivateKey, subject: x509.Name, now: datetime,
               days: int = ROOT_DAYS) -> x509.Certificate:
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, signature_hash(key))
    )


def build_intermediate(key: PrivateKey, subject: x509.Name, root: Issuer, now: datetime,
                       days: int = INTERMEDIATE_DAYS) -> x509.Certificate:
    not_after = min(now + timedelta(days=days), root.cert.not_valid_after_utc)
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(root.cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            root.key.public_key()), critical=False)
        .sign(root.key, signature_hash(root.key))
    )


def _leaf_usage(purpose: Purpose, public_key: CertificatePublicKeyTypes) -> x509.KeyUsage:
    if purpose is Purpose.ENCIPHERMENT:  # encryption only: no signature, no TLS
        is_rsa = isinstance(public_key, rsa.RSAPublicKey)
        return x509.KeyUsage(digital_signature=False, content_commitment=False,
                             key_encipherment=is_rsa, data_encipherment=False,
                             key_agreement=not is_rsa, key_cert_sign=False, crl_sign=False,
                             encipher_only=False, decipher_only=False)
    # RSA key exchange (TLS 1.2) needs keyEncipherment; signing certificates sign only.
    encipher = isinstance(public_key, rsa.RSAPublicKey) and purpose is not Purpose.SIGNING
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=encipher, data_encipherment=False,
                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                         encipher_only=False, decipher_only=False)


def build_leaf(purpose: Purpose, subject: x509.Name, public_key: CertificatePublicKeyTypes,
               san: Sequence[x509.GeneralName], issuer: Issuer, now: datetime,
               days: int = LEAF_DAYS) -> x509.Certificate:
    """A leaf for ``purpose``; its end is cut to the issuer's, so no chain outlives its CA."""
    not_after = min(now + timedelta(days=days), issuer.cert.not_valid_after_utc)
    ekus: list[x509.ObjectIdentifier] = list(purpose.profile.ekus)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.cert.subject)
        .public_key(public_key).serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_usage(purpose, public_key), critical=True)
        .add_extension(x509.SubjectAlternativeName(list(san)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.key.public_key()), critical=False)
    )
    if ekus:  # an encipherment certificate has none
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    return builder.sign(issuer.key, signature_hash(issuer.key))


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False

