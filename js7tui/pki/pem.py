"""PEM text for certificates and CRLs, and the serial as the store writes it."""

from __future__ import annotations

from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from js7tui.errors import ValidationError


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def certs_pem(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


def load_certs(data: bytes, what: str) -> list[x509.Certificate]:
    """Every certificate in a PEM (or a single DER) file, refusing anything else clearly."""
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise ValidationError(f"{what} is not a PEM or DER X.509 certificate") from None
    if not certs:
        raise ValidationError(f"{what} holds no certificate")
    return certs
