"""Encipherment (issue 21) without servers: the value format, JS7's enc: read from values made
with the openssl CLI, masking, certificates by alias, bundles, permissions and rotation."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.encipherment import envelope
from js7tui.encipherment.keyring import Keyring
from js7tui.encipherment.masking import MASK, Masker
from js7tui.errors import Conflict, PermissionDenied, ValidationError
from js7tui.home import write_private_file
from js7tui.identity.sessions import Session
from js7tui.inventory.types import ObjectType
from js7tui.pki.bundle_import import BundleRefused, import_bundle
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.profiles import Purpose
from tests.conftest import make_account
from tests.estate import new_console

SECRET = "s3cr3t-Pa55word-äöü"
BIND = "jobresource:db:password"
PASSWORD = "bundle-password-1"


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[tuple[Console, Session]]:
    console, admin = new_console(tmp_path / "home")
    yield console, admin
    console.close()


def _key_and_cert(console: Console, admin: Session, alias: str, key_type: KeyType
                  ) -> tuple[object, x509.Certificate]:
    """An encipherment certificate issued here and its key (opened as the Agent would)."""
    view = console.encipherment.issue(admin, alias, key_type=key_type)
    key = serialization.load_pem_private_key(
        console.secrets.open(view.cert.key_sealed or "").encode(), None)
    return key, view.cert.cert


# -- the format ----------------------------------------------------------------------------
@pytest.mark.parametrize("key_type", [KeyType.EC_P256, KeyType.RSA_3072])
def test_round_trip_and_every_change_is_refused(pki: tuple[Console, Session],
                                                key_type: KeyType) -> None:
    console, admin = pki
    key, cert = _key_and_cert(console, admin, "a1", key_type)
    value = envelope.encrypt(SECRET, cert, BIND)
    assert SECRET not in value and value.startswith(envelope.PREFIX)
    assert envelope.decrypt(envelope.parse(value), key, BIND) == SECRET
    # moved to another variable, another object
    for other in ("jobresource:db:user", "jobresource:db2:password", "order:wf:password"):
        with pytest.raises(envelope.DecryptionRefused):
            envelope.decrypt(envelope.parse(value), key, other)
    # one character changed anywhere after the prefix: refused (or not parsed)
    body = len(envelope.PREFIX)
    for index in range(body, len(value), max(1, (len(value) - body) // 40)):
        if value[index] == ":":
            continue
        changed = value[:index] + ("A" if value[index] != "A" else "B") + value[index + 1:]
        with pytest.raises(envelope.DecryptionRefused):
            envelope.decrypt(envelope.parse(changed), key, BIND)
    # two values of the same secret differ (fresh content key and nonce)
    assert envelope.encrypt(SECRET, cert, BIND) != value


def test_certificate_profile_is_encryption_only(pki: tuple[Console, Session]) -> None:
    console, admin = pki
    _, ec_cert = _key_and_cert(console, admin, "ec", KeyType.EC_P256)
    _, rsa_cert = _key_and_cert(console, admin, "rsa", KeyType.RSA_3072)
    for cert, agreement in ((ec_cert, True), (rsa_cert, False)):
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.key_agreement is agreement and usage.key_encipherment is not agreement
        assert not usage.digital_signature and not usage.key_cert_sign
        with pytest.raises(x509.ExtensionNotFound):
            cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert cert.subject.rfc4514_string().startswith(("CN=ec,OU=encipherment",
                                                         "CN=rsa,OU=encipherment"))
    # a TLS certificate is refused as an encipherment certificate
    tls = console.certificates.issue(admin, IssueRequest(Purpose.AGENT, "agent-x"),
                                     hold_key=True)
    with pytest.raises(ValidationError, match=r"keyAgreement|sign"):
        console.encipherment.import_certificate(admin, "tls", tls.cert_chain_pem)
    with pytest.raises(ValidationError, match="js7tui encipherment"):
        IssueRequest(Purpose.ENCIPHERMENT, "x")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_js7_format_built_with_openssl_decrypts(pki: tuple[Console, Session],
                                                tmp_path: Path) -> None:
    """JS7's EncryptImpl with the openssl CLI: rand for the AES-128 key, enc -aes-128-cbc,
    pkeyutl -encrypt (PKCS#1 v1.5) with the certificate."""
    console, admin = pki
    key, cert = _key_and_cert(console, admin, "js7", KeyType.RSA_3072)
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "secret.txt").write_text(SECRET)
    value = openssl_js7_value(tmp_path, tmp_path / "cert.pem", tmp_path / "secret.txt")
    ring = Keyring(tmp_path / "ring")
    (tmp_path / "ring").mkdir()
    fp = envelope.fingerprint(cert)
    (tmp_path / "ring" / f"{fp}.key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
                          serialization.NoEncryption()))
    assert envelope.kind_of(value) == "js7"
    assert ring.decrypt(value, BIND) == SECRET
    # and ours for JS7 jobs decrypts the same way
    assert ring.decrypt(envelope.encrypt_js7(SECRET, cert), BIND) == SECRET


