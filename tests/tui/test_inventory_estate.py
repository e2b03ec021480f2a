"""Section 3 against a real Controller and Agent (tests/estate.py), keys only: generate the
installation key in the profile screen, deploy a workflow from the tree, run an order and read
its output, see a Controller's refusal reason, revoke, read the history; then at HIGH
import-deploy an archive signed with the openssl CLI after its verification report, and see a
tampered archive refused in the report with nothing sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import ProgressBar, Static

from js7tui.audit import AuditMeta
from js7tui.identity.sessions import Session
from js7tui.inventory import ObjectType
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.profiles import Purpose
from js7tui.tui.app import Js7App, make_app
from js7tui.tui.screens.deployments import DeploymentsScreen
from js7tui.tui.screens.inventory import InventoryScreen
from js7tui.tui.screens.signing_profile import SigningProfileScreen
from js7tui.tui.widgets.deploy_modals import ImportReportModal, TextModal
from js7tui.tui.widgets.lists import HouseTable
from tests.conftest import ROOT_PASSWORD
from tests.estate import Estate, running_estate, wait_order
from tests.inventory_fixtures import folder_account
from tests.test_deploy_e2e import DEPLOYER, openssl, sign_archive, workflow_text
from tests.tui.conftest import login, settle, type_text

pytestmark = pytest.mark.slow
META = AuditMeta()


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("tui-inv")) as estate:
        console, admin = estate.console, estate.admin
        estate.register(dead="controller-down")
        console.inventory.create_folder(admin, "/app", meta=META)
        console.inventory.create(admin, ObjectType.WORKFLOW, "/app/hello",
                                 workflow_text("hello-tui"), meta=META)
        yield estate


def body(app: Js7App, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def deployed_version(estate: Estate, name: str) -> str | None:
    with estate.client() as client:
        return next((i.version_id for i in client.items() if i.path == name), None)


def run_order(estate: Estate, order_id: str) -> str:
    with estate.client() as client:
        client.add_order(order_id, "hello")
        order = wait_order(client, order_id)
    assert order.state == "finished", order
    return order.steps[0].stdout.strip()


async def to_item(pilot, account: str, password: str, item: str) -> None:  # type: ignore[no-untyped-def]
    await login(pilot, account, password)
    pilot.app.open_section("inventory", item)
    await settle(pilot)
    assert isinstance(pilot.app.screen, InventoryScreen)
    assert pilot.app.screen.current.path == item


async def test_low_deploy_run_refusal_revoke_and_history(
        estate: Estate, env: dict[str, str]) -> None:
    console = estate.console
    app = make_app(console, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_item(pilot, "root", ROOT_PASSWORD, "/app/hello")
        assert "state: draft" in body(app, "#inv-meta")
        # the profile: no key yet (the service's words), then generate it
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, SigningProfileScreen)
        assert "no signing key yet" in body(app, "#signing-state")
        await pilot.press("g", "y")
        await settle(pilot)
        assert "CN=root-signing" in body(app, "#signing-state").replace(" ", "") or \
            "root-signing" in body(app, "#signing-state")
        assert console.signing_keys.show(estate.admin).origin == "GENERATED"
        await pilot.press("escape")
        await settle(pilot)

        # deploy to controller-1: space chooses it in the checklist, ctrl+s deploys
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TextModal)
        text = body(app, "#text-body")
        assert "controller-1  DEPLOYED" in text
        commit = text.split()[1]
        assert deployed_version(estate, "hello") == commit
        assert run_order(estate, "tui-1") == "hello-tui"
        await pilot.press("escape")
        await settle(pilot)
        assert "state: deployed" in body(app, "#inv-meta")
        assert f"controller-1  version {commit}  current content" in body(app, "#inv-meta")
        # changed in the inventory after the deployment: the detail says so
        console.inventory.update(estate.admin, "/app/hello", workflow_text("hello-tui"
                                                                           .upper()), meta=META)
        await pilot.press("r")
        await settle(pilot)
        assert "state: changed" in body(app, "#inv-meta")
        assert "older content (changed since)" in body(app, "#inv-meta")

        # both Controllers: the one that is down fails with its reason, shown and recorded
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("space", "down", "space", "ctrl+s")
        await settle(pilot)
        text = body(app, "#text-body")
        assert "controller-1  DEPLOYED" in text
        assert ("controller-down  NOT-APPLIED: not applied: cannot reach the Controller"
                in text)
        assert "nothing was sent" in text
        bar = app.screen_stack[-2].query_one(ProgressBar)   # counted each Controller's answer
        assert (bar.total, bar.progress) == (2, 2)
        await pilot.press("escape")
        await settle(pilot)
        assert "controller-down  newest deploy NOT APPLIED" in body(app, "#inv-meta")
        assert "state: deployed" in body(app, "#inv-meta")
        assert run_order(estate, "tui-2") == "HELLO-TUI"

        # revoke from controller-1
        await pilot.press("V")
        await settle(pilot)
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert "controller-1  REVOKED" in body(app, "#text-body")
        assert deployed_version(estate, "hello") is None
        await pilot.press("escape")
        await settle(pilot)
        assert "state: draft" in body(app, "#inv-meta")

        # the history, newest first; enter shows a commit's objects and answers
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, DeploymentsScreen)
        table = app.screen.query_one(HouseTable)
        assert table.row_count == 3
        await pilot.press("enter")
        await settle(pilot)
        assert "revoke" in body(app, "#text-body") and "/app/hello" in body(app, "#text-body")


@pytest.fixture(scope="module")
def hana(estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, Path]:
    console, admin = estate.console, estate.admin
    with console.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = 'HIGH' WHERE id = 1")
    work = tmp_path_factory.mktemp("hana")
    session = folder_account(console, admin, "hana", ["/"], DEPLOYER)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", "hana.key", cwd=work)
    openssl("req", "-new", "-key", "hana.key", "-subj", "/CN=hana", "-out", "hana.csr",
            cwd=work)
    issued = console.certificates.issue_from_csr(
        admin, (work / "hana.csr").read_bytes(), IssueRequest(Purpose.SIGNING, "hana"))
    (work / "hana.pem").write_bytes(issued.cert_chain_pem)
    return session, work


async def test_high_register_certificate_then_import_deploy_after_the_report(
        estate: Estate, hana: tuple[Session, Path], env: dict[str, str],
        tmp_path: Path) -> None:
    console = estate.console
    session, work = hana
    console.inventory.update(session, "/app/hello", workflow_text("hello-high"), meta=META)
    app = make_app(console, env=env)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_item(pilot, "hana", "a-good-password-42", "/app")
        inv = app.screen
        assert not inv.check_action("deploy", ()) and inv.check_action("import_deploy", ())
        # the certificate only: generate and import are absent at HIGH
        await pilot.press("k")
        await settle(pilot)
        profile = app.screen
        assert not profile.check_action("generate", ()) and \
            not profile.check_action("import_key", ())
        await pilot.press("c")
        await type_text(pilot, str(work / "hana.pem"))
        await pilot.press("enter")
        await settle(pilot)
        assert "outside the console (certificate only)" in body(app, "#signing-state")
        await pilot.press("escape")
        await settle(pilot)

        before = deployed_version(estate, "hello")
        tampered = sign_archive(console, session, work / "hana.key", tmp_path, tamper=True)
        await pilot.press("I")
        await settle(pilot)
        await type_text(pilot, str(tampered))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ImportReportModal)
        report = body(app, "#report-body")
        assert "REFUSED  app/hello.workflow.json" in report
        assert "does not match its signature" in report
        assert "Nothing will be sent" in report
        await pilot.press("y")   # not offered: nothing happens
        await settle(pilot)
        assert isinstance(app.screen, ImportReportModal)
        await pilot.press("escape")
        await settle(pilot)
        assert deployed_version(estate, "hello") == before

        signed = sign_archive(console, session, work / "hana.key", tmp_path)
        await pilot.press("I")
        await settle(pilot)
        await type_text(pilot, str(signed))
        await pilot.press("enter")
        await settle(pilot)
        report = body(app, "#report-body")
        assert "OK       app/hello.workflow.json" in report and "signature verified" in report
        assert deployed_version(estate, "hello") == before   # verified, not sent yet
        await pilot.press("y")
        await settle(pilot)
        assert "controller-1  DEPLOYED" in body(app, "#text-body")
    assert deployed_version(estate, "hello") != before
    assert run_order(estate, "tui-high") == "hello-high"
