"""Signing keys by security level, deploy, revoke and import-deploy, end to end: a real
Controller and Agent (tests/estate.py), real openssl keys, CSRs and signatures, orders that run.

One estate serves the module. The console starts at LOW and the tests raise its level to MEDIUM
and then HIGH in file order (raising is what the installation trigger allows; a real home gets
its level at init), so the same Controller sees all three.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.config import ArchiveConfig
from js7tui.console import Console
from js7tui.deployment import ArchiveRefused
from js7tui.deployment.keys import HighLevelRefused
from js7tui.errors import NotFound, PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from js7tui.inventory import ObjectType
from js7tui.permissions.names import (
    CONTROLLER_DEPLOY,
    INVENTORY_DEPLOY,
    INVENTORY_MANAGE,
    INVENTORY_VIEW,
)
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.profiles import Purpose
from tests.estate import Estate, running_estate, wait_order
from tests.hostile_archives import CASES, CONTENT_CASES, zip_with
from tests.inventory_fixtures import folder_account

pytestmark = pytest.mark.slow
META = AuditMeta()
DEPLOYER = (INVENTORY_VIEW, INVENTORY_MANAGE, INVENTORY_DEPLOY, CONTROLLER_DEPLOY,
            "sos:products:controller:view")


def workflow_text(message: str) -> str:
    return json.dumps({
        "TYPE": "Workflow",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "say"}],
        "jobs": {"say": {"agentPath": "agent-1", "executable": {
            "TYPE": "ShellScriptExecutable", "script": f"#!/bin/sh\necho {message}\n"}}},
    })


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("deploy")) as estate:
        console, admin = estate.console, estate.admin
        estate.register(dead="controller-down")
        console.inventory.create_folder(admin, "/app", meta=META)
        console.inventory.create(admin, ObjectType.WORKFLOW, "/app/hello",
                                 workflow_text("hello-low"), meta=META)
        yield estate


@pytest.fixture(scope="module")
def console(estate: Estate) -> Console:
    return estate.console


@pytest.fixture(scope="module")
def admin(estate: Estate) -> Session:
    return estate.admin


def raise_level(console: Console, level: str) -> None:
    with console.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = ? WHERE id = 1", (level,))


def run(estate: Estate, order_id: str, workflow: str = "hello") -> str:
    with estate.client() as client:
        client.add_order(order_id, workflow)
        order = wait_order(client, order_id)
    assert order.state == "finished", order
    return order.steps[0].stdout


def deployed_version(estate: Estate, name: str) -> str | None:
    with estate.client() as client:
        return next((i.version_id for i in client.items() if i.path == name), None)


def openssl(*args: str, cwd: Path) -> bytes:
    return subprocess.run(["openssl", *args], cwd=cwd, check=True,
                          capture_output=True).stdout


def audit_rows(console: Console, request: str) -> list[sqlite3.Row]:
    return console.store.conn.execute(
        "SELECT * FROM audit_log WHERE request = ? ORDER BY id", (request,)).fetchall()


# -- LOW -------------------------------------------------------------------------------------
def test_low_every_deployer_signs_with_the_installation_key(estate: Estate, console: Console,
                                                            admin: Session) -> None:
    deployer = folder_account(console, admin, "deployer", ["/"], DEPLOYER)
    with pytest.raises(NotFound, match="no signing key yet"):
        console.deployments.deploy(deployer, ["/app"], ["controller-1"], meta=META)
    installation = console.signing_keys.generate(admin, meta=META)
    assert installation.account == "root"
    assert console.signing_keys.show(deployer).subject == installation.subject
    result = console.deployments.deploy(deployer, ["/app"], ["controller-1"], meta=META)
    assert result.ok and result.signer == installation.subject
    assert deployed_version(estate, "hello") == result.commit_id
    assert run(estate, "low-1").strip() == "hello-low"
    history = console.deployments.history(deployer)[0]
    assert history.commit_id == result.commit_id and history.account == "deployer"
    assert history.objects == (("WORKFLOW", "/app/hello", result.commit_id),)
    row = console.store.conn.execute("SELECT * FROM audit_log WHERE id = ?",
                                     (history.audit_id,)).fetchone()
    assert row["category"] == "DEPLOYMENT" and row["commit_id"] == result.commit_id
    assert "BEGIN" not in row["parameters"]  # no key material in the audit log


def test_deploy_needs_the_deploy_permission_on_each_controller(console: Console,
                                                               admin: Session) -> None:
    only_view = folder_account(console, admin, "viewer", ["/"],
                               (INVENTORY_VIEW, INVENTORY_DEPLOY))
    before = len(console.deployments.history(admin))
    with pytest.raises(PermissionDenied, match="on Controller 'controller-1'"):
        console.deployments.deploy(only_view, ["/app"], ["controller-1"], meta=META)
    assert len(console.deployments.history(admin)) == before
    refused = audit_rows(console, "./inventory/deployment/deploy")[-1]
    assert refused["outcome"] == "REFUSED" and refused["account"] == "viewer"


def test_history_shows_only_objects_in_the_accounts_folders(console: Console,
                                                            admin: Session) -> None:
    outsider = folder_account(console, admin, "outsider", ["/elsewhere"], DEPLOYER)
    assert console.deployments.history(outsider) == []
    commit = console.deployments.history(admin)[0].commit_id
    with pytest.raises(NotFound, match="that you may see"):
        console.deployments.show(outsider, commit)


def test_a_failing_controller_is_recorded_with_its_reason(estate: Estate, console: Console,
                                                          admin: Session) -> None:
    result = console.deployments.deploy(admin, ["/app/hello"],
                                        ["controller-1", "controller-down"], meta=META)
    states = {t.controller_id: (t.state, t.message) for t in result.targets}
    assert states["controller-1"] == ("ACCEPTED", "")
    by_id = {t.controller_id: t for t in result.targets}
    assert by_id["controller-1"].done and by_id["controller-1"].word == "deployed"
    assert [(a.agent, a.state) for a in by_id["controller-1"].agents] == [
        ("agent-1", "attached")]
    # nothing reached the down Controller: not applied, and said so
    assert states["controller-down"][0] == "NOT_APPLIED"
    assert "cannot reach the Controller" in states["controller-down"][1]
    assert "nothing was sent" in states["controller-down"][1]
    assert not result.ok and result.refused
    assert console.deployments.show(admin, result.commit_id).targets == result.targets


def test_revoke_removes_the_item_and_is_a_deployment(estate: Estate, console: Console,
                                                     admin: Session) -> None:
    result = console.deployments.revoke(admin, ["/app/hello"], ["controller-1"], meta=META)
    assert result.ok and result.operation == "REVOKE"
    assert deployed_version(estate, "hello") is None
    console.deployments.deploy(admin, ["/app"], ["controller-1"], meta=META)


def test_a_controller_refusal_is_recorded_with_the_controllers_reason(
        estate: Estate, console: Console, admin: Session) -> None:
    console.inventory.create(admin, ObjectType.WORKFLOW, "/app/nowhere", json.dumps({
        "TYPE": "Workflow", "instructions": [{"TYPE": "Execute.Named", "jobName": "j"}],
        "jobs": {"j": {"agentPath": "agent-unknown", "executable": {
            "TYPE": "ShellScriptExecutable", "script": "#!/bin/sh\ntrue\n"}}}}), meta=META)
    result = console.deployments.deploy(admin, ["/app/nowhere"], ["controller-1"], meta=META)
    target = result.targets[0]
    assert target.state == "REFUSED" and "agent-unknown" in target.message
    assert target.summary.startswith("refused by the Controller: UnknownAgent")
    console.inventory.delete(admin, ["/app/nowhere"], meta=META)


# -- MEDIUM ----------------------------------------------------------------------------------
def test_medium_each_account_signs_with_its_own_key(estate: Estate, console: Console,
                                                    admin: Session, tmp_path: Path) -> None:
    raise_level(console, "MEDIUM")
    alice = folder_account(console, admin, "alice", ["/"], DEPLOYER)
    with pytest.raises(NotFound, match="'alice' has no signing key"):
        console.deployments.deploy(alice, ["/app"], ["controller-1"], meta=META)
    own = console.signing_keys.generate(alice, meta=META)
    assert own.account == "alice" and "alice-signing" in own.subject
    result = console.deployments.deploy(alice, ["/app"], ["controller-1"], meta=META)
    assert result.ok and result.signer == own.subject
    assert deployed_version(estate, "hello") == result.commit_id

    # bob brings key and certificate made outside: an openssl key, a CSR signed by the CA.
    bob = folder_account(console, admin, "bob", ["/"], DEPLOYER)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", "bob.key", cwd=tmp_path)
    openssl("req", "-new", "-key", "bob.key", "-subj", "/CN=bob", "-out", "bob.csr",
            cwd=tmp_path)
    issued = console.certificates.issue_from_csr(
        admin, (tmp_path / "bob.csr").read_bytes(), IssueRequest(Purpose.SIGNING, "bob"))
    imported = console.signing_keys.import_key(bob, (tmp_path / "bob.key").read_bytes(),
                                               issued.cert_chain_pem, meta=META)
    assert imported.origin == "IMPORTED"
    by_bob = console.deployments.deploy(bob, ["/app"], ["controller-1"], meta=META)
    assert by_bob.ok and "bob" in by_bob.signer
    assert run(estate, "medium-1").strip() == "hello-low"


def test_medium_key_import_refuses_a_key_that_is_not_the_certificates(
        console: Console, tmp_path: Path) -> None:
    bob = folder_account(console, console_admin(console), "carol", ["/"], DEPLOYER)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", "other.key", cwd=tmp_path)
    issued = console.certificates.issue(console_admin(console),
                                        IssueRequest(Purpose.SIGNING, "carol"))
    with pytest.raises(Exception, match="does not belong to the certificate"):
        console.signing_keys.import_key(bob, (tmp_path / "other.key").read_bytes(),
                                        issued.cert_chain_pem, meta=META)


def console_admin(console: Console) -> Session:
    from tests.conftest import ROOT_PASSWORD, login
    return login(console, "root", ROOT_PASSWORD)


# -- HIGH ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def high(estate: Estate, tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[Session, Path, Session, Path]:
    """Level HIGH; 'hana' and 'otto' registered certificates for keys made with openssl
    (RSA and EC) that never enter the console."""
    console, admin = estate.console, console_admin(estate.console)
    raise_level(console, "HIGH")
    work = tmp_path_factory.mktemp("keys")
    out = []
    for name, args in (("hana", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                       ("otto", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])):
        session = folder_account(console, admin, name, ["/"], DEPLOYER)
        openssl("genpkey", *args, "-out", f"{name}.key", cwd=work)
        openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}",
                "-out", f"{name}.csr", cwd=work)
        issued = console.certificates.issue_from_csr(
            admin, (work / f"{name}.csr").read_bytes(), IssueRequest(Purpose.SIGNING, name))
        (work / f"{name}.pem").write_bytes(issued.cert_chain_pem)
        console.signing_keys.register(session, issued.cert_chain_pem, meta=META)
        out += [session, work / f"{name}.key"]
    return out[0], out[1], out[2], out[3]


def sign_archive(console: Console, session: Session, key: Path, work: Path, *,
                 tamper: bool = False, with_pem: Path | None = None) -> Path:
    """Export for signing, unpack with unzip, sign every file with the openssl CLI, pack."""
    exported = work / "export.zip"
    console.exports.for_signing(session, ["/app"], exported, meta=META)
    tree = work / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir()
    with zipfile.ZipFile(exported) as archive:
        archive.extractall(tree)
    for target in sorted(tree.rglob("*.json")):
        if "ed25519" in openssl("pkey", "-in", str(key), "-text_pub", cwd=work).decode().lower():
            openssl("pkeyutl", "-sign", "-rawin", "-inkey", str(key), "-in", str(target),
                    "-out", f"{target}.sig", cwd=work)
        else:
            openssl("dgst", "-sha256", "-sign", str(key), "-out", f"{target}.sig",
                    str(target), cwd=work)
        if with_pem is not None:
            shutil.copy(with_pem, f"{target}.pem")
        if tamper:
            data = bytearray(target.read_bytes())
            data[data.index(b"echo") + 5] ^= 0x01  # one byte of the script
            target.write_bytes(bytes(data))
    signed = work / "signed.zip"
    signed.unlink(missing_ok=True)
    subprocess.run(["zip", "-qr", str(signed), "."], cwd=tree, check=True)
    return signed


def test_high_refuses_signing_inside_and_private_keys(
        console: Console, high: tuple[Session, Path, Session, Path], tmp_path: Path) -> None:
    hana = high[0]
    with pytest.raises(HighLevelRefused, match="the console never signs"):
        console.deployments.deploy(hana, ["/app"], ["controller-1"], meta=META)
    with pytest.raises(HighLevelRefused, match="no private key ever enters"):
        console.signing_keys.generate(hana, meta=META)
    with pytest.raises(HighLevelRefused, match="importing a private key"):
        console.signing_keys.import_key(hana, high[1].read_bytes(), b"", meta=META)
    refused = [r for r in console.store.conn.execute(
        "SELECT * FROM audit_log WHERE account = 'hana' AND outcome = 'REFUSED'")]
    assert len(refused) >= 3
    with pytest.raises(sqlite3.IntegrityError, match="HIGH"), \
            console.store.transaction() as conn:
        conn.execute("UPDATE signing_keys SET key_sealed = 'x' WHERE account = 'hana'")
    assert console.signing_keys.show(hana).key is None


def test_high_deploys_an_archive_signed_with_openssl(
        estate: Estate, console: Console, high: tuple[Session, Path, Session, Path],
        tmp_path: Path) -> None:
    hana, hana_key = high[0], high[1]
    console.inventory.update(hana, "/app/hello", workflow_text("hello-high"), meta=META)
    signed = sign_archive(console, hana, hana_key, tmp_path)
    result = console.deployments.import_deploy(hana, signed, "controller-1", meta=META)
    assert result.ok and result.operation == "IMPORT_DEPLOY" and "hana" in result.signer
    version = result.objects[0][2]
    assert deployed_version(estate, "hello") == version
    assert run(estate, "high-1").strip() == "hello-high"
    with pytest.raises(ArchiveRefused, match="deployed to Controller 'controller-1' already"):
        console.deployments.import_deploy(hana, signed, "controller-1", meta=META)


def test_high_one_changed_byte_is_refused_and_nothing_deployed(
        estate: Estate, console: Console, high: tuple[Session, Path, Session, Path],
        tmp_path: Path) -> None:
    before = deployed_version(estate, "hello")
    signed = sign_archive(console, high[0], high[1], tmp_path, tamper=True)
    with pytest.raises(ArchiveRefused, match="does not match its signature") as refused:
        console.deployments.import_deploy(high[0], signed, "controller-1", meta=META)
    assert "SHA256withRSA" in str(refused.value)
    # otto's EC key: the SHA-256 signature (openssl dgst -sha256) is not blamed on
    # SHA512withECDSA, the last algorithm tried; both are named.
    by_otto = sign_archive(console, high[2], high[3], tmp_path, tamper=True)
    with pytest.raises(ArchiveRefused, match="does not match its signature") as refused:
        console.deployments.import_deploy(high[2], by_otto, "controller-1", meta=META)
    assert "signature (SHA512withECDSA by" not in str(refused.value)
    assert "neither SHA256withECDSA nor SHA512withECDSA by 'CN=otto" in str(refused.value)
    assert deployed_version(estate, "hello") == before
    assert audit_rows(console, "./inventory/deployment/import_deploy")[-1]["outcome"] == \
        "REFUSED"


def test_high_an_archive_signed_by_another_accounts_key_is_refused(
        estate: Estate, console: Console, high: tuple[Session, Path, Session, Path],
        tmp_path: Path) -> None:
    hana, otto, otto_key = high[0], high[2], high[3]
    before = deployed_version(estate, "hello")
    by_otto = sign_archive(console, otto, otto_key, tmp_path)
    with pytest.raises(ArchiveRefused, match="does not match its signature"):
        console.deployments.import_deploy(hana, by_otto, "controller-1", meta=META)
    with_pem = sign_archive(console, otto, otto_key, tmp_path,
                            with_pem=otto_key.with_suffix(".pem"))
    with pytest.raises(ArchiveRefused, match="not your registered signing certificate"):
        console.deployments.import_deploy(hana, with_pem, "controller-1", meta=META)
    assert deployed_version(estate, "hello") == before


@pytest.mark.parametrize(("case", "builder", "entry", "reason"), CASES,
                         ids=[c[0] for c in CASES])
def test_high_every_hostile_archive_is_refused_and_nothing_deployed(
        console: Console, high: tuple[Session, Path, Session, Path], tmp_path: Path,
        case: str, builder, entry: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    service = console.deployments
    service.limits, limits = ArchiveConfig(max_entries=10, max_bytes=2**20,
                                           max_entry_bytes=2**20), service.limits
    commits = len(service.history(high[0], limit=1000))
    try:
        with pytest.raises(ArchiveRefused) as refused:
            service.import_deploy(high[0], builder(tmp_path), "controller-1", meta=META)
    finally:
        service.limits = limits
    message = str(refused.value)
    assert reason in message, message
    if entry:
        assert f"entry '{entry}'" in message, message
    assert len(service.history(high[0], limit=1000)) == commits
    refusal = audit_rows(console, "./inventory/deployment/import_deploy")[-1]
    assert refusal["outcome"] == "REFUSED" and reason in refusal["parameters"]


@pytest.mark.parametrize(("case", "entries", "entry", "reason"),
                         [*CONTENT_CASES, ("unknown-path", [
                             ("app/other.workflow.json", b"{}"),
                             ("app/other.workflow.json.sig", b"c2ln")],
                          "app/other.workflow.json", "no workflow /app/other in the inventory")],
                         ids=[c[0] for c in CONTENT_CASES] + ["unknown-path"])
def test_high_archives_that_do_not_belong_are_refused(
        console: Console, high: tuple[Session, Path, Session, Path], tmp_path: Path,
        case: str, entries: list[tuple[str, bytes]], entry: str, reason: str) -> None:
    archive = zip_with(tmp_path / "a.zip", entries)
    with pytest.raises(ArchiveRefused, match=reason.replace("(", r"\(")) as refused:
        console.deployments.import_deploy(high[0], archive, "controller-1", meta=META)
    assert refused.value.entry == entry


# -- the command line ------------------------------------------------------------------------
def test_cli_import_deploy_history_and_refusals(
        estate: Estate, console: Console, high: tuple[Session, Path, Session, Path],
        tmp_path: Path) -> None:
    from tests.test_cli import Cli
    cli = Cli(tmp_path)
    cli.env["JS7TUI_HOME"] = str(estate.root / "home")
    code, _, err = cli("login", "--account", "hana", "--password-stdin",
                       stdin="a-good-password-42\n")
    assert code == 0, err
    code, out, _ = cli("signing-key", "show")
    assert code == 0 and "CN=hana" in out and "REGISTERED" in out
    code, _, err = cli("deploy", "/app", "--controller", "controller-1")
    assert code != 0 and "security level HIGH" in err and "import-deploy" in err
    console.inventory.update(high[0], "/app/hello", workflow_text("hello-cli"), meta=META)
    signed = sign_archive(console, high[0], high[1], tmp_path)
    code, out, err = cli("import-deploy", str(signed), "--controller", "controller-1",
                         "--comment", "release 7")
    assert code == 0, err
    assert re.search(r"controller-1 +deployed", out), out
    assert re.search(r"controller-1 +agent-1 +attached", out), out
    commit = out.split()[1].rstrip(":")
    assert run(estate, "cli-1").strip() == "hello-cli"
    code, out, _ = cli("deployment", "show", commit)
    assert code == 0 and "import_deploy by hana" in out and "/app/hello" in out
    code, out, _ = cli("deployment", "list", "--controller", "controller-1")
    assert code == 0 and commit in out
    code, _, err = cli("import-deploy", str(signed), "--controller", "controller-1")
    assert code != 0 and "already" in err and "Traceback" not in err
    code, out, err = cli("revoke", "/app/hello", "--controller", "controller-1",
                         "--controller", "controller-down")
    assert code == 9 and re.search(r"controller-down +not-applied", out), out


def test_high_ed25519_certificate_from_the_organisations_ca(
        estate: Estate, console: Console, high: tuple[Session, Path, Session, Path],
        tmp_path: Path) -> None:
    """An organisation's CA made with openssl, an Ed25519 signing certificate from it (the
    console's CA takes no Ed25519 requests), signatures by ``openssl pkeyutl -rawin``; the
    Controller and Agent trust that CA through their trusted-x509-keys directories."""
    admin = console_admin(console)
    eddie = folder_account(console, admin, "eddie", ["/"], DEPLOYER)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", "org.key", cwd=tmp_path)
    openssl("req", "-x509", "-new", "-key", "org.key", "-subj", "/O=Example/CN=Example Root",
            "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "org.pem", cwd=tmp_path)
    openssl("genpkey", "-algorithm", "ed25519", "-out", "eddie.key", cwd=tmp_path)
    openssl("req", "-new", "-key", "eddie.key", "-subj", "/O=Example/CN=eddie",
            "-out", "eddie.csr", cwd=tmp_path)
    (tmp_path / "ext.cnf").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n")
    openssl("x509", "-req", "-in", "eddie.csr", "-CA", "org.pem", "-CAkey", "org.key",
            "-CAcreateserial", "-days", "10", "-extfile", "ext.cnf", "-out", "eddie.pem",
            cwd=tmp_path)
    estate.clock.current = datetime.now(UTC)  # openssl's certificate starts at its issuing
    chain = (tmp_path / "eddie.pem").read_bytes() + (tmp_path / "org.pem").read_bytes()
    registered = console.signing_keys.register(eddie, chain, meta=META)
    assert "eddie" in registered.subject and registered.key is None
    for server in ("controller-1", "agent-1"):
        shutil.copy(tmp_path / "org.pem", estate.dir(server) / "trusted-x509-keys" / "org.pem")
    console.inventory.update(eddie, "/app/hello", workflow_text("hello-ed25519"), meta=META)
    signed = sign_archive(console, eddie, tmp_path / "eddie.key", tmp_path)
    result = console.deployments.import_deploy(eddie, signed, "controller-1", meta=META)
    assert result.ok, result.targets
    assert run(estate, "ed-1").strip() == "hello-ed25519"


def test_a_revoked_signing_certificate_deploys_nothing(
        estate: Estate, console: Console, high: tuple[Session, Path, Session, Path],
        tmp_path: Path) -> None:
    otto, otto_key = high[2], high[3]
    before = deployed_version(estate, "hello")
    signed = sign_archive(console, otto, otto_key, tmp_path)
    serial = console.signing_keys.show(otto).cert.serial_number
    console.certificates.revoke(console_admin(console), format(serial, "x"), "keyCompromise")
    with pytest.raises(ValidationError, match="was revoked by the console's CA"):
        console.deployments.import_deploy(otto, signed, "controller-1", meta=META)
    with pytest.raises(ValidationError, match="was revoked"):
        console.signing_keys.register(otto, otto_key.with_suffix(".pem").read_bytes(),
                                      meta=META)
    assert deployed_version(estate, "hello") == before