def openssl_js7_value(work: Path, cert: Path, secret: Path) -> str:
    def run(*args: str) -> bytes:
        return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout
    aes = run("rand", "16")
    iv = run("rand", "16")
    (work / "aes.bin").write_bytes(aes)
    body = run("enc", "-aes-128-cbc", "-K", aes.hex(), "-iv", iv.hex(), "-in", str(secret))
    wrapped = run("pkeyutl", "-encrypt", "-certin", "-inkey", str(cert), "-in",
                  str(work / "aes.bin"))
    (work / "aes.bin").unlink()
    return "enc:" + " ".join(base64.b64encode(p).decode() for p in (wrapped, iv, body))


# -- masking -------------------------------------------------------------------------------
def test_masking_holds_back_across_reads() -> None:
    masker = Masker(["hunter2", "xyz"])
    text = b"pw=hunter2; again hunt" + b"er2 and xy" + b"z, hunte"
    out = masker.feed(text[:14]) + masker.feed(text[14:25]) + masker.feed(text[25:])
    out += masker.flush()
    assert b"hunter2" not in out and b"xyz" not in out
    assert out == b"pw=" + MASK + b"; again " + MASK + b" and " + MASK + b", hunte"
    one_by_one = b"".join(masker.feed(bytes([c])) for c in b"<hunter2>") + masker.flush()
    assert one_by_one == b"<" + MASK + b">"
    assert Masker([]).feed(b"abc") == b"abc"


# -- the service: encrypt, audit, permission ---------------------------------------------
def _audit(console: Console) -> list[dict[str, object]]:
    return [dict(r) for r in console.store.conn.execute("SELECT * FROM audit_log ORDER BY id")]


def test_encrypt_for_agent_or_alias_is_audited_without_the_value(
        pki: tuple[Console, Session]) -> None:
    console, admin = pki
    console.encipherment.issue(admin, "grp", agents=["agent-1", "agent-2"])
    by_alias = console.encipherment.encrypt(admin, "grp", SECRET, BIND)
    by_agent = console.encipherment.encrypt(admin, "agent-2", SECRET, BIND)
    assert by_alias.fingerprint == by_agent.fingerprint
    assert by_alias.readers == ["agent-1", "agent-2"]
    assert SECRET not in repr(by_alias)
    rows = [r for r in _audit(console) if r["request"] == "./encipherment/encrypt"]
    assert len(rows) == 2 and all(SECRET not in json.dumps(r) for r in rows)
    assert json.loads(str(rows[0]["parameters"]))["variable"] == BIND
    with pytest.raises(ValidationError, match="names no variable"):
        console.encipherment.encrypt(admin, "grp", SECRET, "password")


def test_without_the_permission_encrypt_is_refused_and_audited_without_the_value(
        pki: tuple[Console, Session]) -> None:
    console, admin = pki
    console.encipherment.issue(admin, "a1", agents=["agent-1"])
    nobody = make_account(console, admin, "eve", ["business_user"])
    with pytest.raises(PermissionDenied, match="encipherment:encrypt"):
        console.encipherment.encrypt(nobody, "agent-1", SECRET, BIND, meta=AuditMeta())
    refused = _audit(console)[-1]
    assert refused["outcome"] == "REFUSED" and refused["account"] == "eve"
    assert refused["request"] == "./encipherment/encrypt"
    assert SECRET not in json.dumps(refused) and "s3cr" not in json.dumps(refused)


# -- bundles -------------------------------------------------------------------------------
def _agent_bundle(console: Console, admin: Session, tmp_path: Path, agent: str) -> Path:
    if not console.certificates.list(admin, purpose="controller"):
        console.certificates.bundle(admin, "controller", "controller-1", password=PASSWORD)
    archive = tmp_path / f"{agent}.zip"
    console.certificates.bundle(admin, "agent", agent, password=PASSWORD,
                                controller="controller-1",
                                write=lambda data: write_private_file(archive, data))
    return archive


def test_agent_bundles_carry_the_key_until_every_agent_of_the_group_has_it(
        pki: tuple[Console, Session], tmp_path: Path) -> None:
    console, admin = pki
    view = console.encipherment.issue(admin, "grp", agents=["agent-1", "agent-2"])
    fp = view.cert.fingerprint
    first = _agent_bundle(console, admin, tmp_path, "agent-1")
    assert console.encipherment.list(admin)[0].cert.key_held  # agent-2 has not had it yet
    second = _agent_bundle(console, admin, tmp_path, "agent-2")
    after = console.encipherment.list(admin)[0]
    assert not after.cert.key_held and after.holding == ["agent-1", "agent-2"]
    row = console.store.conn.execute("SELECT key_pem FROM encipherment_certificates").fetchone()
    assert row[0] is None
    for archive, agent in ((first, "agent-1"), (second, "agent-2")):
        with zipfile.ZipFile(archive) as z:
            assert f"encipherment/{fp}.key.pem" in z.namelist()
            assert b"ENCRYPTED PRIVATE KEY" in z.read(f"encipherment/{fp}.key.pem")
        result = import_bundle(archive, tmp_path / agent, component="agent",
                               password=PASSWORD.encode())
        key_file = tmp_path / agent / "encipherment" / f"{fp}.key.pem"
        assert key_file in result.written and key_file.stat().st_mode & 0o077 == 0
        ring = Keyring(tmp_path / agent / "encipherment")
        value = console.encipherment.encrypt(admin, "grp", SECRET, BIND).value
        assert ring.decrypt(value, BIND) == SECRET
    # a changed encipherment entry is refused by the manifest
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(first) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".cert.pem") and "encipherment/" in info.filename:
                data = data.replace(b"M", b"N", 1)
            dst.writestr(info, data)
    with pytest.raises(BundleRefused, match="SHA-256"):
        import_bundle(tampered, tmp_path / "t", component="agent", password=PASSWORD.encode())


