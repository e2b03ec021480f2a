"""The archive side of external signing: export writes what the reference describes; the
hardened reader refuses every hostile archive with the entry and the reason."""

from __future__ import annotations

import base64
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from js7tui.audit import AuditFilter, AuditMeta
from js7tui.config import ArchiveConfig
from js7tui.console import Console
from js7tui.deployment import (
    ArchiveEntry,
    ArchiveFormat,
    ArchiveRefused,
    classify,
    item_bytes,
    match_inventory,
    read_archive,
    read_signed_archive,
    write_archive,
)
from js7tui.errors import PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from js7tui.inventory import ObjectType
from tests.hostile_archives import CASES, CONTENT_CASES, zip_with
from tests.inventory_fixtures import folder_account, jobresource, text, workflow

META = AuditMeta()
LIMITS = ArchiveConfig(max_entries=10, max_bytes=2**20, max_entry_bytes=2**20)


@pytest.mark.parametrize(("builder", "entry", "reason"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_hostile_archive_is_refused_naming_entry_and_reason(tmp_path: Path, builder,
                                                            entry: str, reason: str) -> None:
    archive = builder(tmp_path)
    with pytest.raises(ArchiveRefused) as caught:
        read_archive(archive, LIMITS)
    message = str(caught.value)
    assert reason in message, message
    assert archive.name in message
    if entry:
        assert f"entry '{entry}'" in message, message
    assert list(tmp_path.iterdir()) == [archive]  # nothing was unpacked to disk


@pytest.mark.parametrize(("entries", "entry", "reason"), [c[1:] for c in CONTENT_CASES],
                         ids=[c[0] for c in CONTENT_CASES])
def test_entries_that_do_not_belong_are_refused(tmp_path: Path, entries, entry: str,
                                                reason: str) -> None:
    archive = zip_with(tmp_path / "content.zip", entries)
    with pytest.raises(ArchiveRefused) as caught:
        classify(archive.name, read_archive(archive, LIMITS))
    message = str(caught.value)
    assert reason in message and (not entry or f"entry '{entry}'" in message), message


def test_limits_come_from_the_config(tmp_path: Path) -> None:
    from js7tui.config import load_config
    config = tmp_path / "config.toml"
    config.write_text("[archive]\nmax_entries = 3\n")
    assert load_config(config).archive == ArchiveConfig(max_entries=3)
    config.write_text("[archive]\nmax_entries = 0\n")
    with pytest.raises(ValidationError, match="at least 1"):
        load_config(config)
    config.write_text("[archive]\nmax_files = 3\n")
    with pytest.raises(ValidationError, match="unknown key 'max_files'"):
        load_config(config)


@pytest.mark.parametrize("fmt", list(ArchiveFormat))
def test_written_archives_read_back_exactly(tmp_path: Path, fmt: ArchiveFormat) -> None:
    entries = [ArchiveEntry(f"f{i}/w{i}.workflow.json", f"{{\"n\": {i}}}\n".encode() * i)
               for i in range(1, 6)]
    path = tmp_path / f"out.{fmt.value}"
    write_archive(path, fmt, entries)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_archive(path) == entries


# -- export for signing ------------------------------------------------------------------
def _inventory(console: Console, root: Session) -> None:
    inv = console.inventory
    inv.create(root, ObjectType.WORKFLOW, "/ops/daily", text(workflow()), meta=META)
    inv.create(root, ObjectType.WORKFLOW, "/ops/nightly/cleanup",
               text(workflow(script="#!/bin/sh\nrm -f /tmp/ü-old\n")), meta=META)
    inv.create(root, ObjectType.JOBRESOURCE, "/ops/mail", text(jobresource()), meta=META)
    inv.create(root, ObjectType.WORKFLOW, "/finance/ledger", text(workflow()), meta=META)


@pytest.mark.parametrize("suffix", ["zip", "tar.gz"])
def test_export_for_signing_layout(console: Console, root: Session, tmp_path: Path,
                                   suffix: str) -> None:
    _inventory(console, root)
    out = tmp_path / f"export.{suffix}"
    result = console.exports.for_signing(root, ["/ops"], out, meta=META)
    assert sorted(result.entries) == ["meta_inf", "ops/daily.workflow.json",
                                      "ops/mail.jobresource.json",
                                      "ops/nightly/cleanup.workflow.json"]
    entries = {e.name: e.data for e in read_archive(out)}
    meta = json.loads(entries["meta_inf"])
    assert meta["versionId"] == result.version_id
    assert set(meta) == {"jocVersion", "inventorySchemaVersion", "apiVersion", "versionId"}
    cleanup = json.loads(entries["ops/nightly/cleanup.workflow.json"])
    assert cleanup["TYPE"] == "Workflow" and cleanup["path"] == "cleanup"
    assert cleanup["versionId"] == result.version_id
    assert "ü-old" in entries["ops/nightly/cleanup.workflow.json"].decode("utf-8")
    obj = console.inventory.get(root, "/ops/nightly/cleanup")
    assert entries["ops/nightly/cleanup.workflow.json"] == item_bytes(
        obj, result.version_id, cleanup["versionCreated"])  # anti-rollback: when it was made
    (entry,) = console.audit.list(root, AuditFilter(path_contains=out.name))
    assert entry.commit_id == result.version_id and entry.category == "INVENTORY"


def test_export_respects_folder_permissions(console: Console, root: Session,
                                            tmp_path: Path) -> None:
    _inventory(console, root)
    fin = folder_account(console, root, "fin", ["/finance"])
    result = console.exports.for_signing(fin, ["/"], tmp_path / "fin.zip", meta=META)
    assert sorted(result.entries) == ["finance/ledger.workflow.json", "meta_inf"]
    with pytest.raises(PermissionDenied, match="not permitted"):
        console.exports.for_signing(fin, ["/ops/daily"], tmp_path / "x.zip", meta=META)
    with pytest.raises(ValidationError, match="nothing to export"):
        console.exports.for_signing(root, ["/ops/nightly/"], tmp_path / "y.zip",
                                    object_type=ObjectType.JOBRESOURCE, meta=META)
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "y.zip").exists()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def test_export_sign_with_openssl_repack_with_tar_and_read_back(console: Console, root: Session,
                                                                tmp_path: Path) -> None:
    """The README's round trip with the real tools: unpack with tar, sign every file with the
    openssl CLI (RSA raw, ECDSA base64, Ed25519 raw), pack with tar, read and sort it."""
    _inventory(console, root)
    out = tmp_path / "export.tar.gz"
    console.exports.for_signing(root, ["/ops"], out, meta=META)
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["tar", "xzf", str(out), "-C", str(work)], check=True)
    keys = {"rsa": ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "ec": ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "ed": ["genpkey", "-algorithm", "ed25519"]}
    for name, args in keys.items():
        _openssl(*args, "-out", f"{name}.key", cwd=tmp_path)
    files = sorted(p.relative_to(work).as_posix() for p in work.rglob("*.json"))
    plan = dict(zip(files, ["rsa", "ec", "ed"], strict=True))
    for name, key in plan.items():
        target = work / name
        if key == "ed":
            _openssl("pkeyutl", "-sign", "-rawin", "-inkey", str(tmp_path / "ed.key"),
                     "-in", str(target), "-out", str(target) + ".sig", cwd=work)
        else:
            _openssl("dgst", "-sha256", "-sign", str(tmp_path / f"{key}.key"),
                     "-out", str(target) + ".sig", str(target), cwd=work)
        if key == "ec":
            _openssl("base64", "-in", str(target) + ".sig", "-out", str(target) + ".b64",
                     cwd=work)
            Path(str(target) + ".b64").replace(str(target) + ".sig")
    signed = tmp_path / "signed.tar.gz"
    subprocess.run(["tar", "czf", str(signed), "-C", str(work), "."], check=True)
    archive = classify(signed.name, read_archive(signed))
    assert archive.version_id is not None
    assert sorted(str(o.path) for o in archive.objects) == [
        "/ops/daily", "/ops/mail", "/ops/nightly/cleanup"]
    for obj in archive.objects:
        key = serialization.load_pem_private_key(
            (tmp_path / f"{plan[obj.entry]}.key").read_bytes(), None)
        public = key.public_key()
        assert obj.signature is not None
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(obj.signature, obj.data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(obj.signature, obj.data, ec.ECDSA(hashes.SHA256()))
        else:
            assert isinstance(public, ed25519.Ed25519PublicKey)
            public.verify(obj.signature, obj.data)
        assert obj.data == (work / obj.entry).read_bytes()


def test_signature_files_base64_or_raw_and_certificates_kept(tmp_path: Path) -> None:
    raw = bytes(range(70))
    b64 = base64.encodebytes(raw)  # with a line break, as openssl base64 writes it
    archive = zip_with(tmp_path / "s.zip", [
        ("a.workflow.json", b"{}"), ("a.workflow.json.sig", raw),
        ("b.jobresource.json", b"{}"), ("b.jobresource.json.sig", b64),
        ("b.jobresource.json.pem", b"-----BEGIN CERTIFICATE-----")])
    objects = {o.entry: o for o in classify("s.zip", read_archive(archive)).objects}
    assert objects["a.workflow.json"].signature == raw
    assert objects["b.jobresource.json"].signature == raw
    assert objects["b.jobresource.json"].certificate_pem == b"-----BEGIN CERTIFICATE-----"
    assert objects["b.jobresource.json"].object_type is ObjectType.JOBRESOURCE


def test_zip_written_by_python_reads_with_dot_slash_and_directories(tmp_path: Path) -> None:
    path = tmp_path / "d.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("./", b"")
        archive.writestr("./ops/", b"")
        archive.writestr("./ops/a.workflow.json", b"{}")
        archive.writestr("./ops/a.workflow.json.sig", b"AAAA")
    assert [e.name for e in read_archive(path)] == ["ops/a.workflow.json",
                                                    "ops/a.workflow.json.sig"]
    tar = tmp_path / "d.tar.gz"
    with tarfile.open(tar, "w:gz") as archive:
        archive.add(tmp_path / "d.zip", arcname="./x/d.zip")
    assert [e.name for e in read_archive(tar)] == ["x/d.zip"]


def test_certificate_parsing_is_not_done_by_the_reader(tmp_path: Path) -> None:
    """The reader keeps .pem bytes as they are; checking them is the verifier's job."""
    archive = zip_with(tmp_path / "c.zip", [("a.workflow.json", b"{}"),
                                            ("a.workflow.json.sig", b"AAAA"),
                                            ("a.workflow.json.pem", b"not a certificate")])
    (obj,) = classify("c.zip", read_archive(archive)).objects
    assert obj.certificate_pem == b"not a certificate"
    with pytest.raises(ValueError):
        x509.load_pem_x509_certificates(obj.certificate_pem)


# -- import side: objects must exist in the inventory, in the account's folders ---------------
def _signed_copy(source: Path, target: Path) -> Path:
    """The exported archive with a (dummy) .sig beside every object: enough for the checks
    that come before any signature is verified."""
    entries = read_archive(source)
    extra = [ArchiveEntry(e.name + ".sig", b"AAAA") for e in entries if e.name != "meta_inf"]
    write_archive(target, ArchiveFormat.for_path(target), [*entries, *extra])
    return target


def test_import_matches_every_object_to_the_inventory(console: Console, root: Session,
                                                      tmp_path: Path) -> None:
    _inventory(console, root)
    exported = tmp_path / "e.zip"
    result = console.exports.for_signing(root, ["/ops"], exported, meta=META)
    signed = _signed_copy(exported, tmp_path / "signed.tar.gz")
    archive = read_signed_archive(signed, ArchiveConfig())
    assert archive.version_id == result.version_id
    matched = match_inventory(console.inventory, root, archive)
    assert [(c.archived.entry, str(c.current.path)) for c in matched] == [
        ("ops/daily.workflow.json", "/ops/daily"), ("ops/mail.jobresource.json", "/ops/mail"),
        ("ops/nightly/cleanup.workflow.json", "/ops/nightly/cleanup")]

    console.inventory.move(root, "/ops/nightly/cleanup", "/ops", meta=META)
    with pytest.raises(ArchiveRefused) as caught:
        match_inventory(console.inventory, root, archive)
    assert str(caught.value) == (
        "refused the archive signed.tar.gz: entry 'ops/nightly/cleanup.workflow.json': there is "
        "no workflow /ops/nightly/cleanup in the inventory: import-deploy deploys only objects "
        "that already exist there, at the same path")

    fin = folder_account(console, root, "fin", ["/finance"])
    with pytest.raises(PermissionDenied, match="folder /ops is not permitted"):
        match_inventory(console.inventory, fin, archive)
    refused = console.audit.list(root, AuditFilter(account="fin", outcome="REFUSED"))
    assert refused[0].request == "./inventory/deployment/import_deploy"


def test_a_twenty_thousand_entry_archive_with_a_late_duplicate_is_refused_fast(
        tmp_path: Path) -> None:
    """The duplicate-name check is linear: 9,999 signed objects in their own folders, then a
    second 'w0' (20,000 entries, the default limit) is refused fast (it was quadratic)."""
    import time

    from tests.hostile_archives import signed_pair
    entries = [e for i in range(9_999) for e in signed_pair(f"f{i}/w{i}.workflow.json")]
    entries += signed_pair("last/w0.workflow.json")
    archive = zip_with(tmp_path / "many.zip", entries)
    started = time.perf_counter()
    read = read_archive(archive, ArchiveConfig())
    assert time.perf_counter() - started < 5.0
    started = time.perf_counter()
    with pytest.raises(ArchiveRefused, match="a second workflow named 'w0'"):
        classify(archive.name, read)
    assert time.perf_counter() - started < 1.0  # quadratic: about 4 s here
