"""Changes with a remote side (issue 15), against a real Controller and Agent: the intent and its
audit entry are written before anything is sent, no store lock is held while a Controller
answers, and a lost answer or a killed console is settled by asking the Controller.

Between the console and the Controller sits a TCP proxy (tests/tcp_proxy.py) that can lose or
hold the TLS bytes of a large request's answer; the Controller can be frozen with SIGSTOP.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.deployment.service import Deployment
from js7tui.identity.sessions import Session
from js7tui.inventory import ObjectType
from js7tui.remote import RemoteState
from tests.conftest import ROOT_PASSWORD
from tests.estate import CONSOLE_PASSWORD, Estate, running_estate, wait_for
from tests.tcp_proxy import Proxy, proxy_to
from tests.test_cli import Cli

pytestmark = pytest.mark.slow
META = AuditMeta()
BIG = 40_000  # bytes of script: a deploy body well above the proxy's threshold, a login not


def workflow_text(message: str, padding: int = 0) -> str:
    script = f"#!/bin/sh\necho {message}\n" + (f"# {'x' * padding}\n" if padding else "")
    return json.dumps({
        "TYPE": "Workflow",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "say"}],
        "jobs": {"say": {"agentPath": "agent-1", "executable": {
            "TYPE": "ShellScriptExecutable", "script": script}}}})


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("remote")) as estate:
        console, admin = estate.console, estate.admin
        console.signing_keys.generate(admin, meta=META)
        console.inventory.create_folder(admin, "/road", meta=META)
        console.inventory.create(admin, ObjectType.WORKFLOW, "/road/big",
                                 workflow_text("big", BIG), meta=META)
        console.inventory.create_folder(admin, "/many", meta=META)
        for n in range(200):
            console.inventory.create(admin, ObjectType.WORKFLOW, f"/many/w{n:03d}",
                                     workflow_text(f"w{n}"), meta=META)
        yield estate


@pytest.fixture
def proxy(estate: Estate) -> Iterator[Proxy]:
    """controller-1 registered at a proxy in front of the real Controller."""
    console, admin = estate.console, estate.admin
    with proxy_to(estate.servers["controller-1"].url, threshold=16_384) as proxy:
        console.controllers.register(admin, "controller-1", proxy.url, "console",
                                     CONSOLE_PASSWORD, meta=META)
        try:
            yield proxy
        finally:
            proxy.mode = "pass"
            console.controllers.remove(admin, "controller-1", meta=META)


def held_versions(estate: Estate) -> dict[str, str]:
    with estate.client() as client:
        return {i.path: i.version_id for i in client.items()}


def audit_for(console: Console, commit: str) -> list[dict[str, object]]:
    rows = console.store.conn.execute(
        "SELECT id, outcome, controller_id, parameters FROM audit_log WHERE commit_id = ? "
        "ORDER BY id", (commit,)).fetchall()
    return [{"id": r["id"], "outcome": r["outcome"], "controller": r["controller_id"],
             **json.loads(r["parameters"])} for r in rows]


def newest(console: Console, admin: Session) -> Deployment:
    return console.deployments.history(admin, limit=1)[0]


# -- a lost answer ---------------------------------------------------------------------------
def test_a_lost_answer_is_unknown_until_the_controller_is_asked(estate: Estate,
                                                                proxy: Proxy) -> None:
    console, admin = estate.console, estate.admin
    proxy.mode = "drop_answer"
    result = console.deployments.deploy(admin, ["/road/big"], ["controller-1"], meta=META)
    assert proxy.held.is_set()
    target = result.targets[0]
    assert target.state == "UNKNOWN", target
    assert "may have been applied" in target.message and not result.ok and not result.refused
    # ... and yet the Controller applied it
    assert held_versions(estate)["big"] == result.commit_id
    entries = audit_for(console, result.commit_id)
    assert [e["phase"] for e in entries] == ["intent", "outcome"]
    assert entries[0]["targets"] == {"controller-1": "SENDING"}
    assert entries[1]["outcome"] == "UNKNOWN"

    proxy.mode = "pass"
    reconciled, _ = console.deployments.reconcile(admin)
    assert [(r.target, r.before, r.after.state if r.after else None) for r in reconciled] == [
        ("controller-1", RemoteState.UNKNOWN, RemoteState.ACCEPTED)]
    found = console.deployments.show(admin, result.commit_id).targets[0]
    assert found.state == "ACCEPTED" and found.done, found
    assert [(a.agent, a.state) for a in found.agents] == [("agent-1", "attached")]
    last = audit_for(console, result.commit_id)[-1]
    assert last["phase"] == "reconciled" and last["was"] == "UNKNOWN"
    assert last["outcome"] == "ACCEPTED"
    assert console.deployments.reconcile(admin) == ([], [])


def test_an_unreachable_controller_is_not_applied_and_says_nothing_was_sent(
        estate: Estate) -> None:
    console, admin = estate.console, estate.admin
    console.controllers.register(admin, "nobody", "https://127.0.0.1:9", "console",
                                 CONSOLE_PASSWORD, meta=META)
    try:
        result = console.deployments.deploy(admin, ["/road/big"], ["nobody"], meta=META)
    finally:
        console.controllers.remove(admin, "nobody", meta=META)
    assert result.targets[0].state == "NOT_APPLIED"
    assert "nothing was sent" in result.targets[0].message and result.refused
    # settled: nothing to reconcile
    assert not console.remote.open_intents("nobody")


# -- a hung Controller -------------------------------------------------------------------------
def timed(cli: Cli, *argv: str, stdin: str = "") -> tuple[float, int, str]:
    start = time.perf_counter()
    code, out, err = cli(*argv, stdin=stdin)
    return time.perf_counter() - start, code, out + err


def test_a_hung_controller_holds_up_nobody_else(estate: Estate, tmp_path: Path) -> None:
    """SIGSTOP: the deploy waits out its timeout without the store's lock; a second
    administrator's commands meanwhile answer as fast as when nothing runs. A frozen
    Controller accepts the TCP connection (the kernel does) but never finishes the TLS
    handshake, so nothing was sent: the deploy says NOT_APPLIED, which stays true once the
    Controller runs again (an answer lost after the request went out is UNKNOWN: above)."""
    console, admin = estate.console, estate.admin
    estate.register()
    try:
        _hung_controller(estate, tmp_path)
    finally:
        console.controllers.timeout = 30.0
        console.controllers.remove(admin, "controller-1", meta=META)


WAIT = 10.0   # the deploy's timeout: far longer than the second administrator's commands


def _hung_controller(estate: Estate, tmp_path: Path) -> None:
    console, admin = estate.console, estate.admin
    cli = Cli(tmp_path)
    cli.env["JS7TUI_HOME"] = str(estate.root / "home")
    code, _, err = cli("login", "--account", "root", "--password-stdin",
                       stdin=ROOT_PASSWORD + "\n")
    assert code == 0, err
    idle = [timed(cli, "account", "list")[0], timed(cli, "whoami")[0]]
    controller = estate.servers["controller-1"].process
    console.controllers.timeout = WAIT
    outcome: list[Deployment] = []
    os.kill(controller.pid, signal.SIGSTOP)
    try:
        worker = threading.Thread(target=lambda: outcome.append(console.deployments.deploy(
            admin, ["/road/big"], ["controller-1"], meta=META)))
        started = time.perf_counter()
        worker.start()
        wait_for(lambda: console.store.conn.execute(
            "SELECT 1 FROM remote_targets WHERE state = 'SENDING'").fetchone(),
            "the deploy's intent")
        busy = [timed(cli, "account", "list"), timed(cli, "whoami"),
                timed(cli, "account", "create", "second-admin-made", "--role",
                      "application_manager", "--password-stdin",
                      stdin="a-password-for-the-second\n")]
        still_waiting = worker.is_alive()
        for seconds, code, text in busy:
            assert code == 0 and "locked" not in text and "busy" not in text, text
            # a command held up by the deploy would wait for the store's lock (5 s) or the
            # deploy's timeout; an idle one takes a fraction of a second
            assert seconds < WAIT / 2, (seconds, text)
        assert still_waiting, "the deploy should still be waiting for the Controller"
        worker.join(WAIT * 3)
        waited = time.perf_counter() - started
    finally:
        os.kill(controller.pid, signal.SIGCONT)
    assert waited >= WAIT
    target = outcome[0].targets[0]
    assert target.state == "NOT_APPLIED" and "nothing was sent" in target.message, target
    print(f"idle {idle}, while hung {[round(b[0], 3) for b in busy]}")
    assert held_versions(estate).get("big") != outcome[0].commit_id
    assert console.deployments.reconcile(admin)[0] == []


# -- a console killed while the Controller answers --------------------------------------------
def spawn_cli(cli: Cli, *argv: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **cli.env}
    return subprocess.Popen([sys.executable, "-m", "js7tui", *argv], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


@pytest.fixture
def logged_in(estate: Estate, tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    cli.env["JS7TUI_HOME"] = str(estate.root / "home")
    code, _, err = cli("login", "--account", "root", "--password-stdin",
                       stdin=ROOT_PASSWORD + "\n")
    assert code == 0, err
    return cli


def open_rows(console: Console) -> list[sqlite3.Row]:
    return console.store.conn.execute(
        "SELECT c.kind, c.reference, c.audit_id, t.target, t.state FROM remote_targets t "
        "JOIN remote_changes c ON c.id = t.change_id WHERE t.state IN ('SENDING', 'UNKNOWN')"
    ).fetchall()


@pytest.mark.parametrize(("hold", "sig", "expected"), [
    ("hold_answer", signal.SIGKILL, RemoteState.ACCEPTED),
    ("hold_upload", signal.SIGKILL, RemoteState.NOT_APPLIED),
    ("hold_answer", signal.SIGINT, RemoteState.ACCEPTED),
])
def test_a_killed_deploy_of_200_items_is_audited_and_reconciled(
        estate: Estate, proxy: Proxy, logged_in: Cli, hold: str, sig: int,
        expected: RemoteState) -> None:
    console, admin = estate.console, estate.admin
    before = held_versions(estate)
    proxy.mode = hold
    child = spawn_cli(logged_in, "deploy", "/many", "--controller", "controller-1")
    wait_for(proxy.held.is_set, "the deploy's request at the proxy", timeout=60)
    if hold == "hold_answer":
        # the Controller has applied all 200 before the console hears of it
        wait_for(lambda: sum(v != before.get(p) for p, v in held_versions(estate).items()
                             if p.startswith("w")) == 200, "the Controller applying it")
    child.send_signal(sig)
    _, err = child.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()
    if sig == signal.SIGINT:
        assert child.returncode == 130, err.decode()
    proxy.mode = "pass"
    # whatever happened, the change that may be live was recorded and audited first
    rows = open_rows(console)
    assert len(rows) == 1 and rows[0]["kind"] == "DEPLOY", [dict(r) for r in rows]
    commit = rows[0]["reference"]
    assert rows[0]["state"] == ("UNKNOWN" if sig == signal.SIGINT else "SENDING")
    intent = console.store.conn.execute("SELECT * FROM audit_log WHERE id = ?",
                                        (rows[0]["audit_id"],)).fetchone()
    assert intent["commit_id"] == commit and json.loads(intent["parameters"])["objects"] == 200
    listed = newest(console, admin)
    assert listed.commit_id == commit and len(listed.objects) == 200

    code, out, err = logged_in("deployment", "reconcile")
    assert code == 0, out + err
    assert expected.value.lower() in out, out
    found = console.deployments.show(admin, commit)
    assert found.targets[0].state == expected.value
    held = held_versions(estate)
    if expected is RemoteState.ACCEPTED:
        # the history matches the Controller exactly
        assert {p.rsplit("/", 1)[1]: v for _, p, v in found.objects} == {
            p: v for p, v in held.items() if p.startswith("w")}
    else:
        assert all(held.get(p.rsplit("/", 1)[1]) != v for _, p, v in found.objects)


# -- signing certificates that expire --------------------------------------------------------
def test_expiring_signers_are_named_and_signed_again(estate: Estate, logged_in: Cli) -> None:
    console, admin = estate.console, estate.admin
    estate.register()
    try:
        first = console.deployments.deploy(admin, ["/road/big"], ["controller-1"], meta=META)
        assert first.ok
        assert console.deployments.expiring(admin, within_days=0) == []
        soon = console.deployments.expiring(admin, within_days=100_000)
        big = next(e for e in soon if e.path == "/road/big")
        assert big.commit_id == first.commit_id and big.signer == first.signer
        assert big.left.startswith("expires in") and big.seconds_left > 0
        code, out, _ = logged_in("deployment", "expiring", "--within", "100000")
        assert code == 1 and "/road/big" in out and "deployment resign" in out, out
        # doctor names them too (here with the same long period)
        from js7tui.doctor import _expiring_signers
        said = [f for f in _expiring_signers(console.store.conn, console.clock.now(), 100_000)
                if "Controller 'controller-1'" in f]
        assert said and said[0].severity == "warning" and "deployment resign" in said[0]
        assert f"signed by '{first.signer}'" in said[0]
        # the key in force is the expiring one: renew it first
        code, _, err = logged_in("deployment", "resign", "--within", "100000",
                                 "--controller", "controller-1")
        assert code == 2 and "renew it first" in err, err
        estate.clock.current += timedelta(seconds=5)   # the console's clock is a frozen one
        console.signing_keys.generate(admin, meta=META)
        done = console.deployments.resign(admin, within_days=100_000,
                                          controller_id="controller-1", meta=META)
        assert len(done) == 1 and done[0].ok
        assert "/road/big" in {p for _, p, _ in done[0].objects}
        assert held_versions(estate)["big"] == done[0].commit_id
        again = next(e for e in console.deployments.expiring(admin, within_days=100_000)
                     if e.path == "/road/big")
        assert again.commit_id == done[0].commit_id and again.not_after > big.not_after
    finally:
        console.controllers.remove(admin, "controller-1", meta=META)


# -- an order add killed while the Controller answers ----------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_order_add_is_audited_and_reconciled(estate: Estate, proxy: Proxy,
                                                      logged_in: Cli, sig: int) -> None:
    """The order's arguments make its request larger than a login, so the proxy holds its
    answer: the Controller has the order, the console was killed before it heard."""
    console, admin = estate.console, estate.admin
    if "big" not in held_versions(estate):
        console.deployments.deploy(admin, ["/road/big"], ["controller-1"], meta=META)
    order_id = f"killed-{int(sig)}"
    proxy.mode = "hold_answer"
    arguments = [f"--arg=a{n}={'v' * 2000}" for n in range(12)]
    child = spawn_cli(logged_in, "order", "add", "big", "--controller", "controller-1",
                      "--id", order_id, *arguments)
    wait_for(proxy.held.is_set, "the order's request at the proxy", timeout=60)
    with estate.client() as client:
        wait_for(lambda: client.order(order_id), "the Controller holding the order")
    child.send_signal(sig)
    _, err = child.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()
    proxy.mode = "pass"
    rows = [r for r in open_rows(console) if r["kind"] == "ADD_ORDERS"]
    assert [r["reference"] for r in rows] == [order_id]
    assert rows[0]["state"] == ("UNKNOWN" if sig == signal.SIGINT else "SENDING")
    intent = console.store.conn.execute("SELECT * FROM audit_log WHERE id = ?",
                                        (rows[0]["audit_id"],)).fetchone()
    parameters = json.loads(intent["parameters"])
    assert parameters["orderId"] == order_id and parameters["phase"] == "intent"
    assert "v" * 2000 not in intent["parameters"]   # argument names only, never values
    code, out, err = logged_in("deployment", "reconcile")
    assert code == 0 and "add_orders" in out and "accepted" in out, out + err
    last = console.store.conn.execute(
        "SELECT parameters FROM audit_log WHERE request = './orders/add' ORDER BY id DESC"
    ).fetchone()
    assert '"phase": "reconciled"' in last["parameters"]
