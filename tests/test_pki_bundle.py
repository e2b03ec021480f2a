"""Bundles: their entries read by openssl and keytool, and the import on the target with every
refusal leaving the config directory as it was."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import tomllib
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from js7tui.console import Console
from js7tui.errors import NotFound, ValidationError
from js7tui.identity.sessions import Session
from js7tui.pki.bundle import ENTRIES
from js7tui.pki.bundle_import import BundleRefused, import_bundle
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.profiles import Purpose
from tests.pki_support import (
    META,
    admin,
    needs_keytool,
    needs_openssl,
    now_clock,
    pki,
    run,
)

__all__ = ["admin", "now_clock", "pki"]
PASSWORD = "bundle-store-pw"


def _bundle(pki: Console, admin: Session, folder: Path, component: str = "controller",
            name: str = "primary", **kwargs: object) -> Path:
    result = pki.certificates.bundle(admin, component, name, password=PASSWORD, meta=META,
                                     **kwargs)  # type: ignore[arg-type]
    path = folder / f"{component}-{name}.zip"
    path.write_bytes(result.data)
    return path


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@needs_openssl
@needs_keytool
def test_bundle_entries_are_read_by_openssl_and_keytool(pki: Console, admin: Session,
                                                        tmp_path: Path) -> None:
    entries = _entries(_bundle(pki, admin, tmp_path))
    manifest = json.loads(entries["manifest.json"])
    assert manifest["format"] == "js7tui-bundle/2" and manifest["component"] == "controller"
    assert manifest["name"] == "primary"
    assert manifest["subject"] == "CN=primary,OU=controller,O=js7tui"
    assert set(manifest["files"]) == set(ENTRIES)
    assert all(hashlib.sha256(entries[k]).hexdigest() == v for k, v in manifest["files"].items())
    out = tmp_path / "x"
    out.mkdir()
    for name, data in entries.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    leaf = x509.load_pem_x509_certificates(entries["https-cert.pem"])
    assert len(leaf) == 2 and format(leaf[0].serial_number, "x") == manifest["serial"]
    assert "https-cert.pem: OK" in run("openssl", "verify", "-CAfile", "ca.pem",
                                       "-purpose", "sslserver", "https-cert.pem",
                                       cwd=out).stdout
    # Signed items are trusted through the signing CA only: not the root, not the TLS CA.
    [signing] = x509.load_pem_x509_certificates(entries["trusted-x509-keys/js7tui-signers.pem"])
    root, issuing = x509.load_pem_x509_certificates(entries["ca.pem"])
    assert signing not in (root, issuing) and signing.issuer == root.subject
    assert "Signing CA" in signing.subject.rfc4514_string()
    assert "CRL Number" in run("openssl", "crl", "-in",
                               "trusted-x509-crls/js7tui-signing-ca.crl.pem", "-noout", "-text",
                               cwd=out).stdout
    assert entries["https-key.pem"].startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    run("openssl", "pkey", "-in", "https-key.pem", "-passin", f"pass:{PASSWORD}", "-noout",
        cwd=out)
    for store in ("https-keystore.p12", "https-truststore.p12"):
        info = run("openssl", "pkcs12", "-info", "-in", store, "-passin", f"pass:{PASSWORD}",
                   "-noout", cwd=out)
        assert "MAC: sha256" in info.stderr + info.stdout
        assert "AES-256-CBC" in info.stderr + info.stdout
    keystore = run("keytool", "-list", "-v", "-storetype", "PKCS12", "-keystore",
                   "https-keystore.p12", "-storepass", PASSWORD, cwd=out).stdout
    assert "Entry type: PrivateKeyEntry" in keystore
    assert "Certificate chain length: 3" in keystore
    truststore = run("keytool", "-list", "-storetype", "PKCS12", "-keystore",
                     "https-truststore.p12", "-storepass", PASSWORD, cwd=out).stdout
    assert truststore.count("trustedCertEntry") == 2
    assert "js7tui-root-ca" in truststore and "js7tui-issuing-ca" in truststore
    crl = run("openssl", "crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout", "-text",
              cwd=out)
    assert "verify OK" in crl.stdout + crl.stderr and "CRL Number" in crl.stdout
    config = tomllib.loads(entries["bundle.toml"].decode())
    assert config["allowed_clients"] == [{"dn": "CN=console,OU=console,O=js7tui",
                                          "user": "console"}]
    assert config["tls"] == {"cert": "tls/https-cert.pem", "key": "tls/https-key.pem",
                             "ca": "tls/ca.pem", "crl": "tls/crl.pem"}


def test_import_replaces_the_root_anchor_of_format_1(pki: Console, admin: Session,
                                                     tmp_path: Path) -> None:
    """A directory set up from a format-1 bundle trusted the root for signed items; importing
    a new bundle leaves the signing CA only."""
    archive = _bundle(pki, admin, tmp_path)
    target = tmp_path / "old-controller"
    (target / "trusted-x509-keys").mkdir(parents=True)
    (target / "trusted-x509-keys" / "js7tui-root-ca.pem").write_bytes(b"old root")
    import_bundle(archive, target, component="controller", password=PASSWORD.encode(),
                  name="primary")
    assert [p.name for p in (target / "trusted-x509-keys").iterdir()] == [
        "js7tui-signers.pem"]


def test_import_writes_private_files(pki: Console, admin: Session, tmp_path: Path) -> None:
    archive = _bundle(pki, admin, tmp_path)
    target = tmp_path / "controller-config"
    result = import_bundle(archive, target, component="controller",
                           password=PASSWORD.encode(), name="primary")
    assert result.name == "primary" and result.warnings == ()
    expected = {"bundle.toml", "tls/https-keystore.p12", "tls/https-truststore.p12",
                "tls/https-cert.pem", "tls/https-key.pem", "tls/ca.pem", "tls/crl.pem",
                "trusted-x509-keys/js7tui-signers.pem",
                "trusted-x509-crls/js7tui-signing-ca.crl.pem"}
    assert set(_snapshot(target)) == expected
    for path in target.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    key = (target / "tls/https-key.pem").read_bytes()
    assert key.startswith(b"-----BEGIN PRIVATE KEY-----")
    cert = x509.load_pem_x509_certificate((target / "tls/https-cert.pem").read_bytes())
    assert load_pem_private_key(key, None).public_key() == cert.public_key()
    # importing the same bundle again (same name) is allowed and replaces the files
    import_bundle(archive, target, component="controller", password=PASSWORD.encode())


def _repack(archive: Path, out: Path, change: dict[str, bytes], *,
            fix_hashes: bool) -> Path:
    entries = _entries(archive)
    entries.update(change)
    if fix_hashes:
        manifest = json.loads(entries["manifest.json"])
        manifest["files"] = {k: hashlib.sha256(entries[k]).hexdigest() for k in ENTRIES}
        entries["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    out.write_bytes(buffer.getvalue())
    return out


def test_import_refusals_change_nothing(pki: Console, admin: Session, tmp_path: Path) -> None:
    archive = _bundle(pki, admin, tmp_path)
    agent = _bundle(pki, admin, tmp_path, "agent", "a1", controller="primary")
    pki.certificates.issue(admin, IssueRequest(Purpose.CONTROLLER, "other"), hold_key=True)
    forged_crl = pki.certificates.export_crl(admin).crl_pem.encode()
    (tmp_path / "empty.zip").write_bytes(b"")
    target = tmp_path / "cfg"
    target.mkdir()
    (target / "config.toml").write_text('[server]\nname = "primary"\n')
    cases: list[tuple[Path, str, dict[str, object], str]] = [
        (archive, "agent", {}, "not for an agent; import it with 'js7tui controller"),
        (agent, "controller", {}, "not for a controller"),
        (archive, "controller", {"name": "secondary"}, "not for 'secondary' (--name)"),
        (archive, "controller", {"password": b"wrong-password"}, "store password is wrong"),
        (_repack(archive, tmp_path / "t1.zip", {"crl.pem": b"x"}, fix_hashes=False),
         "controller", {}, "crl.pem does not match its SHA-256"),
        (_repack(archive, tmp_path / "t2.zip", {"evil/../../x": b"x"}, fix_hashes=False),
         "controller", {}, "entries a js7tui bundle never has"),
        (_repack(archive, tmp_path / "t3.zip", {"ca.pem": _entries(agent)["https-cert.pem"]},
                 fix_hashes=True), "controller", {}, "does not chain"),
        (_repack(archive, tmp_path / "t4.zip", {"crl.pem": forged_crl.replace(b"A", b"B", 1)},
                 fix_hashes=True), "controller", {}, "crl.pem"),
        (tmp_path / "empty.zip", "controller", {}, "not a js7tui bundle"),
    ]
    before = _snapshot(target)
    for path, component, options, message in cases:
        kwargs: dict[str, object] = {"password": PASSWORD.encode(), **options}
        with pytest.raises(BundleRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
            import_bundle(path, target, component=component, **kwargs)  # type: ignore[arg-type]
        assert _snapshot(target) == before, message
    (target / "config.toml").write_text('[server]\nname = "backup"\n')
    with pytest.raises(BundleRefused, match="belongs to the controller 'backup'"):
        import_bundle(archive, target, component="controller", password=PASSWORD.encode())


def test_existing_bundle_toml_names_the_directory(pki: Console, admin: Session,
                                                  tmp_path: Path) -> None:
    first = _bundle(pki, admin, tmp_path, "controller", "primary")
    second = _bundle(pki, admin, tmp_path, "controller", "secondary")
    target = tmp_path / "cfg"
    import_bundle(first, target, component="controller", password=PASSWORD.encode())
    before = _snapshot(target)
    with pytest.raises(BundleRefused, match="belongs to the controller 'primary'"):
        import_bundle(second, target, component="controller", password=PASSWORD.encode())
    assert _snapshot(target) == before


def test_revoked_certificate_in_its_own_bundle_is_refused(pki: Console, admin: Session,
                                                          tmp_path: Path) -> None:
    result = pki.certificates.bundle(admin, "controller", "primary", password=PASSWORD,
                                     keep_key=True)
    pki.certificates.revoke(admin, result.record.serial or "", "keyCompromise")
    fresh_crl = pki.certificates.export_crl(admin).crl_pem.encode()
    stale = _repack(_write(tmp_path, result.data), tmp_path / "r.zip", {"crl.pem": fresh_crl},
                    fix_hashes=True)
    with pytest.raises(BundleRefused, match="is revoked on its own CRL"):
        import_bundle(stale, tmp_path / "cfg", component="controller",
                      password=PASSWORD.encode())


def _write(folder: Path, data: bytes) -> Path:
    path = folder / "b.zip"
    path.write_bytes(data)
    return path


def test_agent_bundle_allows_its_controller(pki: Console, admin: Session,
                                            tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="must name its Controller"):
        pki.certificates.bundle(admin, "agent", "a1", password=PASSWORD)
    with pytest.raises(NotFound, match="no valid certificate of the Controller 'primary'"):
        pki.certificates.bundle(admin, "agent", "a1", password=PASSWORD, controller="primary")
    _bundle(pki, admin, tmp_path)
    agent = _entries(_bundle(pki, admin, tmp_path, "agent", "a1", controller="primary"))
    config = tomllib.loads(agent["bundle.toml"].decode())
    assert config["component"] == "agent" and config["name"] == "a1"
    assert config["allowed_clients"] == [{"dn": "CN=primary,OU=controller,O=js7tui",
                                          "user": "controller"}]
    console = _entries(_bundle(pki, admin, tmp_path, "console", "console"))
    assert "allowed_clients" not in tomllib.loads(console["bundle.toml"].decode())
    # the console's key stays in the store after its bundle: it is the console's own
    assert pki.certificates.list(admin, purpose="console")[0].key_held


def test_bundle_password_generated_and_key_dropped(pki: Console, admin: Session) -> None:
    result = pki.certificates.bundle(admin, "controller", "primary")
    assert result.password_generated and len(result.password) >= 20
    assert not result.record.key_held and result.record.exported
    with pytest.raises(ValidationError, match="at least 8"):
        pki.certificates.bundle(admin, "controller", "x", password="short")
    params = pki.store.conn.execute(
        "SELECT parameters FROM audit_log WHERE request = './pki/bundle/export'").fetchone()[0]
    assert result.password not in params


def test_unwritable_target_is_a_clear_error(pki: Console, admin: Session,
                                            tmp_path: Path) -> None:
    archive = _bundle(pki, admin, tmp_path)
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    with pytest.raises(ValidationError, match="is not a directory"):
        import_bundle(archive, blocked, component="controller", password=PASSWORD.encode())
