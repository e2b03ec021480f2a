"""The external-CA posture: the organisation's CA made with the openssl CLI, the console
holding no CA key; requests signed outside with 'openssl x509 -req'; the external CRL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.identity.sessions import Session
from js7tui.pki import records
from js7tui.pki.bundle_import import import_bundle
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.material import client_material, ssl_client_context, ssl_server_context
from js7tui.pki.profiles import Purpose
from js7tui.pki.records import Status
from tests.conftest import ROOT_PASSWORD, login
from tests.pki_support import (
    META,
    counts,
    handshake,
    make_console,
    needs_openssl,
    now_clock,
    root_session,
    run,
)

__all__ = ["now_clock"]

CA_EXT = ("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
          "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n")
LEAF_EXT = "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n"


def make_org_ca(folder: Path, name: str = "Org", days: int = 365) -> Path:
    """Root and issuing CA with the openssl command line, as an organisation would."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.ext").write_text(CA_EXT)
    (folder / "leaf.ext").write_text(LEAF_EXT)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "root.key", "-out", "root.pem",
        "-days", str(days), "-subj", f"/O={name}/CN={name} Root", "-addext",
        "basicConstraints=critical,CA:TRUE,pathlen:1", "-addext",
        "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    run("openssl", "req", "-new", *ec, "-keyout", "issuing.key", "-out", "issuing.csr",
        "-subj", f"/O={name}/CN={name} Issuing", cwd=folder)
    run("openssl", "x509", "-req", "-in", "issuing.csr", "-CA", "root.pem", "-CAkey",
        "root.key", "-CAcreateserial", "-out", "issuing.pem", "-days", str(days),
        "-extfile", "ca.ext", cwd=folder)
    return folder


def sign_outside(ca: Path, csr: bytes, out: str, days: int = 90) -> bytes:
    (ca / f"{out}.csr").write_bytes(csr)
    run("openssl", "x509", "-req", "-in", f"{out}.csr", "-CA", "issuing.pem", "-CAkey",
        "issuing.key", "-CAcreateserial", "-copy_extensions", "copyall", "-extfile",
        "leaf.ext", "-days", str(days), "-out", f"{out}.pem", cwd=ca)
    return (ca / f"{out}.pem").read_bytes()


def catch_up(clock: FrozenClock) -> None:
    """Certificates openssl just signed start at the real 'now': move the frozen clock there."""
    clock.current = max(clock.current, datetime.now(UTC) + timedelta(seconds=1))


def org_crl(ca: Path, number: int, revoked: list[int], clock: FrozenClock) -> bytes:
    """The organisation's CRL (signed with its issuing key; the CA is theirs, not ours)."""
    key = load_pem_private_key((ca / "issuing.key").read_bytes(), None)
    issuer = x509.load_pem_x509_certificate((ca / "issuing.pem").read_bytes())
    now = min(clock.now(), datetime.now(UTC)) - timedelta(minutes=1)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
               .last_update(now).next_update(now + timedelta(days=7))
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   key.public_key()), critical=False))  # type: ignore[arg-type]
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM)  # type: ignore[arg-type]


@pytest.fixture
def external(tmp_path: Path, now_clock: FrozenClock):  # type: ignore[no-untyped-def]
    console = make_console(tmp_path / "home", now_clock, key_type=None)
    org = make_org_ca(tmp_path / "org")
    catch_up(now_clock)
    yield console, root_session(console), org
    console.close()


@needs_openssl
def test_external_ca_end_to_end(external: tuple[Console, Session, Path], tmp_path: Path,
                                now_clock: FrozenClock) -> None:
    console, admin, org = external
    assert console.certificates.status(admin).posture == "no CA yet"
    console.certificates.import_ca(admin, (org / "root.pem").read_bytes(),
                                   (org / "issuing.pem").read_bytes(), meta=META)
    assert console.certificates.status(admin).posture == "external CA (no CA key)"
    with pytest.raises(ValidationError, match="key is not in this store"):
        console.certificates.issue(admin, IssueRequest(Purpose.AGENT, "a1"))
    assert console.store.conn.execute(
        "SELECT COUNT(*) FROM pki_authorities WHERE key_pem IS NOT NULL").fetchone()[0] == 0

    # the console's client certificate and a Controller's, each from a request signed outside
    serials = {}
    for purpose, name in (("console", "console"), ("controller", "primary")):
        record, csr = console.certificates.create_csr(admin, IssueRequest(Purpose(purpose),
                                                                          name), meta=META)
        assert record.status is Status.PENDING and record.key_held
        signed = sign_outside(org, csr, name)
        catch_up(now_clock)
        imported = console.certificates.import_signed(admin, signed, meta=META)
        assert imported.status is Status.VALID and imported.subject == (
            f"CN={name},OU={purpose},O=js7tui")
        serials[name] = imported.serial
    verify = run("openssl", "verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem",
                 "-purpose", "sslserver", "primary.pem", cwd=org)
    assert "primary.pem: OK" in verify.stdout

    # bundles need the organisation's CRL first
    with pytest.raises(NotFound, match="import your CA's current CRL"):
        console.certificates.bundle(admin, "controller", "primary", password="store-pw-1234")
    console.certificates.import_crl(admin, org_crl(org, 1, [], now_clock), meta=META)
    result = console.certificates.bundle(admin, "controller", "primary",
                                         password="store-pw-1234", meta=META)
    archive = tmp_path / "primary.zip"
    archive.write_bytes(result.data)
    installed = import_bundle(archive, tmp_path / "cfg", component="controller",
                              password=b"store-pw-1234")
    tls = installed.directory / "tls"
    server = ssl_server_context(tls / "https-cert.pem", tls / "https-key.pem", tls / "ca.pem",
                                tls / "crl.pem")
    reply = handshake(server, ssl_client_context(client_material(console.store.conn)))
    assert reply.get("reply") == b"ok", reply

    # revocation happens at the organisation's CA; its CRL marks ours revoked too
    with pytest.raises(ValidationError, match="revoke the certificate at your CA"):
        console.certificates.revoke(admin, serials["primary"] or "")
    revoked_serial = int(serials["primary"] or "0", 16)
    with pytest.raises(ValidationError, match="not newer"):
        console.certificates.import_crl(admin, org_crl(org, 1, [revoked_serial], now_clock))
    console.certificates.import_crl(admin, org_crl(org, 2, [revoked_serial], now_clock))
    assert records.find_certificate(console.store.conn,
                                    serials["primary"] or "").status is Status.REVOKED


