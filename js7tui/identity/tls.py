"""TLS trust for identity providers reached over HTTPS (OIDC, Vault): one way to turn a
service's ``ca_file`` into a context, one way to word an untrusted certificate, and the one
exception to https (a provider on this machine).

The CA file replaces the system's trusted CAs when it is set (an internal provider's CA is
what an administrator names), and OpenSSL's own reason for a refused certificate ("self-signed
certificate in certificate chain", "certificate has expired", ...) is what the login history
shows.
"""

from __future__ import annotations

import ipaddress
import ssl


def is_loopback(host: str) -> bool:
    """This machine: the only place plain http may go (passwords and tokens travel there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def ca_context(ca_file: str | None, error: type[Exception]) -> ssl.SSLContext:
    """A client context trusting ``ca_file`` (else the system's CAs); ``error`` with the
    reason when the file cannot be used."""
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise error(f"the CA file '{ca_file}' cannot be used: {exc}") from None


def tls_problem(exc: BaseException) -> str | None:
    """OpenSSL's reason when ``exc`` comes from an untrusted certificate, else None."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for error in chain:
        if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
            return f"certificate verify failed: {error.verify_message}"
    return next((str(e) for e in chain if "CERTIFICATE_VERIFY_FAILED" in str(e)), None)
