"""Real TLS handshakes (Python's ssl, OpenSSL underneath) with the files a Controller bundle
installs: the console's certificate is accepted; one from another CA, an expired one, a
revoked one and none at all are refused; and the console refuses a revoked server."""

from __future__ import annotations

import ssl
from datetime import timedelta
from pathlib import Path

from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.identity.sessions import Session
from js7tui.pki import authority, records, sealed
from js7tui.pki.builder import Issuer, build_leaf
from js7tui.pki.bundle_import import import_bundle
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType, private_pem
from js7tui.pki.material import (
    ClientMaterial,
    client_material,
    ssl_client_context,
    ssl_server_context,
)
from js7tui.pki.pem import certs_pem
from js7tui.pki.profiles import Purpose, subject_for
from js7tui.pki.records import CaRole
from tests.pki_support import (
    admin,
    handshake,
    make_console,
    now_clock,
    pki,
)

__all__ = ["admin", "now_clock", "pki"]
PASSWORD = b"tls-test-store-pw"


def _install_controller(pki: Console, admin: Session, folder: Path) -> Path:
    result = pki.certificates.bundle(admin, "controller", "primary", password=PASSWORD.decode())
    archive = folder / "primary.zip"
    archive.write_bytes(result.data)
    target = folder / "primary"
    import_bundle(archive, target, component="controller", password=PASSWORD)
    return target / "tls"


def _server(tls: Path, crl: bool = True) -> ssl.SSLContext:
    return ssl_server_context(tls / "https-cert.pem", tls / "https-key.pem", tls / "ca.pem",
                              tls / "crl.pem" if crl else None)


def _refresh_crl(pki: Console, admin: Session, tls: Path) -> None:
    """What the administrator does after a revocation: transfer the new CRL."""
    (tls / "crl.pem").write_text(pki.certificates.export_crl(admin).crl_pem)


def test_console_certificate_is_accepted(pki: Console, admin: Session, tmp_path: Path) -> None:
    tls = _install_controller(pki, admin, tmp_path)
    material = client_material(pki.store.conn, "console")
    assert material.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    result = handshake(_server(tls), ssl_client_context(material))
    assert result.get("reply") == b"ok", result
    assert result["peer"] == {"organizationName": "js7tui",
                              "organizationalUnitName": "console", "commonName": "console"}


def test_revoked_client_is_refused_and_valid_one_still_accepted(
        pki: Console, admin: Session, tmp_path: Path) -> None:
    tls = _install_controller(pki, admin, tmp_path)
    second = pki.certificates.issue(admin, IssueRequest(Purpose.CONSOLE, "console2"))
    revoked_material = client_material(pki.store.conn, "console2")
    assert handshake(_server(tls), ssl_client_context(revoked_material)).get("reply") == b"ok"
    pki.certificates.revoke(admin, second.record.serial or "", "keyCompromise")
    _refresh_crl(pki, admin, tls)
    refused = handshake(_server(tls), ssl_client_context(revoked_material))
    assert "reply" not in refused and "peer" not in refused, refused
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.get("server_error")), refused
    assert refused["server_verify"] == "certificate revoked", refused
    accepted = handshake(_server(tls), ssl_client_context(client_material(pki.store.conn)))
    assert accepted.get("reply") == b"ok", accepted


def test_client_from_another_ca_is_refused(pki: Console, admin: Session, tmp_path: Path,
                                           now_clock: FrozenClock) -> None:
    tls = _install_controller(pki, admin, tmp_path)
    other = make_console(tmp_path / "other-home", now_clock)
    try:
        foreign = client_material(other.store.conn, "console")   # same DN, other CA
        ours = client_material(pki.store.conn)
        # the client trusts our CA (so the server side decides), but presents the foreign cert
        mixed = ClientMaterial(foreign.cert_chain_pem, foreign.key_pem, ours.ca_pem,
                               ours.crl_pem)
        result = handshake(_server(tls), ssl_client_context(mixed))
        assert "reply" not in result and "peer" not in result, result
        assert "CERTIFICATE_VERIFY_FAILED" in str(result.get("server_error")), result
        assert "unable to get local issuer" in str(result["server_verify"]), result
    finally:
        other.close()


def test_expired_client_is_refused(pki: Console, admin: Session, tmp_path: Path) -> None:
    tls = _install_controller(pki, admin, tmp_path)
    inter = records.authorities(pki.store.conn)[CaRole.INTERMEDIATE]
    issuer = Issuer(inter.cert, sealed.open_key(pki.store.conn, inter.key_pem, "the CA key"))
    key = KeyType.EC_P256.generate()
    past = pki.clock.now() - timedelta(days=3)
    expired = build_leaf(Purpose.CONSOLE, subject_for(Purpose.CONSOLE, "console"),
                         key.public_key(), [], issuer, past, days=1)
    ca = authority.chain(pki.store.conn)
    ours = client_material(pki.store.conn)
    material = ClientMaterial(certs_pem([expired, ca.intermediate]), private_pem(key),
                              ours.ca_pem, ours.crl_pem)
    result = handshake(_server(tls), ssl_client_context(material))
    assert "reply" not in result and "peer" not in result, result
    assert "CERTIFICATE_VERIFY_FAILED" in str(result.get("server_error")), result
    assert result["server_verify"] == "certificate has expired", result


def test_no_client_certificate_is_refused(pki: Console, admin: Session,
                                          tmp_path: Path) -> None:
    tls = _install_controller(pki, admin, tmp_path)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=str(tls / "ca.pem"))
    result = handshake(_server(tls), client)
    assert "peer" not in result and "reply" not in result, result
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in str(result.get("server_error")), result


def test_console_refuses_a_revoked_controller(pki: Console, admin: Session,
                                              tmp_path: Path) -> None:
    result = pki.certificates.bundle(admin, "controller", "primary",
                                     password=PASSWORD.decode(), keep_key=True)
    tls = _install_controller_from(result.data, tmp_path)
    assert handshake(_server(tls), ssl_client_context(
        client_material(pki.store.conn))).get("reply") == b"ok"
    pki.certificates.revoke(admin, result.record.serial or "", "keyCompromise")
    client = ssl_client_context(client_material(pki.store.conn))    # carries the new CRL
    refused = handshake(_server(tls), client)
    assert "reply" not in refused
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.get("client_error")), refused
    assert refused["client_verify"] == "certificate revoked", refused


def _install_controller_from(data: bytes, folder: Path) -> Path:
    archive = folder / "c.zip"
    archive.write_bytes(data)
    import_bundle(archive, folder / "c", component="controller", password=PASSWORD)
    return folder / "c" / "tls"


def test_client_material_needs_a_kept_key(pki: Console, admin: Session) -> None:
    import pytest

    from js7tui.errors import NotFound
    pki.certificates.bundle(admin, "controller", "primary", password=PASSWORD.decode())
    with pytest.raises(NotFound, match="no valid certificate named 'primary' with its key"):
        client_material(pki.store.conn, "primary")
    signer = pki.certificates.issue(admin, IssueRequest(Purpose.SIGNING, "alice",
                                                        keep_key=True))
    assert client_material(pki.store.conn, "alice").cert_chain_pem.startswith(
        signer.cert_chain_pem[:60])

