"""The built-in CA: extensions, key types, the root key going offline, expiry, permissions and
no key material in the audit log or the log file."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.doctor import examine
from js7tui.errors import Conflict, PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from js7tui.pki import records
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.profiles import Purpose
from js7tui.pki.records import CaRole
from tests.conftest import make_account
from tests.pki_support import (
    META,
    admin,
    audit_rows,
    counts,
    make_console,
    needs_openssl,
    now_clock,
    pki,
    root_session,
    run,
)

__all__ = ["admin", "now_clock", "pki"]


def _ext(cert: x509.Certificate, cls: type) -> x509.Extension:
    return cert.extensions.get_extension_for_class(cls)


@needs_openssl
def test_root_and_intermediate_have_proper_constraints(pki: Console, tmp_path: Path) -> None:
    cas = records.authorities(pki.store.conn)
    root, inter = cas[CaRole.ROOT].cert, cas[CaRole.INTERMEDIATE].cert
    assert root.subject == root.issuer and inter.issuer == root.subject
    for cert, pathlen in ((root, 1), (inter, 0)):
        bc = _ext(cert, x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == pathlen
        ku = _ext(cert, x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert (_ext(inter, x509.AuthorityKeyIdentifier).value.key_identifier
            == _ext(root, x509.SubjectKeyIdentifier).value.digest)
    assert 3649 <= (root.not_valid_after_utc - root.not_valid_before_utc).days <= 3651
    assert 1824 <= (inter.not_valid_after_utc - inter.not_valid_before_utc).days <= 1826
    (tmp_path / "root.pem").write_text(cas[CaRole.ROOT].cert_pem)
    (tmp_path / "inter.pem").write_text(cas[CaRole.INTERMEDIATE].cert_pem)
    assert "inter.pem: OK" in run("openssl", "verify", "-CAfile", "root.pem", "inter.pem",
                                  cwd=tmp_path).stdout
    text = run("openssl", "x509", "-in", tmp_path / "root.pem", "-noout", "-text").stdout
    assert "CA:TRUE, pathlen:1" in text and "Certificate Sign, CRL Sign" in text
    console = records.certificates(pki.store.conn, purpose="console")
    assert len(console) == 1 and console[0].key_held and console[0].subject == (
        "CN=console,OU=console,O=js7tui")
    assert 729 <= (console[0].not_after - pki.clock.now()).days <= 730  # type: ignore[operator]


def test_rsa_ca_and_leaves(tmp_path: Path, now_clock: FrozenClock) -> None:
    console = make_console(tmp_path / "rsa", now_clock, KeyType.RSA_3072)
    try:
        session = root_session(console)
        cas = records.authorities(console.store.conn)
        key = cas[CaRole.ROOT].cert.public_key()
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072
        issued = console.certificates.issue(session, IssueRequest(Purpose.AGENT, "a1"),
                                            hold_key=True)
        assert isinstance(issued.key, rsa.RSAPrivateKey) and issued.key.key_size == 3072
        usage = _ext(issued.cert, x509.KeyUsage).value
        assert usage.digital_signature and usage.key_encipherment  # RSA key exchange
    finally:
        console.close()


def test_export_root_key_takes_it_offline(pki: Console, admin: Session,
                                          tmp_path: Path) -> None:
    assert any("root CA's private key is still in the store" in f
               for f in examine(pki.home, pki.store.conn, pki.clock.now()))  # type: ignore[arg-type]
    target = tmp_path / "root.key"

    def write(pem: bytes) -> None:
        target.write_bytes(pem)
        target.chmod(0o600)

    pki.certificates.export_root_key(admin, write, b"offline-secret", meta=META)
    key = load_pem_private_key(target.read_bytes(), b"offline-secret")
    root = records.authorities(pki.store.conn)[CaRole.ROOT]
    assert root.key_pem is None and root.key_removed
    assert key.public_key() == root.cert.public_key()
    assert examine(pki.home, pki.store.conn, pki.clock.now()) == []  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="not in this store any more"):
        pki.certificates.export_root_key(admin, write, None, meta=META)
    # the intermediate keeps issuing
    pki.certificates.issue(admin, IssueRequest(Purpose.AGENT, "after"), hold_key=True)
    entry = next(e for e in audit_rows(pki) if e["request"] == "./pki/ca/export_root_key")
    assert "PRIVATE" not in entry["parameters"] and entry["category"] == "CERTIFICATES"


def test_failed_key_write_keeps_the_key_in_the_store(pki: Console, admin: Session) -> None:
    def broken(pem: bytes) -> None:
        raise ValidationError("cannot write /nowhere/root.key: No such file or directory")

    with pytest.raises(ValidationError):
        pki.certificates.export_root_key(admin, broken, None, meta=META)
    assert records.authorities(pki.store.conn)[CaRole.ROOT].key_online


def test_expired_issuing_ca_refuses_to_issue(pki: Console, admin: Session) -> None:
    clock = pki.clock
    assert isinstance(clock, FrozenClock)
    before = counts(pki)
    clock.advance(days=1827)
    admin = root_session_again(pki)
    with pytest.raises(ValidationError, match=r"issuing CA .* expired on"):
        pki.certificates.issue(admin, IssueRequest(Purpose.AGENT, "late"), hold_key=True)
    with pytest.raises(ValidationError, match="expired"):
        pki.certificates.bundle(admin, "controller", "late", password="long-enough-pw")
    assert counts(pki) == before


def root_session_again(console: Console) -> Session:
    from tests.conftest import ROOT_PASSWORD, login
    return login(console, "root", ROOT_PASSWORD)


def test_view_lists_but_cannot_manage_and_the_refusal_is_audited(
        pki: Console, admin: Session) -> None:
    pki.roles.create(admin, "cert-viewers", meta=META)
    pki.roles.set_permission(admin, "cert-viewers",
                             "sos:products:joc:administration:certificates:view", meta=META)
    viewer = make_account(pki, admin, "carol", ["cert-viewers"])
    assert [r.name for r in pki.certificates.list(viewer)] == ["console"]
    before = counts(pki)
    with pytest.raises(PermissionDenied, match="certificates:manage"):
        pki.certificates.issue(viewer, IssueRequest(Purpose.AGENT, "a1"))
    assert counts(pki) == before
    refused = audit_rows(pki)[-1]
    assert refused["outcome"] == "REFUSED" and refused["category"] == "CERTIFICATES"
    nobody = make_account(pki, admin, "dave", ["business_user"])
    with pytest.raises(PermissionDenied, match="certificates:view"):
        pki.certificates.list(nobody)


def test_no_key_material_in_audit_log_or_log_file(pki: Console, admin: Session,
                                                  tmp_path: Path) -> None:
    pki.certificates.bundle(admin, "controller", "primary", password="store-password-1",
                            meta=META)
    signer = pki.certificates.issue(admin, IssueRequest(Purpose.SIGNING, "alice",
                                                        keep_key=True), meta=META)
    pki.certificates.revoke(admin, signer.record.serial or "", "keyCompromise", meta=META)
    pki.certificates.export_root_key(admin, (tmp_path / "k.pem").write_bytes, None,
                                     meta=META)
    key_texts = [r["key_pem"] for r in pki.store.conn.execute(
        "SELECT key_pem FROM pki_certificates WHERE key_pem IS NOT NULL")] + [
        r["key_pem"] for r in pki.store.conn.execute(
            "SELECT key_pem FROM pki_authorities WHERE key_pem IS NOT NULL")]
    from js7tui.pki import sealed
    assert key_texts and all(text.startswith("sealed:v1:") for text in key_texts)
    opened = [sealed.open_pem(pki.store.conn, text, "a key").decode() for text in key_texts]
    bodies = [line for pem in opened for line in pem.splitlines()[1:-1]] + key_texts
    assert bodies
    logged = "\n".join(str(row) for row in audit_rows(pki))
    log_dir = pki.home.log_dir  # type: ignore[union-attr]
    logged += "".join(p.read_text() for p in log_dir.glob("*") if p.is_file())
    assert "PRIVATE KEY" not in logged and "store-password-1" not in logged
    assert not any(body in logged for body in bodies)
    db = pki.home.db_path  # type: ignore[union-attr]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_doctor_warns_about_expiring_certificates(pki: Console, admin: Session) -> None:
    pki.certificates.issue(admin, IssueRequest(Purpose.AGENT, "short", days=20),
                           hold_key=True, meta=META)
    findings = examine(pki.home, pki.store.conn, pki.clock.now())  # type: ignore[arg-type]
    assert any("agent 'short'" in f and "expires in 20 days" in f for f in findings)
    assert not any("console" in f for f in findings)
    when = pki.clock.now() + timedelta(days=40)
    assert any("agent 'short'" in f and "expired on" in f
               for f in examine(pki.home, pki.store.conn, when))  # type: ignore[arg-type]
