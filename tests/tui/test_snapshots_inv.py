"""Snapshots of section 3 (inventory and deployments): the tree with an object's detail at
120x40 and at 80x24 with ansi-dark, the deploy confirmation, a schema error after an edit, the
HIGH-level verification report of import-deploy, and the read-only console.

Built from a store-only console (a frozen clock, a Controller registered at a fixed URL where
nothing listens, an archive whose versionId is fixed), so nothing on screen changes between
runs. Update with ``pytest tests/tui/test_snapshots_inv.py --snapshot-update`` (this file
only), then ``python screenshots/update.py``.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from textual.pilot import Pilot

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.deployment.items import entry_name, item_bytes
from js7tui.identity.sessions import Session
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.profiles import Purpose
from js7tui.tui.app import make_app
from tests.conftest import ROOT_PASSWORD
from tests.inventory_fixtures import folder_account
from tests.test_deploy_report import DEPLOYER
from tests.tui.conftest import login, settle
from tests.tui.test_inventory import seed
from tests.tui.test_snapshots import BIG, SMALL, keys, steps

META = AuditMeta()


def open_at(item: str, account: str = "root", password: str = ROOT_PASSWORD):  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot) -> None:
        await login(pilot, account, password)
        pilot.app.open_section("inventory", item)
        await settle(pilot)
    return run


@pytest.fixture
def seeded(console: Console, root: Session) -> Console:
    seed(console, root)
    console.controllers.register(root, "controller-1", "https://127.0.0.1:9", "console", "pw",
                                 meta=META)
    console.controllers.register(root, "controller-2", "https://127.0.0.1:10", "console",
                                 "pw", meta=META)
    return console


def test_tree_and_detail(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(seeded, env=env), terminal_size=BIG,
                        run_before=steps(open_at("/app/hello")))


def test_tree_and_detail_80x24_ansi_dark(snap_compare, seeded: Console,
                                         env: dict[str, str]) -> None:
    app = make_app(seeded, env={**env, "JS7TUI_THEME": "ansi-dark"})
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(open_at("/app/hello")))


def test_deploy_confirmation(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(seeded, env=env), terminal_size=BIG,
                        run_before=steps(open_at("/app"), keys("D"), keys("space")))


def test_schema_error(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    env["EDITOR"] = "sed -i 's/\"agent-1\"/\"no agent\"/; s/\"timeout\": 60/\"timeout\": \"1m\"/'"
    assert snap_compare(make_app(seeded, env=env), terminal_size=BIG,
                        run_before=steps(open_at("/app/hello"), keys("e")))


def test_readonly(snap_compare, seeded: Console, env: dict[str, str]) -> None:
    assert snap_compare(make_app(seeded, env=env, readonly=True), terminal_size=BIG,
                        run_before=steps(open_at("/app/batch/nightly")))


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def release_archive(console: Console, root: Session, work: Path) -> Path:
    """/app signed by hana's openssl key with a fixed versionId; the job resource is changed
    after signing."""
    objects = console.inventory.select(root, ["/app/"], recursive=False)
    with zipfile.ZipFile(work / "release-7.zip", "w") as archive:
        for obj in objects:
            data = item_bytes(obj, "release-7")
            (work / "item.json").write_bytes(data)
            openssl("dgst", "-sha256", "-sign", "hana.key", "-out", "item.sig", "item.json",
                    cwd=work)
            if obj.name == "mail":
                data = data.replace(b"smtp", b"smtq")
            archive.writestr(entry_name(obj), data)
            archive.writestr(entry_name(obj) + ".sig", (work / "item.sig").read_bytes())
    return work / "release-7.zip"


def test_high_import_report(snap_compare, seeded: Console, root: Session,
                            env: dict[str, str], tmp_path: Path) -> None:
    seeded.certificates.create_ca(root, KeyType.EC_P256, meta=META)
    with seeded.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = 'HIGH' WHERE id = 1")
    hana = folder_account(seeded, root, "hana", ["/"], DEPLOYER)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", "hana.key", cwd=tmp_path)
    openssl("req", "-new", "-key", "hana.key", "-subj", "/CN=hana", "-out", "hana.csr",
            cwd=tmp_path)
    issued = seeded.certificates.issue_from_csr(
        root, (tmp_path / "hana.csr").read_bytes(), IssueRequest(Purpose.SIGNING, "hana"))
    seeded.signing_keys.register(hana, issued.cert_chain_pem, meta=META)
    archive = release_archive(seeded, root, tmp_path)

    async def choose(pilot: Pilot) -> None:
        await pilot.press("I")
        await settle(pilot)
        pilot.app.focused.value = str(archive)  # type: ignore[union-attr]
        await pilot.press("enter")

    assert snap_compare(make_app(seeded, env=env), terminal_size=BIG, run_before=steps(
        open_at("/app", "hana", "a-good-password-42"), choose))
