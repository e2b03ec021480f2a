"""The engines know the installation's security level (issue 16, item 3), against real
``js7tui controller|agent serve`` processes: at HIGH only the personal signing certificates
the bundle names may sign, a configuration never lowers the level, and a console store lowered
by SQL cannot deploy what the engines' level forbids.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from js7tui.audit import AuditMeta
from js7tui.client import ControllerRefused
from js7tui.demo import Js7Error, start_child
from js7tui.deployment import ArchiveRefused
from js7tui.engine.shapes import update_items_body
from js7tui.inventory import ObjectType
from js7tui.pki import records
from js7tui.pki.bundle_import import BundleRefused, import_bundle
from js7tui.pki.pem import certs_pem
from js7tui.pki.profiles import Purpose
from js7tui.signing import SignedItem
from js7tui.signing.algorithms import Algorithm, sign_raw
from tests.estate import STORE_PASSWORD, Estate, wait_attached, wait_order, workflow

pytestmark = pytest.mark.slow
META = AuditMeta()


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    """A console raised to HIGH (what the installation trigger allows) with one personal
    signing certificate registered to root (its key outside), before any bundle is made."""
    estate = Estate(tmp_path_factory.mktemp("level"))
    estate.unregistered = estate.issue(Purpose.SIGNING, "made-inside")  # type: ignore[attr-defined]
    estate.signer = estate.issue(Purpose.SIGNING, "root")  # root's own; its key stays here
    with estate.console.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = 'HIGH' WHERE id = 1")
    estate.console.signing_keys.register(
        estate.admin, certs_pem(estate.signer.chain[:2]), meta=META)
    try:
        estate.start_all()
        estate.register()
        estate.console.inventory.create_folder(estate.admin, "/app", meta=META)
        yield estate
    finally:
        estate.stop_all()


def flow_text(message: str) -> str:
    return json.dumps({
        "TYPE": "Workflow", "instructions": [{"TYPE": "Execute.Named", "jobName": "j"}],
        "jobs": {"j": {"agentPath": "agent-1", "executable": {
            "TYPE": "ShellScriptExecutable", "script": f"echo {message}"}}}})


def test_the_bundle_carries_the_level_and_the_personal_signers(estate: Estate) -> None:
    text = (estate.dir("controller-1") / "bundle.toml").read_text()
    assert 'security_level = "HIGH"' in text
    fingerprint = estate.signer.cert.fingerprint(hashes.SHA256()).hex()
    assert f'registered_signers = ["{fingerprint}"]' in text
    with estate.client() as ctl:
        assert ctl.call("GET", "/api")["securityLevel"] == "HIGH"


def test_at_high_a_signing_ca_certificate_registered_to_nobody_is_refused(
        estate: Estate) -> None:
    """Issued by the signing CA (so it chains) but nobody's registered certificate: refused by
    the Controller and by the Agent when POSTed straight with the console's own certificate."""
    item = estate.sign(workflow("unregistered", {"j": ("agent-1", "echo pwned")}),
                       estate.unregistered)  # type: ignore[attr-defined]
    with estate.client() as ctl, pytest.raises(ControllerRefused) as refused:
        ctl.deploy([item])
    assert refused.value.code == "SignerNotRegistered"
    assert "only registered personal signing certificates" in str(refused.value)
    with estate.as_controller("agent-1") as agent, pytest.raises(ControllerRefused) as direct:
        agent.call("POST", "/api/item", json=update_items_body([item.to_wire()]))
    assert direct.value.code == "SignerNotRegistered"
    # The registered one deploys and runs.
    with estate.client() as ctl:
        flow = {**workflow("registered", {"j": ("agent-1", "echo fine")}),
                "versionCreated": datetime.now(UTC).isoformat()}
        assert ctl.deploy([estate.sign(flow)])[0]["outcome"] == "added"
        wait_attached(ctl, "registered")
        ctl.add_order("registered-1", "registered")
        assert wait_order(ctl, "registered-1").state == "finished"


# -- anti-rollback (item 4) -------------------------------------------------------------------
def created(seconds: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=1) + timedelta(seconds=seconds)).isoformat()


def test_an_older_signed_version_is_refused_at_the_controller_and_the_agent(
        estate: Estate) -> None:
    def flow(version: str, at: int | None) -> dict[str, object]:
        document = workflow("ordered", {"j": ("agent-1", f"echo {version}")}, version=version)
        if at is not None:
            document["versionCreated"] = created(at)
        return document

    old, new, newer = (estate.sign(flow(v, at)) for v, at in (("v1", 1), ("v2", 2), ("v3", 3)))
    with estate.client() as ctl:
        assert ctl.deploy([old])[0]["outcome"] == "added"
        assert ctl.deploy([new])[0]["outcome"] == "changed"
        for replay in (old, estate.sign(flow("v0", None))):
            with pytest.raises(ControllerRefused) as refused:
                ctl.deploy([replay])
            assert refused.value.code in ("VersionNotNewer", "VersionOrderMissing")
        with pytest.raises(ControllerRefused) as refused:
            ctl.deploy([old])  # held from before: it would become current again
        assert refused.value.code == "VersionNotNewer"
        assert "not after" in str(refused.value)
        # Deleted and added again: the order is kept.
        ctl.call("POST", "/api/item", json={"TYPE": "UpdateItems", "operations": [
            {"TYPE": "DeleteItem", "itemType": "Workflow", "path": "ordered"}]})
        with pytest.raises(ControllerRefused) as refused:
            ctl.deploy([old])
        assert refused.value.code == "VersionNotNewer"
        assert ctl.deploy([newer])[0]["outcome"] == "added"
    with estate.as_controller("agent-1") as agent:
        body = update_items_body([estate.sign(flow("a2", 20)).to_wire()])
        agent.call("POST", "/api/item", json=body)
        for replay in (estate.sign(flow("a1", 10)), estate.sign(flow("a0", None))):
            with pytest.raises(ControllerRefused) as direct:
                agent.call("POST", "/api/item", json=update_items_body([replay.to_wire()]))
            assert direct.value.code in ("VersionNotNewer", "VersionOrderMissing")


