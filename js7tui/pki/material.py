"""TLS client material for the console (or any certificate whose key is kept in the store).

``client_material(conn, name)`` reads it; ``ssl_client_context(material)`` turns it into an
``ssl.SSLContext``. Python's ``ssl`` loads keys only from files, so the key goes to an anonymous
in-memory file (``memfd_create``, reached through ``/proc/self/fd``) that is closed at once;
where that is missing, to a 0600 file in a private temporary folder that is removed at once.
Nothing else touches the disk.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from js7tui.errors import NotFound
from js7tui.pki import authority, records, sealed
from js7tui.pki.pem import certs_pem
from js7tui.pki.records import CaRole, Status


@dataclass(frozen=True)
class ClientMaterial:
    cert_chain_pem: bytes                     # leaf, then intermediate
    key_pem: bytes = field(repr=False)        # PKCS#8, unencrypted: keep it in memory only
    ca_pem: bytes = b""                       # root, then intermediate
    crl_pem: bytes = b""                      # the issuing CA's current CRL ("" if none yet)


def client_material(conn: sqlite3.Connection, name: str = "console") -> ClientMaterial:
    """The newest unexpired valid certificate called ``name`` whose key is in the store
    (console certificates first). The caller decides who may use it; this reads, never
    writes."""
    candidates = [r for r in records.certificates(conn, name=name, status=Status.VALID)
                  if r.key_pem and r.cert_pem]
    if not candidates:
        raise NotFound(f"no valid certificate named '{name}' with its key in the store (js7tui "
                       "cert list shows them; a console certificate is issued with js7tui cert "
                       "issue console NAME)")
    now = datetime.now(UTC)
    candidates.sort(key=lambda r: (r.not_after is not None and r.not_after > now,
                                   r.purpose == "console", r.id))
    record = candidates[-1]
    ca = authority.chain(conn)
    crl = records.crl(conn, CaRole.INTERMEDIATE)
    return ClientMaterial(
        cert_chain_pem=certs_pem([record.cert, ca.intermediate]),
        key_pem=sealed.open_pem(conn, record.key_pem, f"the key of {record.label}"),
        ca_pem=certs_pem(ca.certs),
        crl_pem=crl.crl_pem.encode("ascii") if crl else b"",
    )


@contextlib.contextmanager
def private_file(data: bytes) -> Iterator[str]:
    """A path to ``data`` that lives only as long as the block: in memory where possible."""
    if hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir():
        fd = os.memfd_create("js7tui-tls", getattr(os, "MFD_CLOEXEC", 0))
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    folder = tempfile.mkdtemp(prefix="js7tui-tls-")   # 0700
    path = Path(folder) / "material.pem"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, data)
        finally:
            os.close(descriptor)
        yield str(path)
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)


def ssl_client_context(material: ClientMaterial, *, check_crl: bool = True,
                       check_hostname: bool = True) -> ssl.SSLContext:
    """A client context that presents the certificate, trusts only this CA, and (with a CRL)
    refuses a server whose certificate is revoked."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    with private_file(material.ca_pem + (material.crl_pem if check_crl else b"")) as path:
        context.load_verify_locations(cafile=path)
    if check_crl and material.crl_pem:
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    with private_file(material.cert_chain_pem + material.key_pem) as path:
        context.load_cert_chain(path)
    return context


def ssl_server_context(cert_file: Path, key_file: Path, ca_file: Path,
                       crl_file: Path | None = None) -> ssl.SSLContext:
    """A server context from an imported bundle's files (``DIR/tls/...``): client certificates
    required and chained to the CA; with a CRL, a revoked client is refused in the handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(cert_file, key_file)
    context.load_verify_locations(cafile=str(ca_file))
    if crl_file is not None:
        context.load_verify_locations(cafile=str(crl_file))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context