@needs_openssl
def test_imports_that_do_not_fit_are_refused(external: tuple[Console, Session, Path],
                                             tmp_path: Path, now_clock: FrozenClock) -> None:
    console, admin, org = external
    other = make_org_ca(tmp_path / "other", "Other")
    catch_up(now_clock)
    root, issuing = (org / "root.pem").read_bytes(), (org / "issuing.pem").read_bytes()
    before = counts(console)
    with pytest.raises(ValidationError, match="not signed by the given root"):
        console.certificates.import_ca(admin, (other / "root.pem").read_bytes(), issuing)
    with pytest.raises(ValidationError, match="key does not belong"):
        console.certificates.import_ca(admin, root, issuing,
                                       (other / "issuing.key").read_bytes())
    with pytest.raises(ValidationError, match="not a CA certificate"):
        console.certificates.import_ca(admin, root, _leaf_of(org, now_clock))
    assert counts(console) == before
    console.certificates.import_ca(admin, root, issuing)
    with pytest.raises(Conflict, match="already has a CA"):
        console.certificates.import_ca(admin, root, issuing)
    # a certificate for no pending request, and one from another CA for a pending one
    with pytest.raises(ValidationError, match="no pending request"):
        console.certificates.import_signed(admin, (org / "issuing.pem").read_bytes())
    _, csr = console.certificates.create_csr(admin, IssueRequest(Purpose.AGENT, "a1"))
    foreign = sign_outside(other, csr, "a1")
    catch_up(now_clock)
    with pytest.raises(ValidationError, match="does not chain to this home's CA"):
        console.certificates.import_signed(admin, foreign)
    assert [r.status for r in records.certificates(console.store.conn, name="a1")] == [
        Status.PENDING]
    with pytest.raises(ValidationError, match="not signed by this home's issuing CA"):
        console.certificates.import_crl(admin, org_crl(other, 5, [], now_clock))


def _leaf_of(org: Path, clock: FrozenClock) -> bytes:
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=leaf", cwd=org)
    signed = sign_outside(org, (org / "leaf.csr").read_bytes(), "leaf")
    catch_up(clock)
    return signed


@needs_openssl
def test_expired_external_ca_is_refused(tmp_path: Path, now_clock: FrozenClock) -> None:
    org = make_org_ca(tmp_path / "org", days=1)
    console = make_console(tmp_path / "home", now_clock, key_type=None)
    try:
        root_session(console)
        now_clock.advance(days=2)
        admin = login(console, "root", ROOT_PASSWORD)
        with pytest.raises(ValidationError, match="expired on"):
            console.certificates.import_ca(admin, (org / "root.pem").read_bytes(),
                                           (org / "issuing.pem").read_bytes())
    finally:
        console.close()


@needs_openssl
def test_imported_issuing_ca_with_key_issues_here(external: tuple[Console, Session, Path],
                                                  tmp_path: Path) -> None:
    console, admin, org = external
    console.certificates.import_ca(admin, (org / "root.pem").read_bytes(),
                                   (org / "issuing.pem").read_bytes(),
                                   (org / "issuing.key").read_bytes())
    assert console.certificates.status(admin).posture == "imported issuing CA (key held)"
    issued = console.certificates.issue(admin, IssueRequest(Purpose.CONSOLE, "console"))
    (tmp_path / "leaf.pem").write_bytes(issued.cert.public_bytes(Encoding.PEM))
    assert "OK" in run("openssl", "verify", "-CAfile", org / "root.pem", "-untrusted",
                       org / "issuing.pem", tmp_path / "leaf.pem").stdout
    assert records.crl(console.store.conn, records.CaRole.INTERMEDIATE) is not None