def signed_archive(estate: Estate, work: Path) -> Path:
    """Export /app for signing and sign every entry outside the console (the registered
    personal certificate's key, SHA512withECDSA), as an administrator would."""
    exported = work / "export.zip"
    estate.console.exports.for_signing(estate.admin, ["/app"], exported, meta=META)
    signed = work / "signed.zip"
    key = estate.signer.key
    assert key is not None
    with zipfile.ZipFile(exported) as source, zipfile.ZipFile(signed, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, data)
            if info.filename.endswith(".json"):
                target.writestr(info.filename + ".sig",
                                sign_raw(Algorithm.SHA512_ECDSA, key, data))
    return signed


def test_import_deploy_takes_the_signed_content_and_refuses_an_older_version(
        estate: Estate, tmp_path: Path) -> None:
    console, admin = estate.console, estate.admin
    console.inventory.create(admin, ObjectType.WORKFLOW, "/app/rolled", flow_text("first"),
                             meta=META)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = signed_archive(estate, tmp_path / "a")
    console.inventory.update(admin, "/app/rolled", flow_text("second"), meta=META)
    second = signed_archive(estate, tmp_path / "b")
    # The inventory holds something else again (a development instance's content, say):
    console.inventory.update(admin, "/app/rolled", flow_text("third-not-signed"), meta=META)
    result = console.deployments.import_deploy(admin, second, "controller-1", meta=META)
    assert result.ok, result.targets
    content = json.dumps(console.inventory.get(admin, "/app/rolled").content)
    assert "echo second" in content and "third-not-signed" not in content
    # The older signed archive: refused by the console ...
    with pytest.raises(ArchiveRefused, match="VersionNotNewer"):
        console.deployments.import_deploy(admin, first, "controller-1", meta=META)
    # ... and by the Controller when its item is POSTed straight.
    with zipfile.ZipFile(first) as archive:
        name = next(n for n in archive.namelist() if n.startswith("app/rolled.workflow.json")
                    and n.endswith(".json"))
        data, signature = archive.read(name), archive.read(name + ".sig")
    item = SignedItem(data.decode(), {
        "TYPE": "X509", "algorithm": "SHA512withECDSA",
        "signatureString": base64.b64encode(signature).decode(),
        "signerCertificate": certs_pem(estate.signer.chain[:2]).decode()})
    with estate.client() as ctl, pytest.raises(ControllerRefused) as refused:
        ctl.deploy([item])
    assert refused.value.code == "VersionNotNewer"


def test_a_store_lowered_to_low_by_sql_cannot_deploy_to_a_high_controller(
        estate: Estate, tmp_path) -> None:  # type: ignore[no-untyped-def]
    console, admin = estate.console, estate.admin
    console.inventory.create(admin, ObjectType.WORKFLOW, "/app/lowered", flow_text("lowered"),
                             meta=META)
    conn = sqlite3.connect(console.store.path)
    triggers = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'installation'")]
    for name in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE installation SET security_level = 'LOW' WHERE id = 1")
    conn.commit()
    conn.close()
    # LOW: the console makes and holds an installation key (signed by the signing CA) ...
    console.signing_keys.generate(admin, meta=META)
    result = console.deployments.deploy(admin, ["/app"], ["controller-1"], meta=META)
    # ... and the HIGH Controller refuses what it signs.
    assert not result.ok and result.refused
    assert "SignerNotRegistered" in result.targets[0].message, result.targets[0]
    with estate.client() as ctl:
        assert all(i.path != "lowered" for i in ctl.items())

    # A bundle made from the lowered store does not lower the Controller's level either:
    archive = tmp_path / "low.bundle.zip"
    serial = next(r.serial for r in records.certificates(console.store.conn,
                                                         purpose="controller"))
    console.certificates.renew(admin, serial or "", keep_key=True, meta=META)
    console.certificates.bundle(admin, "controller", "controller-1", password=STORE_PASSWORD,
                                write=archive.write_bytes)
    with pytest.raises(BundleRefused, match="lower than the level HIGH"):
        import_bundle(archive, estate.dir("controller-1"), component="controller",
                      password=STORE_PASSWORD.encode())
    # ... and a bundle.toml lowered by hand stops the Controller at start.
    estate.pin_port("controller-1")
    estate.stop("controller-1")
    bundle = estate.dir("controller-1") / "bundle.toml"
    original = bundle.read_text()
    bundle.write_text(original.replace('security_level = "HIGH"', 'security_level = "LOW"'))
    with pytest.raises(Js7Error, match="lower than HIGH, the highest this journal ran with"):
        start_child("controller", estate.dir("controller-1"))
    bundle.write_text(original)
    estate.start("controller", "controller-1")
