"""Issuing by purpose (checked by openssl and by cryptography's verifier), outside CSRs and
their refusals, revocation with CRLs, renewal and its confirmation."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
)

from js7tui.console import Console
from js7tui.errors import Conflict, ValidationError
from js7tui.identity.sessions import Session
from js7tui.pki import authority, records, signing_ca
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.pem import certs_pem
from js7tui.pki.profiles import ISSUABLE, Purpose
from js7tui.pki.records import CaRole, Status
from tests.pki_support import META, admin, audit_rows, counts, needs_openssl, now_clock, pki, run

__all__ = ["admin", "now_clock", "pki"]

OPENSSL_PURPOSE = {"console": "sslclient", "controller": "sslserver", "agent": "sslserver",
                   "user": "sslclient", "signing": "any"}
EXPECTED_EKU = {"console": [EKU.CLIENT_AUTH], "controller": [EKU.SERVER_AUTH, EKU.CLIENT_AUTH],
                "agent": [EKU.SERVER_AUTH], "user": [EKU.CLIENT_AUTH],
                "signing": [EKU.CODE_SIGNING]}


def _ca_file(console: Console, folder: Path) -> Path:
    path = folder / "ca.pem"
    signing = signing_ca.read(console.store.conn)
    path.write_bytes(certs_pem([*authority.chain(console.store.conn).certs,
                                *([signing.cert] if signing else [])]))
    return path


@needs_openssl
@pytest.mark.parametrize("purpose", [p.value for p in ISSUABLE])
def test_each_purpose_fits_and_openssl_verifies(pki: Console, admin: Session, tmp_path: Path,
                                                purpose: str) -> None:
    request = IssueRequest(Purpose(purpose), f"{purpose}-1",
                           email="alice@example.test" if purpose == "user" else None)
    issued = pki.certificates.issue(admin, request, hold_key=True, meta=META)
    cert = issued.cert
    assert cert.subject.rfc4514_string() == f"CN={purpose}-1,OU={purpose},O=js7tui"
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == (
        EXPECTED_EKU[purpose])
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if purpose in ("controller", "agent"):
        assert san.get_values_for_type(x509.DNSName) == ["localhost"]
        assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    elif purpose == "user":
        assert san.get_values_for_type(x509.RFC822Name) == ["alice@example.test"]
    else:
        assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
            f"urn:js7tui:{purpose}:{purpose}-1"]
    cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    (tmp_path / "leaf.pem").write_bytes(issued.cert_chain_pem[:issued.cert_chain_pem.index(
        b"-----END CERTIFICATE-----") + 26])
    _ca_file(pki, tmp_path)
    out = run("openssl", "verify", "-CAfile", "ca.pem", "-purpose", OPENSSL_PURPOSE[purpose],
              "leaf.pem", cwd=tmp_path).stdout
    assert "leaf.pem: OK" in out
    entry = audit_rows(pki)[-1]
    assert entry["request"] == "./pki/certificate/issue" and cert.subject.rfc4514_string() in (
        entry["path"])


def _code_signing(policy: object, cert: x509.Certificate, eku: object) -> None:
    if eku is None or EKU.CODE_SIGNING not in eku:  # type: ignore[operator]
        raise ValueError("codeSigning missing")


def test_signing_certificate_for_an_account_chains_for_code_signing(
        pki: Console, admin: Session) -> None:
    issued = pki.certificates.issue(admin, IssueRequest(Purpose.SIGNING, "alice"), meta=META)
    assert issued.key is not None and issued.record.owner == "alice"
    assert not issued.record.key_held          # key kept only if asked
    ca = authority.chain(pki.store.conn)
    ee = ExtensionPolicy.webpki_defaults_ee().require_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _code_signing)
    verified = (PolicyBuilder().store(Store([ca.root])).time(pki.clock.now())
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ee)
                .build_client_verifier().verify(issued.cert, [issued.chain[1]]))
    signing = signing_ca.read(pki.store.conn)
    assert signing is not None and issued.chain[1] == signing.cert  # not the TLS issuing CA
    assert signing.cert != ca.intermediate
    assert [c.subject for c in verified.chain] == [issued.cert.subject, signing.cert.subject,
                                                   ca.root.subject]
    usage = issued.cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment
    data = b'{"TYPE":"Workflow","path":"/a"}'
    signature = issued.key.sign(data, ec.ECDSA(hashes.SHA512()))  # type: ignore[call-arg,union-attr]
    issued.cert.public_key().verify(signature, data, ec.ECDSA(hashes.SHA512()))  # type: ignore[call-arg,union-attr]
    kept = pki.certificates.issue(admin, IssueRequest(Purpose.SIGNING, "bob", keep_key=True))
    assert kept.record.key_held


def test_custom_san_and_validity(pki: Console, admin: Session) -> None:
    issued = pki.certificates.issue(admin, IssueRequest(
        Purpose.CONTROLLER, "primary", san=["DNS:ctl.example.test", "IP:10.0.0.7"], days=90),
        hold_key=True)
    san = issued.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["ctl.example.test"]
    assert (issued.cert.not_valid_after_utc - pki.clock.now()).days == 90
    for bad in (["DNS:bad name"], ["IP:999.1.1.1"], ["mail:x"]):
        with pytest.raises(ValidationError):
            pki.certificates.issue(admin, IssueRequest(Purpose.AGENT, "a", san=bad))
    with pytest.raises(ValidationError, match="not a valid agent name"):
        pki.certificates.issue(admin, IssueRequest(Purpose.AGENT, "a b"))
    with pytest.raises(ValidationError, match="validity"):
        pki.certificates.issue(admin, IssueRequest(Purpose.AGENT, "a", days=0))


# -- outside requests ---------------------------------------------------------------------
def _openssl_csr(folder: Path, *extra: str) -> bytes:
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "csr.key", "-out", "req.csr", "-subj", "/CN=outside",
        *extra, cwd=folder)
    return (folder / "req.csr").read_bytes()


@needs_openssl
def test_csr_from_openssl_is_issued_and_chains(pki: Console, admin: Session,
                                               tmp_path: Path) -> None:
    csr = _openssl_csr(tmp_path, "-addext", "subjectAltName=DNS:agent7.example.test")
    before_keys = counts(pki)[4]
    issued = pki.certificates.issue_from_csr(admin, csr, IssueRequest(Purpose.AGENT, "agent7"),
                                             meta=META)
    assert issued.key is None and counts(pki)[4] == before_keys   # the key stays outside
    assert issued.cert.subject.rfc4514_string() == "CN=agent7,OU=agent,O=js7tui"
    san = issued.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["agent7.example.test"]
    (tmp_path / "leaf.pem").write_bytes(issued.cert.public_bytes(Encoding.PEM))
    _ca_file(pki, tmp_path)
    assert "OK" in run("openssl", "verify", "-CAfile", "ca.pem", "-purpose", "sslserver",
                       "leaf.pem", cwd=tmp_path).stdout
    # the certificate belongs to the key that stayed outside
    assert "ok" in run("sh", "-c", "test \"$(openssl x509 -in leaf.pem -noout -pubkey)\" = "
                       "\"$(openssl pkey -in csr.key -pubout)\" && echo ok",
                       cwd=tmp_path).stdout


def _tampered(csr: bytes) -> bytes:
    der = bytearray(x509.load_pem_x509_csr(csr).public_bytes(Encoding.DER))
    der[-5] ^= 0x01                       # inside the signature value
    return bytes(der)


@needs_openssl
def test_bad_csrs_are_refused_clearly_and_change_nothing(pki: Console, admin: Session,
                                                         tmp_path: Path) -> None:
    good = _openssl_csr(tmp_path)
    ca_request = tmp_path / "ca"
    ca_request.mkdir()
    ca_csr = _openssl_csr(ca_request, "-addext", "basicConstraints=critical,CA:TRUE")
    weak = tmp_path / "weak"
    weak.mkdir()
    run("openssl", "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", "k", "-out",
        "req.csr", "-subj", "/CN=weak", cwd=weak)
    before = counts(pki)
    cases = [
        (b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n",
         "not a well-formed PKCS#10"),
        (b"garbage", "not a well-formed PKCS#10"),
        (ca_csr, "asks for a CA certificate"),
        (_tampered(good), "self-signature does not verify"),
        ((weak / "req.csr").read_bytes(), "at least 2048"),
    ]
    for data, message in cases:
        with pytest.raises(ValidationError, match=message):
            pki.certificates.issue_from_csr(admin, data, IssueRequest(Purpose.AGENT, "x"))
    assert counts(pki) == before
    refused = [e for e in audit_rows(pki) if e["outcome"] == "REFUSED"]
    assert len(refused) == len(cases) and all(e["category"] == "CERTIFICATES" for e in refused)


# -- revocation, CRL, rotation ------------------------------------------------------------
@needs_openssl
def test_revoke_signs_a_crl_with_number_aki_and_reason(pki: Console, admin: Session,
                                                       tmp_path: Path) -> None:
    issued = pki.certificates.issue(admin, IssueRequest(Purpose.USER, "mallory"),
                                    meta=META)
    before = records.crl(pki.store.conn, CaRole.INTERMEDIATE)
    assert before is not None
    revoked = pki.certificates.revoke(admin, (issued.record.serial or "")[:8], "keyCompromise",
                                      meta=META)
    assert revoked.status is Status.REVOKED and revoked.revocation_reason == "keyCompromise"
    after = records.crl(pki.store.conn, CaRole.INTERMEDIATE)
    assert after is not None and after.crl_number == before.crl_number + 1
    crl = x509.load_pem_x509_crl(after.crl_pem.encode())
    entry = crl.get_revoked_certificate_by_serial_number(issued.cert.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    (tmp_path / "crl.pem").write_text(after.crl_pem)
    _ca_file(pki, tmp_path)
    checked = run("openssl", "crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout",
                  cwd=tmp_path)
    assert "verify OK" in checked.stdout + checked.stderr
    with pytest.raises(Conflict, match="only a valid certificate"):
        pki.certificates.revoke(admin, issued.record.serial or "", meta=META)
    with pytest.raises(ValidationError, match="unknown revocation reason"):
        pki.certificates.revoke(admin, issued.record.serial or "", "because", meta=META)
    assert [r.name for r in pki.certificates.list(admin)] == ["console"]
    assert "mallory" in [r.name for r in pki.certificates.list(admin, include_revoked=True)]


def test_crl_next_update_is_configurable(pki: Console, admin: Session) -> None:
    record = pki.certificates.sign_crl(admin, 7, meta=META)
    assert (record.next_update - record.last_update).days == 7
    assert pki.certificates.status(admin).crl_days == 7
    with pytest.raises(ValidationError, match="1 to 366"):
        pki.certificates.sign_crl(admin, 0)


def test_renewal_keeps_the_subject_and_revokes_the_old_once_confirmed(
        pki: Console, admin: Session) -> None:
    first = pki.certificates.bundle(admin, "controller", "primary", password="store-pw-123")
    with pytest.raises(Conflict, match="already exported"):
        pki.certificates.bundle(admin, "controller", "primary", password="store-pw-123")
    renewed = pki.certificates.renew(admin, first.record.serial or "", meta=META)
    assert renewed.record.subject == first.record.subject
    assert renewed.record.san == first.record.san and renewed.record.key_held
    old = records.find_certificate(pki.store.conn, first.record.serial or "")
    assert old.status is Status.VALID             # still in use until the new one is there
    assert renewed.record.state(pki.clock.now()) == "valid (renewal, import not confirmed)"
    second = pki.certificates.bundle(admin, "controller", "primary", password="store-pw-123")
    assert second.record.serial == renewed.record.serial
    new, revoked = pki.certificates.confirm_import(admin, renewed.record.serial or "",
                                                   meta=META)
    assert revoked is not None and revoked.status is Status.REVOKED
    assert revoked.revocation_reason == "superseded" and new.import_confirmed
    crl = x509.load_pem_x509_crl(records.crl(pki.store.conn, CaRole.INTERMEDIATE)
                                 .crl_pem.encode())  # type: ignore[union-attr]
    assert crl.get_revoked_certificate_by_serial_number(old.cert.serial_number) is not None
    with pytest.raises(Conflict, match="already confirmed"):
        pki.certificates.confirm_import(admin, renewed.record.serial or "")


def test_serial_lookup_is_strict(pki: Console, admin: Session) -> None:
    with pytest.raises(ValidationError, match="not a certificate serial"):
        pki.certificates.show(admin, "xyz")
    from js7tui.errors import NotFound
    with pytest.raises(NotFound):
        pki.certificates.show(admin, "abcdef0123")



def test_purpose_given_as_text_and_held_san_not_silently_changed(pki: Console,
                                                                 admin: Session) -> None:
    issued = pki.certificates.issue(admin, IssueRequest("signing", "alice",  # type: ignore[arg-type]
                                                        owner="alice"))
    assert issued.record.purpose == "signing" and issued.record.owner == "alice"
    pki.certificates.issue(admin, IssueRequest(Purpose.CONTROLLER, "primary"), hold_key=True)
    with pytest.raises(Conflict, match="apply to a new certificate only"):
        pki.certificates.bundle(admin, "controller", "primary", password="store-pw-123",
                                san=["DNS:other.example.test"])
    result = pki.certificates.bundle(admin, "controller", "primary", password="store-pw-123",
                                     san=["IP:127.0.0.1", "DNS:localhost"])
    assert result.record.san == ("DNS:localhost", "IP:127.0.0.1")
