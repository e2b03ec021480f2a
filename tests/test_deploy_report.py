"""What the inventory screens ask of the deployment service: the Controllers a session may
deploy to, an object's deployment state, and import-deploy's verification report (every check of
import-deploy, nothing sent). Store only: the one Controller is registered at a port where
nothing listens, keys and signatures come from the openssl CLI."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.deployment import ArchiveRefused
from js7tui.identity.sessions import Session
from js7tui.inventory import ObjectType
from js7tui.permissions.names import (
    CONTROLLER_DEPLOY,
    INVENTORY_DEPLOY,
    INVENTORY_MANAGE,
    INVENTORY_VIEW,
)
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.profiles import Purpose
from tests.inventory_fixtures import folder_account, text, workflow

META = AuditMeta()
DEPLOYER = (INVENTORY_VIEW, INVENTORY_MANAGE, INVENTORY_DEPLOY, CONTROLLER_DEPLOY)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def estate_less(console: Console, root: Session) -> Console:
    console.certificates.create_ca(root, KeyType.EC_P256, meta=META)
    console.controllers.register(root, "c-down", "https://127.0.0.1:9", "console", "pw",
                                 meta=META)
    console.inventory.create_folder(root, "/app", meta=META)
    for name in ("hello", "bye"):
        console.inventory.create(root, ObjectType.WORKFLOW, f"/app/{name}",
                                 text(workflow(script=f"#!/bin/sh\necho {name}\n")),
                                 meta=META)
    return console


def test_targets_are_the_controllers_the_session_may_deploy_to(
        estate_less: Console, root: Session) -> None:
    assert estate_less.deployments.targets(root) == ["c-down"]
    no_controller = folder_account(estate_less, root, "viewer", ["/"],
                                   (INVENTORY_VIEW, INVENTORY_DEPLOY))
    assert estate_less.deployments.targets(no_controller) == []


def test_status_is_draft_and_names_the_failed_attempt_with_its_reason(
        estate_less: Console, root: Session) -> None:
    estate_less.signing_keys.generate(root, meta=META)
    result = estate_less.deployments.deploy(root, ["/app/hello"], ["c-down"], meta=META)
    assert not result.ok
    status = estate_less.deployments.status(root, "/app/hello")
    assert status.state == "draft" and status.versions == ()
    failure = status.failures[0]
    assert failure.controller_id == "c-down" and failure.commit_id == result.commit_id
    assert "cannot reach the Controller" in failure.message
    outsider = folder_account(estate_less, root, "outsider", ["/elsewhere"], DEPLOYER)
    with pytest.raises(Exception, match="permission denied"):
        estate_less.deployments.status(outsider, "/app/hello")


def signed_archive(console: Console, session: Session, key: Path, work: Path, *,
                   tamper: str = "") -> Path:
    """Export /app for signing, sign each entry with ``openssl dgst``, change one byte of the
    entry ``tamper`` after signing, pack again."""
    exported = work / "export.zip"
    exported.unlink(missing_ok=True)
    console.exports.for_signing(session, ["/app"], exported, meta=META)
    tree = work / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    with zipfile.ZipFile(exported) as archive:
        archive.extractall(tree)
    for target in sorted(tree.rglob("*.json")):
        openssl("dgst", "-sha256", "-sign", str(key), "-out", f"{target}.sig", str(target),
                cwd=work)
        if target.name == tamper:
            data = bytearray(target.read_bytes())
            data[data.index(b"echo") + 5] ^= 0x01
            target.write_bytes(bytes(data))
    signed = work / ("tampered.zip" if tamper else "signed.zip")
    with zipfile.ZipFile(signed, "w") as archive:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(tree).as_posix())
    return signed


@pytest.fixture
def hana(estate_less: Console, root: Session, tmp_path: Path) -> tuple[Session, Path]:
    """Level HIGH; hana's certificate (console CA, from an openssl CSR) is registered, her key
    stays in tmp_path."""
    with estate_less.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = 'HIGH' WHERE id = 1")
    session = folder_account(estate_less, root, "hana", ["/"], DEPLOYER)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", "hana.key", cwd=tmp_path)
    openssl("req", "-new", "-key", "hana.key", "-subj", "/CN=hana", "-out", "hana.csr",
            cwd=tmp_path)
    issued = estate_less.certificates.issue_from_csr(
        root, (tmp_path / "hana.csr").read_bytes(), IssueRequest(Purpose.SIGNING, "hana"))
    estate_less.signing_keys.register(session, issued.cert_chain_pem, meta=META)
    return session, tmp_path / "hana.key"


def deployments(console: Console) -> int:
    return console.store.conn.execute("SELECT count(*) FROM deployments").fetchone()[0]


def test_verify_import_reports_every_entry_and_sends_nothing(
        estate_less: Console, hana: tuple[Session, Path], tmp_path: Path) -> None:
    session, key = hana
    service = estate_less.deployments
    good = signed_archive(estate_less, session, key, tmp_path)
    report = service.verify_import(session, good, "c-down")
    assert report.ok and "CN=hana" in report.signer and not report.problem
    assert [(e.entry, e.ok) for e in report.entries] == [
        ("app/bye.workflow.json", True), ("app/hello.workflow.json", True)]
    assert all(e.version_id for e in report.entries)

    bad = signed_archive(estate_less, session, key, tmp_path, tamper="hello.workflow.json")
    report = service.verify_import(session, bad, "c-down")
    assert not report.ok
    verdicts = {e.entry: e for e in report.entries}
    assert verdicts["app/bye.workflow.json"].ok
    refused = verdicts["app/hello.workflow.json"].refused
    assert refused is not None and "does not match its signature" in refused.reason
    assert deployments(estate_less) == 0   # a report sends nothing
    audit = estate_less.store.conn.execute(
        "SELECT outcome, parameters FROM audit_log WHERE request = ? ORDER BY id DESC",
        ("./inventory/deployment/import_deploy/verify",)).fetchone()
    assert audit["outcome"] == "REFUSED" and "does not match" in audit["parameters"]
    # import-deploy refuses with the report's own words: one code path
    with pytest.raises(ArchiveRefused) as raised:
        service.import_deploy(session, bad, "c-down", meta=META)
    assert str(raised.value) == str(refused)
    assert deployments(estate_less) == 0


def test_verify_import_reports_a_whole_archive_refusal(
        estate_less: Console, hana: tuple[Session, Path], tmp_path: Path) -> None:
    session, _key = hana
    junk = tmp_path / "junk.zip"
    with zipfile.ZipFile(junk, "w") as archive:
        archive.writestr("notes.txt", "hello")
    report = estate_less.deployments.verify_import(session, junk, "c-down")
    assert not report.ok and report.entries == ()
    assert "notes.txt" in report.problem
    nobody = estate_less.deployments.verify_import(
        folder_account(estate_less, estate_less_root(estate_less), "nokey", ["/"], DEPLOYER),
        junk, "c-down")
    assert "no registered signing certificate" in nobody.problem


def estate_less_root(console: Console) -> Session:
    from tests.conftest import ROOT_PASSWORD, login
    return login(console, "root", ROOT_PASSWORD)
