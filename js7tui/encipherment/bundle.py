"""Encipherment material in bundles (issue 21): entries added to an Agent's bundle, or an
archive of their own for an Agent that already has its TLS bundle.

Entries (all optional, so a bundle without encipherment is exactly as before)::

    encipherment/<fingerprint>.cert.pem   the certificate
    encipherment/<fingerprint>.key.pem    its key, PKCS#8 encrypted with the store password
    encipherment/retire.txt               fingerprints whose keys the Agent deletes now

On import every key is checked against its certificate and the certificate against the
encipherment profile before anything is written; keys are written decrypted (0600) to
``CONFIG/encipherment/``, like the TLS key, and no import removes a key unless the console
listed it in ``retire.txt`` (nothing in the inventory needs it any more).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509

from js7tui.clock import to_iso
from js7tui.encipherment import certificates as enc
from js7tui.encipherment import envelope, keyring
from js7tui.errors import ValidationError
from js7tui.pki.keys import load_private_pem, private_pem, same_public_key
from js7tui.secrets import SecretBox

PREFIX = "encipherment/"
RETIRE = "encipherment/retire.txt"
FORMAT = "js7tui-encipherment/1"
MANIFEST = "manifest.json"
_ENTRY = re.compile(r"^encipherment/([0-9a-f]{64})\.(cert|key)\.pem$")
MAX_ENTRY_BYTES = 1 << 20


def is_entry(name: str) -> bool:
    return name == RETIRE or _ENTRY.match(name) is not None


@dataclass
class Carried:
    """What a bundle for one Agent carries, to record once it is written."""

    agent: str
    files: dict[str, bytes] = field(default_factory=dict)
    delivered: list[int] = field(default_factory=list)
    retired: list[int] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)   # aliases whose key left already


def collect(conn: sqlite3.Connection, box: SecretBox, agent: str, password: bytes) -> Carried:
    carried = Carried(agent)
    retire = []
    for alias in enc.aliases_of(conn, agent):
        for cert in enc.of_alias(conn, alias):
            if cert.state == "RETIRED":
                continue
            had = enc.deliveries(conn, cert.id)
            if cert.key_sealed is None:
                if agent not in had and cert.state == "CURRENT":
                    carried.missing.append(alias)
                continue
            key = load_private_pem(box.open(cert.key_sealed).encode("ascii"))
            carried.files[f"{PREFIX}{cert.fingerprint}.cert.pem"] = cert.cert_pem.encode()
            carried.files[f"{PREFIX}{cert.fingerprint}.key.pem"] = private_pem(key, password)
            carried.delivered.append(cert.id)
    for cert in enc.all_certificates(conn):
        if cert.state == "RETIRED" and enc.deliveries(conn, cert.id).get(agent, "x") is None:
            retire.append(cert.fingerprint)
            carried.retired.append(cert.id)
    if retire:
        carried.files[RETIRE] = ("\n".join(retire) + "\n").encode()
    return carried


def record(conn: sqlite3.Connection, carried: Carried, now: datetime) -> list[str]:
    """The bundle was written: note deliveries, drop each key every assigned Agent now has
    (it never stays in the store after that). Returns the aliases whose key left."""
    dropped = []
    for cert_id in carried.delivered:
        enc.record_delivery(conn, cert_id, carried.agent, now)
        cert = enc.by_id(conn, cert_id)
        had = enc.deliveries(conn, cert_id)
        if all(a in had for a in enc.agents_of(conn, cert.alias)):
            enc.drop_key(conn, cert_id, now)
            dropped.append(cert.alias)
    for cert_id in carried.retired:
        enc.record_removal(conn, cert_id, carried.agent, now)
    return dropped


def archive(carried: Carried, now: datetime) -> bytes:
    """An encipherment archive of its own (for an Agent whose TLS bundle is installed)."""
    manifest = {"format": FORMAT, "agent": carried.agent, "created": to_iso(now),
                "files": {n: hashlib.sha256(d).hexdigest() for n, d in carried.files.items()}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, data in [(MANIFEST, json.dumps(manifest, indent=2).encode()),
                           *carried.files.items()]:
            info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
            info.external_attr = 0o600 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, data)
    return buffer.getvalue()


# -- the Agent's side -------------------------------------------------------------------
@dataclass(frozen=True)
class Checked:
    install: list[tuple[x509.Certificate, bytes]]   # certificate, decrypted key PEM
    retire: list[str]


def check(entries: dict[str, bytes], password: bytes, now: datetime) -> Checked:
    """Every encipherment entry checked; nothing written."""
    certs: dict[str, bytes] = {}
    keys: dict[str, bytes] = {}
    retire: list[str] = []
    for name, data in entries.items():
        if name == RETIRE:
            retire = [line.strip() for line in data.decode("ascii", "replace").splitlines()
                      if line.strip()]
            if any(not re.fullmatch(r"[0-9a-f]{64}", fp) for fp in retire):
                raise ValidationError(f"{RETIRE} lists something other than fingerprints")
            continue
        match = _ENTRY.match(name)
        if match is None:
            continue
        (certs if match.group(2) == "cert" else keys)[match.group(1)] = data
    install = []
    for fp, data in sorted(certs.items()):
        try:
            cert = x509.load_pem_x509_certificate(data)
        except ValueError:
            raise ValidationError(f"{PREFIX}{fp}.cert.pem is not a PEM certificate") from None
        if envelope.fingerprint(cert) != fp:
            raise ValidationError(f"{PREFIX}{fp}.cert.pem is not the certificate its name "
                                  "says")
        try:
            enc.check_encipherment_cert(cert, now)
        except ValidationError as exc:
            raise ValidationError(f"{PREFIX}{fp}.cert.pem: {exc}") from None
        if fp not in keys:
            raise ValidationError(f"{PREFIX}{fp}.cert.pem comes without its key")
        try:
            key = load_private_pem(keys[fp], password)
        except (ValueError, TypeError):
            raise ValidationError("the store password does not open the encipherment "
                                  "key(s)") from None
        if not same_public_key(key.public_key(), cert.public_key()):
            raise ValidationError(f"{PREFIX}{fp}.key.pem does not belong to its certificate")
        install.append((cert, private_pem(key)))
    if set(keys) - set(certs):
        raise ValidationError("an encipherment key comes without its certificate")
    return Checked(install, retire)


def install(checked: Checked, directory: Path,
            write: Callable[[Path, bytes], None]) -> tuple[list[Path], list[Path]]:
    """Write into ``directory`` (the component's config directory) and delete retired keys."""
    target = directory / keyring.DIRECTORY
    written = []
    for cert, key_pem in checked.install:
        written += keyring.install(target, cert, key_pem, write)
    return written, keyring.retire(target, checked.retire)


def read_archive(path: Path) -> tuple[str, dict[str, bytes]]:
    """A standalone encipherment archive, manifest and hashes checked: (agent, entries)."""
    try:
        with zipfile.ZipFile(path) as zipped:
            infos = zipped.infolist()
            if any(i.file_size > MAX_ENTRY_BYTES for i in infos):
                raise ValidationError(f"{path} has an entry larger than 1 MiB; refused")
            entries = {i.filename: zipped.read(i) for i in infos}
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(f"{path} is not an encipherment archive ({exc})") from None
    try:
        manifest = json.loads(entries.pop(MANIFEST, b""))
    except ValueError:
        raise ValidationError(f"{path} has no valid manifest.json") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValidationError(f"{path} is not in the format {FORMAT}")
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(entries) or not all(
            is_entry(n) for n in entries):
        raise ValidationError(f"{path}: the manifest does not list exactly its entries")
    for name, data in entries.items():
        if hashlib.sha256(data).hexdigest() != files[name]:
            raise ValidationError(f"{name} does not match its SHA-256 in the manifest")
    return str(manifest.get("agent")), entries
