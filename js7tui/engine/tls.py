"""TLS for the engine: a server context requiring client certificates, checked against the CRL,
re-read when the CRL (or the key material) changes; and client contexts for outgoing hops.

Why a context subclass: asyncio's SSL transport calls ``context.wrap_bio`` once per accepted
connection (``asyncio.sslproto.SSLProtocol``), with the context given to ``create_server``.
:class:`ReloadingServerContext` is that context; its ``wrap_bio`` hands each new connection to a
freshly built :class:`ssl.SSLContext` whenever a watched file changed, so a revocation applies to
the next handshake without a restart, while established connections keep their session. A
changed file that does not load (half-written CRL, wrong issuer) leaves the previous context in
force and is logged: failing open is never an option, failing everyone is not either.

Refused handshakes are logged (asyncio drops them silently): the peer's address, OpenSSL's
reason and, when the client sent a certificate, its subject, issuer and serial. The
certificate is read from the client's Certificate handshake message as OpenSSL hands it to
the context's message callback (decrypted, TLS 1.2 and 1.3 alike), because a certificate that
failed verification is not available otherwise before Python 3.13; the peer address comes from
the asyncio protocol driving the handshake.
"""

from __future__ import annotations

import logging
import os
import ssl
import sys
import threading
from pathlib import Path
from typing import Any

from cryptography import x509

from js7tui.engine.config import TlsFiles
from js7tui.engine.events import fields

log = logging.getLogger("js7tui.engine.tls")


def _check_crl(files: TlsFiles) -> None:
    """Refuse a CRL that is not signed by one of our CA certificates (OpenSSL would then fail
    every handshake with a less helpful message)."""
    if files.crl is None:
        return
    crl = x509.load_pem_x509_crl(files.crl.read_bytes())
    cas = x509.load_pem_x509_certificates(files.ca.read_bytes())
    for ca in cas:
        if ca.subject == crl.issuer:
            if not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
                raise ValueError(f"{files.crl}: the CRL's signature does not verify with "
                                 f"'{ca.subject.rfc4514_string()}'")
            return
    raise ValueError(f"{files.crl}: the CRL's issuer '{crl.issuer.rfc4514_string()}' is none "
                     f"of the CA certificates in {files.ca}")


_CERTIFICATE_MESSAGE = 11


def _sent_certificate(data: bytes, version: object) -> x509.Certificate | None:
    """The first certificate of a TLS Certificate handshake message (type, 24-bit length,
    [TLS 1.3: request context], 24-bit list length, 24-bit length + DER ...)."""
    try:
        body = data[4:]
        if version == ssl.TLSVersion.TLSv1_3:
            body = body[1 + body[0]:]
        if int.from_bytes(body[:3], "big") == 0:
            return None
        size = int.from_bytes(body[3:6], "big")
        return x509.load_der_x509_certificate(body[6:6 + size])
    except (IndexError, ValueError):
        return None


def _record_certificate(conn: object, direction: str, version: object, _content: object,
                        msg_type: object, data: bytes) -> None:
    if direction == "read" and msg_type == _CERTIFICATE_MESSAGE and isinstance(
            conn, LoggedSSLObject):
        conn.sent_certificate = _sent_certificate(data, version)


def _peer_of_caller() -> str:
    """The address of the connection whose handshake is running: asyncio's SSLProtocol
    calls ``do_handshake`` from its ``_do_handshake``; anything else gives 'unknown peer'."""
    frame = sys._getframe(2)
    protocol = frame.f_locals.get("self") if frame is not None else None
    transport = getattr(protocol, "_transport", None)
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "unknown peer"


def describe_certificate(cert: x509.Certificate | None) -> str:
    if cert is None:
        return "no client certificate sent"
    return (f"client certificate '{cert.subject.rfc4514_string()}' (issuer "
            f"'{cert.issuer.rfc4514_string()}', serial {format(cert.serial_number, 'x')})")


class LoggedSSLObject(ssl.SSLObject):
    """A server-side TLS connection that logs why its handshake was refused."""

    sent_certificate: x509.Certificate | None = None

    def do_handshake(self) -> None:
        try:
            super().do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise
        except ssl.SSLError as exc:
            reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
            log.warning("refused TLS handshake from %s: %s; %s", _peer_of_caller(), reason,
                        describe_certificate(self.sent_certificate))
            raise


def build_server_context(files: TlsFiles) -> ssl.SSLContext:
    """Server side: our certificate chain, client certificates required from our CA, the CRL
    checked for the client's certificate when there is one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(files.cert, files.key)
    ctx.load_verify_locations(cafile=files.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.sslobject_class = LoggedSSLObject
    ctx._msg_callback = _record_certificate  # type: ignore[attr-defined]
    if files.crl is not None:
        _check_crl(files)
        ctx.load_verify_locations(cafile=files.crl)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return ctx


def build_client_context(ca: Path, cert: Path | None = None, key: Path | None = None, *,
                         crl: Path | None = None) -> ssl.SSLContext:
    """Client side of a hop: trust ``ca``, present ``cert``/``key``, and with ``crl`` refuse a
    server whose certificate is revoked."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if crl is not None:
        ctx.load_verify_locations(cafile=crl)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def _stamp(files: TlsFiles) -> tuple[Any, ...]:
    paths = [files.cert, files.key, files.ca, *([files.crl] if files.crl else [])]
    stamp = []
    for path in paths:
        try:
            info = os.stat(path)
            stamp.append((info.st_ino, info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


class ReloadingServerContext(ssl.SSLContext):
    """The context handed to the server; each connection gets the current real context."""

    def __new__(cls, files: TlsFiles) -> ReloadingServerContext:
        return super().__new__(cls, ssl.PROTOCOL_TLS_SERVER)

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self._lock = threading.Lock()
        self._stamp = _stamp(files)
        self._current = build_server_context(files)
        self.reloads = 0

    def current(self) -> ssl.SSLContext:
        stamp = _stamp(self.files)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._reload(stamp, "file-change")
        return self._current

    def reload(self, trigger: str = "SIGHUP") -> bool:
        """Read the files again now, changed or not (``systemctl reload``); False (and the
        previous context in force) when they do not load."""
        with self._lock:
            return self._reload(_stamp(self.files), trigger)

    def _reload(self, stamp: tuple[Any, ...], trigger: str) -> bool:
        names = ",".join(str(path) for path in (self.files.cert, self.files.key, self.files.ca,
                                                self.files.crl) if path is not None)
        try:
            fresh = build_server_context(self.files)
        except (OSError, ValueError, ssl.SSLError) as exc:
            log.error(fields("tls-reload", status="failed", trigger=trigger, files=names,
                             error=exc, msg="TLS files cannot be loaded; the previous "
                             "certificates and CRL stay in force"))
            # Not remembering the stamp: the next connection tries again (a copy may be
            # half-way).
            return False
        self._current = fresh
        self._stamp = stamp
        self.reloads += 1
        log.info(fields("tls-reload", status="ok", trigger=trigger, files=names,
                        msg="reloaded certificate, CA and CRL (and key) for new connections"))
        return True

    def wrap_bio(self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO,
                 server_side: bool = False, server_hostname: str | None = None,
                 session: ssl.SSLSession | None = None) -> ssl.SSLObject:
        return self.current().wrap_bio(incoming, outgoing, server_side=server_side,
                                       server_hostname=server_hostname, session=session)
