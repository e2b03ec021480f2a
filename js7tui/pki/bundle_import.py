"""Importing a bundle on the Controller's or Agent's host (no console home there).

Everything is checked before anything is written: the archive's entries and their SHA-256
against the manifest, the component and name, the store password (the encrypted key and both
PKCS#12 stores must open with it), that the key belongs to the certificate, that the leaf
chains to the bundled CA for its purpose and is not on the bundled CRL. Only then the files
are written (each 0600 through a temporary file and a rename; folders 0700).
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from js7tui.encipherment import bundle as enc_bundle
from js7tui.errors import ValidationError
from js7tui.home import make_private_dirs, replace_private_file
from js7tui.pki import bundle as fmt
from js7tui.pki.authority import CaChain
from js7tui.pki.keys import load_private_pem, private_pem, same_public_key
from js7tui.pki.pem import load_certs, serial_hex
from js7tui.pki.profiles import Purpose
from js7tui.pki.verify import verify_leaf
from js7tui.signing.revocation import load_crls

MAX_ENTRY_BYTES = 1 << 20
TARGETS = {
    fmt.CONFIG: "bundle.toml",
    fmt.KEYSTORE: "tls/https-keystore.p12",
    fmt.TRUSTSTORE: "tls/https-truststore.p12",
    fmt.CERT_PEM: "tls/https-cert.pem",
    fmt.KEY_PEM: "tls/https-key.pem",
    fmt.CA_PEM: "tls/ca.pem",
    fmt.CRL_PEM: "tls/crl.pem",
    fmt.TRUSTED_SIGNERS: fmt.TRUSTED_SIGNERS,
    fmt.SIGNING_CRLS: fmt.SIGNING_CRLS,
}


class BundleRefused(ValidationError):
    """The bundle cannot be imported; the message says why, nothing was written."""


@dataclass(frozen=True)
class ImportedBundle:
    component: str
    name: str
    subject: str
    serial: str
    not_after: str
    directory: Path
    written: tuple[Path, ...]
    warnings: tuple[str, ...] = field(default=())


def _read_archive(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = [i.filename for i in infos]
            expected = {fmt.MANIFEST, *fmt.ENTRIES}
            unknown = sorted(n for n in set(names) - expected if not enc_bundle.is_entry(n))
            if unknown or len(names) != len(set(names)):
                raise BundleRefused(f"{path} holds entries a js7tui bundle never has "
                                    f"({', '.join(unknown) or 'duplicates'}); refused")
            missing = sorted(expected - set(names))
            if missing:
                raise BundleRefused(f"{path} is incomplete: {', '.join(missing)} missing")
            if any(i.file_size > MAX_ENTRY_BYTES for i in infos):
                raise BundleRefused(f"{path} has an entry larger than 1 MiB; refused")
            return {i.filename: archive.read(i) for i in infos}
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleRefused(f"{path} is not a js7tui bundle (not a readable zip archive: "
                            f"{exc})") from None


def _manifest(entries: dict[str, bytes]) -> dict[str, object]:
    try:
        manifest = json.loads(entries[fmt.MANIFEST])
    except ValueError:
        raise BundleRefused("the bundle's manifest.json is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt.FORMAT:
        raise BundleRefused(f"the bundle is not in the format {fmt.FORMAT} (found "
                            f"{manifest.get('format') if isinstance(manifest, dict) else '?'})")
    hashes = manifest.get("files")
    present = set(entries) - {fmt.MANIFEST}
    if not isinstance(hashes, dict) or set(hashes) != present:
        raise BundleRefused("the manifest does not list exactly the bundle's files")
    for entry in sorted(present):
        if hashlib.sha256(entries[entry]).hexdigest() != hashes[entry]:
            raise BundleRefused(f"{entry} does not match its SHA-256 in the manifest: the bundle "
                                "was altered or damaged in transfer")
    return manifest


def _existing_name(directory: Path, component: str) -> tuple[str | None, str]:
    """The name this directory already belongs to (bundle.toml, else config.toml [server])."""
    for filename in ("bundle.toml", "config.toml"):
        path = directory / filename
        if not path.exists():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise BundleRefused(f"{path} cannot be read ({exc}); cannot check which "
                                f"{component} this directory belongs to") from None
        if filename == "bundle.toml":
            if data.get("component") not in (None, component):
                raise BundleRefused(f"{path} belongs to a {data.get('component')}, not a "
                                    f"{component}")
            if isinstance(data.get("name"), str):
                return data["name"], str(path)
        else:
            server = data.get("server")
            if isinstance(server, dict) and isinstance(server.get("name"), str):
                return server["name"], f"{path} [server]"
    return None, ""


def _check_identity(manifest: dict[str, object], component: str, name: str | None,
                    directory: Path) -> str:
    found = str(manifest.get("component"))
    bundle_name = str(manifest.get("name"))
    if found != component:
        article = "an" if component[0] in "aeiou" else "a"
        raise BundleRefused(f"this bundle is for the {found} '{bundle_name}', not for "
                            f"{article} {component}; import it with 'js7tui {found} import-bundle'"
                            if found in ("controller", "agent") else
                            f"this bundle is for a {found}, not for {article} {component}")
    if name is not None and name != bundle_name:
        raise BundleRefused(f"this bundle is for the {component} '{bundle_name}', not for "
                            f"'{name}' (--name)")
    existing, where = _existing_name(directory, component)
    if existing is not None and existing != bundle_name:
        raise BundleRefused(f"{directory} belongs to the {component} '{existing}' ({where}); "
                            f"this bundle is for '{bundle_name}'")
    return bundle_name


def _open_secrets(entries: dict[str, bytes], password: bytes):  # type: ignore[no-untyped-def]
    wrong = BundleRefused("the store password is wrong: the bundle's key and stores do not open "
                          "with it (it was shown once when the bundle was made)")
    try:
        key = load_private_pem(entries[fmt.KEY_PEM], password)
        keystore = pkcs12.load_pkcs12(entries[fmt.KEYSTORE], password)
        pkcs12.load_pkcs12(entries[fmt.TRUSTSTORE], password)
    except (ValueError, TypeError):
        raise wrong from None
    return key, keystore


def verify_bundle(entries: dict[str, bytes], manifest: dict[str, object], password: bytes,
                  now: datetime) -> tuple[bytes, list[str]]:
    """All cryptographic checks; returns the decrypted key PEM and warnings."""
    key, keystore = _open_secrets(entries, password)
    chain = load_certs(entries[fmt.CERT_PEM], fmt.CERT_PEM)
    ca_certs = load_certs(entries[fmt.CA_PEM], fmt.CA_PEM)
    if len(ca_certs) != 2 or len(chain) < 1:
        raise BundleRefused("ca.pem must hold the root and the issuing CA")
    leaf = chain[0]
    ca = CaChain(ca_certs[0], ca_certs[1])
    if keystore.cert is None or keystore.key is None or keystore.cert.certificate != leaf:
        raise BundleRefused("the keystore does not hold the bundle's certificate and key")
    if not same_public_key(key.public_key(), leaf.public_key()) or not same_public_key(
            keystore.key.public_key(), leaf.public_key()):
        raise BundleRefused("the key does not belong to the certificate")
    if serial_hex(leaf) != manifest.get("serial") or (
            leaf.subject.rfc4514_string() != manifest.get("subject")):
        raise BundleRefused("the certificate is not the one the manifest names")
    verify_leaf(leaf, ca, Purpose(str(manifest["component"])), now)
    warnings = []
    try:
        crl = x509.load_pem_x509_crl(entries[fmt.CRL_PEM])
    except ValueError:
        raise BundleRefused("crl.pem is not a PEM certificate revocation list") from None
    if crl.issuer != ca.intermediate.subject or not crl.is_signature_valid(
            ca.intermediate.public_key()):
        raise BundleRefused("crl.pem was not signed by the bundle's issuing CA")
    if crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None:
        raise BundleRefused(f"the bundle's certificate (serial {serial_hex(leaf)}) is revoked "
                            "on its own CRL")
    if crl.next_update_utc is not None and crl.next_update_utc <= now:
        warnings.append(f"the CRL's next update ({crl.next_update_utc:%Y-%m-%d}) has passed: "
                        "servers checking revocation will refuse clients until a current CRL "
                        "is installed (js7tui cert crl export on the console)")
    signers = (load_certs(entries[fmt.TRUSTED_SIGNERS], fmt.TRUSTED_SIGNERS)
               if entries[fmt.TRUSTED_SIGNERS].strip() else [])
    if any(c in (ca.root, ca.intermediate) for c in signers):
        raise BundleRefused(f"{fmt.TRUSTED_SIGNERS} trusts the root or the TLS issuing CA "
                            "for signed items; only the signing CA and registered signers "
                            "belong there")
    try:
        load_crls(entries[fmt.SIGNING_CRLS], fmt.SIGNING_CRLS)
    except ValueError as exc:
        raise BundleRefused(str(exc)) from None
    if not signers:
        warnings.append("the bundle trusts no signer yet (no signing CA, no registered "
                        "signing certificate): every signed item will be refused")
    try:
        config = tomllib.loads(entries[fmt.CONFIG].decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise BundleRefused("bundle.toml is not valid TOML") from None
    if config.get("component") != manifest["component"] or config.get("name") != manifest["name"]:
        raise BundleRefused("bundle.toml names another component than the manifest")
    try:
        bundle_trust(config)
    except ValueError as exc:
        raise BundleRefused(f"bundle.toml: {exc}") from None
    return private_pem(key), warnings


LEVELS = ("LOW", "MEDIUM", "HIGH")


def bundle_trust(config: dict[str, object]) -> tuple[str, frozenset[str]]:
    """The ``[trust]`` of a bundle.toml: (security level, registered signer fingerprints);
    a bundle without it (made before the engines knew the level) is LOW."""
    trust = config.get("trust", {})
    if not isinstance(trust, dict) or set(trust) - {"security_level", "registered_signers"}:
        raise ValueError("[trust] holds only security_level and registered_signers")
    level = trust.get("security_level", "LOW")
    if level not in LEVELS:
        raise ValueError(f"[trust] security_level must be one of {', '.join(LEVELS)}")
    signers = trust.get("registered_signers", [])
    if not isinstance(signers, list) or not all(
            isinstance(f, str) and len(f) == 64 and all(c in "0123456789abcdef" for c in f)
            for f in signers):
        raise ValueError("[trust] registered_signers must be SHA-256 fingerprints (hex)")
    return str(level), frozenset(signers)


def _check_not_lowered(directory: Path, entries: dict[str, bytes]) -> None:
    """A bundle never lowers the level of the bundle it replaces (the engine also refuses to
    start below the highest level its journal ran with)."""
    path = directory / "bundle.toml"
    if not path.exists():
        return
    try:
        old, _ = bundle_trust(tomllib.loads(path.read_text(encoding="utf-8")))
    except (ValueError, OSError, tomllib.TOMLDecodeError):
        return  # unreadable: the identity check reported it, or the engine will
    new, _ = bundle_trust(tomllib.loads(entries[fmt.CONFIG].decode("utf-8")))
    if LEVELS.index(new) < LEVELS.index(old):
        raise BundleRefused(f"this bundle's security level {new} is lower than the level "
                            f"{old} of the bundle in {directory}; an installation's level is "
                            "never lowered")


def _write_private(path: Path, data: bytes) -> None:
    """In a 0700 directory, replaced in one rename (a running server may read it)."""
    make_private_dirs(path.parent)
    os.chmod(path.parent, 0o700)
    replace_private_file(path, data)


def import_bundle(archive: Path, directory: Path, *, component: str, password: bytes,
                  name: str | None = None, now: datetime | None = None) -> ImportedBundle:
    """Check ``archive`` completely, then write its files under ``directory``."""
    now = now or datetime.now(UTC)
    if directory.exists() and not directory.is_dir():
        raise BundleRefused(f"{directory} is not a directory; give the {component}'s config "
                            "directory (it is created if missing)")
    entries = _read_archive(archive)
    manifest = _manifest(entries)
    bundle_name = _check_identity(manifest, component, name, directory)
    if component != "agent" and any(enc_bundle.is_entry(n) for n in entries):
        raise BundleRefused("this bundle carries encipherment keys, which only an Agent's "
                            "bundle may")
    try:
        key_pem, warnings = verify_bundle(entries, manifest, password, now)
        encipherment = enc_bundle.check(entries, password, now)
    except BundleRefused:
        raise
    except ValidationError as exc:
        raise BundleRefused(f"refused: {exc}") from None
    _check_not_lowered(directory, entries)
    written = []
    try:
        make_private_dirs(directory)
        os.chmod(directory, 0o700)
        for entry, relative in TARGETS.items():
            target = directory / relative
            _write_private(target, key_pem if entry == fmt.KEY_PEM else entries[entry])
            written.append(target)
        # Format 1 trusted the root for signed items; the signing CA replaces it.
        (directory / fmt.OLD_TRUSTED_ROOT).unlink(missing_ok=True)
        installed, _retired = enc_bundle.install(encipherment, directory, _write_private)
        written += installed
    except OSError as exc:
        done = ", ".join(str(p.relative_to(directory)) for p in written) or "none"
        raise ValidationError(f"cannot write into {directory}: {exc.strerror or exc} (files "
                              f"already replaced: {done}); fix it and import again") from None
    return ImportedBundle(component=component, name=bundle_name,
                          subject=str(manifest["subject"]), serial=str(manifest["serial"]),
                          not_after=str(manifest["not_after"]), directory=directory,
                          written=tuple(written), warnings=tuple(warnings))