def test_rotation_lists_holders_keeps_the_old_key_and_retires_it(
        pki: tuple[Console, Session], tmp_path: Path) -> None:
    console, admin = pki
    console.encipherment.issue(admin, "a1", agents=["agent-1"])
    _agent_bundle(console, admin, tmp_path, "agent-1")
    import_bundle(tmp_path / "agent-1.zip", tmp_path / "agent-1", component="agent",
                  password=PASSWORD.encode())
    old_value = console.encipherment.encrypt(admin, "agent-1", SECRET, BIND).value
    console.inventory.create(admin, ObjectType.JOBRESOURCE, "/db", json.dumps({
        "TYPE": "JobResource", "variables": {"password": f"'{old_value}'", "user": "'app'"},
        "env": {"DB_PASSWORD": "$password"}}))
    usage = console.encipherment.usage(admin, "a1")
    assert [(h.name, h.where, h.binding) for h in usage[0].holders] == [
        ("db", "variables.password", BIND)]
    assert usage[0].view.readers == ["agent-1"]
    renewed = console.encipherment.renew(admin, "a1")
    assert [h.where for h in renewed.reencrypt] == ["variables.password"]
    assert renewed.old.state == "SUPERSEDED" and renewed.new.key_held
    with pytest.raises(Conflict, match="still in the inventory"):
        console.encipherment.retire(admin, renewed.old.fingerprint[:16])
    # the renewed key reaches the Agent in an encipherment archive; the old key stays there
    archive = tmp_path / "enc.zip"
    console.encipherment.bundle(admin, "agent-1", password=PASSWORD,
                                write=lambda data: write_private_file(archive, data))
    run_cli_import(archive, tmp_path / "agent-1")
    ring = Keyring(tmp_path / "agent-1" / "encipherment")
    assert set(ring.fingerprints) == {renewed.old.fingerprint, renewed.new.fingerprint}
    assert ring.decrypt(old_value, BIND) == SECRET
    new_value = console.encipherment.encrypt(admin, "a1", SECRET, BIND).value
    console.inventory.update(admin, "/db", json.dumps({
        "TYPE": "JobResource", "variables": {"password": f"'{new_value}'", "user": "'app'"},
        "env": {"DB_PASSWORD": "$password"}}))
    assert console.encipherment.usage(admin, "a1")[0].holders == []
    console.encipherment.retire(admin, renewed.old.fingerprint[:16])
    console.encipherment.bundle(admin, "agent-1", password=PASSWORD,
                                write=lambda data: write_private_file(archive, data, ))
    run_cli_import(archive, tmp_path / "agent-1")
    assert ring.fingerprints == [renewed.new.fingerprint]
    assert ring.decrypt(new_value, BIND) == SECRET


def run_cli_import(archive: Path, config: Path) -> None:
    from datetime import UTC, datetime

    from js7tui.encipherment import bundle
    from js7tui.pki.bundle_import import _write_private
    _, entries = bundle.read_archive(archive)
    bundle.install(bundle.check(entries, PASSWORD.encode(), datetime.now(UTC)), config,
                   _write_private)
    archive.unlink()


# -- the command line ---------------------------------------------------------------------
def test_cli_encrypt_reads_the_value_from_stdin_and_prints_only_the_value(
        tmp_path: Path) -> None:
    from tests.test_cli import logged_in_root, make_cli
    cli = make_cli(tmp_path)
    logged_in_root(cli)
    code, out, err = cli("encipherment", "issue", "enc-a1", "--agent", "agent-1")
    assert code == 0, err
    code, out, err = cli("encrypt", "--for", "agent-1", "--variable", BIND,
                         stdin=SECRET + "\n")
    assert code == 0, err
    assert out.startswith(envelope.PREFIX) and out.count("\n") == 1
    assert "agent-1" in err and SECRET not in out + err
    with pytest.raises(SystemExit) as refused:  # no value in argv: refused as an extra
        cli("encrypt", "--for", "agent-1", "--variable", BIND, SECRET)
    assert refused.value.code == 2
    code, out, _ = cli("encipherment", "list")
    assert code == 0 and "enc-a1" in out and "agent-1" in out
    code, out, _ = cli("encipherment", "usage", "enc-a1")
    assert code == 0 and "0 value(s)" in out
    assert not any(SECRET.encode() in p.read_bytes() for p in cli.home.rglob("*")
                   if p.is_file())
