"""The engines know the installation's security level (issue 16, item 3), against real
``js7tui controller|agent serve`` processes: at HIGH only the personal signing certificates
the bundle names may sign, a configuration never lowers the level, and a console store lowered
by SQL cannot deploy what the engines' level forbids.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes

from js7tui.audit import AuditMeta
from js7tui.client import ControllerRefused
from js7tui.demo import Js7Error, start_child
from js7tui.engine.shapes import update_items_body
from js7tui.inventory import ObjectType
from js7tui.pki import records
from js7tui.pki.bundle_import import BundleRefused, import_bundle
from js7tui.pki.pem import certs_pem
from js7tui.pki.profiles import Purpose
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
        yield estate.start_all()
    finally:
        estate.stop_all()


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
        flow = workflow("registered", {"j": ("agent-1", "echo fine")})
        assert ctl.deploy([estate.sign(flow)])[0]["outcome"] == "added"
        wait_attached(ctl, "registered")
        ctl.add_order("registered-1", "registered")
        assert wait_order(ctl, "registered-1").state == "finished"


def test_a_store_lowered_to_low_by_sql_cannot_deploy_to_a_high_controller(
        estate: Estate, tmp_path) -> None:  # type: ignore[no-untyped-def]
    console, admin = estate.console, estate.admin
    estate.register()
    console.inventory.create_folder(admin, "/app", meta=META)
    console.inventory.create(admin, ObjectType.WORKFLOW, "/app/lowered", (
        '{"TYPE": "Workflow", "instructions": [{"TYPE": "Execute.Named", "jobName": "j"}], '
        '"jobs": {"j": {"agentPath": "agent-1", "executable": {"TYPE": '
        '"ShellScriptExecutable", "script": "echo lowered"}}}}'), meta=META)
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
